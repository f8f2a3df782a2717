package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
)

var asyncDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "file", Type: connect.TypeString, Required: true, Doc: "File the written values are appended to."},
	connect.ConfigKey{Name: "reject", Type: connect.TypeString, Default: "", Doc: "Records whose value, printed, contains this text are reported as errant after Put returned."},
)

type asyncConnector struct{}

func (asyncConnector) Config() *connect.ConfigDef                     { return asyncDef }
func (asyncConnector) Start(context.Context, map[string]string) error { return nil }
func (asyncConnector) TaskConfigs(_ context.Context, max int) ([]map[string]string, error) {
	return make([]map[string]string, max), nil
}
func (asyncConnector) Stop(context.Context) error { return nil }
func (asyncConnector) NewTask() connect.SinkTask  { return &asyncTask{} }

// asyncTask writes records from a goroutine of its own after Put returned,
// as a sink with requests in flight does, and reports the ones it refuses
// through the framework's errant record reporter, before it counts them
// durable.
type asyncTask struct {
	path, reject string
	reporter     connect.ErrantRecordReporter
	pending      connect.PendingOffsets
	work         chan *connect.Record
	wg           sync.WaitGroup
}

var (
	_ connect.PreCommitter          = (*asyncTask)(nil)
	_ connect.ErrantRecordReporting = (*asyncTask)(nil)
)

func (t *asyncTask) SetErrantRecordReporter(r connect.ErrantRecordReporter) { t.reporter = r }

func (t *asyncTask) Start(_ context.Context, cfg map[string]string) error {
	c, err := asyncDef.Parse(cfg)
	if err != nil {
		return err
	}
	t.path, t.reject = c.String("file"), c.String("reject")
	t.work = make(chan *connect.Record, 1000)
	t.wg.Add(1)
	go t.writer()
	return nil
}

func (t *asyncTask) writer() {
	defer t.wg.Done()
	for r := range t.work {
		v := fmt.Sprint(r.Value)
		if t.reject != "" && strings.Contains(v, t.reject) {
			t.reporter.Report(r, fmt.Errorf("async: refusing %s", v))
		} else if f, err := os.OpenFile(t.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, v)
			f.Sync()
			f.Close()
		} else {
			continue // not durable: never committed
		}
		t.pending.Done(connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}, r.Offset)
	}
}

func (t *asyncTask) Put(_ context.Context, recs []*connect.Record) error {
	for _, r := range recs {
		t.pending.Add(connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}, r.Offset)
		t.work <- r
	}
	return nil
}

func (t *asyncTask) PreCommit(_ context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	return t.pending.Committable(offsets), nil
}

func (t *asyncTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	return fmt.Errorf("async: Flush called on a PreCommitter")
}

func (t *asyncTask) Stop(context.Context) error {
	close(t.work)
	t.wg.Wait()
	return nil
}

// TestSinkErrantReportsGoToDeadLetterQueue: records a task refuses after
// Put returned, reported through the errant record reporter, land in the
// dead letter queue as consumed (before the value transform the task saw),
// the rest is written, and the offsets are committed to the end. In-process
// and across the plugin boundary.
func TestSinkErrantReportsGoToDeadLetterQueue(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e, _ := newLoggedEnv(t, isolated, nil)
			values := jsonValues(30, map[int]string{9: `{"n":"reject-9"}`, 21: `{"n":"reject-21"}`})
			e.produceRaw("in", values)
			out := filepath.Join(t.TempDir(), "out.txt")
			cfg := sinkConfig(out, dlqConfig)
			cfg["connector.class"] = "async"
			cfg["reject"] = "reject"
			cfg["errors.tolerance"] = "all"
			cfg["errors.deadletterqueue.topic.name"] = "dlq-async"
			cfg["transforms"] = "tag"
			cfg["transforms.tag.type"] = "org.apache.kafka.connect.transforms.InsertField$Value"
			cfg["transforms.tag.static.field"] = "tag"
			cfg["transforms.tag.static.value"] = "x"
			e.put("snk", cfg)

			waitFor(t, "committed offsets at the end", func() (bool, string) {
				c := e.committedSink("snk", "in")
				return c == 30, fmt.Sprint(c)
			})
			dlq := e.readRecords("dlq-async", 2)
			if len(dlq) != 2 {
				t.Fatalf("dead letter queue holds %d records, want 2", len(dlq))
			}
			for i, off := range []int{9, 21} {
				d := dlq[i]
				if string(d.Value) != values[off] {
					t.Errorf("DLQ record %d: value %q, want the consumed record's %q", i, d.Value, values[off])
				}
				got := contextHeaders(t, d)
				want := map[string]string{
					HeaderDLQTopic: "in", HeaderDLQPartition: "0", HeaderDLQOffset: fmt.Sprint(off),
					HeaderDLQConnector: "snk", HeaderDLQTask: "0", HeaderDLQStage: "TASK_PUT", HeaderDLQClass: "async",
				}
				delete(got, HeaderDLQException)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("DLQ record %d context headers (-want +got):\n%s", i, d)
				}
				if h := headers(d)["h"]; h != fmt.Sprint(off) {
					t.Errorf("DLQ record %d: the consumed record's header h = %q, want %d", i, h, off)
				}
			}
			b, _ := os.ReadFile(out)
			if n := strings.Count(string(b), "\n"); n != 28 {
				t.Errorf("the file holds %d values, want 28", n)
			}
		})
	}
}

// TestSinkErrantReportToleranceNone: with errors.tolerance=none a reported
// record fails the task, naming it, and no offset past it is committed.
func TestSinkErrantReportToleranceNone(t *testing.T) {
	e, _ := newLoggedEnv(t, true, nil)
	e.produceRaw("in", jsonValues(30, map[int]string{12: `{"n":"reject-12"}`}))
	out := filepath.Join(t.TempDir(), "out.txt")
	cfg := sinkConfig(out, nil)
	cfg["connector.class"] = "async"
	cfg["reject"] = "reject"
	e.put("snk", cfg)
	st := e.waitTaskState("snk", 0, herder.Failed, "Tolerance exceeded in error handler")
	if want := "consumed record {topic='in', partition=0, offset=12} failed in stage TASK_PUT with class async: async: refusing"; !strings.Contains(st.Trace, want) {
		t.Errorf("trace lacks %q:\n%s", want, st.Trace)
	}
	if c := e.committedSink("snk", "in"); c > 12 {
		t.Fatalf("committed offset %d: past the reported record at 12", c)
	}
}
