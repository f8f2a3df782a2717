package datagen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/google/go-cmp/cmp"
)

// fakeClock replaces the task's clock and sleep: sleeping advances the
// clock, so rate tests are deterministic and instant.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

// startTask starts a task on config with a fake clock.
func startTask(t *testing.T, config map[string]string, offsets connect.OffsetReader) (*SourceTask, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	task := &SourceTask{now: clock.Now, sleep: clock.Sleep}
	if err := task.Start(context.Background(), config, offsets); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop(context.Background()) })
	return task, clock
}

// drain polls until the task is done, failing after limit polls.
func drain(t *testing.T, task *SourceTask, limit int) []*connect.Record {
	t.Helper()
	var all []*connect.Record
	for i := 0; !task.Done(); i++ {
		if i == limit {
			t.Fatalf("task not done after %d polls (%d records)", limit, len(all))
		}
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		all = append(all, recs...)
	}
	return all
}

func taskConfigs(t *testing.T, config map[string]string, maxTasks int) []map[string]string {
	t.Helper()
	c := NewSource()
	ctx := context.Background()
	if err := c.Start(ctx, config); err != nil {
		t.Fatalf("connector Start: %v", err)
	}
	defer c.Stop(ctx)
	cfgs, err := c.TaskConfigs(ctx, maxTasks)
	if err != nil {
		t.Fatalf("TaskConfigs: %v", err)
	}
	return cfgs
}

// summary is what a test compares of a record: everything but times.
type summary struct {
	Topic     string
	Partition int32
	Key       any
	Value     any
	SrcPart   map[string]any
	SrcOffset map[string]any
}

func summarize(recs []*connect.Record) []summary {
	out := make([]summary, len(recs))
	for i, r := range recs {
		v := r.Value
		switch x := v.(type) {
		case *connect.StructValue:
			m := map[string]any{}
			for _, f := range x.Schema().Fields {
				if f.Name != "ts" {
					m[f.Name] = x.GetIndex(f.Index)
				}
			}
			v = m
		case []byte:
			v = string(x)
		}
		out[i] = summary{r.Topic, r.Partition, r.Key, v, r.SourcePartition, r.SourceOffset}
	}
	return out
}

// seqOf returns a record's (task, seq) from its partition and offset.
func seqOf(t *testing.T, r *connect.Record) (string, int64) {
	t.Helper()
	seq, err := connect.OffsetInt64(r.SourceOffset[OffsetSeq])
	if err != nil {
		t.Fatal(err)
	}
	return r.SourcePartition[PartitionTask].(string), seq
}

func TestTaskConfigs(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		count    string
		maxTasks int
		want     []string // datagen.task.records of each task
	}{
		"unbounded":                {count: "0", maxTasks: 3, want: []string{"0", "0", "0"}},
		"even split":               {count: "9", maxTasks: 3, want: []string{"3", "3", "3"}},
		"remainder goes first":     {count: "11", maxTasks: 3, want: []string{"4", "4", "3"}},
		"fewer records than tasks": {count: "2", maxTasks: 5, want: []string{"1", "1"}},
		"zero max tasks means one": {count: "7", maxTasks: 0, want: []string{"7"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfgs := taskConfigs(t, map[string]string{CountKey: tc.count, "tasks.max": "9"}, tc.maxTasks)
			var got []string
			for i, c := range cfgs {
				got = append(got, c[taskRecordsKey])
				if c[taskIDKey] != fmt.Sprint(i) || c[taskCountKey] != fmt.Sprint(len(cfgs)) {
					t.Errorf("task %d: id %q of %q", i, c[taskIDKey], c[taskCountKey])
				}
				if c["tasks.max"] != "9" {
					t.Errorf("task %d lost the connector's keys: %v", i, c)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("shares (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCountSplitAcrossTasks runs every task of a bounded connector to the
// end and checks that the ids are exactly 0..count-1 and every task's seqs
// run 0, 1, 2... with no gap or repeat.
func TestCountSplitAcrossTasks(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		count, batch string
		tasks        int
	}{
		"one task":     {count: "10", batch: "3", tasks: 1},
		"uneven split": {count: "10", batch: "4", tasks: 3},
		"more tasks":   {count: "3", batch: "100", tasks: 8},
		"batch of one": {count: "7", batch: "1", tasks: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfgs := taskConfigs(t, map[string]string{CountKey: tc.count, BatchSizeKey: tc.batch, SchemaKey: SchemaString}, tc.tasks)
			var ids []int64
			for _, cfg := range cfgs {
				task, _ := startTask(t, cfg, nil)
				recs := drain(t, task, 100)
				for i, r := range recs {
					taskID, seq := seqOf(t, r)
					if taskID != cfg[taskIDKey] || seq != int64(i) {
						t.Fatalf("record %d of task %s is task %s seq %d", i, cfg[taskIDKey], taskID, seq)
					}
					var v struct{ ID int64 }
					if err := json.Unmarshal([]byte(r.Value.(string)), &v); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, v.ID)
				}
				// Done: no more records, ever.
				for range 3 {
					recs, err := task.Poll(context.Background())
					if recs != nil || err != nil {
						t.Fatalf("Poll after done = %d records, %v", len(recs), err)
					}
				}
			}
			slices.Sort(ids)
			count, _ := strconv.Atoi(tc.count)
			want := make([]int64, count)
			for i := range want {
				want[i] = int64(i)
			}
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, schema := range []string{SchemaSimple, SchemaBytes, SchemaString} {
		t.Run(schema, func(t *testing.T) {
			t.Parallel()
			cfgs := taskConfigs(t, map[string]string{
				CountKey: "50", BatchSizeKey: "7", SchemaKey: schema,
				KeyModeKey: KeyModeRandom, KeyCardinalityKey: "10", RecordSizeKey: "20",
			}, 2)
			run := func() [][]summary {
				var out [][]summary
				for _, cfg := range cfgs {
					task, _ := startTask(t, cfg, nil)
					out = append(out, summarize(drain(t, task, 100)))
				}
				return out
			}
			first, second := run(), run()
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("second run differs (-first +second):\n%s", diff)
			}
		})
	}
}

// memOffsets stores offsets as the framework does, as JSON, so what a task
// reads back has the types JSON decoding gives.
type memOffsets struct {
	stored    map[string][]byte
	useNumber bool
}

func (m *memOffsets) put(t *testing.T, partition, offset map[string]any) {
	t.Helper()
	k, _ := json.Marshal(partition)
	v, err := json.Marshal(offset)
	if err != nil {
		t.Fatal(err)
	}
	if m.stored == nil {
		m.stored = map[string][]byte{}
	}
	m.stored[string(k)] = v
}

func (m *memOffsets) Offset(partition map[string]any) map[string]any {
	k, _ := json.Marshal(partition)
	v, ok := m.stored[string(k)]
	if !ok {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(v))
	if m.useNumber {
		d.UseNumber()
	}
	var off map[string]any
	if err := d.Decode(&off); err != nil {
		panic(err)
	}
	return off
}

// offsetFunc serves one fixed offset, of whatever Go type a store returns.
type offsetFunc func(partition map[string]any) map[string]any

func (f offsetFunc) Offset(p map[string]any) map[string]any { return f(p) }

// TestResume stops a bounded task midway, stores its last offset through
// JSON, and checks that a new task continues with the next seq and stops at
// exactly its share.
func TestResume(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		useNumber bool
	}{
		"float64 from JSON":     {},
		"json.Number from JSON": {useNumber: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := taskConfigs(t, map[string]string{CountKey: "25", BatchSizeKey: "10"}, 1)[0]
			store := &memOffsets{useNumber: tc.useNumber}

			task, _ := startTask(t, cfg, store)
			first, err := task.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			last := first[len(first)-1]
			store.put(t, last.SourcePartition, last.SourceOffset)
			_ = task.Stop(context.Background())

			task, _ = startTask(t, cfg, store)
			rest := drain(t, task, 100)
			var seqs []int64
			for _, r := range append(first, rest...) {
				_, seq := seqOf(t, r)
				seqs = append(seqs, seq)
			}
			want := make([]int64, 25)
			for i := range want {
				want[i] = int64(i)
			}
			if diff := cmp.Diff(want, seqs); diff != "" {
				t.Errorf("seqs over both runs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResumeOffsetTypes(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		seq     any
		want    int64 // first seq after resume
		wantErr bool
	}{
		"int64":       {seq: int64(4), want: 5},
		"int":         {seq: 4, want: 5},
		"float64":     {seq: float64(4), want: 5},
		"json.Number": {seq: json.Number("4"), want: 5},
		"past count":  {seq: int64(99), want: -1},
		"fraction":    {seq: 4.5, wantErr: true},
		"string":      {seq: "4", wantErr: true},
		"negative":    {seq: int64(-3), wantErr: true},
		"missing":     {seq: nil, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]string{CountKey: "10"}
			offsets := offsetFunc(func(p map[string]any) map[string]any {
				if diff := cmp.Diff(map[string]any{PartitionTask: "0"}, p); diff != "" {
					t.Errorf("asked for partition (-want +got):\n%s", diff)
				}
				return map[string]any{OffsetSeq: tc.seq}
			})
			task := &SourceTask{}
			err := task.Start(context.Background(), cfg, offsets)
			if tc.wantErr {
				if err == nil {
					t.Fatal("Start succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want < 0 {
				if !task.Done() {
					t.Error("task resumed past its share is not done")
				}
				return
			}
			recs, err := task.Poll(context.Background())
			if err != nil || len(recs) == 0 {
				t.Fatalf("Poll = %d records, %v", len(recs), err)
			}
			if _, seq := seqOf(t, recs[0]); seq != tc.want {
				t.Errorf("first seq = %d, want %d", seq, tc.want)
			}
		})
	}
}

// TestRateLimit drives a rate-limited task on a fake clock and checks that
// no poll returns more than the bucket allows: over any run, records <=
// burst + rate*elapsed, and no poll exceeds batch.size.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		rate, batch string
		wantBurst   int
	}{
		"slow":             {rate: "0.5", batch: "100", wantBurst: 1},
		"ten per second":   {rate: "10", batch: "100", wantBurst: 1},
		"medium":           {rate: "500", batch: "100", wantBurst: 50},
		"fast":             {rate: "100000", batch: "100", wantBurst: 100},
		"fast small batch": {rate: "100000", batch: "7", wantBurst: 7},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task, clock := startTask(t, map[string]string{RateKey: tc.rate, BatchSizeKey: tc.batch}, nil)
			if got := int(task.limit.burst); got != tc.wantBurst {
				t.Errorf("burst = %d, want %d", got, tc.wantBurst)
			}
			rate := task.cfg.rate
			start := clock.now
			total := 0
			for range 50 {
				recs, err := task.Poll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) > task.cfg.batchSize {
					t.Fatalf("poll returned %d records, batch.size is %d", len(recs), task.cfg.batchSize)
				}
				total += len(recs)
				allowed := float64(tc.wantBurst) + rate*clock.now.Sub(start).Seconds()
				if float64(total) > allowed+1e-6 {
					t.Fatalf("%d records after %v, the rate allows %.1f", total, clock.now.Sub(start), allowed)
				}
			}
			if total == 0 {
				t.Error("no records at all")
			}
		})
	}
}

func TestLimiterTake(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	type step struct {
		after    time.Duration // since t0
		want     int
		wantN    int
		wantWait time.Duration
	}
	tests := map[string]struct {
		rate  float64
		batch int
		steps []step
	}{
		"starts full then waits": {rate: 100, batch: 100, steps: []step{
			{after: 0, want: 100, wantN: 10},
			{after: 0, want: 100, wantWait: 100 * time.Millisecond},
			{after: 50 * time.Millisecond, want: 100, wantWait: 50 * time.Millisecond},
			{after: 100 * time.Millisecond, want: 100, wantN: 10},
		}},
		"long pause refills only a burst": {rate: 100, batch: 100, steps: []step{
			{after: 0, want: 100, wantN: 10},
			{after: time.Hour, want: 100, wantN: 10},
		}},
		"want below burst": {rate: 100, batch: 100, steps: []step{
			{after: 0, want: 3, wantN: 3},
			{after: 0, want: 3, wantN: 3},
			{after: 0, want: 5, wantWait: 10 * time.Millisecond},
		}},
		"one at a time": {rate: 2, batch: 100, steps: []step{
			{after: 0, want: 100, wantN: 1},
			{after: 0, want: 100, wantWait: 500 * time.Millisecond},
			{after: 500 * time.Millisecond, want: 100, wantN: 1},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(tc.rate, tc.batch, t0)
			for i, s := range tc.steps {
				n, wait := l.take(t0.Add(s.after), s.want)
				if n != s.wantN || wait.Round(time.Millisecond) != s.wantWait {
					t.Errorf("step %d: take = %d, %v; want %d, %v", i, n, wait, s.wantN, s.wantWait)
				}
			}
		})
	}
}

// TestSchemas checks that keys and values match their schemas, and that
// values carry their task, seq and id, padded to record.size.
func TestSchemas(t *testing.T) {
	t.Parallel()
	type tcase struct{ schema, keyMode, cardinality, size string }
	tests := map[string]tcase{}
	for _, schema := range []string{SchemaSimple, SchemaBytes, SchemaString} {
		for _, km := range []string{KeyModeNone, KeyModeSequence, KeyModeRandom} {
			tests[schema+"/"+km] = tcase{schema, km, "0", "100"}
		}
		tests[schema+"/tiny records"] = tcase{schema, KeyModeRandom, "3", "0"}
		tests[schema+"/large records"] = tcase{schema, KeyModeSequence, "5", "5000"}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := taskConfigs(t, map[string]string{
				TopicKey: "t1", CountKey: "40", SchemaKey: tc.schema, KeyModeKey: tc.keyMode,
				KeyCardinalityKey: tc.cardinality, RecordSizeKey: tc.size, BatchSizeKey: "16",
			}, 2)[1]
			task, _ := startTask(t, cfg, nil)
			size := task.cfg.recordSize
			for _, r := range drain(t, task, 10) {
				if err := connect.Validate(r.ValueSchema, r.Value); err != nil {
					t.Fatalf("value: %v", err)
				}
				if err := connect.Validate(r.KeySchema, r.Key); err != nil {
					t.Fatalf("key: %v", err)
				}
				if r.Topic != "t1" || r.Partition != -1 || r.Timestamp.IsZero() {
					t.Fatalf("record header: topic %q partition %d time %v", r.Topic, r.Partition, r.Timestamp)
				}
				if tc.keyMode == KeyModeNone {
					if r.Key != nil || r.KeySchema != nil {
						t.Fatalf("key %v with key.mode none", r.Key)
					}
				} else if k := r.Key.(int64); k < 0 || task.cfg.keyCardinality > 0 && k >= task.cfg.keyCardinality {
					t.Fatalf("key %d outside [0, %d)", k, task.cfg.keyCardinality)
				}

				_, seq := seqOf(t, r)
				var got struct {
					ID, Seq int64
					Task    int32
					Payload string
				}
				switch v := r.Value.(type) {
				case *connect.StructValue:
					got.ID, got.Seq, got.Task = v.Get("id").(int64), v.Get("seq").(int64), v.Get("task").(int32)
					got.Payload = v.Get("payload").(string)
					if len(got.Payload) != size {
						t.Fatalf("payload of %d bytes, record.size %d", len(got.Payload), size)
					}
				case []byte, string:
					text := fmt.Sprint(v)
					if b, ok := v.([]byte); ok {
						text = string(b)
					}
					if err := json.Unmarshal([]byte(text), &got); err != nil {
						t.Fatalf("value %q: %v", text, err)
					}
					if len(text) != size && !(len(text) > size && got.Payload == "") {
						t.Fatalf("value of %d bytes, record.size %d: %q", len(text), size, text)
					}
				}
				if want := seq*2 + 1; got.Seq != seq || got.Task != 1 || got.ID != want {
					t.Fatalf("value says id %d task %d seq %d; want id %d task 1 seq %d", got.ID, got.Task, got.Seq, want, seq)
				}
				if tc.keyMode == KeyModeSequence && task.cfg.keyCardinality == 0 && r.Key != got.ID {
					t.Fatalf("sequence key %v, id %d", r.Key, got.ID)
				}
			}
		})
	}
}

// TestBytesValuesDoNotAlias checks that appending to one record's bytes
// cannot change the next record's.
func TestBytesValuesDoNotAlias(t *testing.T) {
	t.Parallel()
	task, _ := startTask(t, map[string]string{SchemaKey: SchemaBytes, BatchSizeKey: "3"}, nil)
	recs, err := task.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := string(recs[1].Value.([]byte))
	_ = append(recs[0].Value.([]byte), "XXXXXXXX"...)
	if after := string(recs[1].Value.([]byte)); after != before {
		t.Errorf("record 1 changed from %q to %q", before, after)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config    map[string]string
		wantTopic string
		wantErr   string // a key the error must name
	}{
		"defaults":          {config: map[string]string{}, wantTopic: "datagen"},
		"topic":             {config: map[string]string{TopicKey: "a"}, wantTopic: "a"},
		"kafka.topic alias": {config: map[string]string{KafkaTopicKey: "b"}, wantTopic: "b"},
		"topic wins":        {config: map[string]string{TopicKey: "a", KafkaTopicKey: "b"}, wantTopic: "a"},
		"mixed case enums":  {config: map[string]string{SchemaKey: "BYTES", KeyModeKey: "Random"}, wantTopic: "datagen"},
		"empty topic":       {config: map[string]string{TopicKey: ""}, wantErr: TopicKey},
		"negative rate":     {config: map[string]string{RateKey: "-1"}, wantErr: RateKey},
		"NaN rate":          {config: map[string]string{RateKey: "NaN"}, wantErr: RateKey},
		"infinite rate":     {config: map[string]string{RateKey: "+Inf"}, wantErr: RateKey},
		"negative count":    {config: map[string]string{CountKey: "-5"}, wantErr: CountKey},
		"zero batch":        {config: map[string]string{BatchSizeKey: "0"}, wantErr: BatchSizeKey},
		"huge record":       {config: map[string]string{RecordSizeKey: "100000000"}, wantErr: RecordSizeKey},
		"unknown schema":    {config: map[string]string{SchemaKey: "avro"}, wantErr: SchemaKey},
		"unknown key mode":  {config: map[string]string{KeyModeKey: "uuid"}, wantErr: KeyModeKey},
		"count not number":  {config: map[string]string{CountKey: "many"}, wantErr: CountKey},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := NewSource()
			err := c.Start(context.Background(), tc.config)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Start error = %v, want one naming %s", err, tc.wantErr)
				}
				var ce *connect.ConfigError
				if !errors.As(err, &ce) {
					t.Errorf("error %v is not a *connect.ConfigError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			task := c.NewTask()
			cfgs, _ := c.TaskConfigs(context.Background(), 1)
			if err := task.Start(context.Background(), cfgs[0], nil); err != nil {
				t.Fatal(err)
			}
			recs, err := task.Poll(context.Background())
			if err != nil || len(recs) == 0 {
				t.Fatalf("Poll = %d records, %v", len(recs), err)
			}
			if recs[0].Topic != tc.wantTopic {
				t.Errorf("topic = %q, want %q", recs[0].Topic, tc.wantTopic)
			}
		})
	}
}

func TestTaskStartErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]string{
		"task beyond count": {taskIDKey: "3", taskCountKey: "3"},
		"bad task id":       {taskIDKey: "x"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := new(SourceTask).Start(context.Background(), cfg, nil); err == nil {
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestPollAfterStop(t *testing.T) {
	t.Parallel()
	task := NewSource().NewTask()
	if err := task.Start(context.Background(), map[string]string{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Poll(context.Background()); !errors.Is(err, connect.ErrStopped) {
		t.Errorf("Poll after Stop = %v, want ErrStopped", err)
	}
}

// TestPollCancelled checks, with real timers, that a Poll held back by the
// rate limit or waiting after its count returns as soon as ctx is done.
func TestPollCancelled(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]string{
		"rate limited": {RateKey: "0.001"},
		"count done":   {CountKey: "1"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task := NewSource().NewTask()
			if err := task.Start(context.Background(), maps.Clone(cfg), nil); err != nil {
				t.Fatal(err)
			}
			defer task.Stop(context.Background())
			if recs, err := task.Poll(context.Background()); len(recs) != 1 || err != nil {
				t.Fatalf("first Poll = %d records, %v", len(recs), err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			recs, err := task.Poll(ctx)
			if recs != nil || err != nil {
				t.Errorf("cancelled Poll = %d records, %v; want nil, nil", len(recs), err)
			}
		})
	}
}

func BenchmarkPoll(b *testing.B) {
	for _, schema := range []string{SchemaSimple, SchemaBytes, SchemaString} {
		b.Run(schema, func(b *testing.B) {
			task := NewSource().NewTask()
			cfg := map[string]string{SchemaKey: schema, KeyModeKey: KeyModeSequence, BatchSizeKey: "100"}
			if err := task.Start(context.Background(), cfg, nil); err != nil {
				b.Fatal(err)
			}
			defer task.Stop(context.Background())
			ctx := context.Background()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				recs, err := task.Poll(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n += len(recs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}
