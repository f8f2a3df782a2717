package converters

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	twmb "github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
)

// TestAvroWithoutAutoRegister: with auto.register.schemas=false a schema
// is looked up, never registered: one the subject lacks fails the record
// (not retriable), one registered already is written under its id.
func TestAvroWithoutAutoRegister(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	s := connect.StructSchema().Name("shop.Order").Field("id", connect.Int64Schema).Build()
	v := connect.NewStruct(s).Put("id", int64(1))
	lookup := mustConverter(t, "avro", false, "schema.registry.url", reg.url, "auto.register.schemas", "false")
	_, err := lookup.FromConnect("orders", s, v)
	var re *RegistryError
	if !errors.As(err, &re) || re.StatusCode != 404 || connect.IsRetriable(err) {
		t.Fatalf("a schema not registered: %v, want the registry's 404", err)
	}
	if subjects, err := reg.client(t).Subjects(testCtx(t)); err != nil || len(subjects) != 0 {
		t.Fatalf("subjects %v, %v; want none registered", subjects, err)
	}
	b1, err := mustConverter(t, "avro", false, "schema.registry.url", reg.url).FromConnect("orders", s, v)
	if err != nil {
		t.Fatal(err)
	}
	lookup = mustConverter(t, "avro", false, "schema.registry.url", reg.url, "auto.register.schemas", "false")
	b2, err := lookup.FromConnect("orders", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b1, b2) {
		t.Fatalf("looked up: %x, registered: %x", b2, b1)
	}
	if versions, err := reg.client(t).SubjectVersions(testCtx(t), "orders-value"); err != nil || !slices.Equal(versions, []int{1}) {
		t.Fatalf("versions %v, %v; want [1]", versions, err)
	}
}

// TestAvroWriteLatestVersion: with auto.register.schemas=false and
// use.latest.version=true a record is written with the subject's latest
// schema and its id, fitted to it by field name (a field the record lacks
// takes the latest schema's default); with latest.compatibility.strict a
// latest schema that cannot read the record's is refused.
func TestAvroWriteLatestVersion(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	latestSchema := `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"note","type":["null","string"],"default":null},{"name":"qty","type":"int","default":1}]}`
	id, err := reg.client(t).RegisterSchema(testCtx(t), "orders-value", sr.Schema{Schema: latestSchema}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	s := connect.StructSchema().Name("shop.Order").Field("id", connect.Int64Schema).Field("note", connect.OptionalString).Build()
	w := mustConverter(t, "avro", false, "schema.registry.url", reg.url, "auto.register.schemas", "false", "use.latest.version", "true")
	b, err := w.FromConnect("orders", s, connect.NewStruct(s).Put("id", int64(7)).Put("note", "rush"))
	if err != nil {
		t.Fatal(err)
	}
	if got := int(binary.BigEndian.Uint32(b[1:5])); got != id {
		t.Fatalf("written with id %d, want the latest's %d", got, id)
	}
	ts, err := twmb.Parse(latestSchema)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if _, err := ts.Decode(b[5:], &got); err != nil {
		t.Fatalf("github.com/twmb/avro decodes the payload with the latest schema: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"id": int64(7), "note": "rush", "qty": int32(1)}, got); diff != "" {
		t.Errorf("decoded with the latest schema (-want +got):\n%s", diff)
	}
	if versions, err := reg.client(t).SubjectVersions(testCtx(t), "orders-value"); err != nil || !slices.Equal(versions, []int{1}) {
		t.Fatalf("versions %v, %v; want [1] (nothing registered)", versions, err)
	}
	// The latest schema cannot read a record whose "id" is a string.
	bad := connect.StructSchema().Name("shop.Order").Field("id", connect.StringSchema).Build()
	_, err = w.FromConnect("orders", bad, connect.NewStruct(bad).Put("id", "x"))
	if err == nil || !strings.Contains(err.Error(), "latest.compatibility.strict=true") || connect.IsRetriable(err) {
		t.Fatalf("a record the latest schema cannot read: %v", err)
	}
}

// TestAvroMetaDataOff: with connect.meta.data=false the schema carries no
// connect.* properties (AvroData adds them only with it); Avro's own
// (logical types, the decimal's scale and precision, field defaults) stay,
// and the payload is the same.
func TestAvroMetaDataOff(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	cl := reg.client(t)
	want := map[string]string{
		"int8":    `"int"`,
		"decimal": `{"type":"bytes","scale":2,"precision":64,"logicalType":"decimal"}`,
		"date":    `{"type":"int","logicalType":"date"}`,
		"struct with doc, version and defaults": `{"type":"record","name":"Thing","namespace":"com.example","fields":[` +
			`{"name":"n","type":"int","default":42},{"name":"f","type":"float","default":1.100000023841858},` +
			`{"name":"o","type":["int","null"],"default":7}]}`,
	}
	for _, tc := range avroCases() {
		avsc, ok := want[tc.name]
		if !ok {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			c := mustConverter(t, "avro", false, "schema.registry.url", reg.url, "connect.meta.data", "false")
			topic := "nometa-" + strings.ReplaceAll(tc.name, " ", "-")
			data, err := c.FromConnect(topic, tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cl.SchemaByVersion(testCtx(t), topic+"-value", -1)
			if err != nil {
				t.Fatal(err)
			}
			if got.Schema.Schema != avsc {
				t.Errorf("registered schema:\n got %s\nwant %s", got.Schema.Schema, avsc)
			}
			if p := hex.EncodeToString(data[5:]); p != tc.payload {
				t.Errorf("payload %s, want %s", p, tc.payload)
			}
		})
	}
}

// TestAvroEnhancedEnums: an Avro enum written by another producer reads as
// a string carrying the enum in its parameters; written again, it is an
// enum of the same full name with enhanced.avro.schema.support and a plain
// string without, and either way an independent decoder reads the symbol.
func TestAvroEnhancedEnums(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	cl := reg.client(t)
	producer := `{"type":"record","name":"Paint","namespace":"com.example","fields":[{"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}}]}`
	id, err := cl.RegisterSchema(testCtx(t), "paints-value", sr.Schema{Schema: producer}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	in := appendWireHeader(nil, id)
	in = append(in, 0x04) // symbol 2: BLUE
	for _, enhanced := range []string{"true", "false"} {
		t.Run("enhanced="+enhanced, func(t *testing.T) {
			c := mustConverter(t, "avro", false, "schema.registry.url", reg.url, "enhanced.avro.schema.support", enhanced)
			s, v, err := c.ToConnect("paints", in)
			if err != nil {
				t.Fatal(err)
			}
			color := s.Fields[0].Schema
			if color.Type != connect.String || color.Parameters["io.confluent.connect.avro.Enum"] != "com.example.Color" ||
				v.(*connect.StructValue).Get("color") != "BLUE" {
				t.Fatalf("read: %s with parameters %v, value %v", color, color.Parameters, v)
			}
			topic := "repaint-" + enhanced
			out, err := c.FromConnect(topic, s, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cl.SchemaByVersion(testCtx(t), topic+"-value", -1)
			if err != nil {
				t.Fatal(err)
			}
			// The enum's namespace is the record's, so Avro's writer omits it.
			isEnum := strings.Contains(got.Schema.Schema, `"type":{"type":"enum","name":"Color","symbols":[`)
			isString := strings.Contains(got.Schema.Schema, `"type":{"type":"string","connect.parameters":{"io.confluent.connect.avro.Enum":"com.example.Color"`)
			if (enhanced == "true") != isEnum || (enhanced == "true") == isString {
				t.Fatalf("registered with enhanced.avro.schema.support=%s: %s", enhanced, got.Schema.Schema)
			}
			ts, err := twmb.Parse(got.Schema.Schema)
			if err != nil {
				t.Fatal(err)
			}
			var rec map[string]any
			if _, err := ts.Decode(out[5:], &rec); err != nil || rec["color"] != "BLUE" {
				t.Fatalf("github.com/twmb/avro reads %v, %v; want color BLUE", rec, err)
			}
		})
	}
}

// TestRegistryConverterConfig: Confluent's keys these converters do not
// implement are accepted at their default and refused, naming the key,
// when switched on; the converted schemas cache is schemas.cache.config.
func TestRegistryConverterConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		converter string
		cfg       map[string]string
		want      string // "" when accepted
	}{
		"avro defaults":              {converter: "avro", cfg: map[string]string{"scrub.invalid.names": "false", "generalized.sum.type.support": "false"}},
		"avro cache size":            {converter: "avro", cfg: map[string]string{"schemas.cache.config": "0"}},
		"avro scrub.invalid.names":   {converter: "avro", cfg: map[string]string{"scrub.invalid.names": "true"}, want: "Invalid value true for configuration scrub.invalid.names: not supported"},
		"avro allow.optional.map":    {converter: "avro", cfg: map[string]string{"allow.optional.map.keys": "true"}, want: "configuration allow.optional.map.keys: not supported"},
		"avro discard.type.doc":      {converter: "avro", cfg: map[string]string{"discard.type.doc.default": "TRUE"}, want: "configuration discard.type.doc.default: not supported"},
		"avro generalized sum types": {converter: "avro", cfg: map[string]string{"generalized.sum.type.support": "true"}, want: "configuration generalized.sum.type.support: not supported"},
		"avro bad cache size":        {converter: "avro", cfg: map[string]string{"schemas.cache.config": "lots"}, want: "Invalid value lots for configuration schemas.cache.config"},
		"json schema preserve":       {converter: "json-schema", cfg: map[string]string{"preserve.additional.properties": "true"}, want: "configuration preserve.additional.properties: not supported"},
		"json schema nullables":      {converter: "json-schema", cfg: map[string]string{"ignore.default.for.nullables": "true"}, want: "configuration ignore.default.for.nullables: not supported"},
		"json schema defaults":       {converter: "json-schema", cfg: map[string]string{"ignore.modern.dialects": "false"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tc.converter)
			if err != nil {
				t.Fatal(err)
			}
			cfg := map[string]string{"schema.registry.url": "http://127.0.0.1:1"}
			for k, v := range tc.cfg {
				cfg[k] = v
			}
			err = c.Configure(cfg, false)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
