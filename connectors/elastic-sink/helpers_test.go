package elasticsink

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/testserver"
)

// baseConfig is a task configuration for url: JSON-like schemaless
// records, schema.ignore=true, fast retries.
func baseConfig(url string, extra ...string) map[string]string {
	cfg := map[string]string{
		"name":            "es",
		"connector.class": ConfluentClass,
		"topics":          "t",
		ConnectionURLKey:  url,
		SchemaIgnoreKey:   "true",
		RetryBackoffMsKey: "10",
		FlushTimeoutMsKey: "20000",
		ReadTimeoutMsKey:  "10000",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		cfg[extra[i]] = extra[i+1]
	}
	return cfg
}

// reporter collects what the task reports as errant.
type reporter struct {
	mu   sync.Mutex
	recs []*connect.Record
	errs []error
}

func (r *reporter) Report(rec *connect.Record, err error) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *reporter) reported() ([]*connect.Record, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*connect.Record(nil), r.recs...), append([]error(nil), r.errs...)
}

// startTask starts a task with cfg, opens partitions 0..parts-1 of every
// topic given, and stops it when the test ends.
func startTask(t *testing.T, cfg map[string]string, rep connect.ErrantRecordReporter, tps ...connect.TopicPartition) *SinkTask {
	t.Helper()
	task := &SinkTask{}
	if rep != nil {
		task.SetErrantRecordReporter(rep)
	}
	if err := task.Start(context.Background(), maps.Clone(cfg)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Stop(context.Background()) })
	if len(tps) == 0 {
		tps = []connect.TopicPartition{{Topic: "t", Partition: 0}}
	}
	if err := task.Open(context.Background(), tps); err != nil {
		t.Fatal(err)
	}
	return task
}

func tp(topic string, p int32) connect.TopicPartition {
	return connect.TopicPartition{Topic: topic, Partition: p}
}

// rec is a schemaless record.
func rec(topic string, partition int32, offset int64, key, value any) *connect.Record {
	return &connect.Record{Topic: topic, Partition: partition, Offset: offset, Key: key, Value: value,
		Timestamp: time.UnixMilli(1_700_000_000_000 + offset)}
}

// doc is a schemaless document value.
func doc(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// put hands records to the task and fails on any error.
func put(t *testing.T, task *SinkTask, recs ...*connect.Record) {
	t.Helper()
	if err := task.Put(context.Background(), recs); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// flushed waits until the task holds nothing, and fails on a timeout.
func flushed(t *testing.T, task *SinkTask) {
	t.Helper()
	if err := task.w.flush(context.Background(), 30*time.Second); err != nil {
		t.Fatalf("flush: %v (progress %v)", err, task.Progress())
	}
}

// committable asks PreCommit for partition p of topic t, given next.
func committable(t *testing.T, task *SinkTask, p connect.TopicPartition, next int64) int64 {
	t.Helper()
	got, err := task.PreCommit(context.Background(), map[connect.TopicPartition]int64{p: next})
	if err != nil {
		t.Fatalf("PreCommit: %v", err)
	}
	return got[p]
}

// waitProgress polls the task's progress until cond holds.
func waitProgress(t *testing.T, task *SinkTask, what string, cond func(p map[string]any) bool) map[string]any {
	t.Helper()
	var last map[string]any
	testserver.WaitFor(t, 30*time.Second, what, func() (bool, string) {
		last = task.Progress()
		return cond(last), fmt.Sprint(last)
	})
	return last
}

// settled waits until the task holds nothing, then checks that index
// holds docs documents and that every offset of p below end is
// committable.
func settled(t *testing.T, task *SinkTask, es *testserver.ESFake, index string, docs int, p connect.TopicPartition, end int64) {
	t.Helper()
	flushed(t, task)
	if n := len(es.Docs(index)); n != docs {
		t.Fatalf("%d documents in %s, want %d", n, index, docs)
	}
	if got := committable(t, task, p, end); got != end {
		t.Fatalf("committable offset %d, want %d", got, end)
	}
}

// holdFirst makes the fake hold its first bulk request until the returned
// channel is closed.
func holdFirst(es *testserver.ESFake) chan struct{} {
	release := make(chan struct{})
	var once sync.Once
	es.SetHold(func([]testserver.FakeAction) <-chan struct{} {
		var ch <-chan struct{}
		once.Do(func() { ch = release })
		return ch
	})
	return release
}

// waitInFlight waits until the task has n requests in flight.
func waitInFlight(t *testing.T, task *SinkTask, n int) {
	t.Helper()
	testserver.WaitFor(t, 10*time.Second, fmt.Sprintf("%d requests in flight", n), func() (bool, string) {
		p := task.Progress()
		return p["in_flight_requests"] == n, fmt.Sprint(p)
	})
}
