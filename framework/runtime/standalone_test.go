package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/offsets"
)

type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	cfg     *WorkerConfig
	reg     *Registry
	store   offsets.Store
	configs ConfigStore
	h       *Standalone
	eos     ExactlyOnce
}

func logger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newEnv starts a fresh kfake cluster and a standalone herder over it.
func newEnv(t *testing.T, isolated bool) *env {
	t.Helper()
	e := newEnvNoStart(t, isolated)
	e.start()
	t.Cleanup(func() { e.h.Close() })
	return e
}

// newEnvNoStart is newEnv without the herder: the caller changes the env,
// then starts it.
func newEnvNoStart(t *testing.T, isolated bool) *env {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	iso := "none"
	if isolated {
		iso = "process"
	}
	cfg, err := ParseWorkerConfig(map[string]string{
		KeyBootstrapServers:      strings.Join(c.ListenAddrs(), ","),
		KeyOffsetFlushInterval:   "100",
		KeyPluginIsolation:       iso,
		KeyRestartBackoffInitial: "100",
		KeyShutdownTimeout:       "5000",
		KeyValueConverter:        "org.apache.kafka.connect.storage.StringConverter",
	}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(context.Background(), testPlugins, isolated, nil, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, cluster: c, cfg: cfg, reg: reg, store: offsets.NewMemory(), configs: &MemoryConfigStore{}}
}

func (e *env) start() {
	e.t.Helper()
	w := NewWorker("test-worker:8083", e.cfg, e.reg, e.store, logger(e.t))
	w.ExactlyOnce = e.eos
	h, err := NewStandalone(context.Background(), w, e.configs)
	if err != nil {
		e.t.Fatal(err)
	}
	e.h = h
}

// restart stops the herder gracefully and starts a new one on the same
// stores, as a restarted worker would.
func (e *env) restart() {
	e.h.Close()
	e.start()
}

func (e *env) put(name string, cfg map[string]string) {
	e.t.Helper()
	cfg["name"] = name
	if _, _, err := e.h.PutConnectorConfig(context.Background(), name, cfg, true); err != nil {
		e.t.Fatalf("put %s: %v", name, err)
	}
}

// waitFor polls cond until it holds or 30s pass.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
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

func (e *env) waitTaskState(name string, task int, want herder.State, traceHas string) herder.TaskState {
	e.t.Helper()
	var got herder.TaskState
	waitFor(e.t, fmt.Sprintf("%s task %d %s", name, task, want), func() (bool, string) {
		st, err := e.h.TaskStatus(context.Background(), herder.TaskID{Connector: name, Task: task})
		got = st
		return err == nil && st.State == want && strings.Contains(st.Trace, traceHas), fmt.Sprintf("%+v %v", st, err)
	})
	return got
}

// readTopic returns every value in topic, duplicates included.
func (e *env) readTopic(topic string, want int) []string {
	e.t.Helper()
	return kafkatest.ReadValues(e.t, e.cluster.ListenAddrs(), topic, want)
}

// counts returns how often each value occurs.
func counts(vals []string) map[string]int {
	m := map[string]int{}
	for _, v := range vals {
		m[v]++
	}
	return m
}

func wantValues(tasks, count int) map[string]int {
	m := map[string]int{}
	for t := 0; t < tasks; t++ {
		for n := 0; n < count; n++ {
			m[fmt.Sprintf("%d-%d", t, n)] = 1
		}
	}
	return m
}

func (e *env) committedN(conn string) map[string]int64 {
	es, err := e.store.Load(context.Background(), conn)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, en := range es {
		var n int64
		fmt.Sscanf(strings.TrimPrefix(string(en.Offset), `{"n":`), "%d", &n)
		out[string(en.Partition)] = n
	}
	return out
}

func TestSourceDeliversEveryRecordOnce(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e := newEnv(t, isolated)
			e.put("c1", map[string]string{"connector.class": "counter", "tasks.max": "2", "topic": "t1", "count": "500", "batch": "7"})
			e.waitTaskState("c1", 0, herder.Running, "")
			got := counts(e.readTopic("t1", 1000))
			if d := diffCounts(wantValues(2, 500), got); d != "" {
				t.Fatal(d)
			}
			waitFor(t, "offsets of both tasks committed", func() (bool, string) {
				c := e.committedN("c1")
				return c[`{"task":"0"}`] == 499 && c[`{"task":"1"}`] == 499, fmt.Sprint(c)
			})
			m := e.h.w.Metrics
			for task := range 2 {
				l := []string{"c1", fmt.Sprint(task)}
				if got := metricValue(t, m, "kafka_connect_source_task_source_record_poll_total", l...); got != 500 {
					t.Errorf("task %d: source_record_poll_total = %v, want 500", task, got)
				}
				if got := metricValue(t, m, "kafka_connect_source_task_source_record_write_total", l...); got != 500 {
					t.Errorf("task %d: source_record_write_total = %v, want 500", task, got)
				}
				if got := metricValue(t, m, "kafka_connect_connector_task_offset_commit_success_percentage", l...); got <= 0 {
					t.Errorf("task %d: offset_commit_success_percentage = %v, want commits that succeeded", task, got)
				}
			}
			if got := metricValue(t, m, "kafka_connect_worker_task_count"); got != 2 {
				t.Errorf("task_count = %v, want 2", got)
			}
		})
	}
}

func diffCounts(want, got map[string]int) string {
	var missing, dup, extra []string
	for v := range want {
		switch n := got[v]; {
		case n == 0:
			missing = append(missing, v)
		case n > 1:
			dup = append(dup, v)
		}
	}
	for v := range got {
		if want[v] == 0 {
			extra = append(extra, v)
		}
	}
	if len(missing)+len(dup)+len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("%d missing (e.g. %v), %d duplicated (e.g. %v), %d unexpected (e.g. %v)", len(missing), firstFew(missing), len(dup), firstFew(dup), len(extra), firstFew(extra))
}

func firstFew(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func TestSourceResumesFromStoredOffsets(t *testing.T) {
	e := newEnv(t, false)
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "300"})
	if d := diffCounts(wantValues(1, 300), counts(e.readTopic("t1", 300))); d != "" {
		t.Fatal(d)
	}
	e.restart() // graceful: final offsets are committed on stop
	// The restored connector goes on where it stopped once there is more to do.
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "600"})
	if d := diffCounts(wantValues(1, 600), counts(e.readTopic("t1", 600))); d != "" {
		t.Fatal(d)
	}
}

func TestConnectorsSurviveRestartWithTheirConfigStore(t *testing.T) {
	e := newEnv(t, false)
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "10"})
	if err := e.h.SetTargetState(context.Background(), "c1", herder.TargetPaused); err != nil {
		t.Fatal(err)
	}
	e.restart()
	names, _ := e.h.Connectors(context.Background())
	if fmt.Sprint(names) != "[c1]" {
		t.Fatalf("connectors after restart = %v", names)
	}
	e.waitTaskState("c1", 0, herder.Paused, "")
}

func TestSinkCommitsOnlyFlushedOffsets(t *testing.T) {
	e := newEnv(t, false)
	out := filepath.Join(t.TempDir(), "out.txt")
	e.put("src", map[string]string{"connector.class": "counter", "tasks.max": "3", "topic": "t1", "count": "400", "batch": "50"})
	e.put("snk", map[string]string{"connector.class": "collect", "tasks.max": "2", "topics": "t1", "file": out})
	waitFor(t, "all records in the sink's file", func() (bool, string) {
		b, _ := os.ReadFile(out)
		n := strings.Count(string(b), "\n")
		return n >= 1200, fmt.Sprint(n, " lines")
	})
	b, _ := os.ReadFile(out)
	got := counts(strings.Fields(string(b)))
	if d := diffCounts(wantValues(3, 400), got); d != "" {
		t.Fatal(d)
	}
	var sent float64
	for task := range 2 {
		sent += metricValue(t, e.h.w.Metrics, "kafka_connect_sink_task_sink_record_send_total", "snk", fmt.Sprint(task))
	}
	if sent != 1200 {
		t.Errorf("sink_record_send_total over both tasks = %v, want 1200", sent)
	}
	// The group's committed offsets reach the end of every partition.
	adm := kadm.NewClient(kgoClient(t, e))
	waitFor(t, "sink offsets committed to the end", func() (bool, string) {
		ends, err := adm.ListEndOffsets(context.Background(), "t1")
		if err != nil {
			return false, err.Error()
		}
		committed, err := adm.FetchOffsets(context.Background(), SinkGroup("snk"))
		if err != nil {
			return false, err.Error()
		}
		ok := true
		ends.Each(func(lo kadm.ListedOffset) {
			c, _ := committed.Lookup("t1", lo.Partition)
			if c.At != lo.Offset {
				ok = false
			}
		})
		return ok, fmt.Sprint(committed)
	})
}

func kgoClient(t *testing.T, e *env) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestTaskErrorFailsTaskWithTrace: a task's own error fails it with a
// readable trace, in-process and across the plugin boundary (where it
// arrives as the data channel's last frame), and nothing after the bad
// record is committed.
func TestTaskErrorFailsTaskWithTrace(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e := newEnv(t, isolated)
			e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "100", "fail.at": "25", "batch": "5"})
			st := e.waitTaskState("c1", 0, herder.Failed, "injected failure at 25")
			if st.WorkerID != "test-worker:8083" {
				t.Fatalf("worker_id = %q", st.WorkerID)
			}
			if strings.Contains(st.Trace, "plugin process exited") {
				t.Fatalf("a task error was reported as a crash: %s", st.Trace)
			}
			cs, _ := e.h.ConnectorStatus(context.Background(), "c1")
			if cs.Connector.State != herder.Running {
				t.Fatalf("connector state = %s, want RUNNING while its task failed", cs.Connector.State)
			}
			waitFor(t, "offset commit", func() (bool, string) {
				c := e.committedN("c1")
				return c[`{"task":"0"}`] == 24, fmt.Sprint(c)
			})
		})
	}
}

func TestPluginCrashRestartsTaskWithBackoff(t *testing.T) {
	e := newEnv(t, true)
	marker := filepath.Join(t.TempDir(), "crashed")
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "300", "batch": "10", "exit.at": "150", "exit.marker": marker})
	e.waitTaskState("c1", 0, herder.Failed, "plugin process exited")
	st := e.waitTaskState("c1", 0, herder.Running, "")
	_ = st
	vals := e.readTopic("t1", 300)
	got := counts(vals)
	want := wantValues(1, 300)
	// Every record arrives; duplicates are allowed only for records after
	// the last committed offset before the crash (at most the 150 polled
	// since the start here).
	for v := range want {
		if got[v] == 0 {
			t.Fatalf("record %s lost after the plugin crash", v)
		}
	}
	dups := len(vals) - len(want)
	if dups > 150 {
		t.Fatalf("%d duplicates; only records after the last committed offset may repeat", dups)
	}
	t.Logf("%d records, %d duplicated after the crash", len(vals), dups)
}

func TestPauseStopsProductionUntilResume(t *testing.T) {
	e := newEnv(t, false)
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "100000", "batch": "1"})
	e.waitTaskState("c1", 0, herder.Running, "")
	ctx := context.Background()
	if err := e.h.SetTargetState(ctx, "c1", herder.TargetPaused); err != nil {
		t.Fatal(err)
	}
	e.waitTaskState("c1", 0, herder.Paused, "")
	// Records handed to the producer before the pause still land and are
	// committed; wait until the offset stops moving, then it must stay.
	var before int64 = -1
	waitFor(t, "the offset to settle after the pause", func() (bool, string) {
		n := e.committedN("c1")[`{"task":"0"}`]
		settled := n == before
		before = n
		time.Sleep(300 * time.Millisecond)
		return settled, fmt.Sprint(n)
	})
	time.Sleep(time.Second)
	if after := e.committedN("c1")[`{"task":"0"}`]; after != before {
		t.Fatalf("offsets moved from %d to %d while paused", before, after)
	}
	if err := e.h.SetTargetState(ctx, "c1", herder.TargetStarted); err != nil {
		t.Fatal(err)
	}
	e.waitTaskState("c1", 0, herder.Running, "")
	waitFor(t, "progress after resume", func() (bool, string) {
		n := e.committedN("c1")[`{"task":"0"}`]
		return n > before, fmt.Sprint(n)
	})
}

func TestValidate(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, _, err := e.h.validate(ctx, "nope", map[string]string{"connector.class": "nope"})
	if err == nil || !strings.Contains(err.Error(), "available connectors are: ") || !strings.Contains(err.Error(), "collect") {
		t.Fatalf("unknown class: %v", err)
	}
	infos, err := e.h.Validate(ctx, "counter", map[string]string{"connector.class": "counter", "name": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if infos.ErrorCount != 1 || !hasError(infos, "topic", "Missing required configuration \"topic\"") {
		t.Fatalf("validate without topic: %+v", infos)
	}
	infos, err = e.h.Validate(ctx, "collect", map[string]string{"connector.class": "collect", "name": "x", "file": "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasError(infos, "topics", "Must configure one of topics or topics.regex") {
		t.Fatalf("sink without topics: %+v", infos)
	}
	// Aliases resolve: Java class names and their simple names.
	for _, class := range []string{"com.example.CounterConnector", "CounterConnector", "Counter"} {
		if _, err := e.reg.Lookup(class); err != nil {
			t.Errorf("Lookup(%s): %v", class, err)
		}
	}
	_, _, err = e.h.PutConnectorConfig(ctx, "bad", map[string]string{"connector.class": "counter"}, false)
	if _, ok := err.(*herder.ValidationError); !ok || !strings.Contains(err.Error(), "topic") {
		t.Fatalf("create with invalid config: %v", err)
	}
}

func hasError(infos herder.ConfigInfos, key, msg string) bool {
	for _, c := range infos.Configs {
		if c.Value.Name == key {
			for _, m := range c.Value.Errors {
				if strings.Contains(m, msg) {
					return true
				}
			}
		}
	}
	return false
}

func TestDeleteAndDuplicate(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "5"})
	_, _, err := e.h.PutConnectorConfig(ctx, "c1", map[string]string{"connector.class": "counter", "topic": "t1"}, false)
	if !errorsIs(err, herder.ErrAlreadyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := e.h.DeleteConnector(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.ConnectorStatus(ctx, "c1"); !errorsIs(err, herder.ErrNotFound) {
		t.Fatalf("status after delete: %v", err)
	}
}

// TestConverterOverrides: the worker's default value converter is the
// String converter; a connector overrides it (JSON without schemas) and the
// key converter, and headers go through the header converter.
func TestConverterOverrides(t *testing.T) {
	e := newEnv(t, true) // converters run in the plugin process
	e.put("c1", map[string]string{
		"connector.class": "counter", "topic": "t1", "count": "3",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	})
	cl := kgoClient(t, e)
	cl.AddConsumeTopics("t1")
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			h := ""
			for _, rh := range r.Headers {
				h += rh.Key + "=" + string(rh.Value)
			}
			got = append(got, string(r.Key)+" "+string(r.Value)+" "+h)
		})
		cancel()
	}
	sort.Strings(got)
	want := []string{`0 "0-0" n=0`, `1 "0-1" n=1`, `2 "0-2" n=2`}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("records (-want +got):\n%s", d)
	}
}
