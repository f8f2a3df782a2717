package converters

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
)

// TestJSONSchemaRoundTrip writes every Connect type through the JSON
// Schema converter against the dev registry and reads it back.
func TestJSONSchemaRoundTrip(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	for _, tc := range avroCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := mustConverter(t, "io.confluent.connect.json.JsonSchemaConverter", false, "schema.registry.url", reg.url)
			topic := "js-" + strings.ReplaceAll(tc.name, " ", "-")
			data, err := c.FromConnect(topic, tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			got, err := reg.client(t).SchemaByVersion(testCtx(t), topic+"-value", -1)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != sr.TypeJSON {
				t.Fatalf("registered as %s", got.Type)
			}
			_, v, err := c.ToConnect(topic, data)
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
		})
	}
}

// TestJSONSchemaDebezium checks the payload of a Debezium event: the JSON
// JsonSchemaData writes (fields in order, nulls written, a decimal as the
// base64 of its unscaled bytes).
func TestJSONSchemaDebezium(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	c := mustConverter(t, "json-schema", false, "schema.registry.url", reg.url)
	_, v := dbzEvent(1001)
	data, err := c.FromConnect("customers", dbzEnvelopeSchema, v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"before":null,"after":{"id":1001,"first_name":"Sally","email":"s@x","price":"BNI="},` +
		`"source":{"version":"2.7.0.Final","connector":"postgresql","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false",` +
		`"db":"inventory","sequence":null,"ts_us":null,"ts_ns":null,"schema":"inventory","table":"customers","txId":555,"lsn":33812384,"xmin":null},` +
		`"transaction":null,"op":"c","ts_ms":1700000000123,"ts_us":null,"ts_ns":null}`
	if string(data[5:]) != want {
		t.Fatalf("payload\n got %s\nwant %s", data[5:], want)
	}
	s, back, err := c.ToConnect("customers", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, back, cmpOpts, ignoreVersions); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if !sameSchema(s, dbzEnvelopeSchema, 0) {
		t.Errorf("schema read back differs:\n got %+v", s)
	}
}

// TestJSONSchemaEvolution: with Confluent's default open content model
// (additional properties allowed), adding a property is not backward
// compatible; with object.additional.properties=false it is, as in
// Confluent's JSON Schema rules.
func TestJSONSchemaEvolution(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	v1 := connect.StructSchema().Name("shop.Item").Field("id", connect.Int64Schema).Build()
	v2 := connect.StructSchema().Name("shop.Item").Field("id", connect.Int64Schema).Field("note", connect.OptionalString).Build()
	for _, tc := range []struct {
		additional string
		ok         bool
	}{{"true", false}, {"false", true}} {
		c := mustConverter(t, "json-schema", false, "schema.registry.url", reg.url, "object.additional.properties", tc.additional)
		topic := "items-" + tc.additional
		if _, err := c.FromConnect(topic, v1, connect.NewStruct(v1).Put("id", int64(1))); err != nil {
			t.Fatal(err)
		}
		_, err := c.FromConnect(topic, v2, connect.NewStruct(v2).Put("id", int64(2)))
		var re *RegistryError
		switch {
		case tc.ok && err != nil:
			t.Errorf("closed content model: adding an optional property refused: %v", err)
		case !tc.ok && (!errors.As(err, &re) || re.Code != 409 || !strings.Contains(re.Message, "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")):
			t.Errorf("open content model: adding a property: %v, want a 409 naming OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", err)
		}
	}
}

// TestJSONSchemaRegistered checks the JSON Schema registered for a struct
// of optional, map, logical and narrow integer fields, as JsonSchemaData
// maps them: title and description from the schema's name and doc,
// connect.index per property, connect.type where JSON Schema's types are
// wider, optional schemas as oneOf with null, no "required" list. Members
// are compared as JSON values (the text's order is this converter's own).
func TestJSONSchemaRegistered(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	c := mustConverter(t, "json-schema", false, "schema.registry.url", reg.url)
	s := connect.StructSchema().Name("shop.Item").Doc("an item").Field("id", connect.Int64Schema).Field("note", connect.OptionalString).
		Field("tags", connect.MapSchema(connect.StringSchema, connect.Int16Schema).Build()).
		Field("price", connect.DecimalSchema(2).Build()).Field("day", connect.DateSchema().Optional().Build()).Build()
	if _, err := c.FromConnect("items", s, connect.NewStruct(s).Put("id", int64(1)).Put("tags", map[string]any{}).Put("price", dec(1, 2))); err != nil {
		t.Fatal(err)
	}
	got, err := reg.client(t).SchemaByVersion(testCtx(t), "items-value", -1)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","title":"shop.Item","description":"an item","properties":{
		"id":{"type":"integer","connect.type":"int64","connect.index":0},
		"note":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1},
		"tags":{"type":"object","additionalProperties":{"type":"integer","connect.type":"int16"},"connect.type":"map","connect.index":2},
		"price":{"type":"string","title":"org.apache.kafka.connect.data.Decimal","connect.type":"bytes","connect.version":1,"connect.parameters":{"scale":"2"},"connect.index":3},
		"day":{"oneOf":[{"type":"null"},{"type":"integer","title":"org.apache.kafka.connect.data.Date","connect.type":"int32","connect.version":1}],"connect.index":4}}}`
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(got.Schema.Schema), &g); err != nil {
		t.Fatalf("registered schema %s: %v", got.Schema.Schema, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("registered JSON Schema (-want +got):\n%s", diff)
	}
}

// TestJSONSchemaBadInput: data not in the wire format, an id the registry
// does not have, an id of an Avro schema and a payload that is not JSON
// each fail with an error that says so, none retriable.
func TestJSONSchemaBadInput(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	avroID, err := reg.client(t).RegisterSchema(testCtx(t), "a-value", sr.Schema{Schema: `"string"`}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := mustConverter(t, "json-schema", false, "schema.registry.url", reg.url)
	good, err := c.FromConnect("t", connect.StringSchema, "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"JSON text", []byte(`{"id":1}`), "Unknown magic byte!"},
		{"unknown id", []byte{0, 0, 0, 0, 99, '1'}, "Schema 99 not found (HTTP 404, error code 40403)"},
		{"an Avro schema's id", append(appendWireHeader(nil, avroID), `"x"`...), "the schema is of type AVRO, not JSON"},
		{"not JSON", append(append([]byte{}, good[:5]...), `"x`...), "the payload is not JSON"},
	} {
		_, _, err := c.ToConnect("t", tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || connect.IsRetriable(err) {
			t.Errorf("%s: %v (retriable %v), want %q", tc.name, err, connect.IsRetriable(err), tc.want)
		}
	}
}
