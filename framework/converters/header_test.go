package converters

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// The round trips of Kafka Connect's SimpleHeaderConverterTest.
func TestSimpleHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	stringMap := connect.MapSchema(connect.StringSchema, connect.StringSchema).Build()
	shortMap := connect.MapSchema(connect.StringSchema, connect.Int16Schema).Build()
	intMap := connect.MapSchema(connect.StringSchema, connect.Int32Schema).Build()
	tests := map[string]struct {
		schema *connect.Schema
		value  any
	}{
		"simple string":    {connect.StringSchema, "simple"},
		"empty string":     {connect.StringSchema, ""},
		"quotes":           {connect.StringSchema, "three\"blind\\\"mice"},
		"delimiters":       {connect.StringSchema, "string with delimiters: <>?,./\\=+-!@#$%^&*(){}[]|;':"},
		"string map":       {stringMap, map[string]any{"foo": "123", "bar": "baz"}},
		"short map":        {shortMap, map[string]any{"foo": int16(12345), "bar": int16(0), "baz": int16(-4321)}},
		"int map":          {intMap, map[string]any{"foo": int32(1234567890), "bar": int32(0), "baz": int32(-987654321)}},
		"string list":      {connect.ArraySchema(connect.StringSchema).Build(), []any{"foo", "bar"}},
		"int list":         {connect.ArraySchema(connect.Int32Schema).Build(), []any{int32(1234567890), int32(-987654321)}},
		"quoted list":      {connect.ArraySchema(connect.StringSchema).Build(), []any{"a\"b", "c\\d", "e,f:g"}},
		"boolean":          {connect.BooleanSchema, true},
		"int8":             {connect.Int8Schema, int8(-12)},
		"int64":            {connect.Int64Schema, int64(math.MaxInt64)},
		"float":            {connect.Float32Schema, float32(1.5)},
		"double":           {connect.Float64Schema, 1e300},
		"big decimal":      {connect.DecimalSchema(0).Build(), connect.Decimal{Unscaled: new(big.Int).Lsh(big.NewInt(1), 70), Scale: 0}},
		"date":             {connect.DateSchema().Build(), time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC)},
		"time":             {connect.TimeSchema().Build(), connect.MillisToTime(45296789)},
		"timestamp":        {connect.TimestampSchema().Build(), time.Date(2020, 1, 2, 12, 34, 56, 789e6, time.UTC)},
		"timestamp list":   {connect.ArraySchema(connect.TimestampSchema().Build()).Build(), []any{time.Date(2020, 1, 2, 12, 34, 56, 789e6, time.UTC)}},
		"nested":           {connect.ArraySchema(connect.ArraySchema(connect.Int8Schema).Build()).Build(), []any{[]any{int8(1)}, []any{int8(2), int8(3)}}},
		"mixed map":        {connect.MapSchema(connect.StringSchema, nil).Build(), map[string]any{"foo": "bar", "baz": int16(3456)}},
		"mixed list":       {connect.ArraySchema(nil).Build(), []any{"foo", int16(13344)}},
		"empty map":        {connect.MapSchema(nil, nil).Build(), map[any]any{}},
		"empty list":       {connect.ArraySchema(nil).Build(), []any{}},
		"int keys":         {connect.MapSchema(connect.Int8Schema, connect.BooleanSchema).Build(), map[any]any{int8(1): true, int8(2): false}},
		"list with a null": {connect.ArraySchema(connect.Int8Schema).Build(), []any{int8(1), nil}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, _ := NewHeader("simple")
			data, err := h.FromConnectHeader("topic", "header", tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			schema, value, err := h.ToConnectHeader("topic", "header", data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.schema, schema, cmpOpts); diff != "" {
				t.Errorf("schema of %q (-want +got):\n%s", data, diff)
			}
			if diff := cmp.Diff(tc.value, value, cmpOpts); diff != "" {
				t.Errorf("value of %q (-want +got):\n%s", data, diff)
			}
			again, err := h.FromConnectHeader("topic", "header", schema, value)
			if err != nil || string(again) != string(data) {
				t.Errorf("second trip wrote %q, %v; first %q", again, err, data)
			}
		})
	}
}

func TestSimpleHeaderFromConnect(t *testing.T) {
	t.Parallel()
	s := connect.StructSchema().Field("a", connect.Int32Schema).Field("b", connect.NewSchema(connect.String).Optional().Default("d").Build()).Build()
	tests := map[string]struct {
		schema *connect.Schema
		value  any
		want   string
	}{
		"string":        {connect.StringSchema, `say "hi"`, `say "hi"`},
		"bytes":         {connect.BytesSchema, []byte("hi"), "aGk="},
		"embedded":      {nil, []any{[]byte("hi"), "x", nil, true, 1.0}, `["aGk=","x",null,true,1.0]`},
		"struct":        {s, connect.NewStruct(s).Put("a", int32(1)), `{"a":1,"b":"d"}`},
		"decimal":       {nil, dec(1, -3), "1E+3"},
		"time guessed":  {nil, time.UnixMilli(1000).UTC(), "00:00:01.000Z"},
		"date guessed":  {nil, time.UnixMilli(msPerDay).UTC(), "1970-01-02"},
		"stamp guessed": {nil, time.UnixMilli(msPerDay + 1).UTC(), "1970-01-02T00:00:00.001Z"},
		"stamp by name": {connect.TimestampSchema().Build(), time.UnixMilli(msPerDay).UTC(), "1970-01-02T00:00:00.000Z"},
		"before 1970":   {nil, time.UnixMilli(-1000).UTC(), "1969-12-31T23:59:59.000Z"},
		"date misfit":   {connect.DateSchema().Build(), time.UnixMilli(msPerDay + 1).UTC(), "1970-01-02T00:00:00.001Z"},
		"map any keys":  {nil, map[any]any{int8(2): "b", "a": 1}, `{"a":1,2:"b"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, _ := NewHeader("simple")
			got, err := h.FromConnectHeader("topic", "header", tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("FromConnectHeader = %s, want %s", got, tc.want)
			}
		})
	}
	h, _ := NewHeader("simple")
	if got, err := h.FromConnectHeader("topic", "header", connect.OptionalString, nil); got != nil || err != nil {
		t.Errorf("FromConnectHeader(nil) = %q, %v", got, err)
	}
	if _, err := h.FromConnectHeader("topic", "header", nil, struct{}{}); err == nil {
		t.Error("FromConnectHeader(struct{}{}) succeeded")
	}
}

// TestParseValueString checks the schema inference of Kafka Connect's
// Values.parseString.
func TestParseValueString(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in     string
		schema *connect.Schema
		want   any
	}{
		"empty":            {"", connect.StringSchema, ""},
		"blank":            {"  ", connect.StringSchema, "  "},
		"null":             {"null", nil, nil},
		"true":             {" true ", connect.BooleanSchema, true},
		"false":            {"false", connect.BooleanSchema, false},
		"true-ish":         {"true}", connect.StringSchema, "true}"},
		"int8":             {"127", connect.Int8Schema, int8(127)},
		"int16":            {"-129", connect.Int16Schema, int16(-129)},
		"int32":            {"32768", connect.Int32Schema, int32(32768)},
		"int64":            {"2147483648", connect.Int64Schema, int64(2147483648)},
		"plus":             {"+5", connect.Int8Schema, int8(5)},
		"integral decimal": {"1.0", connect.Int8Schema, int8(1)},
		"exponent":         {"1e3", connect.Int16Schema, int16(1000)},
		"float":            {"1.5", connect.Float32Schema, float32(1.5)},
		"float lossy":      {"3.141592653589793", connect.Float32Schema, float32(math.Pi)},
		"float underflow":  {"1e-50", connect.Float32Schema, float32(0)},
		"double":           {"1e50", connect.Float64Schema, 1e50},
		"decimal":          {"123456789012345678901234", connect.DecimalSchema(0).Build(), connect.Decimal{Unscaled: mustBig("123456789012345678901234")}},
		"decimal huge":     {"1.5e400", connect.DecimalSchema(-399).Build(), dec(15, -399)},
		"not a number":     {"12abc", connect.StringSchema, "12abc"},
		"number then more": {"12,13", connect.StringSchema, "12,13"},
		"leading dot":      {".5", connect.StringSchema, ".5"},
		"date":             {"2020-01-02", connect.DateSchema().Build(), time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
		"bad date":         {"2020-02-30", connect.StringSchema, "2020-02-30"},
		"time":             {"12:34:56.789Z", connect.TimeSchema().Build(), connect.MillisToTime(45296789)},
		"timestamp":        {"2020-01-02T12:34:56.789Z", connect.TimestampSchema().Build(), time.Date(2020, 1, 2, 12, 34, 56, 789e6, time.UTC)},
		"string":           {"hello world", connect.StringSchema, "hello world"},
		"quoted top level": {`"quoted"`, connect.StringSchema, `"quoted"`},
		"array widening":   {"[1, 300, 1.5]", connect.ArraySchema(connect.Float32Schema).Build(), []any{float32(1), float32(300), float32(1.5)}},
		"array of null":    {"[null]", connect.ArraySchema(nil).Build(), []any{nil}},
		"array bad":        {"[1,2", connect.StringSchema, "[1,2"},
		"array unquoted":   {"[a,b]", connect.StringSchema, "[a,b]"},
		"array empty elem": {"[1,,2]", connect.StringSchema, "[1,,2]"},
		"map":              {`{"foo" : "123", "bar":"baz"} `, connect.MapSchema(connect.StringSchema, connect.StringSchema).Build(), map[string]any{"foo": "123", "bar": "baz"}},
		"map quoted date":  {`{"d":"2020-01-02"}`, connect.MapSchema(connect.StringSchema, connect.DateSchema().Build()).Build(), map[string]any{"d": time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)}},
		"map time values":  {`{1:12:00:00.000Z}`, connect.MapSchema(connect.Int8Schema, connect.TimeSchema().Build()).Build(), map[any]any{int8(1): connect.MillisToTime(43200000)}},
		"map null key":     {`{null:1}`, connect.StringSchema, `{null:1}`},
		"map trailing ,":   {`{"a":1,}`, connect.MapSchema(connect.StringSchema, connect.Int8Schema).Build(), map[string]any{"a": int8(1)}},
		"map null values":  {`{"a":null}`, connect.MapSchema(connect.StringSchema, nil).Build(), map[string]any{"a": nil}},
		"deep":             {"[[[[1]]]]", deepArray(4), []any{[]any{[]any{[]any{int8(1)}}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			schema, value := parseValueString(tc.in)
			if diff := cmp.Diff(tc.schema, schema, cmpOpts); diff != "" {
				t.Errorf("schema of %q (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.want, value, cmpOpts); diff != "" {
				t.Errorf("value of %q (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestSimpleHeaderNotUTF8(t *testing.T) {
	t.Parallel()
	h, _ := NewHeader("simple")
	data := []byte{0xff, 0x00}
	s, v, err := h.ToConnectHeader("topic", "header", data)
	if err != nil || s != connect.BytesSchema || string(v.([]byte)) != string(data) {
		t.Errorf("ToConnectHeader(%q) = %v, %v, %v; want the bytes", data, s, v, err)
	}
	if s, v, err := h.ToConnectHeader("topic", "header", nil); s != nil || v != nil || err != nil {
		t.Errorf("ToConnectHeader(nil) = %v, %v, %v", s, v, err)
	}
}

func deepArray(n int) *connect.Schema {
	s := connect.Int8Schema
	for range n {
		s = connect.ArraySchema(s).Build()
	}
	return s
}

func mustBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}
