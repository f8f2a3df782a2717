package s3sink

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// TestTombstones: behavior.on.null.values decides what a record with a
// null value does: ignore skips it (the task goes on, its offset is
// committed), fail rejects the record alone (dead letter queue or task
// failure is the worker's errors.tolerance), write stores its key in the
// tombstone folder.
func TestTombstones(t *testing.T) {
	t.Parallel()
	gw := newBucket(t).gw
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	recs := func() []*connect.Record {
		rs := jsonRecords("orders", 0, 0, 4)
		for _, r := range rs {
			r.Key = map[string]any{"id": r.Offset}
		}
		rs[2].Value = nil
		return rs
	}
	t.Run("ignore", func(t *testing.T) {
		b := gwBucket(t, gw, "tomb-ignore")
		r := startTask(t, b.config(NullValuesKey, "ignore", FlushSizeKey, "3"), tp)
		r.put(recs()...)
		if got := r.preCommit(map[connect.TopicPartition]int64{tp: 4}); got[tp] != 4 {
			t.Fatalf("committable %v, want 4", got)
		}
		objs := b.objects(t)
		if diff := cmp.Diff([]string{`{"id":0,"name":"n0"}`, `{"id":1,"name":"n1"}`, `{"id":3,"name":"n3"}`}, lines(objs["topics/orders/partition=0/orders+0+0000000000.json"], "\n")); diff != "" {
			t.Fatal(diff)
		}
	})
	t.Run("fail", func(t *testing.T) {
		b := gwBucket(t, gw, "tomb-fail")
		r := startTask(t, b.config(FlushSizeKey, "3"), tp)
		err := r.task.Put(context.Background(), recs())
		var be *connect.BatchError
		if !errors.As(err, &be) || len(be.Errs) != 1 || be.Errs[2] == nil || !strings.Contains(be.Errs[2].Error(), NullValuesKey) {
			t.Fatalf("Put = %v, want record 2 alone rejected, naming %s", err, NullValuesKey)
		}
		if got := r.preCommit(map[connect.TopicPartition]int64{tp: 4}); got[tp] != 4 {
			t.Fatalf("committable %v, want 4", got)
		}
	})
	t.Run("write", func(t *testing.T) {
		b := gwBucket(t, gw, "tomb-write")
		r := startTask(t, b.config(NullValuesKey, "write", StoreKeysKey, "true", FlushSizeKey, "3"), tp)
		r.put(recs()...)
		if err := r.task.Flush(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		objs := b.objects(t)
		want := []string{
			"topics/orders/partition=0/orders+0+0000000000.json",
			"topics/orders/partition=0/orders+0+0000000000.keys.json",
			"topics/orders/tombstone/orders+0+0000000002.keys.json",
		}
		if diff := cmp.Diff(want, keys(objs)); diff != "" {
			t.Fatalf("objects (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{`{"id":0}`, `{"id":1}`, `{"id":3}`}, lines(objs[want[1]], "\n")); diff != "" {
			t.Fatal(diff)
		}
		if diff := cmp.Diff([]string{`{"id":2}`}, lines(objs[want[2]], "\n")); diff != "" {
			t.Fatal(diff)
		}
	})
}

// TestSchemaCompatibility: NONE starts a file per schema change; BACKWARD
// starts one when a newer version arrives and projects older records to
// it, so interleaved versions do not cut small files.
func TestSchemaCompatibility(t *testing.T) {
	t.Parallel()
	gw := newBucket(t).gw
	v1 := connect.StructSchema().Name("Item").Version(1).Field("id", connect.Int32Schema).Build()
	v2 := connect.StructSchema().Name("Item").Version(2).Field("id", connect.Int64Schema).
		Field("note", connect.NewSchema(connect.String).Optional().Default("none").Build()).Build()
	rec := func(off int64, s *connect.Schema) *connect.Record {
		v := connect.NewStruct(s)
		if s == v1 {
			v.Put("id", int32(off))
		} else {
			v.Put("id", off).Put("note", "v2")
		}
		return &connect.Record{Topic: "orders", Offset: off, ValueSchema: s, Value: v}
	}
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	seq := []*connect.Schema{v1, v2, v1, v2, v1}
	for _, tc := range []struct {
		compat string
		want   map[string][]string
	}{
		{"NONE", map[string][]string{
			"topics/orders/partition=0/orders+0+0000000000.json": {`{"id":0}`},
			"topics/orders/partition=0/orders+0+0000000001.json": {`{"id":1,"note":"v2"}`},
			"topics/orders/partition=0/orders+0+0000000002.json": {`{"id":2}`},
			"topics/orders/partition=0/orders+0+0000000003.json": {`{"id":3,"note":"v2"}`},
			"topics/orders/partition=0/orders+0+0000000004.json": {`{"id":4}`},
		}},
		{"BACKWARD", map[string][]string{
			"topics/orders/partition=0/orders+0+0000000000.json": {`{"id":0}`},
			"topics/orders/partition=0/orders+0+0000000001.json": {`{"id":1,"note":"v2"}`, `{"id":2,"note":"none"}`, `{"id":3,"note":"v2"}`, `{"id":4,"note":"none"}`},
		}},
	} {
		t.Run(tc.compat, func(t *testing.T) {
			b := gwBucket(t, gw, "compat-"+strings.ToLower(tc.compat))
			r := startTask(t, b.config(SchemaCompatibilityKey, tc.compat), tp)
			for i, s := range seq {
				r.put(rec(int64(i), s))
			}
			if err := r.task.Flush(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for k, v := range b.objects(t) {
				got[k] = lines(v, "\n")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHeadersAndKeysParquet: keys and headers go to companion objects in
// their own formats, enveloped in Parquet as Confluent's RecordKey and
// RecordHeaders structs.
func TestHeadersAndKeysParquet(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(FormatClassKey, ParquetFormatClass, StoreKeysKey, "true", StoreHeadersKey, "true",
		KeysFormatKey, ParquetFormatClass, HeadersFormatKey, JSONFormatClass, FlushSizeKey, "2"), tp)
	recs := orders("orders", 1, 2)
	for _, rec := range recs {
		rec.Headers = []connect.Header{{Key: "trace", Value: "abc"}}
	}
	r.put(recs...)
	r.settle()
	objs := b.objects(t)
	want := []string{
		"topics/orders/partition=0/orders+0+0000000000.headers.json",
		"topics/orders/partition=0/orders+0+0000000000.keys.snappy.parquet",
		"topics/orders/partition=0/orders+0+0000000000.snappy.parquet",
	}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"map[key:k0]", "map[key:k1]"}, decodeObject(t, want[1], objs[want[1]], formatCases[3])); diff != "" {
		t.Fatalf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`{"headers":[{"key":"trace","value":"abc"}]}`, lines(objs[want[0]], "\n")[1]); diff != "" {
		t.Fatal(diff)
	}
}

// TestConfigErrors: each wrong config names its key.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	base := map[string]string{BucketKey: "b", FlushSizeKey: "10", FormatClassKey: JSONFormatClass}
	for _, tc := range []struct {
		name string
		set  map[string]string
		key  string
	}{
		{"avro", map[string]string{FormatClassKey: AvroFormatClass}, "Avro is not supported"},
		{"schedule without timezone", map[string]string{RotateScheduleKey: "60000"}, TimezoneKey},
		{"time based without locale", map[string]string{PartitionerClassKey: HourlyPartitioner, TimezoneKey: "UTC"}, "Locale cannot be empty"},
		{"bad time zone", map[string]string{TimezoneKey: "Mars/Olympus"}, "unknown time zone"},
		{"field without fields", map[string]string{PartitionerClassKey: FieldPartitioner}, PartitionFieldKey},
		{"bad path format", map[string]string{PartitionerClassKey: TimeBasedPartitioner, PathFormatKey: "'x'=q", PartitionDurationKey: "1000", LocaleKey: "en", TimezoneKey: "UTC"}, "Illegal pattern component"},
		{"write without keys", map[string]string{NullValuesKey: "write"}, StoreKeysKey},
		{"small part", map[string]string{PartSizeKey: "1024"}, PartSizeKey},
		{"unknown extractor", map[string]string{TimestampExtractorKey: "Foo"}, "unknown timestamp extractor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]string{}
			for k, v := range base {
				raw[k] = v
			}
			for k, v := range tc.set {
				raw[k] = v
			}
			_, err := parseConfig(raw)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("parseConfig = %v, want an error naming %q", err, tc.key)
			}
		})
	}
}
