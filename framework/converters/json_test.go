package converters

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// Schemas and values from Kafka Connect's JsonConverterTest, with the exact
// bytes its JsonConverter writes for them.
var (
	structSchema = connect.StructSchema().
			Field("field1", connect.BooleanSchema).
			Field("field2", connect.StringSchema).
			Field("field3", connect.StringSchema).
			Field("field4", connect.BooleanSchema).Build()
	structValue = connect.NewStruct(structSchema).
			Put("field1", true).Put("field2", "string2").Put("field3", "string3").Put("field4", false)
	stringDefault   = connect.NewSchema(connect.String).Optional().Default("default").Build()
	structOfDefault = connect.StructSchema().Field("field1", stringDefault).Build()

	// 4000000000 ms after the epoch, 10000 days after it, 4 hours after midnight.
	timestamp = time.UnixMilli(4000000000).UTC()
	date      = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 10000)
	timeOfDay = time.UnixMilli(14400000).UTC()
)

func TestJSONFromConnectGolden(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg    []string
		schema *connect.Schema
		value  any
		want   string
	}{
		"boolean": {schema: connect.BooleanSchema, value: true, want: `{"schema":{"type":"boolean","optional":false},"payload":true}`},
		"int8":    {schema: connect.Int8Schema, value: int8(12), want: `{"schema":{"type":"int8","optional":false},"payload":12}`},
		"int16":   {schema: connect.Int16Schema, value: int16(12), want: `{"schema":{"type":"int16","optional":false},"payload":12}`},
		"int32":   {schema: connect.Int32Schema, value: int32(12), want: `{"schema":{"type":"int32","optional":false},"payload":12}`},
		"int64":   {schema: connect.Int64Schema, value: int64(4398046511104), want: `{"schema":{"type":"int64","optional":false},"payload":4398046511104}`},
		"float":   {schema: connect.Float32Schema, value: float32(12.34), want: `{"schema":{"type":"float","optional":false},"payload":12.34}`},
		"double":  {schema: connect.Float64Schema, value: 12.34, want: `{"schema":{"type":"double","optional":false},"payload":12.34}`},
		"double exponent": {
			schema: connect.Float64Schema, value: 1e10,
			want: `{"schema":{"type":"double","optional":false},"payload":1.0E10}`,
		},
		"double integral": {schema: connect.Float64Schema, value: 100.0, want: `{"schema":{"type":"double","optional":false},"payload":100.0}`},
		"double NaN":      {schema: connect.Float64Schema, value: math.NaN(), want: `{"schema":{"type":"double","optional":false},"payload":"NaN"}`},
		"float infinity": {
			schema: connect.Float32Schema, value: float32(math.Inf(-1)),
			want: `{"schema":{"type":"float","optional":false},"payload":"-Infinity"}`,
		},
		"bytes":  {schema: connect.BytesSchema, value: []byte("test-string"), want: `{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}`},
		"string": {schema: connect.StringSchema, value: "test-string", want: `{"schema":{"type":"string","optional":false},"payload":"test-string"}`},
		"string escapes": {
			schema: connect.StringSchema, value: "q\"b\\s/\n\t\r\b\f\x01\x1f\x7fé€😀<>&\u2028",
			want: `{"schema":{"type":"string","optional":false},"payload":"q\"b\\s/\n\t\r\b\f\u0001\u001F` + "\x7fé€😀<>&\u2028" + `"}`,
		},
		"string invalid UTF-8": {schema: connect.StringSchema, value: "a\xffb", want: `{"schema":{"type":"string","optional":false},"payload":"a` + "\uFFFD" + `b"}`},
		"array": {
			schema: connect.ArraySchema(connect.Int32Schema).Build(), value: []any{int32(1), int32(2), int32(3)},
			want: `{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2,3]}`,
		},
		"map string keys": {
			schema: connect.MapSchema(connect.StringSchema, connect.Int32Schema).Build(),
			value:  map[string]any{"key2": int32(15), "key1": int32(12)},
			want:   `{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"key1":12,"key2":15}}`,
		},
		"map non-string keys": {
			schema: connect.MapSchema(connect.Int32Schema, connect.Int32Schema).Build(),
			value:  map[any]any{int32(2): int32(15), int32(1): int32(12)},
			want:   `{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":[[1,12],[2,15]]}`,
		},
		"struct": {
			schema: structSchema, value: structValue,
			want: `{"schema":{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"field1"},{"type":"string","optional":false,"field":"field2"},{"type":"string","optional":false,"field":"field3"},{"type":"boolean","optional":false,"field":"field4"}],"optional":false},` +
				`"payload":{"field1":true,"field2":"string2","field3":"string3","field4":false}}`,
		},
		"metadata": {
			schema: connect.NewSchema(connect.Boolean).Name("bool").Version(3).Doc("the documentation").Parameter("foo", "bar").Build(), value: true,
			want: `{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}`,
		},
		"parameters sorted": {
			schema: connect.NewSchema(connect.String).Parameter("b", "2").Parameter("a", "1").Build(), value: "x",
			want: `{"schema":{"type":"string","optional":false,"parameters":{"a":"1","b":"2"}},"payload":"x"}`,
		},
		"optional null":   {schema: connect.OptionalBoolean, value: nil, want: `{"schema":{"type":"boolean","optional":true},"payload":null}`},
		"default present": {schema: connect.NewSchema(connect.Boolean).Default(true).Build(), value: true, want: `{"schema":{"type":"boolean","optional":false,"default":true},"payload":true}`},
		"null to default": {schema: stringDefault, value: nil, want: `{"schema":{"type":"string","optional":true,"default":"default"},"payload":"default"}`},
		"null stays null": {
			cfg:    []string{"replace.null.with.default", "false"},
			schema: stringDefault, value: nil, want: `{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}`,
		},
		"field null to default": {
			schema: structOfDefault, value: connect.NewStruct(structOfDefault),
			want: `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":"default"}}`,
		},
		"field null stays null": {
			cfg:    []string{"replace.null.with.default", "false"},
			schema: structOfDefault, value: connect.NewStruct(structOfDefault),
			want: `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":null}}`,
		},
		"decimal base64": {
			schema: connect.DecimalSchema(2).Build(), value: dec(156, 2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}`,
		},
		"decimal base64 negative": {
			schema: connect.DecimalSchema(0).Build(), value: dec(-129, 0),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0"}},"payload":"/38="}`,
		},
		"decimal numeric": {
			cfg:    []string{"decimal.format", "NUMERIC"},
			schema: connect.DecimalSchema(2).Build(), value: dec(156, 2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}`,
		},
		"decimal numeric trailing zeros": {
			cfg:    []string{"decimal.format", "numeric"},
			schema: connect.DecimalSchema(4).Build(), value: dec(15600, 4),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"4"}},"payload":1.5600}`,
		},
		"decimal default": {
			schema: connect.DecimalSchema(2).Default(dec(156, 2)).Build(), value: nil,
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"default":"AJw="},"payload":"AJw="}`,
		},
		"date": {
			schema: connect.DateSchema().Build(), value: date,
			want: `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}`,
		},
		"time": {
			schema: connect.TimeSchema().Build(), value: timeOfDay,
			want: `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":14400000}`,
		},
		"timestamp": {
			schema: connect.TimestampSchema().Build(), value: timestamp,
			want: `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}`,
		},
		"timestamp in another zone": {
			schema: connect.TimestampSchema().Build(), value: timestamp.In(time.FixedZone("x", 3600)),
			want: `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}`,
		},
		"date default": {
			schema: connect.DateSchema().Optional().Default(time.UnixMilli(0).UTC()).Build(), value: nil,
			want: `{"schema":{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"default":0},"payload":0}`,
		},
		"nested": {
			schema: connect.ArraySchema(connect.StructSchema().Field("m", connect.MapSchema(connect.StringSchema, connect.OptionalInt64).Build()).Optional().Build()).Build(),
			value: []any{nil, connect.NewStruct(connect.StructSchema().Field("m", connect.MapSchema(connect.StringSchema, connect.OptionalInt64).Build()).Optional().Build()).
				Put("m", map[string]any{"x": nil, "a": int64(-1)})},
			want: `{"schema":{"type":"array","items":{"type":"struct","fields":[{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":true},"optional":false,"field":"m"}],"optional":true},"optional":false},"payload":[null,{"m":{"a":-1,"x":null}}]}`,
		},
		"schemaless primitive": {value: true, want: `{"schema":null,"payload":true}`},
		"schemaless array":     {value: []any{int32(1), "string", true}, want: `{"schema":null,"payload":[1,"string",true]}`},
		"schemaless map": {
			value: map[string]any{"key1": int32(12), "key2": "string", "key3": true},
			want:  `{"schema":null,"payload":{"key1":12,"key2":"string","key3":true}}`,
		},
		"schemaless map of any with string keys": {value: map[any]any{"b": 1, "a": 2.5}, want: `{"schema":null,"payload":{"a":2.5,"b":1}}`},
		"schemaless map non-string keys": {
			value: map[any]any{"string": int32(12), int32(52): "string", false: true},
			want:  `{"schema":null,"payload":[["string",12],[52,"string"],[false,true]]}`,
		},
		"schemaless Go types": {
			value: []any{int(-1), uint64(math.MaxUint64), float32(0.3), json.Number("1.50"), []string{"a"}, map[string]string{"k": "v"}, []byte{0xff}, nil},
			want:  `{"schema":null,"payload":[-1,18446744073709551615,0.3,1.50,["a"],{"k":"v"},"/w==",null]}`,
		},
		"schemaless struct": {value: structValue, want: `{"schema":null,"payload":{"field1":true,"field2":"string2","field3":"string3","field4":false}}`},
		"schemas disabled":  {cfg: []string{"schemas.enable", "false"}, value: true, want: `true`},
		"schemas disabled struct": {
			cfg: []string{"schemas.enable", "false"}, schema: structSchema, value: structValue,
			want: `{"field1":true,"field2":"string2","field3":"string3","field4":false}`,
		},
		"schemas disabled optional null": {cfg: []string{"schemas.enable", "false"}, schema: connect.OptionalString, value: nil, want: `null`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mustJSON(t, tc.cfg...)
			got, err := c.FromConnect("topic", tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("FromConnect (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("FromConnect wrote invalid JSON: %s", got)
			}
			// AppendFromConnect writes the same after what dst holds.
			appended, err := c.(Appender).AppendFromConnect([]byte("prefix"), "topic", tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("prefix"+tc.want, string(appended)); diff != "" {
				t.Errorf("AppendFromConnect (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONFromConnectTombstone(t *testing.T) {
	t.Parallel()
	for _, enabled := range []string{"true", "false"} {
		c := mustJSON(t, "schemas.enable", enabled)
		got, err := c.FromConnect("topic", nil, nil)
		if err != nil || got != nil {
			t.Errorf("schemas.enable=%s: FromConnect(nil, nil) = %q, %v; want nil, nil", enabled, got, err)
		}
		appended, err := c.(Appender).AppendFromConnect([]byte("x"), "topic", nil, nil)
		if err != nil || string(appended) != "x" {
			t.Errorf("schemas.enable=%s: AppendFromConnect(x, nil, nil) = %q, %v; want x, nil", enabled, appended, err)
		}
	}
}

func TestJSONFromConnectErrors(t *testing.T) {
	t.Parallel()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	otherStruct := connect.StructSchema().Field("field1", connect.BooleanSchema).Build()
	tests := map[string]struct {
		cfg    []string
		schema *connect.Schema
		value  any
		want   string
	}{
		"mismatching type":  {schema: connect.Float64Schema, value: true, want: "Invalid type for FLOAT64: bool"},
		"Go int for int32":  {schema: connect.Int32Schema, value: 1, want: "Invalid type for INT32: int"},
		"required null":     {schema: connect.Int32Schema, value: nil, want: "null value for field that is required and has no default value"},
		"required field":    {schema: structSchema, value: connect.NewStruct(structSchema), want: `field "field1": Conversion error: null value`},
		"struct mismatch":   {schema: structSchema, value: connect.NewStruct(otherStruct).Put("field1", true), want: "Mismatching schema."},
		"array element":     {schema: connect.ArraySchema(connect.Int8Schema).Build(), value: []any{int8(1), "x"}, want: "array element 1: Invalid type for INT8: string"},
		"map key":           {schema: connect.MapSchema(connect.StringSchema, connect.Int8Schema).Build(), value: map[any]any{1: int8(1)}, want: "map key: Invalid type for STRING: int"},
		"decimal scale":     {schema: connect.DecimalSchema(2).Build(), value: dec(1, 3), want: "Decimal value has mismatching scale for given Decimal schema. Schema has scale 2, value has scale 3."},
		"decimal type":      {schema: connect.DecimalSchema(2).Build(), value: 1.5, want: "Invalid type for Decimal"},
		"decimal no schema": {value: dec(156, 2), want: "does not have corresponding schema type"},
		"date with time":    {schema: connect.DateSchema().Build(), value: date.Add(time.Hour), want: "Kafka Connect Date type should not have any time fields set to non-zero values."},
		"time with date":    {schema: connect.TimeSchema().Build(), value: date, want: "Kafka Connect Time type should not have any date fields set to non-zero values."},
		"time type":         {schema: connect.TimestampSchema().Build(), value: int64(1), want: "Invalid type for Timestamp, expected time.Time"},
		"unknown Go type":   {value: struct{}{}, want: "Go type struct {} does not have corresponding schema type"},
		"bad json.Number":   {value: json.Number("1x"), want: "is not a JSON number"},
		"cyclic value":      {value: cyclic, want: "nesting deeper than 1000 levels"},
		"bad schema type":   {schema: &connect.Schema{Type: "uuid"}, value: "x", want: `unsupported schema type "uuid"`},
		"bad decimal scale": {schema: connect.NewSchema(connect.Bytes).Name(connect.DecimalName).Build(), value: dec(1, 0), want: `no "scale" parameter`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mustJSON(t, tc.cfg...)
			got, err := c.FromConnect("topic", tc.schema, tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FromConnect = %q, %v; want an error containing %q", got, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "json converter: ") {
				t.Errorf("error %q does not name the converter", err)
			}
			dst := []byte("prefix")
			appended, aerr := c.(Appender).AppendFromConnect(dst, "topic", tc.schema, tc.value)
			if aerr == nil || aerr.Error() != err.Error() || string(appended) != "prefix" {
				t.Errorf("AppendFromConnect = %q, %v; want %q, %v", appended, aerr, "prefix", err)
			}
		})
	}
}

const decimalName = connect.DecimalName

func TestJSONToConnect(t *testing.T) {
	t.Parallel()
	boolMeta := connect.NewSchema(connect.Boolean).Name("bool").Version(2).Doc("the documentation").Parameter("foo", "bar").Build()
	tests := map[string]struct {
		cfg        []string
		data       string
		wantSchema *connect.Schema
		want       any
	}{
		"boolean":          {data: `{ "schema": { "type": "boolean" }, "payload": true }`, wantSchema: connect.BooleanSchema, want: true},
		"optional boolean": {data: `{ "schema": { "type": "boolean", "optional": true }, "payload": null }`, wantSchema: connect.OptionalBoolean},
		"boolean default": {
			data:       `{ "schema": { "type": "boolean", "default": true }, "payload": null }`,
			wantSchema: connect.NewSchema(connect.Boolean).Default(true).Build(), want: true,
		},
		"metadata": {
			data:       `{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }`,
			wantSchema: boolMeta, want: true,
		},
		"int8":  {data: `{ "schema": { "type": "int8" }, "payload": 12 }`, wantSchema: connect.Int8Schema, want: int8(12)},
		"int16": {data: `{ "schema": { "type": "int16" }, "payload": 12 }`, wantSchema: connect.Int16Schema, want: int16(12)},
		"int32": {data: `{ "schema": { "type": "int32" }, "payload": 12 }`, wantSchema: connect.Int32Schema, want: int32(12)},
		"int64": {data: `{ "schema": { "type": "int64" }, "payload": 4398046511104 }`, wantSchema: connect.Int64Schema, want: int64(4398046511104)},
		"int64 min": {
			data: `{"schema":{"type":"int64"},"payload":-9223372036854775808}`, wantSchema: connect.Int64Schema, want: int64(math.MinInt64),
		},
		"leading zeros":   {data: `{ "schema": { "type": "int32" }, "payload": 000012345 }`, wantSchema: connect.Int32Schema, want: int32(12345)},
		"float":           {data: `{ "schema": { "type": "float" }, "payload": 12.34 }`, wantSchema: connect.Float32Schema, want: float32(12.34)},
		"double":          {data: `{ "schema": { "type": "double" }, "payload": 12.34 }`, wantSchema: connect.Float64Schema, want: 12.34},
		"double integer":  {data: `{ "schema": { "type": "double" }, "payload": 12 }`, wantSchema: connect.Float64Schema, want: 12.0},
		"double NaN":      {data: `{ "schema": { "type": "double" }, "payload": "NaN" }`, wantSchema: connect.Float64Schema, want: math.NaN()},
		"double overflow": {data: `{ "schema": { "type": "double" }, "payload": 1e400 }`, wantSchema: connect.Float64Schema, want: math.Inf(1)},
		"bytes": {
			data:       `{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }`,
			wantSchema: connect.BytesSchema, want: []byte("test-string"),
		},
		"string":         {data: `{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }`, wantSchema: connect.StringSchema, want: "foo-bar-baz"},
		"string escapes": {data: `{"schema":{"type":"string"},"payload":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"}`, wantSchema: connect.StringSchema, want: "a\"\\/\b\f\n\r\té😀\uFFFDx"},
		"array": {
			data:       `{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [1, 2, 3] }`,
			wantSchema: connect.ArraySchema(connect.Int32Schema).Build(), want: []any{int32(1), int32(2), int32(3)},
		},
		"empty array": {
			data:       `{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [] }`,
			wantSchema: connect.ArraySchema(connect.Int32Schema).Build(), want: []any{},
		},
		"map string keys": {
			data:       `{ "schema": { "type": "map", "keys": { "type" : "string" }, "values": { "type" : "int32" } }, "payload": { "key1": 12, "key2": 15} }`,
			wantSchema: connect.MapSchema(connect.StringSchema, connect.Int32Schema).Build(), want: map[string]any{"key1": int32(12), "key2": int32(15)},
		},
		"map non-string keys": {
			data:       `{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }`,
			wantSchema: connect.MapSchema(connect.Int32Schema, connect.Int32Schema).Build(), want: map[any]any{int32(1): int32(12), int32(2): int32(15)},
		},
		"struct": {
			data:       `{ "schema": { "type": "struct", "fields": [{ "field": "field1", "type": "boolean" }, { "field": "field2", "type": "string" }] }, "payload": { "field1": true, "field2": "string" } }`,
			wantSchema: connect.StructSchema().Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).Build(),
			want: connect.NewStruct(connect.StructSchema().Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).Build()).
				Put("field1", true).Put("field2", "string"),
		},
		"struct fields out of order and unknown": {
			data:       `{ "schema": { "type": "struct", "fields": [{ "field": "field1", "type": "boolean" }, { "field": "field2", "type": "string" }] }, "payload": { "extra": [1,{}], "field2": "string", "field1": true } }`,
			wantSchema: connect.StructSchema().Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).Build(),
			want: connect.NewStruct(connect.StructSchema().Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).Build()).
				Put("field1", true).Put("field2", "string"),
		},
		"struct optional field missing": {
			data:       `{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }`,
			wantSchema: connect.StructSchema().Field("optional", connect.OptionalString).Field("required", connect.StringSchema).Build(),
			want: connect.NewStruct(connect.StructSchema().Field("optional", connect.OptionalString).Field("required", connect.StringSchema).Build()).
				Put("required", "required"),
		},
		"field null to default": {
			data:       `{"schema":{"type":"struct","fields":[{"field":"field1","type":"string","optional":true,"default":"default"}],"optional":false},"payload":{"field1":null}}`,
			wantSchema: structOfDefault, want: connect.NewStruct(structOfDefault).Put("field1", "default"),
		},
		"field null stays null": {
			cfg:        []string{"replace.null.with.default", "false"},
			data:       `{"schema":{"type":"struct","fields":[{"field":"field1","type":"string","optional":true,"default":"default"}],"optional":false},"payload":{"field1":null}}`,
			wantSchema: structOfDefault, want: connect.NewStruct(structOfDefault),
		},
		"null to default": {
			data:       `{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}`,
			wantSchema: stringDefault, want: "default",
		},
		"decimal base64": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }`,
			wantSchema: connect.DecimalSchema(2).Build(), want: dec(156, 2),
		},
		"decimal optional": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "optional": true, "parameters": { "scale": "2" } }, "payload": null }`,
			wantSchema: connect.DecimalSchema(2).Optional().Build(),
		},
		"decimal default": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }`,
			wantSchema: connect.DecimalSchema(2).Default(dec(156, 2)).Build(), want: dec(156, 2),
		},
		"decimal numeric": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": 1.56 }`,
			wantSchema: connect.DecimalSchema(2).Build(), want: dec(156, 2),
		},
		"decimal numeric trailing zeros": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "4" } }, "payload": 1.5600 }`,
			wantSchema: connect.DecimalSchema(4).Build(), want: dec(15600, 4),
		},
		"decimal numeric high precision": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }`,
			wantSchema: connect.DecimalSchema(17).Build(), want: dec(123456789123456789, 17),
		},
		"decimal numeric exponent": {
			data:       `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "0" } }, "payload": -1E+2 }`,
			wantSchema: connect.DecimalSchema(0).Build(), want: dec(-1, -2),
		},
		"date": {
			data:       `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }`,
			wantSchema: connect.DateSchema().Build(), want: date,
		},
		"date default": {
			data:       `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1, "optional": true, "default": 0 }, "payload": null }`,
			wantSchema: connect.DateSchema().Optional().Default(time.UnixMilli(0).UTC()).Build(), want: time.UnixMilli(0).UTC(),
		},
		"time": {
			data:       `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1 }, "payload": 14400000 }`,
			wantSchema: connect.TimeSchema().Build(), want: timeOfDay,
		},
		"timestamp": {
			data:       `{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1 }, "payload": 4000000000 }`,
			wantSchema: connect.TimestampSchema().Build(), want: timestamp,
		},
		"timestamp default": {
			data:       `{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }`,
			wantSchema: connect.TimestampSchema().Optional().Default(time.UnixMilli(42).UTC()).Build(), want: time.UnixMilli(42).UTC(),
		},
		"null schema null payload": {data: `{ "schema": null, "payload": null }`},
		"null schema boolean":      {data: `{ "schema": null, "payload": true }`, want: true},
		"null schema integer":      {data: `{ "schema": null, "payload": 12 }`, want: int64(12)},
		"null schema float":        {data: `{ "schema": null, "payload": 12.24 }`, want: 12.24},
		"null schema string":       {data: `{ "schema": null, "payload": "a string" }`, want: "a string"},
		"null schema array":        {data: `{ "schema": null, "payload": [1, "2", 3] }`, want: []any{int64(1), "2", int64(3)}},
		"null schema object": {
			data: `{ "schema": null, "payload": { "field1": 1, "field2": 2} }`, want: map[string]any{"field1": int64(1), "field2": int64(2)},
		},
		"payload before schema": {data: `{"payload":12,"schema":{"type":"int16"}}`, wantSchema: connect.Int16Schema, want: int16(12)},
		"duplicate keys, last wins": {
			data:       `{"schema":{"type":"int8"},"payload":"x","payload":1,"schema":{"type":"int16"}}`,
			wantSchema: connect.Int16Schema, want: int16(1),
		},
		"BOM and whitespace": {data: "\xEF\xBB\xBF \n{\"schema\":{\"type\":\"int8\"},\t\"payload\":1}\r\n", wantSchema: connect.Int8Schema, want: int8(1)},
		"tombstone":          {},
		"schemas disabled": {
			cfg: []string{"schemas.enable", "false"}, data: `{ "a": "", "b": null, "c": [1.0, -0, 1e2, 99999999999999999999], "d": {"x": false}}`,
			want: map[string]any{"a": "", "b": nil, "c": []any{1.0, int64(0), 100.0, 1e20}, "d": map[string]any{"x": false}},
		},
		"schemas disabled primitive": {cfg: []string{"schemas.enable", "false"}, data: `true`, want: true},
		"schemas disabled empty":     {cfg: []string{"schemas.enable", "false"}, data: ``},
		"schemas disabled envelope": {
			cfg: []string{"schemas.enable", "false"}, data: `{"schema":null,"payload":1}`, want: map[string]any{"schema": nil, "payload": int64(1)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mustJSON(t, tc.cfg...)
			var data []byte
			if name != "tombstone" {
				data = []byte(tc.data)
			}
			schema, value, err := c.ToConnect("topic", data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantSchema, schema, cmpOpts); diff != "" {
				t.Errorf("schema (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, value, cmpOpts); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONToConnectErrors(t *testing.T) {
	t.Parallel()
	const envelope = `JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`
	tests := map[string]struct {
		cfg    []string
		data   string
		want   string
		syntax bool
	}{
		"plain JSON":             {data: `{"a":1}`, want: envelope},
		"plain primitive":        {data: `12`, want: envelope},
		"empty data":             {data: ``, want: envelope},
		"no payload":             {data: `{"schema":null}`, want: envelope},
		"extra member":           {data: `{"schema":null,"payload":1,"x":2}`, want: envelope},
		"empty object":           {data: `{}`, want: envelope},
		"syntax beats envelope":  {data: `{"a":1`, want: "expected ',' or '}'", syntax: true},
		"trailing data":          {data: `{"schema":null,"payload":1} x`, want: "unexpected data after the JSON value", syntax: true},
		"trailing data plain":    {cfg: []string{"schemas.enable", "false"}, data: `1 2`, want: "unexpected data", syntax: true},
		"unterminated string":    {cfg: []string{"schemas.enable", "false"}, data: `"abc`, want: "unterminated string", syntax: true},
		"control in string":      {cfg: []string{"schemas.enable", "false"}, data: "\"a\nb\"", want: "unescaped control character", syntax: true},
		"invalid UTF-8":          {cfg: []string{"schemas.enable", "false"}, data: "\"a\xffb\"", want: "invalid UTF-8", syntax: true},
		"bad escape":             {cfg: []string{"schemas.enable", "false"}, data: `"\x"`, want: "invalid escape", syntax: true},
		"bad number":             {cfg: []string{"schemas.enable", "false"}, data: `1.`, want: "decimal point not followed by a digit", syntax: true},
		"plus sign":              {cfg: []string{"schemas.enable", "false"}, data: `+1`, want: "unexpected character", syntax: true},
		"NaN literal":            {cfg: []string{"schemas.enable", "false"}, data: `NaN`, want: "unexpected character", syntax: true},
		"trailing comma":         {cfg: []string{"schemas.enable", "false"}, data: `[1,]`, want: "unexpected character", syntax: true},
		"too deep":               {cfg: []string{"schemas.enable", "false"}, data: strings.Repeat("[", 1001) + strings.Repeat("]", 1001), want: "nesting deeper than 1000 levels", syntax: true},
		"number too long":        {cfg: []string{"schemas.enable", "false"}, data: strings.Repeat("1", 1001), want: "number longer than 1000 characters", syntax: true},
		"syntax beats schema":    {data: `{"schema":{"type":"nope"},"payload":[}`, want: "unexpected character", syntax: true},
		"schema without type":    {data: `{"schema":{"optional":true},"payload":1}`, want: "Schema must contain 'type' field"},
		"schema not an object":   {data: `{"schema":5,"payload":1}`, want: "Schema must contain 'type' field"},
		"unknown type":           {data: `{"schema":{"type":"uuid"},"payload":1}`, want: "Unknown schema type: uuid"},
		"array without items":    {data: `{"schema":{"type":"array"},"payload":[]}`, want: "Array schema did not specify the element type"},
		"map without keys":       {data: `{"schema":{"type":"map","values":{"type":"int8"}},"payload":{}}`, want: "Map schema did not specify the key type"},
		"map null values":        {data: `{"schema":{"type":"map","keys":{"type":"int8"},"values":null},"payload":[]}`, want: "valueSchema cannot be null."},
		"struct without fields":  {data: `{"schema":{"type":"struct"},"payload":{}}`, want: `Struct schema's "fields" argument is not an array.`},
		"struct field no name":   {data: `{"schema":{"type":"struct","fields":[{"type":"int8"}]},"payload":{}}`, want: "Struct schema's field name not specified properly"},
		"struct duplicate field": {data: `{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"},{"type":"int8","field":"a"}]},"payload":{}}`, want: "field name duplication a"},
		"struct default":         {data: `{"schema":{"type":"struct","fields":[],"default":{}},"payload":{}}`, want: "Invalid default value: Struct schemas do not match."},
		"parameter not string":   {data: `{"schema":{"type":"int8","parameters":{"a":1}},"payload":1}`, want: "Schema parameters must have string values."},
		"required default null":  {data: `{"schema":{"type":"int8","default":null},"payload":1}`, want: "default value: Invalid null value for required INT8 field"},
		"schema beats payload":   {data: `{"payload":"x","schema":{"type":"uuid"}}`, want: "Unknown schema type"},
		"required null":          {data: `{"schema":{"type":"int32"},"payload":null}`, want: "Invalid null value for required INT32 field"},
		"required field missing": {data: `{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"}]},"payload":{}}`, want: `field "a": Invalid null value for required INT8 field`},
		"int8 out of range":      {data: `{"schema":{"type":"int8"},"payload":300}`, want: "Invalid value for INT8 schema: 300 is out of range"},
		"int64 out of range":     {data: `{"schema":{"type":"int64"},"payload":9223372036854775808}`, want: "is not an integer in range"},
		"int from fraction":      {data: `{"schema":{"type":"int32"},"payload":1.5}`, want: "1.5 is not an integer"},
		"int from string":        {data: `{"schema":{"type":"int32"},"payload":"1"}`, want: "Invalid value for INT32 schema: found STRING"},
		"boolean from number":    {data: `{"schema":{"type":"boolean"},"payload":1}`, want: "Invalid value for BOOLEAN schema: found NUMBER"},
		"float from string":      {data: `{"schema":{"type":"float"},"payload":"1"}`, want: `Invalid value for FLOAT32 schema: "1"`},
		"bytes not base64":       {data: `{"schema":{"type":"bytes"},"payload":"!!"}`, want: "Invalid bytes field"},
		"struct from array":      {data: `{"schema":{"type":"struct","fields":[]},"payload":[]}`, want: "Structs should be encoded as JSON objects, but found ARRAY"},
		"string map from array":  {data: `{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int8"}},"payload":[]}`, want: "Maps with string fields should be encoded as JSON objects, but found ARRAY"},
		"map from object":        {data: `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":{}}`, want: "Maps with non-string fields should be encoded as JSON array of tuples, but found OBJECT"},
		"map entry not array":    {data: `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[1]}`, want: "Found invalid map entry instead of array tuple: NUMBER"},
		"map entry too long":     {data: `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1,2,3]]}`, want: "Found invalid map entry, expected length 2 but found :3"},
		"map bytes keys":         {data: `{"schema":{"type":"map","keys":{"type":"bytes"},"values":{"type":"int8"}},"payload":[["AA==",1]]}`, want: "cannot be a Go map key"},
		"decimal empty bytes":    {data: `{"schema":{"type":"bytes","name":"` + decimalName + `","parameters":{"scale":"2"}},"payload":""}`, want: "Invalid bytes for Decimal field"},
		"decimal no scale":       {data: `{"schema":{"type":"bytes","name":"` + decimalName + `"},"payload":"AJw="}`, want: "Invalid bytes for Decimal field"},
		"decimal from boolean":   {data: `{"schema":{"type":"bytes","name":"` + decimalName + `","parameters":{"scale":"2"}},"payload":true}`, want: "underlying representation should be numeric or bytes but was BOOLEAN"},
		"decimal exponent range": {data: `{"schema":{"type":"bytes","name":"` + decimalName + `","parameters":{"scale":"2"}},"payload":1e-2147483648}`, want: "out of range"},
		"date from long":         {data: `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":4000000000}`, want: "Invalid type for Date, underlying representation should be integer"},
		"time out of range":      {data: `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400001}`, want: "Time values must use number of milliseconds greater than 0 and less than 86400000"},
		"timestamp from float":   {data: `{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"},"payload":1.5}`, want: "should be integral but was 1.5"},
		"nested error path": {
			data: `{"schema":{"type":"struct","fields":[{"field":"a","type":"array","items":{"type":"int8"}}]},"payload":{"a":[1,"x"]}}`,
			want: `field "a": array element 1: Invalid value for INT8 schema: found STRING`,
		},
		"syntax after bad payload": {data: `{"schema":{"type":"int8"},"payload":"x",}`, want: "expected a member name", syntax: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mustJSON(t, tc.cfg...)
			s, v, err := c.ToConnect("topic", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ToConnect = %v, %v, %v; want an error containing %q", s, v, err, tc.want)
			}
			var se *syntaxError
			if got := errors.As(err, &se); got != tc.syntax {
				t.Errorf("error %q: syntax error = %v, want %v", err, got, tc.syntax)
			}
		})
	}
}

// TestJSONRoundTrip converts values to JSON and back, with schemas on and
// off and both decimal formats.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	inner := connect.StructSchema().Name("com.example.Inner").Doc("inner \"doc\"").
		Field("when", connect.TimestampSchema().Optional().Build()).
		Field("tags", connect.ArraySchema(connect.StringSchema).Optional().Build()).Build()
	outer := connect.StructSchema().Name("com.example.Outer").Version(7).
		Field("i8", connect.Int8Schema).Field("i16", connect.Int16Schema).Field("i32", connect.Int32Schema).
		Field("i64", connect.Int64Schema).Field("f32", connect.Float32Schema).Field("f64", connect.Float64Schema).
		Field("b", connect.BooleanSchema).Field("s", connect.StringSchema).Field("raw", connect.BytesSchema).
		Field("price", connect.DecimalSchema(3).Build()).Field("day", connect.DateSchema().Build()).
		Field("at", connect.TimeSchema().Build()).Field("opt", connect.OptionalInt32).
		Field("def", connect.NewSchema(connect.Int64).Default(int64(9)).Build()).
		Field("inner", inner).
		Field("byKey", connect.MapSchema(connect.Int64Schema, inner).Optional().Build()).
		Field("names", connect.MapSchema(connect.StringSchema, connect.OptionalFloat64).Build()).Build()
	value := connect.NewStruct(outer).
		Put("i8", int8(-128)).Put("i16", int16(32767)).Put("i32", int32(math.MinInt32)).Put("i64", int64(math.MaxInt64)).
		Put("f32", float32(3.4028235e38)).Put("f64", 5e-324).Put("b", true).Put("s", "héllo \"world\"\n").
		Put("raw", []byte{0, 1, 2, 0xff}).Put("price", dec(-123456, 3)).Put("day", date).Put("at", timeOfDay).
		Put("def", int64(10)).
		Put("inner", connect.NewStruct(inner).Put("when", timestamp).Put("tags", []any{"a", ""})).
		Put("byKey", map[any]any{int64(1): connect.NewStruct(inner), int64(-1): connect.NewStruct(inner).Put("tags", []any{})}).
		Put("names", map[string]any{"x": 1.5, "y": nil})
	tests := map[string]struct {
		schema *connect.Schema
		value  any
	}{
		"struct":      {outer, value},
		"optional":    {connect.OptionalString, nil},
		"schemaless":  {nil, map[string]any{"a": []any{int64(1), 2.5, "x", true, nil, map[string]any{}}}},
		"array bytes": {connect.ArraySchema(connect.OptionalBytes).Build(), []any{[]byte{}, nil, []byte("x")}},
	}
	for name, tc := range tests {
		for _, cfg := range [][]string{
			{"schemas.enable", "true"},
			{"schemas.enable", "true", "decimal.format", "NUMERIC"},
			{"schemas.enable", "false"},
		} {
			t.Run(name+"/"+strings.Join(cfg, "="), func(t *testing.T) {
				t.Parallel()
				c := mustJSON(t, cfg...)
				data, err := c.FromConnect("topic", tc.schema, tc.value)
				if err != nil {
					t.Fatal(err)
				}
				schema, got, err := c.ToConnect("topic", data)
				if err != nil {
					t.Fatalf("ToConnect(%s): %v", data, err)
				}
				if cfg[1] == "false" {
					// Schemaless JSON keeps only JSON's types: check the
					// bytes survive instead.
					again, err := c.FromConnect("topic", nil, got)
					if err != nil {
						t.Fatal(err)
					}
					if tc.schema == nil && string(again) != string(data) {
						t.Errorf("schemaless round trip:\n got %s\nwant %s", again, data)
					}
					return
				}
				if diff := cmp.Diff(tc.schema, schema, cmpOpts); diff != "" {
					t.Errorf("schema (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.value, got, cmpOpts); diff != "" {
					t.Errorf("value (-want +got):\n%s\ndata: %s", diff, data)
				}
			})
		}
	}
}

func TestJSONSchemaCache(t *testing.T) {
	t.Parallel()
	c := mustJSON(t, "schemas.cache.size", "2").(*jsonConverter)
	for _, data := range []string{
		`{ "schema": { "type": "boolean" }, "payload": true }`,
		`{ "schema": { "type": "boolean" }, "payload": false }`,
		`{ "schema": { "type": "boolean", "optional": true }, "payload": true }`,
		`{ "schema": { "type": "boolean" }, "payload": true }`,
		`{ "schema": { "type": "boolean", "optional": false }, "payload": true }`,
	} {
		if _, _, err := c.ToConnect("topic", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.toCache.len(); got != 2 {
		t.Errorf("ToConnect cache holds %d schemas, want 2 (its bound)", got)
	}
	s1, _, _ := c.ToConnect("topic", []byte(`{"schema":{"type":"int8"},"payload":1}`))
	s2, _, _ := c.ToConnect("topic", []byte(`{"schema":{"type":"int8"},"payload":2}`))
	if s1 != s2 {
		t.Error("the same schema text parsed twice gave two schemas, want one cached")
	}

	for _, s := range []*connect.Schema{connect.BooleanSchema, connect.BooleanSchema, connect.OptionalBoolean} {
		if _, err := c.FromConnect("topic", s, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.fromCache.len(); got != 2 {
		t.Errorf("FromConnect cache holds %d schemas, want 2", got)
	}

	off := mustJSON(t, "schemas.cache.size", "0").(*jsonConverter)
	for range 2 {
		if _, err := off.FromConnect("topic", connect.BooleanSchema, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := off.fromCache.len(); got != 0 {
		t.Errorf("with schemas.cache.size=0 the cache holds %d schemas", got)
	}
}

func TestJSONConfigure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  map[string]string
		want string // error substring; empty: valid
	}{
		"defaults":            {cfg: nil},
		"all keys":            {cfg: map[string]string{"schemas.enable": "FALSE", "schemas.cache.size": "10", "decimal.format": "numeric", "replace.null.with.default": "false", "unknown.key": "x"}},
		"bad boolean":         {cfg: map[string]string{"schemas.enable": "maybe"}, want: "Invalid value maybe for configuration schemas.enable"},
		"bad cache size":      {cfg: map[string]string{"schemas.cache.size": "lots"}, want: "Invalid value lots for configuration schemas.cache.size"},
		"bad decimal format":  {cfg: map[string]string{"decimal.format": "HEX"}, want: "String must be one of: BASE64, NUMERIC"},
		"converter.type kept": {cfg: map[string]string{"converter.type": "bogus"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _ := New("json")
			err := c.Configure(tc.cfg, true)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *connect.ConfigError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ce) {
				t.Fatalf("Configure = %v, want a *connect.ConfigError containing %q", err, tc.want)
			}
		})
	}
}

// TestJSONUnconfigured checks that New's converters work before Configure,
// with Kafka Connect's defaults.
func TestJSONUnconfigured(t *testing.T) {
	t.Parallel()
	c, _ := New("json")
	got, err := c.FromConnect("topic", connect.Int8Schema, int8(1))
	if err != nil || string(got) != `{"schema":{"type":"int8","optional":false},"payload":1}` {
		t.Errorf("FromConnect = %s, %v", got, err)
	}
}

// TestJSONConcurrent runs one converter from several goroutines, for the
// race detector.
func TestJSONConcurrent(t *testing.T) {
	t.Parallel()
	c := mustJSON(t)
	schemas := []*connect.Schema{structSchema, connect.Int8Schema, connect.ArraySchema(connect.StringSchema).Build()}
	values := []any{structValue, int8(3), []any{"a", "b"}}
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for i := range 200 {
				k := (g + i) % len(schemas)
				var data []byte
				if data, err = c.FromConnect("topic", schemas[k], values[k]); err != nil {
					break
				}
				if _, _, err = c.ToConnect("topic", data); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestJavaFloat(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		f       float64
		bitSize int
		want    string
	}{
		"one":             {1, 64, "1.0"},
		"negative zero":   {math.Copysign(0, -1), 64, "-0.0"},
		"thousandth":      {0.001, 64, "0.001"},
		"below plain":     {0.0001, 64, "1.0E-4"},
		"ten million":     {1e7, 64, "1.0E7"},
		"below ten mill.": {9999999, 64, "9999999.0"},
		"large":           {12345678, 64, "1.2345678E7"},
		"tenth":           {0.1, 64, "0.1"},
		"hundred":         {100, 64, "100.0"},
		"negative":        {-12.34, 64, "-12.34"},
		"min double":      {5e-324, 64, "4.9E-324"},
		"max double":      {math.MaxFloat64, 64, "1.7976931348623157E308"},
		"2e23":            {2e23, 64, "2.0E23"},
		"1e23":            {1e23, 64, "1.0E23"},
		"float one":       {1, 32, "1.0"},
		"float 0.3":       {float64(float32(0.3)), 32, "0.3"},
		"float 1e10":      {1e10, 32, "1.0E10"},
		"max float":       {float64(float32(math.MaxFloat32)), 32, "3.4028235E38"},
		"min float":       {float64(math.SmallestNonzeroFloat32), 32, "1.4E-45"},
		"NaN":             {math.NaN(), 64, "NaN"},
		"-Infinity":       {math.Inf(-1), 32, "-Infinity"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := string(appendJavaFloat(nil, tc.f, tc.bitSize)); got != tc.want {
				t.Errorf("appendJavaFloat(%v, %d) = %s, want %s", tc.f, tc.bitSize, got, tc.want)
			}
		})
	}
}

func TestJavaDecimal(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		d    connect.Decimal
		want string
	}{
		"scale 2":         {dec(156, 2), "1.56"},
		"trailing zeros":  {dec(15600, 4), "1.5600"},
		"negative":        {dec(-156, 2), "-1.56"},
		"scale 0":         {dec(42, 0), "42"},
		"negative scale":  {dec(1, -2), "1E+2"},
		"negative scale2": {dec(12345, -3), "1.2345E+7"},
		"small":           {dec(5, 6), "0.000005"},
		"smaller":         {dec(5, 7), "5E-7"},
		"small digits":    {dec(123, 10), "1.23E-8"},
		"leading zeros":   {dec(-5, 3), "-0.005"},
		"zero scaled":     {dec(0, 2), "0.00"},
		"zero negative":   {dec(0, -2), "0E+2"},
		"nil unscaled":    {connect.Decimal{Scale: 1}, "0.0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := string(appendJavaDecimal(nil, tc.d)); got != tc.want {
				t.Errorf("appendJavaDecimal(%v) = %s, want %s", tc.d, got, tc.want)
			}
		})
	}
}

// TestJSONFrozenStruct checks that a frozen struct shared by records is
// written as it would be unfrozen, whatever the converter's settings and
// wherever it is nested, and that a struct at a reused address is not
// taken for a frozen one written before.
func TestJSONFrozenStruct(t *testing.T) {
	t.Parallel()
	dec := connect.DecimalSchema(2).Optional().Build()
	inner := connect.StructSchema().Field("s", connect.StringSchema).Field("d", dec).Build()
	outer := connect.StructSchema().Field("a", inner).Field("b", inner).Field("n", connect.Int64Schema).Build()
	wrap := connect.StructSchema().Field("o", outer).Build()
	mk := func(s string, n int64) *connect.StructValue {
		return connect.NewStruct(inner).Put("s", s).Put("d", connect.Decimal{Unscaled: big.NewInt(n), Scale: 2})
	}
	for _, cfg := range [][]string{
		{"schemas.enable", "false"},
		{"schemas.enable", "true"},
		{"schemas.enable", "false", "decimal.format", "NUMERIC"},
	} {
		c := mustJSON(t, cfg...)
		plain := mustJSON(t, cfg...)
		shared := mk("shared", 12345).Freeze()
		for i := range 3 {
			own := mk("own", int64(i))
			if i == 2 {
				own.Freeze()
			}
			o := connect.NewStruct(outer).Put("a", shared).Put("b", own).Put("n", int64(i))
			for _, v := range []struct {
				s *connect.Schema
				v *connect.StructValue
			}{{outer, o}, {wrap, connect.NewStruct(wrap).Put("o", o)}, {inner, shared}} {
				got, err := c.FromConnect("t", v.s, v.v)
				if err != nil {
					t.Fatal(err)
				}
				// The same record with unfrozen copies of its structs.
				thawed := connect.NewStruct(outer).Put("a", mk("shared", 12345)).Put("b", mk("own", int64(i))).Put("n", int64(i))
				var tv *connect.StructValue
				switch v.s {
				case outer:
					tv = thawed
				case wrap:
					tv = connect.NewStruct(wrap).Put("o", thawed)
				default:
					tv = mk("shared", 12345)
				}
				want, err := plain.FromConnect("t", v.s, tv)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Errorf("%v: record %d: got %s, want %s", cfg, i, got, want)
				}
			}
		}
	}
	// A frozen struct still fails the way an unfrozen one does.
	bad := connect.NewStruct(inner).Freeze()
	if _, err := mustJSON(t, "schemas.enable", "false").FromConnect("t", inner, bad); err == nil {
		t.Error("a frozen struct missing a required field was written")
	}
}
