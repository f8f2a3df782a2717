package storage

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
)

// changeLog collects a ConfigLog's changes.
type changeLog struct {
	mu   sync.Mutex
	list []Change
}

func (c *changeLog) add(ch Change) {
	c.mu.Lock()
	c.list = append(c.list, ch)
	c.mu.Unlock()
}

func (c *changeLog) get() []Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Change(nil), c.list...)
}

func openConfig(t *testing.T, seeds []string, topic string, changes *changeLog) *ConfigLog {
	t.Helper()
	var onChange func(Change)
	if changes != nil {
		onChange = changes.add
	}
	l, err := OpenConfigLog(ctxT(t), Options{ClientOpts: clientOpts(seeds), Topic: topic}, onChange)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func target(s herder.TargetState) *herder.TargetState { return &s }

// TestConfigLogWireFormat: every write, byte for byte as Kafka Connect
// writes it, in a compacted one-partition topic.
func TestConfigLogWireFormat(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-configs")
	l := openConfig(t, seeds, topic, nil)
	ctx := ctxT(t)
	must(t, l.PutConnectorConfig(ctx, "src", map[string]string{"tasks.max": "2", "file": `/tmp/"a"`, "connector.class": "FileStreamSource"}, target(herder.TargetStopped)))
	must(t, l.PutTaskConfigs(ctx, "src", []map[string]string{{"task.class": "T", "file": "/tmp/a"}, {"file": "/tmp/b\n"}}))
	must(t, l.PutTargetState(ctx, "src", herder.TargetPaused))
	must(t, l.PutTargetState(ctx, "src", herder.TargetStarted))
	must(t, l.PutRestartRequest(ctx, "src", RestartRequest{IncludeTasks: true}))
	must(t, l.PutLoggerLevel(ctx, "org.apache.kafka.connect", "DEBUG"))
	must(t, l.PutLoggerLevel(ctx, `connector."q"`, "warn"))
	must(t, l.PutTaskConfigs(ctx, "src", nil))
	must(t, l.RemoveConnector(ctx, "src"))

	want := []rawRecord{
		{"target-state-src", `{"state":"PAUSED","state.v2":"STOPPED"}`},
		{"connector-src", `{"properties":{"connector.class":"FileStreamSource","file":"/tmp/\"a\"","tasks.max":"2"}}`},
		{"task-src-0", `{"properties":{"file":"/tmp/a","task.class":"T"}}`},
		{"task-src-1", `{"properties":{"file":"/tmp/b\n"}}`},
		{"commit-src", `{"tasks":2}`},
		{"target-state-src", `{"state":"PAUSED","state.v2":"PAUSED"}`},
		{"target-state-src", `{"state":"STARTED","state.v2":"STARTED"}`},
		{"restart-connector-src", `{"include-tasks":true,"only-failed":false}`},
		{"logger-cluster-org.apache.kafka.connect", `{"level":"DEBUG"}`},
		{`logger-cluster-connector."q"`, `{"level":"warn"}`},
		{"commit-src", `{"tasks":0}`},
		{"connector-src", "null"},
		{"target-state-src", "null"},
	}
	got := readRaw(t, seeds, topic)
	if d := cmp.Diff(map[int32][]rawRecord{0: want}, got); d != "" {
		t.Fatalf("records on the config topic (-want +got):\n%s", d)
	}
	checkTopic(t, seeds, topic, 1)
}

// TestConfigLogLoggerLevels: a cluster log level already in the topic when
// the log opens is not reported (Kafka Connect ignores levels written
// before a worker started); one written afterwards, by this log or
// another, is reported to every open log.
func TestConfigLogLoggerLevels(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-configs")
	first := openConfig(t, seeds, topic, nil)
	ctx := ctxT(t)
	must(t, first.PutLoggerLevel(ctx, "root", "DEBUG"))
	must(t, first.ReadToEnd(ctx))

	var a, b changeLog
	la := openConfig(t, seeds, topic, &a)
	lb := openConfig(t, seeds, topic, &b)
	must(t, lb.PutLoggerLevel(ctx, "connector.src", "TRACE"))
	must(t, la.ReadToEnd(ctx))
	must(t, lb.ReadToEnd(ctx))
	want := []Change{{Kind: LoggerLevelChanged, Offset: 1, Namespace: "connector.src", Level: "TRACE"}}
	for name, got := range map[string][]Change{"reader": a.get(), "writer": b.get()} {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s's changes (-want +got):\n%s", name, d)
		}
	}
}

// checkTopic checks the partition count and that the topic is compacted.
func checkTopic(t *testing.T, seeds []string, topic string, partitions int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	must(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctxT(t), topic)
	must(t, err)
	if n := len(details[topic].Partitions); n != partitions {
		t.Errorf("topic %s has %d partitions, want %d", topic, n, partitions)
	}
	configs, err := adm.DescribeTopicConfigs(ctxT(t), topic)
	must(t, err)
	rc, err := configs.On(topic, nil)
	must(t, err)
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && (c.Value == nil || *c.Value != "compact") {
			t.Errorf("topic %s: cleanup.policy = %v, want compact", topic, c.Value)
		}
	}
}

// TestConfigLogDeferredTaskConfigs: a worker reading a leader's writes
// applies task configs only when it reads their commit, and reports each
// change once, in log order.
func TestConfigLogDeferredTaskConfigs(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "configs")
	leader := openConfig(t, seeds, topic, nil)
	ctx := ctxT(t)
	must(t, leader.PutConnectorConfig(ctx, "c", map[string]string{"k": "v"}, nil))
	changes := &changeLog{}
	w := openConfig(t, seeds, topic, changes)
	if s := w.Snapshot(); s.Connectors["c"] == nil || s.Offset != 1 {
		t.Fatalf("snapshot at open: %+v", s)
	}

	// The leader has written the task configs but not (yet) their commit.
	produceRaw(t, seeds, topic,
		rawRecord{"task-c-0", `{"properties":{"t":"0"}}`},
		rawRecord{"task-c-1", `{"properties":{"t":"1"}}`})
	must(t, w.ReadToEnd(ctx))
	s := w.Snapshot()
	if _, ok := s.Tasks["c"]; ok || s.TaskCounts["c"] != 0 || s.Offset != 3 {
		t.Fatalf("task configs applied before their commit: %+v", s)
	}
	produceRaw(t, seeds, topic, rawRecord{"commit-c", `{"tasks":2}`})
	must(t, w.ReadToEnd(ctx))
	s = w.Snapshot()
	if d := cmp.Diff([]map[string]string{{"t": "0"}, {"t": "1"}}, s.Tasks["c"]); d != "" {
		t.Fatalf("tasks after the commit (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"k": "v"}, s.Applied["c"]); d != "" {
		t.Fatalf("applied connector config (-want +got):\n%s", d)
	}
	want := []Change{{Kind: TaskConfigsCommitted, Connector: "c", Offset: 3, Tasks: []herder.TaskID{{Connector: "c", Task: 0}, {Connector: "c", Task: 1}}}}
	if d := cmp.Diff(want, changes.get()); d != "" {
		t.Fatalf("changes (-want +got):\n%s", d)
	}
}

// TestConfigLogsConverge: two workers' logs on one topic, both writing,
// read the same state and report the same changes; a worker that starts
// later reads the same state.
func TestConfigLogsConverge(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "configs")
	ca, cb := &changeLog{}, &changeLog{}
	a := openConfig(t, seeds, topic, ca)
	b := openConfig(t, seeds, topic, cb)
	ctx := ctxT(t)
	must(t, a.PutConnectorConfig(ctx, "one", map[string]string{"connector.class": "A"}, nil))
	must(t, a.PutConnectorConfig(ctx, "two", map[string]string{"connector.class": "B"}, target(herder.TargetPaused)))
	must(t, a.PutTaskConfigs(ctx, "one", []map[string]string{{"n": "0"}, {"n": "1"}, {"n": "2"}}))
	must(t, b.PutTargetState(ctx, "one", herder.TargetPaused)) // any worker writes target states
	must(t, a.PutTaskConfigs(ctx, "one", []map[string]string{{"n": "0'"}}))
	must(t, a.PutRestartRequest(ctx, "two", RestartRequest{OnlyFailed: true}))
	must(t, a.PutConnectorConfig(ctx, "one", map[string]string{"connector.class": "A", "x": "y"}, nil))
	must(t, a.RemoveConnector(ctx, "two"))
	must(t, a.ReadToEnd(ctx))
	must(t, b.ReadToEnd(ctx))

	want := Snapshot{
		Offset:       14, // the records written above
		Connectors:   map[string]map[string]string{"one": {"connector.class": "A", "x": "y"}},
		TargetStates: map[string]herder.TargetState{"one": herder.TargetPaused},
		TaskCounts:   map[string]int{"one": 1},
		Tasks:        map[string][]map[string]string{"one": {{"n": "0'"}}},
		Applied:      map[string]map[string]string{"one": {"connector.class": "A"}},
		Inconsistent: map[string]bool{},
		// Task configs were committed and no task count record written
		// since: exactly-once tasks would wait for zombie fencing.
		TaskCountRecords: map[string]int{},
		PendingFencing:   map[string]bool{"one": true},
	}
	for name, l := range map[string]*ConfigLog{"a": a, "b": b, "late": openConfig(t, seeds, topic, nil)} {
		if d := cmp.Diff(want, l.Snapshot()); d != "" {
			t.Errorf("log %s's snapshot (-want +got):\n%s", name, d)
		}
	}
	if d := cmp.Diff(ca.get(), cb.get()); d != "" {
		t.Errorf("changes reported by a and b differ (-a +b):\n%s", d)
	}
	var kinds []string
	for _, ch := range ca.get() {
		kinds = append(kinds, ch.Kind.String()+" "+ch.Connector)
	}
	wantKinds := []string{
		"connector config updated one",
		"connector config updated two", // its PAUSED came first, before the connector existed
		"task configs committed one",
		"target state changed one",
		"task configs committed one",
		"restart requested two",
		"connector config updated one",
		"connector config removed two",
	}
	if d := cmp.Diff(wantKinds, kinds); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// TestConfigLogRemoveConnector: a deleted connector leaves no config, task
// or target state behind, on the writer and on another worker.
func TestConfigLogRemoveConnector(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "configs")
	a := openConfig(t, seeds, topic, nil)
	ctx := ctxT(t)
	must(t, a.PutConnectorConfig(ctx, "c", map[string]string{"k": "v"}, target(herder.TargetStopped)))
	must(t, a.PutTaskConfigs(ctx, "c", []map[string]string{{"t": "0"}}))
	must(t, a.RemoveConnector(ctx, "c"))
	for name, l := range map[string]*ConfigLog{"writer": a, "other": openConfig(t, seeds, topic, nil)} {
		s := l.Snapshot()
		if len(s.Connectors)+len(s.TargetStates)+len(s.TaskCounts)+len(s.Tasks)+len(s.Applied) != 0 {
			t.Errorf("%s still has something of the deleted connector: %+v", name, s)
		}
	}
}

// TestConfigLogAfterCompaction: a leader died while rewriting task configs
// and compaction then removed the configs the old commit needed. A worker
// reading the compacted topic sees the connector inconsistent (and no
// tasks) until the new leader commits a complete set; task configs of a
// connector deleted long ago are ignored.
func TestConfigLogAfterCompaction(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	seeds := c.ListenAddrs()
	must(t, c.CreateTopic("configs", 1, map[string]string{"cleanup.policy": "compact", "delete.retention.ms": "0"}))
	produceRaw(t, seeds, "configs",
		rawRecord{"connector-gone", `{"properties":{}}`},
		rawRecord{"task-gone-0", `{"properties":{}}`},
		rawRecord{"commit-gone", `{"tasks":1}`},
		rawRecord{"connector-gone", "null"},
		rawRecord{"target-state-gone", "null"},
		rawRecord{"connector-foo", `{"properties":{"k":"v"}}`},
		rawRecord{"task-foo-0", `{"properties":{"t":"a"}}`},
		rawRecord{"task-foo-1", `{"properties":{"t":"b"}}`},
		rawRecord{"commit-foo", `{"tasks":2}`},
		rawRecord{"task-foo-0", `{"properties":{"t":"a2"}}`}, // then the leader died
		rawRecord{"connector-other", `{"properties":{}}`},
	)
	early := openConfig(t, seeds, "configs", nil)
	c.Compact()
	raw := readRaw(t, seeds, "configs")[0]
	for _, r := range raw {
		if r.Key == "connector-gone" || (r.Key == "task-foo-0" && strings.Contains(r.Value, `"a"`)) {
			t.Fatalf("compaction kept %v; the test needs it gone: %v", r, raw)
		}
	}

	late := openConfig(t, seeds, "configs", nil)
	s := late.Snapshot()
	if !s.Inconsistent["foo"] || s.Tasks["foo"] != nil {
		t.Fatalf("after compaction: Inconsistent=%v Tasks=%v, want foo inconsistent without tasks", s.Inconsistent, s.Tasks["foo"])
	}
	if _, ok := s.Connectors["gone"]; ok || s.TaskCounts["gone"] != 0 {
		t.Fatalf("the deleted connector came back: %+v", s)
	}
	// The worker that read the log before compaction has the old set.
	if d := cmp.Diff([]map[string]string{{"t": "a"}, {"t": "b"}}, early.Snapshot().Tasks["foo"]); d != "" {
		t.Fatalf("early reader's tasks (-want +got):\n%s", d)
	}

	// The new leader regenerates and commits the task configs.
	ctx := ctxT(t)
	must(t, early.PutTaskConfigs(ctx, "foo", []map[string]string{{"t": "a3"}, {"t": "b3"}}))
	must(t, late.ReadToEnd(ctx))
	want := []map[string]string{{"t": "a3"}, {"t": "b3"}}
	for name, l := range map[string]*ConfigLog{"early": early, "late": late} {
		s := l.Snapshot()
		if s.Inconsistent["foo"] {
			t.Errorf("%s: still inconsistent after a complete commit", name)
		}
		if d := cmp.Diff(want, s.Tasks["foo"]); d != "" {
			t.Errorf("%s's tasks (-want +got):\n%s", name, d)
		}
	}
}

// TestConfigLogReadsKafkaConnectTopic: a config topic as a Kafka Connect
// cluster writes it (its JSON key order, records of features connectd
// does not have, an older worker's target state) reads as expected.
func TestConfigLogReadsKafkaConnectTopic(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-configs")
	createTopic(t, seeds, topic, 1)
	produceRaw(t, seeds, topic,
		rawRecord{"session-key", `{"key":"c2VjcmV0","algorithm":"HmacSHA256","creation-timestamp":1700000000000}`},
		rawRecord{"target-state-jdbc", `{"state":"PAUSED","state.v2":"STOPPED"}`},
		rawRecord{"connector-jdbc", `{"properties":{"tasks.max":"1","name":"jdbc","connector.class":"io.confluent.connect.jdbc.JdbcSourceConnector"}}`},
		rawRecord{"task-jdbc-0", `{"properties":{"tables":"a,b","task.class":"io.confluent.connect.jdbc.source.JdbcSourceTask"}}`},
		rawRecord{"commit-jdbc", `{"tasks":1}`},
		rawRecord{"tasks-fencing-jdbc", `{"task-count":1}`},
		rawRecord{"connector-old", `{"properties":{"name":"old"}}`},
		rawRecord{"target-state-old", `{"state":"PAUSED"}`},
		rawRecord{"logger-cluster-org.apache.kafka", `{"level":"DEBUG"}`},
	)
	s := openConfig(t, seeds, topic, nil).Snapshot()
	want := Snapshot{
		Offset: 9,
		Connectors: map[string]map[string]string{
			"jdbc": {"tasks.max": "1", "name": "jdbc", "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector"},
			"old":  {"name": "old"},
		},
		TargetStates: map[string]herder.TargetState{"jdbc": herder.TargetStopped, "old": herder.TargetPaused},
		TaskCounts:   map[string]int{"jdbc": 1},
		Tasks:        map[string][]map[string]string{"jdbc": {{"tables": "a,b", "task.class": "io.confluent.connect.jdbc.source.JdbcSourceTask"}}},
		Applied:      map[string]map[string]string{"jdbc": {"tasks.max": "1", "name": "jdbc", "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector"}},
		Inconsistent: map[string]bool{},
		// The task count record after the commit: fencing is done.
		TaskCountRecords: map[string]int{"jdbc": 1},
		PendingFencing:   map[string]bool{},
		SessionKey:       &SessionKey{Key: []byte("secret"), Algorithm: "HmacSHA256", Created: 1700000000000},
	}
	if d := cmp.Diff(want, s); d != "" {
		t.Fatalf("snapshot (-want +got):\n%s", d)
	}
}

func TestConfigLogRefusesPartitionedTopic(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	must(t, c.CreateTopic("configs", 3, map[string]string{"cleanup.policy": "compact"}))
	_, err := OpenConfigLog(ctxT(t), Options{ClientOpts: clientOpts(c.ListenAddrs()), Topic: "configs"}, nil)
	if err == nil || !strings.Contains(err.Error(), "3 partitions") || !strings.Contains(err.Error(), "config.storage.topic") {
		t.Fatalf("OpenConfigLog on a 3-partition topic: %v", err)
	}
}

func TestConfigLogRejectsUnknownTargetState(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	l := openConfig(t, seeds, topicName(t, seeds, "configs"), nil)
	if err := l.PutTargetState(ctxT(t), "c", "RUNNING"); err == nil {
		t.Fatal("PutTargetState(RUNNING) succeeded")
	}
	if err := l.PutConnectorConfig(ctxT(t), "c", nil, target("paused")); err == nil {
		t.Fatal("PutConnectorConfig with target state paused succeeded")
	}
	if s := l.Snapshot(); s.Offset != -1 {
		t.Fatalf("something was written: offset %d", s.Offset)
	}
}

// TestConfigLogBrokerRestart: the broker stops and a new one starts on the
// same port and data. A write made meanwhile completes once it is back,
// another worker's log reads it without being reopened, and so does a log
// opened afterwards.
func TestConfigLogBrokerRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.Ports(port), kfake.DataDir(dir))
		must(t, err)
		return c
	}
	c := start()
	seeds := c.ListenAddrs()
	changes := &changeLog{}
	leader := openConfig(t, seeds, "configs", nil)
	other := openConfig(t, seeds, "configs", changes)
	ctx := ctxT(t)
	must(t, leader.PutConnectorConfig(ctx, "before", map[string]string{"k": "v"}, nil))
	c.Close()

	written := make(chan error, 1)
	go func() {
		written <- leader.PutConnectorConfig(ctx, "during", map[string]string{"k": "v"}, target(herder.TargetPaused))
	}()
	c = start()
	defer c.Close()
	must(t, <-written)
	must(t, other.ReadToEnd(ctx))
	want := map[string]map[string]string{"before": {"k": "v"}, "during": {"k": "v"}}
	for name, l := range map[string]*ConfigLog{"leader": leader, "other": other, "new": openConfig(t, seeds, "configs", nil)} {
		s := l.Snapshot()
		if d := cmp.Diff(want, s.Connectors); d != "" {
			t.Errorf("%s's connectors after the restart (-want +got):\n%s", name, d)
		}
		if s.TargetStates["during"] != herder.TargetPaused {
			t.Errorf("%s: target state of during = %q", name, s.TargetStates["during"])
		}
	}
	var got []string
	for _, ch := range changes.get() {
		got = append(got, ch.Kind.String()+" "+ch.Connector)
	}
	if d := cmp.Diff([]string{"connector config updated before", "connector config updated during"}, got); d != "" {
		t.Errorf("other's changes (-want +got):\n%s", d)
	}
}

// With a transactional id (exactly.once.source.support preparing or
// enabled), the leader's writes are transactions of connect-cluster-<group>:
// a new leader claiming the topic fences the former one, whose writes then
// fail and change nothing, and readers read read_committed.
func TestConfigLogTransactionalWriterIsFenced(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-configs")
	open := func() *ConfigLog {
		l, err := OpenConfigLog(ctxT(t), Options{ClientOpts: clientOpts(seeds), Topic: topic, TransactionalID: "connect-cluster-g"}, nil)
		must(t, err)
		t.Cleanup(func() { l.Close() })
		return l
	}
	ctx := ctxT(t)
	old, next := open(), open()
	must(t, old.ClaimWrites(ctx))
	must(t, old.PutConnectorConfig(ctx, "a", map[string]string{"k": "1"}, nil))
	must(t, old.PutTaskCountRecord(ctx, "a", 2))
	must(t, next.ClaimWrites(ctx)) // the new leader
	if err := old.PutConnectorConfig(ctx, "zombie", map[string]string{"k": "z"}, nil); err == nil {
		t.Fatal("the former leader's write succeeded after a new leader claimed the topic")
	}
	must(t, next.PutConnectorConfig(ctx, "b", map[string]string{"k": "2"}, nil))
	for name, l := range map[string]*ConfigLog{"old": old, "next": next, "late": open()} {
		must(t, l.ReadToEnd(ctx))
		s := l.Snapshot()
		if d := cmp.Diff(map[string]map[string]string{"a": {"k": "1"}, "b": {"k": "2"}}, s.Connectors); d != "" {
			t.Errorf("%s: connectors (-want +got):\n%s", name, d)
		}
		if d := cmp.Diff(map[string]int{"a": 2}, s.TaskCountRecords); d != "" {
			t.Errorf("%s: task count records (-want +got):\n%s", name, d)
		}
	}
}
