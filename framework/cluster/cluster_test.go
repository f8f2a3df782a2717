package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/offsets"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seq is a source whose task n writes "<n>-<i>" for i in [0,count), with
// offsets, at most one batch of ten every 10 ms.
var seqDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Doc: "Topic."},
	connect.ConfigKey{Name: "count", Type: connect.TypeLong, Default: "100", Doc: "Records per task."},
)

type seqConnector struct{}

func (seqConnector) Config() *connect.ConfigDef                     { return seqDef }
func (seqConnector) Start(context.Context, map[string]string) error { return nil }
func (seqConnector) Stop(context.Context) error                     { return nil }
func (seqConnector) NewTask() connect.SourceTask                    { return &seqTask{} }
func (seqConnector) TaskConfigs(_ context.Context, max int) ([]map[string]string, error) {
	out := make([]map[string]string, max)
	for i := range out {
		out[i] = map[string]string{"seq.task": strconv.Itoa(i)}
	}
	return out, nil
}

type seqTask struct {
	topic, id   string
	next, count int64
	part        map[string]any
	done        atomic.Int64 // next, published for Progress
}

// Progress reports the records written of the count (read on the
// worker's goroutine, concurrently with Poll).
func (t *seqTask) Progress() map[string]any {
	return map[string]any{"task": t.id, "done": t.done.Load(), "total": t.count}
}

func (t *seqTask) Start(_ context.Context, cfg map[string]string, offs connect.OffsetReader) error {
	c, err := seqDef.Parse(cfg)
	if err != nil {
		return err
	}
	t.topic, t.count, t.id = c.String("topic"), c.Long("count"), cfg["seq.task"]
	t.part = map[string]any{"task": t.id}
	if o := offs.Offset(t.part); o != nil {
		t.next = o["i"].(int64) + 1
	}
	return nil
}

func (t *seqTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(10 * time.Millisecond):
	}
	var out []*connect.Record
	for ; t.next < t.count && len(out) < 10; t.next++ {
		out = append(out, &connect.Record{
			Topic: t.topic, Partition: -1, ValueSchema: connect.StringSchema, Value: fmt.Sprintf("%s-%d", t.id, t.next),
			SourcePartition: t.part, SourceOffset: map[string]any{"i": t.next},
		})
	}
	t.done.Store(t.next)
	return out, nil
}

func (t *seqTask) Stop(context.Context) error { return nil }

var seqPlugin = plugin.Plugin{Name: "seq", Version: "1", NewSource: func() connect.SourceConnector { return seqConnector{} }}

// node is one in-process worker of a test cluster, with its REST API.
type node struct {
	h      *Distributed
	srv    *http.Server
	client *api.Client
	store  offsets.Store
}

func startNode(t *testing.T, seeds []string) *node {
	t.Helper()
	return startNodeLogging(t, seeds, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startNodeLogging starts a node whose worker and REST API log to logger;
// when runtime.LogLevels made it, its REST API serves /admin/loggers.
func startNodeLogging(t *testing.T, seeds []string, logger *slog.Logger) *node {
	t.Helper()
	return startNodeWith(t, seeds, logger, nil)
}

// startNodeWith starts a node whose worker has extra properties.
func startNodeWith(t *testing.T, seeds []string, logger *slog.Logger, extra map[string]string) *node {
	t.Helper()
	ctx := context.Background()
	props := map[string]string{
		"bootstrap.servers": seeds[0], "plugin.isolation": "none", "offset.flush.interval.ms": "100",
		"group.id": "g", "config.storage.topic": "cfg", "offset.storage.topic": "off", "status.storage.topic": "st",
		"offset.storage.partitions": "3", "session.timeout.ms": "2000", "heartbeat.interval.ms": "200",
		"scheduled.rebalance.max.delay.ms": "0",
	}
	maps.Copy(props, extra)
	wc, err := runtime.ParseWorkerConfig(props, logger)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := ParseConfig(wc)
	if err != nil {
		t.Fatal(err)
	}
	cc.LogLevels = runtime.LevelsOf(logger.Handler())
	reg, err := runtime.NewRegistry(ctx, map[string]plugin.Plugin{"seq": seqPlugin}, false, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	store, err := offsets.NewKafka(ctx, offsets.KafkaOptions{ClientOpts: runtime.BaseKafkaOpts(wc), Topic: cc.OffsetTopic, Partitions: cc.OffsetPartitions,
		ReadCommitted: cc.ExactlyOnce == runtime.ExactlyOnceEnabled})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := runtime.NewWorker(ln.Addr().String(), wc, reg, store, logger)
	h, err := New(ctx, w, cc, "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n := &node{h: h, store: store, client: &api.Client{BaseURL: "http://" + ln.Addr().String()}}
	opts := api.Options{Ready: h.Ready, Logger: w.Logger}
	if cc.LogLevels != nil {
		opts.Loggers = cc.LogLevels
	}
	n.srv = &http.Server{Handler: api.New(h, opts).Handler()}
	go n.srv.Serve(ln)
	t.Cleanup(n.close)
	return n
}

func (n *node) close() {
	if n.h == nil {
		return
	}
	n.srv.Close()
	n.h.Close()
	n.store.Close()
	n.h = nil
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// running waits until n reports name and its tasks RUNNING, and returns
// the status.
func running(t *testing.T, n *node, name string, tasks int) herder.ConnectorStatus {
	t.Helper()
	var st herder.ConnectorStatus
	waitFor(t, name+" running", func() (bool, string) {
		var err error
		st, err = n.h.ConnectorStatus(context.Background(), name)
		if err != nil || st.Connector.State != herder.Running || len(st.Tasks) != tasks {
			return false, fmt.Sprintf("%+v %v", st, err)
		}
		for _, ts := range st.Tasks {
			if ts.State != herder.Running {
				return false, fmt.Sprintf("%+v", st)
			}
		}
		return true, ""
	})
	return st
}

// TestTwoWorkers runs a connector on two in-process workers, created
// through the one that does not lead, then stops one worker gracefully:
// its tasks move to the other and every record is written exactly once.
func TestTwoWorkers(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close) // after the workers' cleanups: they need the broker to stop cleanly
	seeds := kc.ListenAddrs()
	a, b := startNode(t, seeds), startNode(t, seeds)
	waitFor(t, "both workers to know the leader", func() (bool, string) {
		return a.h.Ready() == nil && b.h.Ready() == nil, ""
	})
	follower := b
	if !a.h.isLeader() {
		follower = a
	}
	const count = 400
	cfg := map[string]string{"connector.class": "seq", "topic": "out", "count": strconv.Itoa(count), "tasks.max": "2"}
	if _, err := follower.client.CreateConnector(context.Background(), "s", cfg); err != nil {
		t.Fatalf("create through the follower: %v", err)
	}
	st := running(t, a, "s", 2)
	running(t, b, "s", 2)
	if st.Tasks[0].WorkerID == st.Tasks[1].WorkerID {
		t.Errorf("both tasks on %s; want one per worker", st.Tasks[0].WorkerID)
	}

	// Stop the worker running task 0 once some records are out.
	waitFor(t, "some records", func() (bool, string) {
		n := countRecords(t, seeds, "out", 0)
		return n >= count/2, strconv.Itoa(n)
	})
	gone, stay := a, b
	if st.Tasks[0].WorkerID != a.h.w.ID {
		gone, stay = b, a
	}
	gone.close()
	st = running(t, stay, "s", 2)
	if st.Tasks[0].WorkerID != stay.h.w.ID || st.Tasks[1].WorkerID != stay.h.w.ID {
		t.Errorf("tasks after the stop: %+v; want both on %s", st.Tasks, stay.h.w.ID)
	}
	if n := countRecords(t, seeds, "out", 2*count); n != 2*count {
		t.Errorf("%d records, want exactly %d", n, 2*count)
	}
}

// countRecords reads topic from the start until it has at least want
// records and nothing more arrives for half a second.
func countRecords(t *testing.T, seeds []string, topic string, want int) int {
	t.Helper()
	recs := kafkatest.ReadRecords(t, seeds, kafkatest.Until{Want: want, Quiet: 500 * time.Millisecond, Timeout: 30 * time.Second}, topic)
	seen := map[string]int{}
	for _, r := range recs {
		seen[string(r.Value)]++
	}
	for v, c := range seen {
		if c > 1 {
			t.Errorf("record %s written %d times", v, c)
		}
	}
	return len(recs)
}

// TestProgressFromAnyWorker: each worker runs one task of a connector; a
// task's progress goes through the status topic, so both workers' REST
// APIs show the progress of both tasks.
func TestProgressFromAnyWorker(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	seeds := kc.ListenAddrs()
	a, b := startNode(t, seeds), startNode(t, seeds)
	waitFor(t, "both workers to know the leader", func() (bool, string) {
		return a.h.Ready() == nil && b.h.Ready() == nil, ""
	})
	const count = 200
	cfg := map[string]string{"connector.class": "seq", "topic": "out", "count": strconv.Itoa(count), "tasks.max": "2"}
	if _, err := a.client.CreateConnector(context.Background(), "s", cfg); err != nil {
		t.Fatal(err)
	}
	st := running(t, a, "s", 2)
	if st.Tasks[0].WorkerID == st.Tasks[1].WorkerID {
		t.Fatalf("both tasks on %s; want one per worker", st.Tasks[0].WorkerID)
	}
	for _, n := range []*node{a, b} {
		for task := range 2 {
			waitFor(t, fmt.Sprintf("task %d's progress done, through %s", task, n.h.w.ID), func() (bool, string) {
				ts, err := n.client.TaskStatus(context.Background(), "s", task)
				want := map[string]any{"task": strconv.Itoa(task), "done": float64(count), "total": float64(count)}
				return err == nil && ts.State == herder.Running && fmt.Sprint(ts.Progress) == fmt.Sprint(want), fmt.Sprintf("%+v %v", ts, err)
			})
		}
	}
}
