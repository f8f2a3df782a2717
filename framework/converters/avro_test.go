package converters

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	twmb "github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
)

// avroCase is a Connect schema and value, the Avro schema Confluent's
// AvroConverter registers for the schema, and the payload it writes for
// the value (after the 5-byte header). The expected texts follow AvroData
// (the properties it adds and in which order) and Apache Avro's
// Schema.toString (how the schema is written); the payloads follow the
// Avro specification's binary encoding.
type avroCase struct {
	name    string
	schema  *connect.Schema
	value   any
	avsc    string
	payload string // hex
}

// avroBack holds the values read back that differ from those written: a
// null field written as the field's default.
var avroBack = map[string]any{
	"struct with doc, version and defaults": connect.NewStruct(thingSchema).Put("n", int32(42)).Put("f", float32(2)).Put("o", int32(7)),
}

var (
	thingSchema = connect.StructSchema().Name("com.example.Thing").Version(3).Doc("a thing").
			Field("n", connect.NewSchema(connect.Int32).Default(int32(42)).Build()).
			Field("f", connect.NewSchema(connect.Float32).Default(float32(1.1)).Build()).
			Field("o", connect.NewSchema(connect.Int32).Optional().Default(int32(7)).Build()).
			Build()
	unnamedSchema = connect.StructSchema().
			Field("a", connect.Int32Schema).
			Field("b", connect.OptionalString).
			Field("inner", connect.StructSchema().Field("x", connect.BooleanSchema).Build()).
			Build()
	intMapSchema = connect.MapSchema(connect.Int32Schema, connect.StringSchema).Build()
)

func avroCases() []avroCase {
	return []avroCase{
		{"int8", connect.Int8Schema, int8(12), `{"type":"int","connect.type":"int8"}`, "18"},
		{"int16", connect.Int16Schema, int16(-300), `{"type":"int","connect.type":"int16"}`, "d704"},
		{"int32", connect.Int32Schema, int32(1), `"int"`, "02"},
		{"int64", connect.Int64Schema, int64(-1), `"long"`, "01"},
		{"float32", connect.Float32Schema, float32(1.5), `"float"`, "0000c03f"},
		{"float64", connect.Float64Schema, -2.25, `"double"`, "00000000000002c0"},
		{"boolean", connect.BooleanSchema, true, `"boolean"`, "01"},
		{"string", connect.StringSchema, "héllo", `"string"`, "0c68c3a96c6c6f"},
		// A bytes schema's payload is the bytes alone, without a length
		// (AbstractKafkaAvroSerializer writes a BYTES schema's value raw).
		{"bytes", connect.BytesSchema, []byte{1, 2, 3}, `"bytes"`, "010203"},
		{"optional string", connect.OptionalString, "x", `["null","string"]`, "020278"},
		{"optional bytes", connect.OptionalBytes, []byte{1, 2, 3}, `["null","bytes"]`, "0206010203"},
		{"decimal", connect.DecimalSchema(2).Build(), dec(1234, 2),
			`{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`,
			"04d2"},
		{"decimal with precision", connect.DecimalSchema(2).Parameter("connect.decimal.precision", "10").Optional().Build(), dec(-1, 2),
			`["null",{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}]`,
			"0202ff"},
		{"date", connect.DateSchema().Build(), time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC),
			`{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}`, "ae9d02"},
		{"time", connect.TimeSchema().Build(), time.UnixMilli(3723004).UTC(),
			`{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}`, "f8bbc603"},
		{"timestamp", connect.TimestampSchema().Build(), time.UnixMilli(1700000000123).UTC(),
			`{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}`, "f6a1abfef962"},
		{"array", connect.ArraySchema(connect.Int32Schema).Build(), []any{int32(1), int32(2)},
			`{"type":"array","items":"int"}`, "04020400"},
		{"empty array", connect.ArraySchema(connect.Int32Schema).Build(), []any{}, `{"type":"array","items":"int"}`, "00"},
		{"map with string keys", connect.MapSchema(connect.StringSchema, connect.Int32Schema).Build(), map[string]any{"a": int32(1)},
			`{"type":"map","values":"int"}`, "0202610200"},
		{"map with int keys", intMapSchema, map[any]any{int32(1): "x"},
			`{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}`,
			"0202027800"},
		{"unnamed structs", unnamedSchema,
			connect.NewStruct(unnamedSchema).Put("a", int32(1)).Put("inner", connect.NewStruct(unnamedSchema.Fields[2].Schema).Put("x", true)),
			`{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null},{"name":"inner","type":{"type":"record","name":"ConnectDefault2","fields":[{"name":"x","type":"boolean"}]}}]}`,
			"020001"},
		// Defaults: the field's default and connect.default; a float's
		// field default reads as a double (Avro's JacksonUtils); an optional
		// schema with a default puts null second; a null field value takes
		// the default, as Kafka Connect's Struct.get does.
		{"struct with doc, version and defaults", thingSchema, connect.NewStruct(thingSchema).Put("f", float32(2)),
			`{"type":"record","name":"Thing","namespace":"com.example","fields":[` +
				`{"name":"n","type":{"type":"int","connect.default":42},"default":42},` +
				`{"name":"f","type":{"type":"float","connect.default":1.1},"default":1.100000023841858},` +
				`{"name":"o","type":[{"type":"int","connect.default":7},"null"],"default":7}],` +
				`"connect.doc":"a thing","connect.version":3,"connect.name":"com.example.Thing"}`,
			"5400000040000e"},
	}
}

// TestAvroGolden writes every case through the converter against the dev
// registry, compares the registered schema and the bytes, reads the bytes
// back, and has an independent Avro implementation (github.com/twmb/avro)
// decode the payload with the registered schema.
func TestAvroGolden(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	cl := reg.client(t)
	for _, tc := range avroCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := mustConverter(t, "io.confluent.connect.avro.AvroConverter", false, "schema.registry.url", reg.url)
			topic := "golden-" + strings.ReplaceAll(tc.name, " ", "-")
			data, err := c.FromConnect(topic, tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) < 5 || data[0] != 0 {
				t.Fatalf("no wire header: %x", data)
			}
			id := int(binary.BigEndian.Uint32(data[1:5]))
			got, err := cl.SchemaByVersion(testCtx(t), topic+"-value", -1)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != id {
				t.Errorf("header id %d, registered id %d", id, got.ID)
			}
			if got.Schema.Schema != tc.avsc {
				t.Errorf("registered schema:\n got %s\nwant %s", got.Schema.Schema, tc.avsc)
			}
			if p := hex.EncodeToString(data[5:]); p != tc.payload {
				t.Errorf("payload %s, want %s", p, tc.payload)
			}
			s, v, err := c.ToConnect(topic, data)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.value
			if b, ok := avroBack[tc.name]; ok {
				want = b
			}
			if diff := cmp.Diff(want, v, cmpOpts, ignoreVersions); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			if s.Type != tc.schema.Type || s.Name != tc.schema.Name || s.Optional != tc.schema.Optional {
				t.Errorf("read back schema %s, want %s", s, tc.schema)
			}
			if tc.schema.Type == connect.Bytes && !tc.schema.Optional {
				return // raw bytes, not Avro's encoding of them
			}
			ts, err := twmb.Parse(got.Schema.Schema)
			if err != nil {
				t.Fatalf("github.com/twmb/avro refuses the schema: %v", err)
			}
			var any1 any
			rest, err := ts.Decode(data[5:], &any1)
			if err != nil || len(rest) != 0 {
				t.Fatalf("github.com/twmb/avro decodes the payload: %v, %d bytes left", err, len(rest))
			}
		})
	}
}

// TestAvroDebeziumEnvelope checks a Debezium change event's key and value:
// the schemas Confluent's AvroConverter registers for them (Debezium's
// documentation shows the same Source schema) and the bytes.
func TestAvroDebeziumEnvelope(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	wantValue, _ := os.ReadFile("testdata/avro/debezium-envelope.avsc")
	wantKey, _ := os.ReadFile("testdata/avro/debezium-key.avsc")
	wantHex, _ := os.ReadFile("testdata/avro/debezium-envelope.hex")
	key, value := dbzEvent(1001)
	kc := mustConverter(t, "avro", true, "schema.registry.url", reg.url)
	vc := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	kb, err := kc.FromConnect("dbserver1.inventory.customers", dbzKeySchema, key)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := vc.FromConnect("dbserver1.inventory.customers", dbzEnvelopeSchema, value)
	if err != nil {
		t.Fatal(err)
	}
	cl := reg.client(t)
	for _, c := range []struct {
		subject string
		want    []byte
	}{{"dbserver1.inventory.customers-key", wantKey}, {"dbserver1.inventory.customers-value", wantValue}} {
		got, err := cl.SchemaByVersion(testCtx(t), c.subject, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.Schema.Schema != strings.TrimSpace(string(c.want)) {
			t.Errorf("%s:\n got %s\nwant %s", c.subject, got.Schema.Schema, c.want)
		}
	}
	if hex.EncodeToString(kb[5:]) != "d20f" {
		t.Errorf("key payload %x", kb[5:])
	}
	if got := hex.EncodeToString(vb[5:]); got != strings.TrimSpace(string(wantHex)) {
		t.Errorf("value payload\n got %s\nwant %s", got, wantHex)
	}
	_, back, err := vc.ToConnect("dbserver1.inventory.customers", vb)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(value, back, cmpOpts, cmp.Comparer(func(a, b *connect.Schema) bool { return sameAvroShape(a, b) })); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// The schema read back is the Connect schema written, registry version
	// aside: Debezium's envelope says its own (2).
	s, _, _ := vc.ToConnect("dbserver1.inventory.customers", vb)
	if !sameSchema(s, dbzEnvelopeSchema, 0) {
		t.Errorf("schema read back differs:\n got %+v\nwant %+v", s, dbzEnvelopeSchema)
	}
}

// ignoreVersions compares schemas as Kafka Connect's equals does, except
// for versions: a schema read back carries the registry's version of it
// when it has none of its own.
var ignoreVersions = cmp.Comparer(func(a, b *connect.Schema) bool {
	return sameSchema(withoutVersions(a), withoutVersions(b), 0)
})

func withoutVersions(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	cp := *s
	cp.Version = 0
	return &cp
}

// sameAvroShape compares schemas as sameSchema does, except for the
// parameter AvroData adds to a schema whose default came from an Avro field.
func sameAvroShape(a, b *connect.Schema) bool { return sameSchema(a, b, 0) }

// TestAvroTombstones: a nil value is a null record; an empty one is not
// Avro's, and data without the magic byte is refused by name.
func TestAvroTombstones(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	c := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	if b, err := c.FromConnect("t", connect.OptionalString, nil); err != nil || b != nil {
		t.Fatalf("nil value: %x, %v", b, err)
	}
	if b, err := c.FromConnect("t", nil, nil); err != nil || b != nil {
		t.Fatalf("nil schema and value: %x, %v", b, err)
	}
	if _, err := c.FromConnect("t", connect.StringSchema, nil); err == nil || !strings.Contains(err.Error(), "non-optional") {
		t.Fatalf("nil for a required schema: %v", err)
	}
	if s, v, err := c.ToConnect("t", nil); s != nil || v != nil || err != nil {
		t.Fatalf("nil data: %v %v %v", s, v, err)
	}
	if reg.requests.Load() != 0 {
		t.Fatalf("%d registry requests for null records", reg.requests.Load())
	}
	_ = bytes.Equal
	_ = sr.TypeAvro
}
