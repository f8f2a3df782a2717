package transforms

import (
	"math/big"
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func dec(s string) connect.Decimal {
	d, err := connect.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestMaskField(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().
		Field("magic", connect.Int32Schema).
		Field("bool", connect.BooleanSchema).
		Field("byte", connect.Int8Schema).
		Field("short", connect.Int16Schema).
		Field("int", connect.Int32Schema).
		Field("long", connect.Int64Schema).
		Field("float", connect.Float32Schema).
		Field("double", connect.Float64Schema).
		Field("string", connect.StringSchema).
		Field("date", connect.DateSchema().Build()).
		Field("time", connect.TimeSchema().Build()).
		Field("timestamp", connect.TimestampSchema().Build()).
		Field("decimal", connect.DecimalSchema(0).Build()).
		Field("array", connect.ArraySchema(connect.Int32Schema).Build()).
		Field("map", connect.MapSchema(connect.StringSchema, connect.StringSchema).Build()).
		Field("withDefault", connect.NewSchema(connect.String).Optional().Default("default").Build()).
		Build()
	now := ms(1700000000000)
	full := func() *connect.StructValue {
		return st(schema, "magic", int32(42), "bool", true, "byte", int8(42), "short", int16(42), "int", int32(42),
			"long", int64(42), "float", float32(42), "double", float64(42), "string", "hmm", "date", ms(86400000*3),
			"time", ms(1000), "timestamp", now, "decimal", dec("42"), "array", []any{int32(1), int32(2), int32(3)},
			"map", map[string]any{"what": "what"})
	}
	allButMagic := "bool,byte,short,int,long,float,double,string,date,time,timestamp,decimal,array,map,withDefault"
	masked := st(schema, "magic", int32(42), "bool", false, "byte", int8(0), "short", int16(0), "int", int32(0),
		"long", int64(0), "float", float32(0), "double", float64(0), "string", "", "date", ms(0),
		"time", ms(0), "timestamp", ms(0), "decimal", connect.Decimal{Unscaled: new(big.Int)}, "array", []any{},
		"map", map[string]any{})
	values := func() map[string]any {
		return map[string]any{"magic": int32(42), "bool": true, "byte": int8(42), "short": int16(42), "int": int32(42),
			"long": int64(42), "float": float32(42), "double": float64(42), "string": "55.121.20.20", "date": now,
			"bigdec": dec("42.0"), "list": []any{int32(42)}, "map": map[string]any{"key": "value"}}
	}
	noDefault := map[string]string{"fields": allButMagic, "replace.null.with.default": "false"}
	withRepl := func(field, repl string) map[string]string {
		return map[string]string{"fields": field, "replacement": repl, "replace.null.with.default": "false"}
	}
	cases := map[string]applyCase{
		"schema: every type": {
			class: "MaskField$Value", keys: noDefault,
			in:   rec(nil, nil, schema, full()),
			want: rec(nil, nil, schema, masked),
		},
		"schemaless: every type": {
			class: "MaskField$Value", keys: map[string]string{"fields": "bool,byte,short,int,long,float,double,string,date,bigdec,list,map"},
			in: rec(nil, nil, nil, values()),
			want: rec(nil, nil, nil, map[string]any{"magic": int32(42), "bool": false, "byte": int8(0), "short": int16(0),
				"int": int32(0), "long": int64(0), "float": float32(0), "double": float64(0), "string": "", "date": ms(0),
				"bigdec": connect.Decimal{Unscaled: new(big.Int), Scale: 1}, "list": []any{}, "map": map[string]any{}}),
		},
		"schemaless: a missing field is added as null": {
			class: "MaskField$Key", keys: map[string]string{"fields": "nope"},
			in:   rec(nil, map[string]any{"a": "b"}, nil, nil),
			want: rec(nil, map[string]any{"a": "b", "nope": nil}, nil, nil),
		},
		"schema: default used when replace.null.with.default": {
			class: "MaskField$Value", keys: map[string]string{"fields": "string"},
			in: rec(nil, nil, schema, full()),
			want: rec(nil, nil, schema, func() *connect.StructValue {
				v := full()
				v.Put("string", "").Put("withDefault", "default")
				return v
			}()),
		},
		"replacement short":  {class: "MaskField$Value", keys: withRepl("short", "123"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "short", int16(123)))},
		"replacement byte":   {class: "MaskField$Value", keys: withRepl("byte", "123"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "byte", int8(123)))},
		"replacement int":    {class: "MaskField$Value", keys: withRepl("int", "123"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "int", int32(123)))},
		"replacement long":   {class: "MaskField$Value", keys: withRepl("long", "123"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "long", int64(123)))},
		"replacement float":  {class: "MaskField$Value", keys: withRepl("float", "123.0"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "float", float32(123)))},
		"replacement double": {class: "MaskField$Value", keys: withRepl("double", "123.0"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "double", float64(123)))},
		"replacement string": {class: "MaskField$Value", keys: withRepl("string", "123"), in: rec(nil, nil, nil, values()), want: rec(nil, nil, nil, with(values(), "string", "123"))},
		"replacement decimal": {class: "MaskField$Value", keys: withRepl("bigdec", "123.0"), in: rec(nil, nil, nil, values()),
			want: rec(nil, nil, nil, with(values(), "bigdec", dec("123.0")))},
		"replacement narrows as Java": {class: "MaskField$Value", keys: withRepl("byte", "300.9"), in: rec(nil, nil, nil, values()),
			want: rec(nil, nil, nil, with(values(), "byte", int8(44)))},
		"schema: replacement int": {class: "MaskField$Value", keys: withRepl("int", "123"), in: rec(nil, nil, schema, full()),
			want: rec(nil, nil, schema, full().Put("int", int32(123)))},
		"replacement for a date": {class: "MaskField$Value", keys: withRepl("date", "123"), in: rec(nil, nil, nil, values()),
			wantErr: "Cannot mask value of type class java.util.Date with custom replacement."},
		"replacement for a boolean": {class: "MaskField$Value", keys: withRepl("bool", "false"), in: rec(nil, nil, nil, values()),
			wantErr: "Cannot mask value of type class java.lang.Boolean with custom replacement."},
		"replacement for a list": {class: "MaskField$Value", keys: withRepl("list", "1"), in: rec(nil, nil, nil, values()),
			wantErr: "Cannot mask value of type class java.util.ArrayList with custom replacement."},
		"replacement not a number": {class: "MaskField$Value", keys: withRepl("int", "foo"), in: rec(nil, nil, nil, values()),
			wantErr: "Unable to convert foo (class java.lang.String) to a number"},
		"replacement not a decimal": {class: "MaskField$Value", keys: withRepl("bigdec", "foo"), in: rec(nil, nil, nil, values()),
			wantErr: "Unable to convert foo (class java.lang.String) to number"},
		"bytes cannot be masked": {class: "MaskField$Value", keys: map[string]string{"fields": "b"},
			in:      rec(nil, nil, nil, map[string]any{"b": []byte("x")}),
			wantErr: "Cannot mask value of type: class [B"},
		"tombstone fails as in Kafka Connect": {class: "MaskField$Value", keys: map[string]string{"fields": "a"},
			in:      rec(nil, nil, nil, nil),
			wantErr: "Only Map objects supported in absence of schema for [mask fields], found: null"},
	}
	runCases(t, cases)
}

func with(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }

func TestMaskFieldEmptyReplacement(t *testing.T) {
	t.Parallel()
	errs := Validate(map[string]string{"transforms": "m", "transforms.m.type": "MaskField$Value",
		"transforms.m.fields": "a", "transforms.m.replacement": ""})
	want := "Invalid value  for configuration transforms.m.replacement: String must be non-empty"
	if len(errs["transforms.m.replacement"]) != 1 || errs["transforms.m.replacement"][0] != want {
		t.Errorf("Validate = %v, want %q", errs, want)
	}
}
