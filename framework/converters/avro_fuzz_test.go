package converters

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/avro"
)

// fuzzCodec is the decoder and encoder of one Connect schema, compiled as
// the converter compiles them, without a registry.
type fuzzCodec struct {
	schema *connect.Schema
	dec    *decPlan
	enc    *encPlan
}

func newFuzzCodec(t testing.TB, s *connect.Schema) fuzzCodec {
	d := avroData{metaData: true, flattenUnions: true}
	a, err := d.fromConnectSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	// The writer's schema as a reader fetches it: parsed from its text.
	w, err := avro.Parse(a.String())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := d.toConnectSchema(w, 1)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := d.compileDecoder(w, w, cs, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := compileEncoder(cs, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fuzzCodec{cs, dec, enc}
}

// FuzzAvroDecode feeds arbitrary payloads to the decoders of Debezium's
// envelope and of a schema of every Connect type. Decoding must fail
// cleanly or give a value that encodes back to the same bytes (Avro's
// binary encoding of a value is unique, blocks aside), which decodes to
// the same value.
func FuzzAvroDecode(f *testing.F) {
	envelope, _ := os.ReadFile("testdata/avro/debezium-envelope.hex")
	if b, err := hex.DecodeString(strings.TrimSpace(string(envelope))); err == nil {
		f.Add(b, false)
	}
	for _, c := range avroCases() {
		if b, err := hex.DecodeString(c.payload); err == nil {
			f.Add(b, true)
		}
	}
	everything := connect.StructSchema().Name("fuzz.All").
		Field("i8", connect.Int8Schema).Field("i16", connect.OptionalInt16).Field("i64", connect.Int64Schema).
		Field("f", connect.OptionalFloat32).Field("d", connect.Float64Schema).Field("b", connect.OptionalBoolean).
		Field("s", connect.StringSchema).Field("raw", connect.OptionalBytes).
		Field("dec", connect.DecimalSchema(3).Optional().Build()).
		Field("date", connect.DateSchema().Optional().Build()).Field("ts", connect.TimestampSchema().Build()).
		Field("arr", connect.ArraySchema(connect.OptionalString).Build()).
		Field("m", connect.MapSchema(connect.StringSchema, connect.Int32Schema).Optional().Build()).
		Field("im", connect.MapSchema(connect.Int64Schema, connect.OptionalString).Build()).
		Field("sub", connect.StructSchema().Field("x", connect.Int32Schema).Optional().Build()).
		Build()
	codecs := []fuzzCodec{newFuzzCodec(f, dbzEnvelopeSchema), newFuzzCodec(f, everything)}
	f.Fuzz(func(t *testing.T, data []byte, second bool) {
		c := codecs[0]
		if second {
			c = codecs[1]
		}
		r := avro.Reader{Data: data}
		v, err := c.dec.decode(&r, 0)
		if err == nil {
			err = r.Err()
		}
		if err != nil || r.Pos != len(data) {
			return
		}
		enc, err := c.enc.encode(nil, v, 0)
		if err != nil {
			t.Fatalf("the decoded value of %x does not encode: %v", data, err)
		}
		r2 := avro.Reader{Data: enc}
		v2, err := c.dec.decode(&r2, 0)
		if err != nil || r2.Err() != nil {
			t.Fatalf("re-encoded %x does not decode: %v %v", enc, err, r2.Err())
		}
		if diff := cmp.Diff(v, v2, cmpOpts); diff != "" {
			t.Fatalf("value changed through a re-encode (-first +second):\n%s", diff)
		}
		enc2, _ := c.enc.encode(nil, v2, 0)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encodings differ: %x then %x", enc, enc2)
		}
	})
}

// FuzzWireHeader checks the wire format's parser on arbitrary bytes.
func FuzzWireHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 2})
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		id, payload, err := wireID(data)
		if err != nil {
			return
		}
		if !bytes.Equal(append(appendWireHeader(nil, id), payload...), data) {
			t.Fatalf("header of %x does not round trip", data)
		}
	})
}

// FuzzJSONSchemaDecode feeds arbitrary payloads to the JSON Schema
// converter's reading of Debezium's envelope (its schema mapped to a JSON
// Schema and back, as a reader gets it from the registry). What it reads
// must write back and read the same.
func FuzzJSONSchemaDecode(f *testing.F) {
	f.Add([]byte(`{"before":null,"after":{"id":1,"first_name":"a","email":null,"price":"BNI="},"source":{"version":"v","connector":"c","name":"n","ts_ms":1,"db":"d","schema":"s","table":"t"},"op":"c"}`))
	f.Add([]byte(`{"op":"d","source":{}}`))
	c := &jsonSchemaConverter{flatten: true, additional: true}
	doc, err := c.fromConnectSchema(dbzEnvelopeSchema, -1, false, 0)
	if err != nil {
		f.Fatal(err)
	}
	s, err := c.toConnectSchema(doc, 1, false, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := avro.ParseJSON(data)
		if err != nil {
			return
		}
		v, err := c.toConnectValue(s, j, 0)
		if err != nil {
			return
		}
		out, err := c.appendValue(nil, s, v, 0)
		if err != nil {
			t.Fatalf("what was read from %s does not write: %v", data, err)
		}
		j2, err := avro.ParseJSON(out)
		if err != nil {
			t.Fatalf("wrote invalid JSON %s", out)
		}
		v2, err := c.toConnectValue(s, j2, 0)
		if err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
		if diff := cmp.Diff(v, v2, cmpOpts); diff != "" {
			t.Fatalf("changed through a write (-first +second):\n%s", diff)
		}
	})
}
