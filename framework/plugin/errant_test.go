package plugin

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// laterSink keeps the records put and lets the test report them.
type laterSink struct {
	reporter connect.ErrantRecordReporter
	put      []*connect.Record
}

func (s *laterSink) SetErrantRecordReporter(r connect.ErrantRecordReporter) { s.reporter = r }
func (s *laterSink) Start(context.Context, map[string]string) error         { return nil }
func (s *laterSink) Stop(context.Context) error                             { return nil }
func (s *laterSink) Put(_ context.Context, recs []*connect.Record) error {
	s.put = append(s.put, recs...)
	return nil
}
func (s *laterSink) Flush(context.Context, map[connect.TopicPartition]int64) error { return nil }

type laterConnector struct{ s *laterSink }

func (c laterConnector) Config() *connect.ConfigDef                     { return connect.NewConfigDef() }
func (c laterConnector) Start(context.Context, map[string]string) error { return nil }
func (c laterConnector) Stop(context.Context) error                     { return nil }
func (c laterConnector) NewTask() connect.SinkTask                      { return c.s }
func (c laterConnector) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	return []map[string]string{{}}, nil
}

// TestSinkErrantReport: a record the task reports after its put comes back
// with the next put as consumed (before the chain changed it), and until
// then the flush holds its partition's offset at it.
func TestSinkErrantReport(t *testing.T) {
	t.Parallel()
	s := &laterSink{}
	l := NewLocal(Plugin{Name: "later", NewSink: func() connect.SinkConnector { return laterConnector{s} }})
	ctx := context.Background()
	if err := l.SinkStart(ctx, chainConfig(nil)); err != nil {
		t.Fatal(err)
	}
	batch := []Record{
		{Topic: "in", Value: []byte("1"), Offset: 10},
		{Topic: "in", Value: []byte("2"), Offset: 11, Headers: []Header{{Key: "k", Value: []byte("v")}}},
		{Topic: "in", Value: []byte("3"), Offset: 12},
	}
	if failed, err := l.SinkPut(ctx, batch); err != nil || len(failed) > 0 {
		t.Fatalf("SinkPut: %v %v", failed, err)
	}
	if len(s.put) != 3 {
		t.Fatalf("task got %d records, want 3", len(s.put))
	}
	s.reporter.Report(s.put[1], errors.New("refused"))

	tp := connect.TopicPartition{Topic: "in", Partition: 0}
	durable, err := l.SinkFlush(ctx, map[connect.TopicPartition]int64{tp: 13})
	if err != nil {
		t.Fatal(err)
	}
	if durable[tp] != 11 {
		t.Fatalf("flush reports %d durable while the report waits, want 11", durable[tp])
	}
	failed, err := l.SinkPut(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Index != -1 || failed[0].Record == nil {
		t.Fatalf("next put answers %+v, want the reported record", failed)
	}
	if d := cmp.Diff(batch[1], *failed[0].Record); d != "" {
		t.Errorf("reported record (-consumed +got):\n%s", d)
	}
	if f := failed[0].Err; f.Stage != StagePut || f.ClassName != "later" || f.Message != "refused" {
		t.Errorf("error %+v, want TASK_PUT by later: refused", f)
	}
	if durable, _ := l.SinkFlush(ctx, map[connect.TopicPartition]int64{tp: 13}); durable[tp] != 13 {
		t.Fatalf("flush reports %d durable once the worker has the report, want 13", durable[tp])
	}
}
