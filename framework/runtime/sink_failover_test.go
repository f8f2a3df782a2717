package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/offsets"
)

// sinkGate is what one worker's gated sink task delivered: the values of
// every flush that returned. Once held, a flush of newly put records
// blocks (and delivers nothing) until released, so the task commits no
// offset past what it delivered before.
type sinkGate struct {
	mu       sync.Mutex
	flushed  []string
	held     bool
	pending  int           // records in the held flush
	entered  chan struct{} // closed when a held flush has started
	released chan struct{}
	once     sync.Once
}

func newSinkGate(held bool) *sinkGate {
	return &sinkGate{held: held, entered: make(chan struct{}), released: make(chan struct{})}
}

func (g *sinkGate) hold() {
	g.mu.Lock()
	g.held = true
	g.mu.Unlock()
}

func (g *sinkGate) release() { g.once.Do(func() { close(g.released) }) }

func (g *sinkGate) values() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.flushed)
}

func (g *sinkGate) flush(ctx context.Context, buf []string) error {
	g.mu.Lock()
	if g.held && len(buf) > 0 {
		g.pending = len(buf)
		g.mu.Unlock()
		select {
		case <-g.entered:
		default:
			close(g.entered)
		}
		select {
		case <-g.released:
		case <-ctx.Done():
		}
		return errors.New("gated: flush held")
	}
	defer g.mu.Unlock()
	g.flushed = append(g.flushed, buf...)
	return nil
}

// sinkGates maps a gated task's "gate" config to its gate.
var sinkGates sync.Map

var gatedDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "gate", Type: connect.TypeString, Required: true, Doc: "Name of the test's sinkGate."},
)

type gatedConnector struct{}

func (gatedConnector) Config() *connect.ConfigDef                     { return gatedDef }
func (gatedConnector) Start(context.Context, map[string]string) error { return nil }
func (gatedConnector) TaskConfigs(_ context.Context, max int) ([]map[string]string, error) {
	return make([]map[string]string, max), nil
}
func (gatedConnector) Stop(context.Context) error { return nil }
func (gatedConnector) NewTask() connect.SinkTask  { return &gatedTask{} }

// gatedTask buffers values on Put and hands them to its gate on Flush.
type gatedTask struct {
	gate *sinkGate
	buf  []string
}

func (t *gatedTask) Start(_ context.Context, cfg map[string]string) error {
	g, ok := sinkGates.Load(cfg["gate"])
	if !ok {
		return fmt.Errorf("gated: no gate %q", cfg["gate"])
	}
	t.gate = g.(*sinkGate)
	return nil
}

func (t *gatedTask) Put(_ context.Context, recs []*connect.Record) error {
	for _, r := range recs {
		t.buf = append(t.buf, fmt.Sprint(r.Value))
	}
	return nil
}

func (t *gatedTask) Flush(ctx context.Context, _ map[connect.TopicPartition]int64) error {
	if err := t.gate.flush(ctx, t.buf); err != nil {
		return err
	}
	t.buf = t.buf[:0]
	return nil
}

func (t *gatedTask) Stop(context.Context) error { return nil }

// failoverWorker is one in-process worker running the gated sink task of
// connector "snk" over topic "in".
type failoverWorker struct {
	w    *Worker
	gate *sinkGate
	dial *kafkatest.VanishingDialer
	task *Task
}

func startFailoverWorker(t *testing.T, seeds []string, name string, gate *sinkGate, log *slog.Logger) *failoverWorker {
	t.Helper()
	cfg, err := ParseWorkerConfig(map[string]string{
		KeyBootstrapServers:    strings.Join(seeds, ","),
		KeyOffsetFlushInterval: "100",
		KeyPluginIsolation:     "none",
		KeyShutdownTimeout:     "2000",
		KeyValueConverter:      "org.apache.kafka.connect.storage.StringConverter",
		// The setting under which the integration test saw a replay
		// from the start: a dead member leaves the group within 6 s.
		"consumer.session.timeout.ms":    "6000",
		"consumer.heartbeat.interval.ms": "1000",
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(context.Background(), map[string]plugin.Plugin{
		"gated": {Name: "gated", Version: "1", NewSink: func() connect.SinkConnector { return gatedConnector{} }},
	}, false, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	fw := &failoverWorker{w: NewWorker(name, cfg, reg, offsets.NewMemory(), log), gate: gate, dial: &kafkatest.VanishingDialer{}}
	fw.w.KafkaOpts = append(fw.w.KafkaOpts, kgo.Dialer(fw.dial.Dial))
	gateName := t.Name() + "/" + name
	sinkGates.Store(gateName, gate)
	entry, err := reg.Lookup("gated")
	if err != nil {
		t.Fatal(err)
	}
	tc := fw.w.TaskConfig(map[string]string{KeyConnectorClass: "gated", KeyTopics: "in", "gate": gateName}, map[string]string{})
	fw.task = fw.w.StartTask(TaskSpec{ID: herder.TaskID{Connector: "snk", Task: 0}, Entry: entry, Config: tc, Report: func(herder.State, string) {}}, false)
	t.Cleanup(func() {
		gate.release()
		fw.task.Stop()
		sinkGates.Delete(gateName)
	})
	return fw
}

// TestSinkFailoverResumesAtCommittedOffset kills (in effect) the worker
// running a sink task, with a 6 s consumer session, and starts the task on
// another worker: the new task must start at the group's last committed
// offset (or, with none committed, at the start of the topic, the reset
// policy) and every record must be delivered. This is the sink failover of
// distributed mode, in process.
func TestSinkFailoverResumesAtCommittedOffset(t *testing.T) {
	tests := []struct {
		name string
		// commitFirst: the first worker commits offsets before it dies;
		// otherwise it dies having consumed and put records but before
		// its first commit.
		commitFirst bool
	}{
		{"after commits", true},
		{"before the first commit", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewFake(t)
			seeds := c.ListenAddrs()
			cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("in"))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, "in"); err != nil {
				t.Fatal(err)
			}
			const n, batch = 3000, 1000
			next := 0 // the next value (and offset) to produce
			produce := func(to int) {
				t.Helper()
				for ; next < to; next++ {
					i := next
					cl.Produce(context.Background(), &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
				}
				if err := cl.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			produce(batch)
			logs := &syncBuffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("worker log:\n%s", tail(logs.String(), 20000))
				}
			})

			a := startFailoverWorker(t, seeds, "a:8083", newSinkGate(!tt.commitFirst), log)
			if tt.commitFirst {
				waitFor(t, "the first worker to commit the first batch", func() (bool, string) {
					got := committedOffset(adm, "in")
					return got == batch, fmt.Sprint(got)
				})
				a.gate.hold()
				produce(2 * batch)
			}
			// The first worker is inside a held flush of records it put
			// after its last commit (if any), which has returned: it
			// commits nothing more.
			select {
			case <-a.gate.entered:
			case <-time.After(30 * time.Second):
				t.Fatal("timed out waiting for the first worker to flush records it put")
			}
			a.dial.Vanish()
			committed := committedOffset(adm, "in")
			if tt.commitFirst != (committed > 0) {
				t.Fatalf("the first worker died with offset %d committed; the case needs commits: %v", committed, tt.commitFirst)
			}
			delivered := a.gate.values()
			a.gate.mu.Lock()
			pending := a.gate.pending
			a.gate.mu.Unlock()
			t.Logf("the first worker died with offset %d committed, %d records delivered and %d put after them", committed, len(delivered), pending)

			produce(n)
			b := startFailoverWorker(t, seeds, "b:8083", newSinkGate(false), log)
			waitFor(t, "the second worker to deliver every record", func() (bool, string) {
				got := committedOffset(adm, "in")
				return got == n, fmt.Sprint(got)
			})

			// The second worker starts at the last committed offset (the
			// topic's start, with none) and delivers the rest once, in order.
			from := max(committed, 0)
			out := b.gate.values()
			want := make([]string, 0, n-from)
			for i := from; i < n; i++ {
				want = append(want, strconv.FormatInt(i, 10))
			}
			if !slices.Equal(out, want) {
				first := "nothing"
				if len(out) > 0 {
					first = out[0]
				}
				t.Fatalf("the second worker delivered %d records starting at %s; want offsets %d..%d in order, from the last committed offset", len(out), first, from, n-1)
			}
			// Nothing is lost: the first worker delivered every record
			// before its last committed offset, in order; the second every
			// one from there.
			if int64(len(delivered)) < from || !slices.Equal(delivered[:from], firstN(from)) {
				t.Fatalf("the first worker delivered %d records; want at least offsets 0..%d in order", len(delivered), from-1)
			}
		})
	}
}

// firstN returns the values of offsets 0..n-1.
func firstN(n int64) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// committedOffset returns connector snk's committed offset of topic[0], -1
// when there is none.
func committedOffset(adm *kadm.Client, topic string) int64 {
	committed, err := adm.FetchOffsets(context.Background(), SinkGroup("snk"))
	if err != nil {
		return -1
	}
	c, ok := committed.Lookup(topic, 0)
	if !ok {
		return -1
	}
	return c.At
}
