package transforms

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestFieldPathV2(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"..":                    {"", "", ""},
		"foo..":                 {"foo", "", ""},
		".bar.":                 {"", "bar", ""},
		"..baz":                 {"", "", "baz"},
		"foobarbaz":             {"foobarbaz"},
		"foo.bar.baz":           {"foo", "bar", "baz"},
		"foo`bar`baz":           {"foo`bar`baz"},
		"`foo.bar.baz`":         {"foo.bar.baz"},
		"foo.`bar.baz`":         {"foo", "bar.baz"},
		"`foo.bar`.baz":         {"foo.bar", "baz"},
		"foo.`bar`.baz":         {"foo", "bar", "baz"},
		"foo.``bar.baz`":        {"foo", "`bar.baz"},
		"foo.`bar.baz``":        {"foo", "bar.baz`"},
		"foo.`ba`r.baz`":        {"foo", "ba`r.baz"},
		"foo.ba`r.baz":          {"foo", "ba`r", "baz"},
		"foo.``bar``.baz":       {"foo", "`bar`", "baz"},
		"``foo.bar.baz``":       {"`foo.bar.baz`"},
		"foo.`bar\\`.baz`":      {"foo", "bar`.baz"},
		"foo.`bar.`baz`":        {"foo", "bar.`baz"},
		"foo.`bar\\`.`baz`":     {"foo", "bar`.`baz"},
		"foo.`bar\\\\`.\\`baz`": {"foo", "bar\\`.\\`baz"},
	}
	for path, want := range tests {
		p, err := parseFieldPath(path, "v2")
		if err != nil {
			t.Errorf("%q: %v", path, err)
			continue
		}
		if d := cmp.Diff(want, p.steps); d != "" {
			t.Errorf("%q (-want +got):\n%s", path, d)
		}
	}
	for path, at := range map[string]int{"`foo.bar.baz": 0, "foo.`bar.baz": 4, "foo.bar.`baz": 8, "foo.bar.`baz\\`": 8} {
		_, err := parseFieldPath(path, "V2")
		want := "Incomplete backtick pair in path: [" + path + "], consider adding a backslash before backtick at position " +
			string(rune('0'+at)) + " to escape it"
		if err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", path, err, want)
		}
	}
	if p, _ := parseFieldPath("foo.`bar.baz`", "V1"); !cmp.Equal(p.steps, []string{"foo.`bar.baz`"}) {
		t.Errorf("V1 split the path: %q", p.steps)
	}
}

func TestExtractField(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().Field("magic", connect.Int32Schema).
		Field("dflt", connect.NewSchema(connect.Int32).Optional().Default(int32(5)).Build()).Build()
	nestedBar := connect.StructSchema().Field("bar", connect.Int32Schema).Build()
	nested := connect.StructSchema().Field("foo", nestedBar).Field("foo.bar", connect.StringSchema).Build()
	nv := st(nested, "foo", st(nestedBar, "bar", int32(42)), "foo.bar", "dotted")
	v2 := map[string]string{"field": "foo.bar", "field.syntax.version": "V2"}
	runCases(t, map[string]applyCase{
		"schemaless":                      {class: "ExtractField$Key", keys: map[string]string{"field": "magic"}, in: rec(nil, map[string]any{"magic": int32(42)}, nil, nil), want: rec(nil, int32(42), nil, nil)},
		"schemaless missing":              {class: "ExtractField$Key", keys: map[string]string{"field": "magic"}, in: rec(nil, map[string]any{}, nil, nil), want: rec(nil, nil, nil, nil)},
		"schemaless null":                 {class: "ExtractField$Key", keys: map[string]string{"field": "magic"}, in: rec(nil, nil, nil, "v"), want: rec(nil, nil, nil, "v")},
		"schema":                          {class: "ExtractField$Key", keys: map[string]string{"field": "magic"}, in: rec(schema, st(schema, "magic", int32(42)), nil, nil), want: rec(connect.Int32Schema, int32(42), nil, nil)},
		"schema null value":               {class: "ExtractField$Value", keys: map[string]string{"field": "magic"}, in: rec(nil, nil, schema, nil), want: rec(nil, nil, connect.Int32Schema, nil)},
		"default":                         {class: "ExtractField$Value", keys: map[string]string{"field": "dflt"}, in: rec(nil, nil, schema, st(schema, "magic", int32(1))), want: rec(nil, nil, schema.Fields[1].Schema, int32(5))},
		"no default":                      {class: "ExtractField$Value", keys: map[string]string{"field": "dflt", "replace.null.with.default": "false"}, in: rec(nil, nil, schema, st(schema, "magic", int32(1))), want: rec(nil, nil, schema.Fields[1].Schema, nil)},
		"unknown field":                   {class: "ExtractField$Value", keys: map[string]string{"field": "nonexistent"}, in: rec(nil, nil, schema, st(schema)), wantErr: "Unknown field: nonexistent"},
		"schemaless not a map":            {class: "ExtractField$Value", keys: map[string]string{"field": "a"}, in: rec(nil, nil, nil, int64(1)), wantErr: "Only Map objects supported in absence of schema for [field extraction], found: java.lang.Long"},
		"schema not a struct":             {class: "ExtractField$Value", keys: map[string]string{"field": "a"}, in: rec(nil, nil, connect.Int64Schema, int64(1)), wantErr: "Only Struct objects supported for [field extraction], found: java.lang.Long"},
		"schema not a struct, null value": {class: "ExtractField$Value", keys: map[string]string{"field": "a"}, in: rec(nil, nil, connect.OptionalInt64, nil), wantErr: "Cannot look up fields on non-struct type"},
		"V1 reads dots as text":           {class: "ExtractField$Value", keys: map[string]string{"field": "foo.bar"}, in: rec(nil, nil, nested, nv), want: rec(nil, nil, connect.StringSchema, "dotted")},
		"V2 nested struct":                {class: "ExtractField$Value", keys: v2, in: rec(nil, nil, nested, nv), want: rec(nil, nil, connect.Int32Schema, int32(42))},
		"V2 backticks":                    {class: "ExtractField$Value", keys: map[string]string{"field": "`foo.bar`", "field.syntax.version": "v2"}, in: rec(nil, nil, nested, nv), want: rec(nil, nil, connect.StringSchema, "dotted")},
		"V2 nested map": {class: "ExtractField$Value", keys: v2,
			in: rec(nil, nil, nil, map[string]any{"foo": map[string]any{"bar": int32(42)}}), want: rec(nil, nil, nil, int32(42))},
		"V2 nested map missing": {class: "ExtractField$Value", keys: v2,
			in: rec(nil, nil, nil, map[string]any{"foo": nil}), want: rec(nil, nil, nil, nil)},
		"V2 nested not a map": {class: "ExtractField$Value", keys: v2,
			in: rec(nil, nil, nil, map[string]any{"foo": "x"}), wantErr: "Only Map objects supported in absence of schema for [nested field access], found: java.lang.String"},
		"V2 unknown nested": {class: "ExtractField$Value", keys: map[string]string{"field": "foo.baz", "field.syntax.version": "V2"},
			in: rec(nil, nil, nested, nv), wantErr: "Unknown field: foo.baz"},
	})
	errs := Validate(chainConfig("ExtractField$Value", map[string]string{"field": "a", "field.syntax.version": "V3"}))
	if len(errs["transforms.x.field.syntax.version"]) != 1 {
		t.Errorf("V3 accepted: %v", errs)
	}
	errs = Validate(chainConfig("ExtractField$Value", map[string]string{"field": "`a", "field.syntax.version": "V2"}))
	if len(errs["transforms.x.field"]) != 1 {
		t.Errorf("unpaired backtick accepted: %v", errs)
	}
}

func TestHoistField(t *testing.T) {
	t.Parallel()
	hoisted := connect.StructSchema().Field("magic", connect.Int32Schema).Build()
	optHoisted := connect.StructSchema().Field("magic", connect.OptionalInt32).Build()
	runCases(t, map[string]applyCase{
		"schemaless":      {class: "HoistField$Key", keys: map[string]string{"field": "magic"}, in: rec(nil, int32(42), nil, nil), want: rec(nil, map[string]any{"magic": int32(42)}, nil, nil)},
		"schemaless null": {class: "HoistField$Value", keys: map[string]string{"field": "magic"}, in: rec(nil, nil, nil, nil), want: rec(nil, nil, nil, map[string]any{"magic": nil})},
		"schema":          {class: "HoistField$Key", keys: map[string]string{"field": "magic"}, in: rec(connect.Int32Schema, int32(42), nil, nil), want: rec(hoisted, st(hoisted, "magic", int32(42)), nil, nil)},
		"optional null":   {class: "HoistField$Value", keys: map[string]string{"field": "magic"}, in: rec(nil, nil, connect.OptionalInt32, nil), want: rec(nil, nil, optHoisted, st(optHoisted))},
		"required null": {class: "HoistField$Value", keys: map[string]string{"field": "magic"}, in: rec(nil, nil, connect.Int32Schema, nil),
			wantErr: `Invalid value: null used for required field: "magic", schema type: INT32`},
	})
}

func TestValueToKey(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().Field("a", connect.Int32Schema).Field("b", connect.Int32Schema).
		Field("c", connect.NewSchema(connect.Int32).Optional().Default(int32(3)).Build()).Build()
	key := connect.StructSchema().Field("a", connect.Int32Schema).Field("b", connect.Int32Schema).Build()
	keyC := connect.StructSchema().Field("c", connect.NewSchema(connect.Int32).Optional().Default(int32(3)).Build()).Build()
	value := st(schema, "a", int32(1), "b", int32(2))
	runCases(t, map[string]applyCase{
		"schemaless": {class: "ValueToKey", keys: map[string]string{"fields": "a,b"},
			in:   rec(nil, "old", nil, map[string]any{"a": int32(1), "b": int32(2), "c": int32(3)}),
			want: rec(nil, map[string]any{"a": int32(1), "b": int32(2)}, nil, map[string]any{"a": int32(1), "b": int32(2), "c": int32(3)})},
		"schema": {class: "org.apache.kafka.connect.transforms.ValueToKey", keys: map[string]string{"fields": "a,b"},
			in: rec(connect.StringSchema, "old", schema, value), want: rec(key, st(key, "a", int32(1), "b", int32(2)), schema, value)},
		"default": {class: "ValueToKey", keys: map[string]string{"fields": "c"},
			in: rec(nil, nil, schema, value), want: rec(keyC, st(keyC, "c", int32(3)), schema, value)},
		"no default": {class: "ValueToKey", keys: map[string]string{"fields": "c", "replace.null.with.default": "false"},
			in: rec(nil, nil, schema, value), want: rec(keyC, st(keyC), schema, value)},
		"missing field": {class: "ValueToKey", keys: map[string]string{"fields": "not_exist"},
			in: rec(nil, nil, schema, value), wantErr: "Field does not exist: not_exist"},
		"tombstone": {class: "ValueToKey", keys: map[string]string{"fields": "a"},
			in: rec(nil, nil, nil, nil), wantErr: "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"},
	})
}

func TestSetSchemaMetadata(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().Name("old").Version(1).Doc("d").
		Field("a", connect.NewSchema(connect.Int32).Optional().Default(int32(7)).Build()).Build()
	renamed := connect.StructSchema().Name("foo").Version(42).Doc("d").
		Field("a", connect.NewSchema(connect.Int32).Optional().Default(int32(7)).Build()).Build()
	arr := connect.ArraySchema(connect.StringSchema).Build()
	runCases(t, map[string]applyCase{
		"name and version": {class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "foo", "schema.version": "42"},
			in: rec(nil, nil, schema, st(schema, "a", int32(1))), want: rec(nil, nil, renamed, st(renamed, "a", int32(1)))},
		"default applied": {class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "foo", "schema.version": "42"},
			in: rec(nil, nil, schema, st(schema)), want: rec(nil, nil, renamed, st(renamed, "a", int32(7)))},
		"no default": {class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "foo", "schema.version": "42", "replace.null.with.default": "false"},
			in: rec(nil, nil, schema, st(schema)), want: rec(nil, nil, renamed, st(renamed))},
		"version only, key": {class: "SetSchemaMetadata$Key", keys: map[string]string{"schema.version": "3"},
			in: rec(arr, []any{"x"}, nil, nil), want: rec(connect.ArraySchema(connect.StringSchema).Version(3).Build(), []any{"x"}, nil, nil)},
		"null schema'd value": {class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "foo"},
			in: rec(nil, nil, connect.OptionalString, nil), want: rec(nil, nil, connect.NewSchema(connect.String).Optional().Name("foo").Build(), nil)},
		"tombstone": {class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "foo"},
			in: rec(nil, nil, nil, nil), want: rec(nil, nil, nil, nil)},
		"schema required": {class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "foo"},
			in: rec(nil, nil, nil, "v"), wantErr: "Schema required for [updating schema metadata]"},
	})
	errs := Validate(chainConfig("SetSchemaMetadata$Value", nil))
	if len(errs["transforms.x.type"]) != 1 {
		t.Errorf("no name nor version accepted: %v", errs)
	}
}

func TestHeaderFrom(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().Name("s").Field("field1", connect.StringSchema).Field("field2", connect.Int32Schema).
		Field("field3", connect.NewSchema(connect.String).Optional().Default("d").Build()).Build()
	moved := connect.StructSchema().Name("s").Field("field2", connect.Int32Schema).Build()
	value := st(schema, "field1", "field1-value", "field2", int32(2))
	existing := []connect.Header{{Key: "existing", Schema: connect.StringSchema, Value: "x"}}
	withHeaders := func(r *connect.Record, hs ...connect.Header) *connect.Record {
		r.Headers = append(append([]connect.Header(nil), existing...), hs...)
		return r
	}
	keys := func(op string) map[string]string {
		return map[string]string{"fields": "field1,field3", "headers": "h1,h3", "operation": op}
	}
	runCases(t, map[string]applyCase{
		"schema copy": {class: "HeaderFrom$Value", keys: keys("copy"),
			in: withHeaders(rec(nil, nil, schema, value)),
			want: withHeaders(rec(nil, nil, schema, value), connect.Header{Key: "h1", Schema: connect.StringSchema, Value: "field1-value"},
				connect.Header{Key: "h3", Schema: schema.Fields[2].Schema, Value: "d"})},
		"schema move": {class: "HeaderFrom$Value", keys: keys("move"),
			in: withHeaders(rec(nil, nil, schema, value)),
			want: withHeaders(rec(nil, nil, moved, st(moved, "field2", int32(2))), connect.Header{Key: "h1", Schema: connect.StringSchema, Value: "field1-value"},
				connect.Header{Key: "h3", Schema: schema.Fields[2].Schema, Value: "d"})},
		"schemaless move, key": {class: "HeaderFrom$Key", keys: keys("move"),
			in:   withHeaders(rec(nil, map[string]any{"field1": "v1", "field2": int32(2)}, nil, nil)),
			want: withHeaders(rec(nil, map[string]any{"field2": int32(2)}, nil, nil), connect.Header{Key: "h1", Value: "v1"}, connect.Header{Key: "h3"})},
		"schemaless copy": {class: "HeaderFrom$Value", keys: keys("copy"),
			in:   withHeaders(rec(nil, nil, nil, map[string]any{"field1": "v1"})),
			want: withHeaders(rec(nil, nil, nil, map[string]any{"field1": "v1"}), connect.Header{Key: "h1", Value: "v1"}, connect.Header{Key: "h3"})},
		"tombstone": {class: "HeaderFrom$Value", keys: keys("move"),
			in: rec(nil, nil, nil, nil), wantErr: "Only Map objects supported in absence of schema for [header move], found: null"},
	})
	for name, k := range map[string]map[string]string{
		"sizes differ": {"fields": "a,b", "headers": "h", "operation": "copy"},
		"operation":    {"fields": "a", "headers": "h", "operation": "Copy"},
	} {
		if errs := Validate(chainConfig("HeaderFrom$Value", k)); len(errs) != 1 {
			t.Errorf("%s: Validate = %v", name, errs)
		}
	}
}
