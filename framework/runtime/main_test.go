package runtime

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/framework/plugin"
)

// Test connectors, served in-process or by re-executing the test binary.
var testPlugins = map[string]plugin.Plugin{
	"counter":  {Name: "counter", Version: "1", Aliases: []string{"com.example.CounterConnector"}, NewSource: func() connect.SourceConnector { return &counterConnector{} }},
	"collect":  {Name: "collect", Version: "1", NewSink: func() connect.SinkConnector { return &collectConnector{} }},
	"progress": {Name: "progress", Version: "1", NewSource: func() connect.SourceConnector { return &progressConnector{} }},
	"chunks":   {Name: "chunks", Version: "1", NewSink: func() connect.SinkConnector { return chunksConnector{} }},
	"async":    {Name: "async", Version: "1", NewSink: func() connect.SinkConnector { return asyncConnector{} }},
}

func TestMain(m *testing.M) {
	connecttest.ServeIfPlugin(testPlugins["counter"], testPlugins["collect"], testPlugins["progress"], testPlugins["chunks"], testPlugins["async"])
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/connectd/connectd/framework/plugin.exitWithParent"),
	)
}

var counterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Doc: "Topic."},
	connect.ConfigKey{Name: "count", Type: connect.TypeLong, Default: "100", Doc: "Records per task."},
	connect.ConfigKey{Name: "batch", Type: connect.TypeInt, Default: "10", Doc: "Records per poll."},
	connect.ConfigKey{Name: "fail.at", Type: connect.TypeLong, Default: "-1", Doc: "Poll fails once this record is reached."},
	connect.ConfigKey{Name: "exit.at", Type: connect.TypeLong, Default: "-1", Doc: "The plugin process exits when this record is reached, unless the marker file exists."},
	connect.ConfigKey{Name: "exit.marker", Type: connect.TypeString, Default: "", Doc: "File created before exiting, so the next run goes on."},
	connect.ConfigKey{Name: "values", Type: connect.TypeString, Default: "named", Doc: "named: values are \"<task>-<n>\"; numbers: values are \"<n>\"."},
	connect.ConfigKey{Name: "poison.at", Type: connect.TypeLong, Default: "-1", Doc: "This record's value is \"poison-<n>\" instead."},
	connect.ConfigKey{Name: "txn.every", Type: connect.TypeLong, Default: "0", Doc: "With a transaction context: commit after every record n with n%txn.every == txn.every-1."},
	connect.ConfigKey{Name: "abort.at", Type: connect.TypeLong, Default: "-1", Doc: "With a transaction context: abort the transaction after this record."},
)

// counterConnector writes "<task>-<n>" for n in [0,count) per task, keyed
// by n, with offsets {"n": n}.
type counterConnector struct{ cfg map[string]string }

func (c *counterConnector) Config() *connect.ConfigDef { return counterDef }
func (c *counterConnector) Start(_ context.Context, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *counterConnector) TaskConfigs(_ context.Context, max int) ([]map[string]string, error) {
	out := make([]map[string]string, max)
	for i := range out {
		out[i] = map[string]string{"task.id": fmt.Sprint(i)}
	}
	return out, nil
}
func (c *counterConnector) Stop(context.Context) error  { return nil }
func (c *counterConnector) NewTask() connect.SourceTask { return &counterTask{} }

type counterTask struct {
	topic, id      string
	next, count    int64
	batch          int
	failAt, exitAt int64
	marker         string
	part           map[string]any
	numbers        bool
	poisonAt       int64
	txn            connect.TransactionContext
	txnEvery       int64
	abortAt        int64
}

func (t *counterTask) SetTransactionContext(tc connect.TransactionContext) { t.txn = tc }

// The counter gives exactly-once delivery (its offsets name the next
// record exactly) and defines transaction boundaries when txn.every is
// set.
func (c *counterConnector) ExactlyOnceSupport(map[string]string) connect.ExactlyOnceSupport {
	return connect.ExactlyOnceSupported
}

func (c *counterConnector) CanDefineTransactionBoundaries(cfg map[string]string) connect.TransactionBoundarySupport {
	if cfg["txn.every"] != "" && cfg["txn.every"] != "0" {
		return connect.TransactionBoundariesSupported
	}
	return connect.TransactionBoundariesUnsupported
}

func (t *counterTask) Start(_ context.Context, cfg map[string]string, offsets connect.OffsetReader) error {
	c, err := counterDef.Parse(cfg)
	if err != nil {
		return err
	}
	t.topic, t.count, t.batch = c.String("topic"), c.Long("count"), c.Int("batch")
	t.failAt, t.exitAt, t.marker = c.Long("fail.at"), c.Long("exit.at"), c.String("exit.marker")
	t.numbers, t.poisonAt = c.String("values") == "numbers", c.Long("poison.at")
	t.txnEvery, t.abortAt = c.Long("txn.every"), c.Long("abort.at")
	t.id = cfg["task.id"]
	t.part = map[string]any{"task": t.id}
	if off := offsets.Offset(t.part); off != nil {
		t.next = off["n"].(int64) + 1
	}
	return nil
}

func (t *counterTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.next >= t.count {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	var out []*connect.Record
	for ; t.next < t.count && len(out) < t.batch; t.next++ {
		if t.next == t.failAt {
			return nil, fmt.Errorf("counter: injected failure at %d", t.next)
		}
		if t.next == t.exitAt {
			if _, err := os.Stat(t.marker); err != nil {
				os.WriteFile(t.marker, nil, 0o644)
				os.Exit(7)
			}
		}
		value := fmt.Sprintf("%s-%d", t.id, t.next)
		switch {
		case t.next == t.poisonAt:
			value = fmt.Sprintf("poison-%d", t.next)
		case t.numbers:
			value = fmt.Sprint(t.next)
		}
		rec := &connect.Record{
			Topic: t.topic, Partition: -1,
			KeySchema: connect.Int64Schema, Key: t.next,
			ValueSchema: connect.StringSchema, Value: value,
			Headers:         []connect.Header{{Key: "n", Schema: connect.Int64Schema, Value: t.next}},
			SourcePartition: t.part, SourceOffset: map[string]any{"n": t.next},
		}
		out = append(out, rec)
		if t.txn != nil {
			switch {
			case t.next == t.abortAt:
				t.txn.AbortTransactionAfter(rec)
			case t.txnEvery > 0 && t.next%t.txnEvery == t.txnEvery-1:
				t.txn.CommitTransactionAfter(rec)
			}
		}
	}
	return out, nil
}

func (t *counterTask) Stop(context.Context) error { return nil }

var collectDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "file", Type: connect.TypeString, Required: true, Doc: "File the flushed values are appended to."},
	connect.ConfigKey{Name: "reject", Type: connect.TypeString, Default: "", Doc: "Put rejects records whose value, printed, contains this text."},
	connect.ConfigKey{Name: "flaky", Type: connect.TypeString, Default: "", Doc: "Put rejects records whose value, printed, contains this text with a retriable error, the first flaky.times times."},
	connect.ConfigKey{Name: "flaky.times", Type: connect.TypeInt, Default: "2", Doc: "How often a flaky record is rejected."},
)

type collectConnector struct{ cfg map[string]string }

func (c *collectConnector) Config() *connect.ConfigDef { return collectDef }
func (c *collectConnector) Start(_ context.Context, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *collectConnector) TaskConfigs(_ context.Context, max int) ([]map[string]string, error) {
	out := make([]map[string]string, max)
	for i := range out {
		out[i] = map[string]string{}
	}
	return out, nil
}
func (c *collectConnector) Stop(context.Context) error { return nil }
func (c *collectConnector) NewTask() connect.SinkTask  { return &collectTask{} }

// collectTask buffers values and appends them to a file on Flush, fsynced:
// what the file holds is exactly what was flushed.
type collectTask struct {
	path          string
	buf           []string
	reject, flaky string
	flakyLeft     int
}

func (t *collectTask) Start(_ context.Context, cfg map[string]string) error {
	c, err := collectDef.Parse(cfg)
	if err != nil {
		return err
	}
	t.path, t.reject, t.flaky, t.flakyLeft = c.String("file"), c.String("reject"), c.String("flaky"), c.Int("flaky.times")
	return nil
}

func (t *collectTask) Put(_ context.Context, recs []*connect.Record) error {
	be := &connect.BatchError{Errs: map[int]error{}}
	for i, r := range recs {
		v := fmt.Sprint(r.Value)
		switch {
		case t.reject != "" && strings.Contains(v, t.reject):
			be.Errs[i] = fmt.Errorf("collect: refusing %s", v)
			continue
		case t.flaky != "" && strings.Contains(v, t.flaky) && t.flakyLeft > 0:
			t.flakyLeft--
			be.Errs[i] = connect.Retriable(fmt.Errorf("collect: not now: %s", v))
			continue
		}
		t.buf = append(t.buf, v)
	}
	if len(be.Errs) > 0 {
		return be
	}
	return nil
}

func (t *collectTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if len(t.buf) == 0 {
		return nil
	}
	f, err := os.OpenFile(t.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, v := range t.buf {
		if _, err := fmt.Fprintln(f, v); err != nil {
			return err
		}
	}
	t.buf = t.buf[:0]
	return f.Sync()
}

func (t *collectTask) Stop(context.Context) error { return nil }
