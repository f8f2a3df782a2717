package avro

import (
	"os"
	"testing"
)

// FuzzParse parses arbitrary schema text. A schema that parses is written
// in Java's form, which parses to a schema written the same way, and
// compatibility with itself holds.
func FuzzParse(f *testing.F) {
	f.Add(`{"type":"record","name":"R","namespace":"a.b","fields":[{"name":"x","type":["null",{"type":"enum","name":"E","symbols":["A","B"]}],"default":null},{"name":"y","type":"E"}]}`)
	f.Add(`{"type":"array","items":{"type":"map","values":{"type":"fixed","name":"F","size":4}},"p":[1,2.5,{"q":null}]}`)
	f.Add(`["null","string",{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}]`)
	if b, err := os.ReadFile("../../framework/converters/testdata/avro/debezium-envelope.avsc"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			return
		}
		out := s.String()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("Java's form of %s does not parse: %s: %v", text, out, err)
		}
		if out2 := s2.String(); out2 != out {
			t.Fatalf("written differently the second time:\n%s\n%s", out, out2)
		}
		if in := CheckCompatibility(s, s2); len(in) > 0 {
			t.Fatalf("%s is not compatible with itself: %v", out, in)
		}
	})
}
