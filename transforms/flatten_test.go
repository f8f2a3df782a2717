package transforms

import (
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestFlatten(t *testing.T) {
	t.Parallel()
	types := connect.StructSchema().
		Field("int8", connect.Int8Schema).
		Field("string", connect.StringSchema).
		Field("bytes", connect.BytesSchema).
		Field("array", connect.ArraySchema(connect.Int32Schema).Build()).
		Build()
	one := connect.StructSchema().Field("B", types).Build()
	two := connect.StructSchema().Name("two").Field("A", one).Field("top", connect.Int64Schema).Build()
	v := st(two, "A", st(one, "B", st(types, "int8", int8(8), "string", "stringy", "bytes", []byte("bytes"),
		"array", []any{int32(1)})), "top", int64(1))
	flat := connect.StructSchema().Name("two").
		Field("A.B.int8", connect.Int8Schema).
		Field("A.B.string", connect.StringSchema).
		Field("A.B.bytes", connect.BytesSchema).
		Field("A.B.array", connect.ArraySchema(connect.Int32Schema).Build()).
		Field("top", connect.Int64Schema).Build()
	flatUnder := connect.StructSchema().Name("two").
		Field("A_B_int8", connect.Int8Schema).
		Field("A_B_string", connect.StringSchema).
		Field("A_B_bytes", connect.BytesSchema).
		Field("A_B_array", connect.ArraySchema(connect.Int32Schema).Build()).
		Field("top", connect.Int64Schema).Build()

	optParent := func() *connect.Schema {
		b := connect.StructSchema().Optional().
			Field("req_field", connect.StringSchema).
			Field("opt_field", connect.NewSchema(connect.String).Optional().Default("child_default").Build())
		s := b.Build()
		d := connect.NewStruct(s).Put("req_field", "req_default")
		s.Default = d
		return s
	}()
	optFlat := connect.StructSchema().
		Field("req_field", connect.NewSchema(connect.String).Optional().Default("req_default").Build()).
		Field("opt_field", connect.NewSchema(connect.String).Optional().Default("child_default").Build()).Build()

	nestedOpt := connect.StructSchema().Field("inner", connect.StructSchema().Optional().Field("x", connect.Int32Schema).Build()).Build()
	nestedOptFlat := connect.StructSchema().Field("inner.x", connect.OptionalInt32).Build()
	withMap := connect.StructSchema().Field("m", connect.MapSchema(connect.StringSchema, connect.StringSchema).Build()).Build()

	runCases(t, map[string]applyCase{
		"nested struct": {class: "Flatten$Value", in: rec(nil, nil, two, v),
			want: rec(nil, nil, flat, st(flat, "A.B.int8", int8(8), "A.B.string", "stringy", "A.B.bytes", []byte("bytes"),
				"A.B.array", []any{int32(1)}, "top", int64(1)))},
		"delimiter": {class: "Flatten$Key", keys: map[string]string{"delimiter": "_"}, in: rec(two, v, nil, nil),
			want: rec(flatUnder, st(flatUnder, "A_B_int8", int8(8), "A_B_string", "stringy", "A_B_bytes", []byte("bytes"),
				"A_B_array", []any{int32(1)}, "top", int64(1)), nil, nil)},
		"optional and default values nested": {class: "Flatten$Value", in: rec(nil, nil, optParent, connect.NewStruct(optParent)),
			// As Kafka Connect's Struct.get, a null field reads as its own default.
			want: rec(nil, nil, optFlat, connect.NewStruct(optFlat).Put("opt_field", "child_default"))},
		"null nested struct": {class: "Flatten$Value", in: rec(nil, nil, nestedOpt, connect.NewStruct(nestedOpt)),
			want: rec(nil, nil, nestedOptFlat, connect.NewStruct(nestedOptFlat))},
		"schemaless": {class: "Flatten$Value",
			in:   rec(nil, nil, nil, map[string]any{"A": map[string]any{"B": map[string]any{"int8": int8(8), "n": nil}}, "arr": []any{map[string]any{"x": 1}}}),
			want: rec(nil, nil, nil, map[string]any{"A.B.int8": int8(8), "A.B.n": nil, "arr": []any{map[string]any{"x": 1}}})},
		"tombstone":       {class: "Flatten$Value", in: rec(nil, nil, two, nil), want: rec(nil, nil, two, nil)},
		"map with schema": {class: "Flatten$Value", in: rec(nil, nil, withMap, st(withMap)), wantErr: "Flatten transformation does not support MAP for record with schemas (for field m)."},
		"schemaless date": {class: "Flatten$Value", in: rec(nil, nil, nil, map[string]any{"d": ms(0)}), wantErr: "Flatten transformation was passed a value of type class java.util.Date which is not supported by Connect's data API"},
		"not a map":       {class: "Flatten$Value", in: rec(nil, nil, nil, "x"), wantErr: "Only Map objects supported in absence of schema for [flattening], found: java.lang.String"},
	})
}
