package transforms

import (
	"math"
	"math/big"
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestCastWholeValue(t *testing.T) {
	t.Parallel()
	int32Schema := connect.Int32Schema
	cases := map[string]applyCase{}
	for typ, want := range map[string]any{
		"int8": int8(42), "int16": int16(42), "int32": int32(42), "int64": int64(42),
		"float32": float32(42), "float64": float64(42), "boolean": true, "string": "42",
	} {
		schema := &connect.Schema{Type: connect.TypeOf(want)}
		cases["schema: "+typ] = applyCase{class: "Cast$Value", keys: map[string]string{"spec": typ},
			in: rec(nil, nil, int32Schema, int32(42)), want: rec(nil, nil, schema, want)}
		cases["schemaless: "+typ] = applyCase{class: "Cast$Value", keys: map[string]string{"spec": typ},
			in: rec(nil, nil, nil, int32(42)), want: rec(nil, nil, nil, want)}
	}
	int64Opt := connect.NewSchema(connect.Int64).Optional().Name("n").Doc("d").Default(int64(-42)).Build()
	for name, tc := range map[string]applyCase{
		"key":                {class: "Cast$Key", keys: map[string]string{"spec": "int8"}, in: rec(int32Schema, int32(42), nil, nil), want: rec(connect.Int8Schema, int8(42), nil, nil)},
		"boolean false":      {class: "Cast$Value", keys: map[string]string{"spec": "boolean"}, in: rec(nil, nil, int32Schema, int32(0)), want: rec(nil, nil, connect.BooleanSchema, false)},
		"null is left alone": {class: "Cast$Value", keys: map[string]string{"spec": "int8"}, in: rec(nil, nil, int32Schema, nil), want: rec(nil, nil, int32Schema, nil)},
		"null key":           {class: "Cast$Key", keys: map[string]string{"spec": "int8"}, in: rec(nil, nil, nil, nil), want: rec(nil, nil, nil, nil)},
		"decimal to string": {class: "Cast$Value", keys: map[string]string{"spec": "string"},
			in: rec(nil, nil, connect.DecimalSchema(0).Build(), dec("42")), want: rec(nil, nil, &connect.Schema{Type: connect.String, Name: connect.DecimalName, Version: 1, Parameters: map[string]string{"scale": "0"}}, "42")},
		"timestamp to string": {class: "Cast$Value", keys: map[string]string{"spec": "string"},
			in: rec(nil, nil, connect.TimestampSchema().Build(), ms(1483425001864)), want: rec(nil, nil, &connect.Schema{Type: connect.String, Name: connect.TimestampName, Version: 1}, "2017-01-03T06:30:01.864Z")},
		"default cast and schema basics kept": {class: "Cast$Value", keys: map[string]string{"spec": "int32"},
			in:   rec(nil, nil, int64Opt, int64(42)),
			want: rec(nil, nil, connect.NewSchema(connect.Int32).Optional().Name("n").Doc("d").Default(int32(-42)).Build(), int32(42))},
		"schemaless unsupported type": {class: "Cast$Value", keys: map[string]string{"spec": "int8"},
			in: rec(nil, nil, nil, ms(0)), wantErr: "Cast transformation was passed a value of type class java.util.Date which is not supported by Connect's data API"},
		"from a struct": {class: "Cast$Value", keys: map[string]string{"spec": "int8"},
			in: rec(nil, nil, nil, []any{}), wantErr: "Cast transformation does not support casting from ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"},
		"string out of range": {class: "Cast$Value", keys: map[string]string{"spec": "int8"},
			in: rec(nil, nil, nil, "300"), wantErr: "Value (300) was out of range for requested data type"},
		"bytes to a number": {class: "Cast$Value", keys: map[string]string{"spec": "int8"},
			in: rec(nil, nil, connect.BytesSchema, []byte{1}), wantErr: "Unexpected type in Cast transformation: class [B"},
	} {
		cases[name] = tc
	}
	runCases(t, cases)
}

func TestCastFields(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().
		Field("int8", connect.Int8Schema).
		Field("int16", connect.OptionalInt16).
		Field("int32", connect.NewSchema(connect.Int32).Default(int32(2)).Build()).
		Field("int64", connect.Int64Schema).
		Field("float32", connect.Float32Schema).
		Field("float64", connect.NewSchema(connect.Float64).Default(-1.125).Build()).
		Field("boolean", connect.BooleanSchema).
		Field("string", connect.StringSchema).
		Field("bigdecimal", connect.DecimalSchema(0).Build()).
		Field("date", connect.DateSchema().Build()).
		Field("optional", connect.OptionalFloat32).
		Field("timestamp", connect.TimestampSchema().Build()).
		Field("bytes", connect.BytesSchema).
		Build()
	day := ms(86400000)
	value := st(schema, "int8", int8(8), "int16", int16(16), "int32", int32(32), "int64", int64(64), "float32", float32(32),
		"float64", float64(-64), "boolean", true, "string", "42", "bigdecimal", dec("42"), "date", day, "timestamp", ms(0),
		"bytes", []byte{0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10})
	spec := "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,bytes:string"
	out := connect.StructSchema().
		Field("int8", connect.Int16Schema).
		Field("int16", connect.OptionalInt32).
		Field("int32", connect.NewSchema(connect.Int64).Default(int64(2)).Build()).
		Field("int64", connect.BooleanSchema).
		Field("float32", connect.Float64Schema).
		Field("float64", connect.NewSchema(connect.Boolean).Default(true).Build()).
		Field("boolean", connect.Int8Schema).
		Field("string", connect.Int32Schema).
		Field("bigdecimal", connect.StringSchema).
		Field("date", connect.StringSchema).
		Field("optional", connect.OptionalInt32).
		Field("timestamp", connect.TimestampSchema().Build()).
		Field("bytes", connect.StringSchema).
		Build()
	logical := connect.StructSchema().
		Field("date_to_int32", connect.DateSchema().Build()).
		Field("timestamp_to_int64", connect.TimestampSchema().Build()).
		Field("time_to_int64", connect.TimeSchema().Build()).
		Field("decimal_to_int32", connect.DecimalSchema(0).Build()).
		Field("timestamp_to_float64", connect.TimestampSchema().Build()).
		Field("null_timestamp_to_int32", connect.TimestampSchema().Optional().Build()).
		Build()
	logicalOut := connect.StructSchema().
		Field("date_to_int32", connect.Int32Schema).
		Field("timestamp_to_int64", connect.Int64Schema).
		Field("time_to_int64", connect.Int64Schema).
		Field("decimal_to_int32", connect.Int32Schema).
		Field("timestamp_to_float64", connect.Float64Schema).
		Field("null_timestamp_to_int32", connect.OptionalInt32).
		Build()
	schemaless := map[string]any{"int8": int8(8), "int16": int16(16), "int32": int32(32), "int64": int64(64),
		"float32": float32(32), "float64": float64(-64), "boolean": true, "string": "42"}
	runCases(t, map[string]applyCase{
		"schema": {class: "Cast$Value", keys: map[string]string{"spec": spec}, in: rec(nil, nil, schema, value),
			want: rec(nil, nil, out, st(out, "int8", int16(8), "int16", int32(16), "int32", int64(32), "int64", true,
				"float32", float64(32), "float64", true, "boolean", int8(1), "string", int32(42), "bigdecimal", "42",
				"date", "1970-01-02", "timestamp", ms(0), "bytes", "/ty6mHZUMhA="))},
		"logical to primitive": {class: "Cast$Value",
			keys: map[string]string{"spec": "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32"},
			in: rec(nil, nil, logical, st(logical, "date_to_int32", day, "timestamp_to_int64", ms(0), "time_to_int64", ms(1),
				"decimal_to_int32", connect.Decimal{Unscaled: big.NewInt(math.MaxInt32 + 1)}, "timestamp_to_float64", ms(math.MaxInt64))),
			want: rec(nil, nil, logicalOut, st(logicalOut, "date_to_int32", int32(1), "timestamp_to_int64", int64(0), "time_to_int64", int64(1),
				"decimal_to_int32", int32(math.MinInt32), "timestamp_to_float64", 9.223372036854776e18))},
		"schemaless": {class: "Cast$Value", keys: map[string]string{"spec": "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,missing:string"},
			in: rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"int8": int16(8), "int16": int32(16), "int32": int64(32), "int64": true,
				"float32": float64(32), "float64": true, "boolean": int8(1), "string": int32(42), "missing": nil})},
		"float to string as Java writes it": {class: "Cast$Value", keys: map[string]string{"spec": "a:string,b:string,c:string"},
			in:   rec(nil, nil, nil, map[string]any{"a": 1.0, "b": 1e10, "c": float32(0.1)}),
			want: rec(nil, nil, nil, map[string]any{"a": "1.0", "b": "1.0E10", "c": "0.1"})},
		"Java string parsing": {class: "Cast$Value", keys: map[string]string{"spec": "a:float64,b:boolean,c:float32,d:int16"},
			in:   rec(nil, nil, nil, map[string]any{"a": " 1.5d ", "b": "TRUE", "c": "-Infinity", "d": "+12"}),
			want: rec(nil, nil, nil, map[string]any{"a": 1.5, "b": true, "c": float32(math.Inf(-1)), "d": int16(12)})},
		"float to int as Java narrows": {class: "Cast$Value", keys: map[string]string{"spec": "a:int8,b:int64,c:boolean"},
			in:   rec(nil, nil, nil, map[string]any{"a": 300.7, "b": math.NaN(), "c": 0.5}),
			want: rec(nil, nil, nil, map[string]any{"a": int8(44), "b": int64(0), "c": false})},
		"field default replaced": {class: "Cast$Value", keys: map[string]string{"spec": "int32:string"},
			in: rec(nil, nil, schema, st(schema)),
			want: func() *connect.Record {
				s := connect.StructSchema().Field("int8", connect.Int8Schema).Field("int16", connect.OptionalInt16).
					Field("int32", connect.NewSchema(connect.String).Default("2").Build())
				for _, f := range schema.Fields[3:] {
					s.Field(f.Name, f.Schema)
				}
				o := s.Build()
				return rec(nil, nil, o, st(o, "int32", "2", "float64", -1.125))
			}()},
	})
}

func TestCastConfigErrors(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]string{
		"":               "Must specify at least one field to cast.",
		"foo:faketype":   "Invalid type found in casting spec: faketype",
		"foo:array":      "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
		"array":          "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
		"foo:bytes":      "Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
		"foo:int8:extra": "Invalid rename mapping: foo:int8:extra",
		"foo:int8,int32": "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec",
	} {
		errs := Validate(chainConfig("Cast$Key", map[string]string{"spec": spec}))
		got := errs["transforms.x.spec"]
		if len(got) != 1 || got[0] != "Invalid value "+spec+" for configuration transforms.x.spec: "+want {
			t.Errorf("spec %q: %v, want %q", spec, errs, want)
		}
	}
}
