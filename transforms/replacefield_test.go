package transforms

import (
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestReplaceField(t *testing.T) {
	t.Parallel()
	schema := connect.StructSchema().Name("n").Version(3).
		Field("dont", connect.StringSchema).
		Field("abc", connect.Int32Schema).
		Field("foo", connect.BooleanSchema).
		Field("etc", connect.StringSchema).
		Field("def", connect.NewSchema(connect.String).Optional().Default("dflt").Build()).
		Build()
	value := st(schema, "dont", "whatever", "abc", int32(42), "foo", true, "etc", "etc")
	out := connect.StructSchema().Name("n").Version(3).
		Field("xyz", connect.Int32Schema).
		Field("bar", connect.BooleanSchema).
		Field("etc", connect.StringSchema).
		Build()
	renamed := map[string]string{"exclude": "dont,def", "renames": "abc:xyz,foo:bar"}
	schemaless := map[string]any{"dont": "whatever", "abc": int32(42), "foo": true, "etc": "etc"}
	cases := map[string]applyCase{
		"schemaless: exclude and rename": {
			class: "ReplaceField$Value", keys: map[string]string{"exclude": "dont", "renames": "abc:xyz,foo:bar"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"xyz": int32(42), "bar": true, "etc": "etc"}),
		},
		"schemaless: include": {
			class: "ReplaceField$Value", keys: map[string]string{"include": "abc,foo"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"abc": int32(42), "foo": true}),
		},
		"schemaless: exclude wins over include": {
			class: "ReplaceField$Value", keys: map[string]string{"include": "abc,foo", "exclude": "foo"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"abc": int32(42)}),
		},
		"schema: exclude and rename": {
			class: "ReplaceField$Value", keys: renamed,
			in:   rec(nil, nil, schema, value),
			want: rec(nil, nil, out, st(out, "xyz", int32(42), "bar", true, "etc", "etc")),
		},
		"schema: include, default applied": {
			class: "ReplaceField$Key", keys: map[string]string{"include": "abc,def"},
			in: rec(schema, value, nil, nil),
			want: func() *connect.Record {
				s := connect.StructSchema().Name("n").Version(3).Field("abc", connect.Int32Schema).
					Field("def", connect.NewSchema(connect.String).Optional().Default("dflt").Build()).Build()
				return rec(s, st(s, "abc", int32(42), "def", "dflt"), nil, nil)
			}(),
		},
		"schema: no default without replace.null.with.default": {
			class: "ReplaceField$Value", keys: map[string]string{"include": "def", "replace.null.with.default": "false"},
			in: rec(nil, nil, schema, value),
			want: func() *connect.Record {
				s := connect.StructSchema().Name("n").Version(3).Field("def", connect.NewSchema(connect.String).Optional().Default("dflt").Build()).Build()
				return rec(nil, nil, s, st(s))
			}(),
		},
		"schemaless: renames that swap": {
			class: "ReplaceField$Value", keys: map[string]string{"renames": "abc:foo,foo:abc"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"dont": "whatever", "foo": int32(42), "abc": true, "etc": "etc"}),
		},
		"schemaless: renames that chain, onto an excluded name": {
			class: "ReplaceField$Value", keys: map[string]string{"renames": "abc:foo,foo:dont", "exclude": "dont"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"foo": int32(42), "dont": true, "etc": "etc"}),
		},
		"deprecated blacklist and whitelist": {
			class: "ReplaceField$Value", keys: map[string]string{"whitelist": "abc,foo", "blacklist": "foo"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"abc": int32(42)}),
		},
		"include wins over whitelist": {
			class: "ReplaceField$Value", keys: map[string]string{"whitelist": "abc", "include": "foo"},
			in:   rec(nil, nil, nil, schemaless),
			want: rec(nil, nil, nil, map[string]any{"foo": true}),
		},
		"tombstone is left alone": {
			class: "ReplaceField$Value", keys: renamed,
			in:   rec(nil, nil, schema, nil),
			want: rec(nil, nil, schema, nil),
		},
		"rename onto an existing field": {
			class: "ReplaceField$Value", keys: map[string]string{"renames": "abc:etc"},
			in:      rec(nil, nil, schema, value),
			wantErr: "Cannot create field because of field name duplication etc",
		},
		"schema'd key must be a struct": {
			class: "ReplaceField$Key", keys: renamed,
			in:      rec(connect.StringSchema, "k", nil, nil),
			wantErr: "Only Struct objects supported for [field replacement], found: java.lang.String",
		},
	}
	runCases(t, cases)
}

func TestReplaceFieldBadRenames(t *testing.T) {
	t.Parallel()
	for _, renames := range []string{"a", "a:", "a:b:c", "a:b,c"} {
		errs := Validate(map[string]string{"transforms": "r", "transforms.r.type": "ReplaceField$Value", "transforms.r.renames": renames})
		if len(errs["transforms.r.renames"]) != 1 {
			t.Errorf("renames=%q: Validate = %v, want one error on transforms.r.renames", renames, errs)
		}
	}
	if errs := Validate(map[string]string{"transforms": "r", "transforms.r.type": "ReplaceField$Value", "transforms.r.renames": ":b"}); errs != nil {
		t.Errorf("renames=:b (Java's split keeps a leading empty name): %v", errs)
	}
}
