package plugin

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectd/connectd/framework/connect"
)

// fixedSource returns its records from the first Poll, then nothing.
type fixedSource struct {
	recs []*connect.Record
	put  [][]*connect.Record // what a sink task was handed
}

func (f *fixedSource) Config() *connect.ConfigDef                     { return connect.NewConfigDef() }
func (f *fixedSource) Start(context.Context, map[string]string) error { return nil }
func (f *fixedSource) Stop(context.Context) error                     { return nil }
func (f *fixedSource) NewTask() connect.SourceTask                    { return &fixedTask{f: f} }
func (f *fixedSource) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	return []map[string]string{{}}, nil
}

type fixedTask struct {
	f    *fixedSource
	done bool
}

func (t *fixedTask) Start(context.Context, map[string]string, connect.OffsetReader) error { return nil }
func (t *fixedTask) Stop(context.Context) error                                           { return nil }
func (t *fixedTask) Poll(context.Context) ([]*connect.Record, error) {
	if t.done {
		return nil, nil
	}
	t.done = true
	return t.f.recs, nil
}

// sinkOf is a sink connector whose task records what it is handed.
type sinkOf struct{ f *fixedSource }

func (s sinkOf) Config() *connect.ConfigDef                     { return connect.NewConfigDef() }
func (s sinkOf) Start(context.Context, map[string]string) error { return nil }
func (s sinkOf) Stop(context.Context) error                     { return nil }
func (s sinkOf) NewTask() connect.SinkTask                      { return &recordingSink{f: s.f} }
func (s sinkOf) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	return []map[string]string{{}}, nil
}

type recordingSink struct{ f *fixedSource }

func (s *recordingSink) Start(context.Context, map[string]string) error { return nil }
func (s *recordingSink) Stop(context.Context) error                     { return nil }
func (s *recordingSink) Flush(context.Context, map[connect.TopicPartition]int64) error {
	return nil
}
func (s *recordingSink) Put(_ context.Context, recs []*connect.Record) error {
	s.f.put = append(s.f.put, recs)
	return nil
}

var part = map[string]any{"p": "0"}

func numbered(values ...string) []*connect.Record {
	out := make([]*connect.Record, len(values))
	for i, v := range values {
		out[i] = &connect.Record{Topic: "t", Partition: -1, KeySchema: connect.Int64Schema, Key: int64(i),
			ValueSchema: connect.StringSchema, Value: v, SourcePartition: part, SourceOffset: map[string]any{"n": int64(i)}}
	}
	return out
}

// chainConfig drops records with a "drop" header and casts values to int64.
func chainConfig(extra map[string]string) map[string]string {
	cfg := map[string]string{
		"key.converter": "org.apache.kafka.connect.storage.StringConverter", "value.converter": "org.apache.kafka.connect.storage.StringConverter",
		"transforms": "drop,cast", "transforms.drop.type": "Filter", "transforms.drop.predicate": "hasDrop",
		"predicates": "hasDrop", "predicates.hasDrop.type": "HasHeaderKey", "predicates.hasDrop.name": "drop",
		"transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value", "transforms.cast.spec": "int64",
	}
	maps.Copy(cfg, extra)
	return cfg
}

func pollOnce(t *testing.T, recs []*connect.Record, cfg map[string]string) []Record {
	t.Helper()
	f := &fixedSource{recs: recs}
	l := NewLocal(Plugin{Name: "fixed", NewSource: func() connect.SourceConnector { return f }})
	if err := l.SourceStart(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	out, err := l.SourcePoll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ignoreTrace leaves out the parts of a record error that hold stack
// frames and Go type names.
var ignoreTrace = cmpopts.IgnoreFields(RecordError{}, "Trace", "Message")

// TestSourcePollTransformsDropsAndFails: the chain runs between the task
// and the converters; a dropped record crosses as a bare position, a
// failed one with its error and, with a dead letter queue, the record as
// the task returned it.
func TestSourcePollTransformsDropsAndFails(t *testing.T) {
	t.Parallel()
	recs := numbered("7", "poison", "8", "9")
	recs[2].Headers = []connect.Header{{Key: "drop", Schema: connect.StringSchema, Value: "yes"}}
	castErr := &RecordError{Stage: StageTransformation, ClassName: "org.apache.kafka.connect.transforms.Cast$Value", ExceptionClass: "org.apache.kafka.connect.errors.DataException"}
	for name, tc := range map[string]struct {
		config map[string]string
		want   []Record
	}{
		"tolerance all, dead letter queue": {
			config: chainConfig(map[string]string{KeyErrorsTolerance: "all", KeyDLQTopic: "dlq"}),
			want: []Record{
				{Topic: "t", Partition: -1, Key: []byte("0"), Value: []byte("7"), SourcePartition: []byte(`{"p":"0"}`)},
				{Topic: "t", Partition: -1, Key: []byte("1"), Value: []byte("poison"), SourcePartition: []byte(`{"p":"0"}`), SourceOffset: []byte(`{"n":1}`), Err: castErr},
				{SourcePartition: []byte(`{"p":"0"}`), Dropped: true},
				{Topic: "t", Partition: -1, Key: []byte("3"), Value: []byte("9"), SourcePartition: []byte(`{"p":"0"}`), SourceOffset: []byte(`{"n":3}`)},
			},
		},
		"tolerance all, no dead letter queue": {
			config: chainConfig(map[string]string{KeyErrorsTolerance: "all"}),
			want: []Record{
				{Topic: "t", Partition: -1, Key: []byte("0"), Value: []byte("7"), SourcePartition: []byte(`{"p":"0"}`)},
				{Topic: "t", Partition: -1, SourcePartition: []byte(`{"p":"0"}`), SourceOffset: []byte(`{"n":1}`), Err: castErr},
				{SourcePartition: []byte(`{"p":"0"}`), Dropped: true},
				{Topic: "t", Partition: -1, Key: []byte("3"), Value: []byte("9"), SourcePartition: []byte(`{"p":"0"}`), SourceOffset: []byte(`{"n":3}`)},
			},
		},
		"tolerance none cuts the batch at the failure": {
			config: chainConfig(nil),
			want: []Record{
				{Topic: "t", Partition: -1, Key: []byte("0"), Value: []byte("7"), SourcePartition: []byte(`{"p":"0"}`), SourceOffset: []byte(`{"n":0}`)},
				{Topic: "t", Partition: -1, SourcePartition: []byte(`{"p":"0"}`), SourceOffset: []byte(`{"n":1}`), Err: castErr},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := pollOnce(t, recs, tc.config)
			if d := cmp.Diff(tc.want, got, ignoreTrace); d != "" {
				t.Fatalf("polled records (-want +got):\n%s", d)
			}
			for _, r := range got {
				if r.Err != nil && (r.Err.Message == "" || r.Err.Trace == "") {
					t.Fatalf("record error without message or trace: %+v", r.Err)
				}
			}
		})
	}
}

// TestSourceDLQPayloadWhenTheConverterFails: a value the connector's
// converter cannot write goes to the dead letter queue in the JSON
// converter's self-describing form.
func TestSourceDLQPayloadWhenTheConverterFails(t *testing.T) {
	t.Parallel()
	recs := []*connect.Record{{Topic: "t", Partition: -1, ValueSchema: connect.StringSchema, Value: "text", SourcePartition: part, SourceOffset: map[string]any{"n": int64(0)}}}
	got := pollOnce(t, recs, map[string]string{
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter", KeyErrorsTolerance: "all", KeyDLQTopic: "dlq",
	})
	if len(got) != 1 || got[0].Err == nil || got[0].Err.Stage != StageValueConverter {
		t.Fatalf("want one record failed in VALUE_CONVERTER, got %+v", got)
	}
	if want := `{"schema":{"type":"string","optional":false},"payload":"text"}`; string(got[0].Value) != want {
		t.Fatalf("DLQ value %s, want %s", got[0].Value, want)
	}
	if got[0].Err.ClassName != "org.apache.kafka.connect.converters.ByteArrayConverter" {
		t.Fatalf("class name %q, want the configured converter", got[0].Err.ClassName)
	}
}

// TestSinkPutToleranceNoneAndAll: with none the first failure stops the
// batch and nothing is put; with all the failed records are left out.
func TestSinkPutToleranceNoneAndAll(t *testing.T) {
	t.Parallel()
	batch := []Record{
		{Topic: "in", Value: []byte("1"), Offset: 0},
		{Topic: "in", Value: []byte("x"), Offset: 1},
		{Topic: "in", Value: []byte("2"), Offset: 2, Headers: []Header{{Key: "drop", Value: []byte("y")}}},
		{Topic: "in", Value: []byte("3"), Offset: 3},
	}
	for name, tc := range map[string]struct {
		tolerance string
		failed    []int
		put       []any
	}{
		"none": {"none", []int{1}, nil},
		"all":  {"all", []int{1}, []any{int64(1), int64(3)}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &fixedSource{}
			l := NewLocal(Plugin{Name: "rec", NewSink: func() connect.SinkConnector { return sinkOf{f} }})
			cfg := chainConfig(map[string]string{KeyErrorsTolerance: tc.tolerance})
			if err := l.SinkStart(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			failed, err := l.SinkPut(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			var idx []int
			for _, fr := range failed {
				idx = append(idx, fr.Index)
				if fr.Err.Stage != StageTransformation {
					t.Errorf("record %d failed in %s, want TRANSFORMATION", fr.Index, fr.Err.Stage)
				}
			}
			if d := cmp.Diff(tc.failed, idx); d != "" {
				t.Fatalf("failed records (-want +got):\n%s", d)
			}
			var put []any
			for _, b := range f.put {
				for _, r := range b {
					put = append(put, r.Value)
				}
			}
			if d := cmp.Diff(tc.put, put); d != "" {
				t.Fatalf("records put (-want +got):\n%s", d)
			}
		})
	}
}

// TestSinkPutTransformsConvertedRecords: a sink task's records go through
// the chain changed in place (Chain.ApplyOwned); what the task was put
// stays as it was put while later batches go through the same chain, with
// and without schemas.
func TestSinkPutTransformsConvertedRecords(t *testing.T) {
	t.Parallel()
	chain := map[string]string{
		"key.converter":          "org.apache.kafka.connect.storage.StringConverter",
		"transforms":             "insert,rename,mask",
		"transforms.insert.type": "InsertField$Value", "transforms.insert.static.field": "origin", "transforms.insert.static.value": "kafka",
		"transforms.insert.offset.field": "off",
		"transforms.rename.type":         "ReplaceField$Value", "transforms.rename.renames": "name:who",
		"transforms.mask.type": "MaskField$Value", "transforms.mask.fields": "pw",
	}
	for name, tc := range map[string]struct {
		schemas string
		value   func(n int) string
		// put renders a record the task was put.
		put func(v any) string
	}{
		"schemaless": {
			schemas: "false",
			value:   func(n int) string { return fmt.Sprintf(`{"name":"n%d","pw":"secret%d"}`, n, n) },
			put: func(v any) string {
				m := v.(map[string]any)
				return fmt.Sprintf("who=%v pw=%q origin=%v off=%v keys=%d", m["who"], m["pw"], m["origin"], m["off"], len(m))
			},
		},
		"schema": {
			schemas: "true",
			value: func(n int) string {
				return fmt.Sprintf(`{"schema":{"type":"struct","fields":[{"field":"name","type":"string"},{"field":"pw","type":"string"}]},"payload":{"name":"n%d","pw":"secret%d"}}`, n, n)
			},
			put: func(v any) string {
				sv := v.(*connect.StructValue)
				return fmt.Sprintf("who=%v pw=%q origin=%v off=%v keys=%d", sv.Get("who"), sv.Get("pw"), sv.Get("origin"), sv.Get("off"), len(sv.Schema().Fields))
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &fixedSource{}
			l := NewLocal(Plugin{Name: "rec", NewSink: func() connect.SinkConnector { return sinkOf{f} }})
			cfg := maps.Clone(chain)
			cfg["value.converter"], cfg["value.converter.schemas.enable"] = "org.apache.kafka.connect.json.JsonConverter", tc.schemas
			if err := l.SinkStart(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			var want []string
			for b := range 3 {
				var batch []Record
				for i := range 2 {
					n := 2*b + i
					batch = append(batch, Record{Topic: "in", Value: []byte(tc.value(n)), Offset: int64(100 + n)})
					want = append(want, fmt.Sprintf(`who=n%d pw="" origin=kafka off=%d keys=4`, n, 100+n))
				}
				failed, err := l.SinkPut(context.Background(), batch)
				if err != nil || len(failed) != 0 {
					t.Fatalf("batch %d: failed %+v, error %v", b, failed, err)
				}
			}
			var got []string
			for _, b := range f.put {
				for _, r := range b {
					got = append(got, tc.put(r.Value))
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("records put, read after every batch went through (-want +got):\n%s", d)
			}
		})
	}
}

func TestDescribeSource(t *testing.T) {
	t.Parallel()
	r := numbered("v")[0]
	r.Headers = []connect.Header{{Key: "h", Schema: connect.StringSchema, Value: "x"}}
	got := describeSource(r)
	want := fmt.Sprintf("SourceRecord{sourcePartition={\"p\":\"0\"}, sourceOffset={\"n\":0}} ConnectRecord{topic='t', kafkaPartition=null, key=0, keySchema=%s, value=v, valueSchema=%s, timestamp=null, headers=ConnectHeaders(headers=ConnectHeader(key=h, value=x, schema=%s))}",
		connect.Int64Schema, connect.StringSchema, connect.StringSchema)
	if got != want {
		t.Fatalf("describeSource:\n got %s\nwant %s", got, want)
	}
}

// TestSourcePollLargeBatch: a large batch comes back in order, failures in
// place, and with errors.tolerance=none cut at the first failure.
func TestSourcePollLargeBatch(t *testing.T) {
	t.Parallel()
	const n = 768
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprint(i)
	}
	values[100], values[2*256+5] = "bad", "worse"
	recs := numbered(values...)
	for name, tc := range map[string]struct {
		tolerance string
		n         int
		failed    []int
	}{
		"all":  {"all", len(values), []int{100, 2*256 + 5}},
		"none": {"none", 101, []int{100}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := pollOnce(t, recs, chainConfig(map[string]string{KeyErrorsTolerance: tc.tolerance}))
			if len(got) != tc.n {
				t.Fatalf("%d records, want %d", len(got), tc.n)
			}
			var failed []int
			for i, r := range got {
				if r.Err != nil {
					failed = append(failed, i)
					continue
				}
				if string(r.Value) != values[i] || string(r.Key) != fmt.Sprint(i) {
					t.Fatalf("record %d: key %s value %s", i, r.Key, r.Value)
				}
			}
			if d := cmp.Diff(tc.failed, failed); d != "" {
				t.Fatalf("failed records (-want +got):\n%s", d)
			}
			last := got[len(got)-1]
			if tc.tolerance == "all" && string(last.SourceOffset) != fmt.Sprintf(`{"n":%d}`, len(values)-1) {
				t.Fatalf("newest record's offset %s", last.SourceOffset)
			}
			if tc.tolerance == "none" && string(got[99].SourceOffset) != `{"n":99}` {
				t.Fatalf("the record before the failure carries offset %s, want {\"n\":99}", got[99].SourceOffset)
			}
		})
	}
}
