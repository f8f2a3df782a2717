package transforms

import (
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestInsertField(t *testing.T) {
	t.Parallel()
	all := map[string]string{
		"topic.field":     "topic_field!",
		"partition.field": "partition_field",
		"timestamp.field": "timestamp_field?",
		"static.field":    "instance_id",
		"static.value":    "my-instance-id",
	}
	simple := connect.StructSchema().Name("name").Version(1).Doc("doc").Field("magic", connect.OptionalInt64).Build()
	inserted := connect.StructSchema().Name("name").Version(1).Doc("doc").
		Field("magic", connect.OptionalInt64).
		Field("topic_field", connect.StringSchema).
		Field("partition_field", connect.OptionalInt32).
		Field("timestamp_field", connect.TimestampSchema().Optional().Build()).
		Field("instance_id", connect.OptionalString).Build()
	withDefault := connect.StructSchema().Field("n", connect.NewSchema(connect.Int32).Optional().Default(int32(7)).Build()).Build()
	withDefaultOut := connect.StructSchema().Field("n", connect.NewSchema(connect.Int32).Optional().Default(int32(7)).Build()).
		Field("t", connect.OptionalString).Build()
	offsetOut := connect.StructSchema().Field("n", connect.NewSchema(connect.Int32).Optional().Default(int32(7)).Build()).
		Field("o", connect.Int64Schema).Build()
	sinkRec := rec(nil, nil, withDefault, st(withDefault))
	sinkRec.Offset = 42

	runCases(t, map[string]applyCase{
		"schema: copy schema and insert fields": {
			class: "InsertField$Value", keys: all,
			in: withTS(rec(nil, nil, simple, st(simple, "magic", int64(42))), 789),
			want: withTS(rec(nil, nil, inserted, st(inserted, "magic", int64(42), "topic_field", "test",
				"partition_field", int32(0), "timestamp_field", ms(789), "instance_id", "my-instance-id")), 789),
		},
		"schemaless: insert fields": {
			class: "org.apache.kafka.connect.transforms.InsertField$Value", keys: all,
			in: withTS(rec(nil, nil, nil, map[string]any{"magic": int64(42)}), 123),
			want: withTS(rec(nil, nil, nil, map[string]any{"magic": int64(42), "topic_field": "test",
				"partition_field": int32(0), "timestamp_field": int64(123), "instance_id": "my-instance-id"}), 123),
		},
		"schemaless: no timestamp, no partition": {
			class: "InsertField$Value", keys: all,
			in:   &connect.Record{Topic: "test", Partition: -1, Value: map[string]any{}},
			want: &connect.Record{Topic: "test", Partition: -1, Value: map[string]any{"topic_field": "test", "instance_id": "my-instance-id"}},
		},
		"schemaless tombstone is left alone": {
			class: "InsertField$Value", keys: all,
			in:   rec(nil, nil, nil, nil),
			want: rec(nil, nil, nil, nil),
		},
		"tombstone with schema is left alone": {
			class: "InsertField$Value", keys: all,
			in:   rec(nil, nil, simple, nil),
			want: rec(nil, nil, simple, nil),
		},
		"key fields into a tombstone": {
			class: "InsertField$Key", keys: all,
			in: rec(nil, map[string]any{"magic": int64(42)}, nil, nil),
			want: rec(nil, map[string]any{"magic": int64(42), "topic_field": "test", "partition_field": int32(0),
				"instance_id": "my-instance-id"}, nil, nil),
		},
		"null key is left alone": {
			class: "InsertField$Key", keys: all,
			in:   rec(nil, nil, nil, map[string]any{"magic": int64(42)}),
			want: rec(nil, nil, nil, map[string]any{"magic": int64(42)}),
		},
		"top-level struct required": {
			class: "InsertField$Value", keys: map[string]string{"topic.field": "topic_field"},
			in:      rec(nil, nil, connect.Int32Schema, int32(42)),
			wantErr: "Only Struct objects supported for [field insertion], found: java.lang.Integer",
		},
		"schemaless map required": {
			class: "InsertField$Value", keys: map[string]string{"topic.field": "topic_field"},
			in:      rec(nil, nil, nil, "text"),
			wantErr: "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String",
		},
		"null field reads as its default": {
			class: "InsertField$Value", keys: map[string]string{"topic.field": "t"},
			in:   rec(nil, nil, withDefault, st(withDefault)),
			want: rec(nil, nil, withDefaultOut, st(withDefaultOut, "n", int32(7), "t", "test")),
		},
		"null field stays null without replace.null.with.default": {
			class: "InsertField$Value", keys: map[string]string{"topic.field": "t", "replace.null.with.default": "false"},
			in:   rec(nil, nil, withDefault, st(withDefault)),
			want: rec(nil, nil, withDefaultOut, st(withDefaultOut, "t", "test")),
		},
		"offset of a sink record": {
			class: "InsertField$Value", keys: map[string]string{"offset.field": "o!", "replace.null.with.default": "false"},
			env: Env{Sink: true},
			in:  sinkRec,
			want: func() *connect.Record {
				r := rec(nil, nil, offsetOut, st(offsetOut, "o", int64(42)))
				r.Offset = 42
				return r
			}(),
		},
		"offset of a source record": {
			class: "InsertField$Value", keys: map[string]string{"offset.field": "o"},
			in:      rec(nil, nil, nil, map[string]any{}),
			wantErr: "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord",
		},
		"field name taken": {
			class: "InsertField$Value", keys: map[string]string{"topic.field": "magic"},
			in:      rec(nil, nil, simple, st(simple)),
			wantErr: "Cannot create field because of field name duplication magic",
		},
	})
}

func TestInsertFieldCachesSchemas(t *testing.T) {
	t.Parallel()
	c := one(t, "InsertField$Value", map[string]string{"topic.field": "t"})
	s1 := connect.StructSchema().Name("a").Field("x", connect.Int32Schema).Build()
	s2 := connect.StructSchema().Name("a").Field("x", connect.Int32Schema).Build() // equal, another pointer
	s3 := connect.StructSchema().Name("b").Field("x", connect.Int32Schema).Build()
	out := func(s *connect.Schema) *connect.Schema {
		r, err := c.Apply(rec(nil, nil, s, st(s, "x", int32(1))))
		if err != nil {
			t.Fatal(err)
		}
		return r.ValueSchema
	}
	a, b, a2, b2 := out(s1), out(s1), out(s2), out(s3)
	if a != b || a != a2 {
		t.Errorf("equal input schemas gave different output schemas: %p %p %p", a, b, a2)
	}
	if b2 == a || b2.Name != "b" {
		t.Errorf("schema b reused the output of schema a")
	}
}
