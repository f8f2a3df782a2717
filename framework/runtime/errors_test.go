package runtime

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/offsets"
)

// syncBuffer is a log sink tests read while the worker writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLoggedEnv is newEnv with extra worker properties and every log line
// of the worker (plugin output included) kept in the returned buffer.
func newLoggedEnv(t *testing.T, isolated bool, props map[string]string) (*env, *syncBuffer) {
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
	raw := map[string]string{
		KeyBootstrapServers:      strings.Join(c.ListenAddrs(), ","),
		KeyOffsetFlushInterval:   "100",
		KeyPluginIsolation:       iso,
		KeyRestartBackoffInitial: "100",
		KeyShutdownTimeout:       "5000",
		KeyValueConverter:        "org.apache.kafka.connect.storage.StringConverter",
	}
	maps.Copy(raw, props)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, err := ParseWorkerConfig(raw, log)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(context.Background(), testPlugins, isolated, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cluster: c, cfg: cfg, reg: reg, store: offsets.NewMemory(), configs: &MemoryConfigStore{}}
	w := NewWorker("test-worker:8083", cfg, reg, e.store, log)
	h, err := NewStandalone(context.Background(), w, e.configs)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	t.Cleanup(func() {
		e.h.Close()
		if t.Failed() {
			t.Logf("worker log:\n%s", tail(logs.String(), 6000))
		}
	})
	return e, logs
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// readRecords reads topic from the start until it holds want records and
// then nothing new for a second.
func (e *env) readRecords(topic string, want int) []*kgo.Record {
	e.t.Helper()
	return kafkatest.ReadRecords(e.t, e.cluster.ListenAddrs(), kafkatest.Until{Want: want}, topic)
}

// headers returns a record's headers as a map (the last one of a key wins).
func headers(r *kgo.Record) map[string]string {
	out := map[string]string{}
	for _, h := range r.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

// contextHeaders returns the __connect.errors.* headers of r, without the
// two whose content is free text (checked separately).
func contextHeaders(t *testing.T, r *kgo.Record) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range headers(r) {
		if !strings.HasPrefix(k, "__connect.errors.") {
			continue
		}
		if k == HeaderDLQMessage || k == HeaderDLQStacktrace {
			if v == "" {
				t.Errorf("header %s is empty", k)
			}
			continue
		}
		out[k] = v
	}
	return out
}

// poisonSource is a counter connector writing "0".."count-1" through a
// Cast$Value to int64 transform: record poison.at is "poison-<n>", which
// the cast cannot parse.
func poisonSource(count, batch, poisonAt int, extra map[string]string) map[string]string {
	cfg := map[string]string{
		"connector.class": "counter", "topic": "t1", "count": fmt.Sprint(count), "batch": fmt.Sprint(batch),
		"values": "numbers", "poison.at": fmt.Sprint(poisonAt),
		"transforms": "cast", "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value", "transforms.cast.spec": "int64",
	}
	maps.Copy(cfg, extra)
	return cfg
}

var dlqConfig = map[string]string{
	"errors.deadletterqueue.topic.name":               "dlq",
	"errors.deadletterqueue.topic.replication.factor": "1",
	"errors.deadletterqueue.context.headers.enable":   "true",
	"errors.log.enable":                               "true",
	"errors.log.include.messages":                     "true",
}

// TestSourcePoisonRecordGoesToDeadLetterQueue: with errors.tolerance=all a
// record that fails a transform lands in the dead letter queue, as the
// task returned it, with the context headers; the others flow, and the
// offsets go past it.
func TestSourcePoisonRecordGoesToDeadLetterQueue(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e, logs := newLoggedEnv(t, isolated, nil)
			cfg := poisonSource(40, 10, 17, dlqConfig)
			cfg["errors.tolerance"] = "all"
			e.put("c1", cfg)

			var want []string
			for n := range 40 {
				if n != 17 {
					want = append(want, fmt.Sprint(n))
				}
			}
			got := e.readTopic("t1", len(want))
			slices.SortFunc(got, func(a, b string) int { return cmpNumbers(a, b) })
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("topic t1 (-want +got):\n%s", d)
			}

			dlq := e.readRecords("dlq", 1)
			if len(dlq) != 1 {
				t.Fatalf("dead letter queue holds %d records, want 1", len(dlq))
			}
			d := dlq[0]
			if string(d.Value) != "poison-17" {
				t.Errorf("DLQ value %q, want the record as the task returned it, %q", d.Value, "poison-17")
			}
			conv, err := converters.FromConfig(map[string]string{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantKey, err := conv.Key.FromConnect("t1", connect.Int64Schema, int64(17))
			if err != nil {
				t.Fatal(err)
			}
			if string(d.Key) != string(wantKey) {
				t.Errorf("DLQ key %s, want the record's key as the connector's JSON converter writes it, %s", d.Key, wantKey)
			}
			wantHeaders := map[string]string{
				HeaderDLQTopic:           "t1",
				HeaderDLQSourcePartition: `{"task":"0"}`,
				HeaderDLQSourceOffset:    `{"n":17}`,
				HeaderDLQConnector:       "c1",
				HeaderDLQTask:            "0",
				HeaderDLQStage:           "TRANSFORMATION",
				HeaderDLQClass:           "org.apache.kafka.connect.transforms.Cast$Value",
				HeaderDLQException:       "org.apache.kafka.connect.errors.DataException",
			}
			if d := cmp.Diff(wantHeaders, contextHeaders(t, d)); d != "" {
				t.Errorf("DLQ context headers (-want +got):\n%s", d)
			}
			if h := headers(d)["n"]; h != "17" {
				t.Errorf("the record's own header n = %q, want 17", h)
			}

			waitFor(t, "offsets past the poison record", func() (bool, string) {
				c := e.committedN("c1")
				return c[`{"task":"0"}`] == 39, fmt.Sprint(c)
			})
			m := e.h.w.Metrics
			for _, c := range []struct {
				name string
				want float64
			}{
				{"kafka_connect_task_error_total_record_errors", 1}, {"kafka_connect_task_error_total_records_skipped", 1},
				{"kafka_connect_task_error_total_record_failures", 1}, {"kafka_connect_task_error_deadletterqueue_produce_requests", 1},
				{"kafka_connect_task_error_deadletterqueue_produce_failures", 0}, {"kafka_connect_task_error_total_errors_logged", 1},
				{"kafka_connect_source_task_source_record_poll_total", 40}, {"kafka_connect_source_task_source_record_write_total", 39},
			} {
				if got := metricValue(t, m, c.name, "c1", "0"); got != c.want {
					t.Errorf("%s = %v, want %v", c.name, got, c.want)
				}
			}
			for _, want := range []string{
				"Error encountered in task c1-0. Executing stage 'TRANSFORMATION' with class 'org.apache.kafka.connect.transforms.Cast$Value', where source record is = SourceRecord{",
				"ConnectRecord{topic='t1', kafkaPartition=null, key=17, keySchema=int64, value=poison-17",
			} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("the log has no line with %q", want)
				}
			}
		})
	}
}

// cmpNumbers orders decimal strings by value.
func cmpNumbers(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// TestSourceToleranceNoneFailsAtPoisonRecord: with errors.tolerance=none
// the task fails at the record with a readable trace, after reporting it
// to the dead letter queue, and no offset at or past it is committed.
func TestSourceToleranceNoneFailsAtPoisonRecord(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e, _ := newLoggedEnv(t, isolated, nil)
			e.put("c1", poisonSource(40, 5, 17, dlqConfig))
			st := e.waitTaskState("c1", 0, herder.Failed, "Tolerance exceeded in error handler")
			t.Logf("trace:\n%s", st.Trace)
			for _, want := range []string{
				"source record {topic='t1', sourcePartition={\"task\":\"0\"}, sourceOffset={\"n\":17}} failed in stage TRANSFORMATION with class org.apache.kafka.connect.transforms.Cast$Value",
				"Caused by: org.apache.kafka.connect.errors.DataException: transforms: transform \"cast\"",
				"poison-17",
			} {
				if !strings.Contains(st.Trace, want) {
					t.Errorf("trace lacks %q:\n%s", want, st.Trace)
				}
			}
			// The records before the poison record are produced and
			// committed, nothing after it.
			waitFor(t, "the offsets before the poison record", func() (bool, string) {
				c := e.committedN("c1")
				return c[`{"task":"0"}`] == 16, fmt.Sprint(c)
			})
			got := e.readTopic("t1", 17)
			slices.SortFunc(got, cmpNumbers)
			var want []string
			for n := range 17 {
				want = append(want, fmt.Sprint(n))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("topic t1 (-want +got):\n%s", d)
			}
			if c := e.committedN("c1"); c[`{"task":"0"}`] != 16 {
				t.Fatalf("offsets moved to %v after the task failed", c)
			}
			if dlq := e.readRecords("dlq", 1); len(dlq) != 1 || string(dlq[0].Value) != "poison-17" {
				t.Fatalf("dead letter queue: %d records, want the poison record reported before the task failed", len(dlq))
			}
		})
	}
}

// TestSourceDroppedRecordsCommitOffsets: records a transform drops are not
// produced, and their offsets are committed, as Kafka Connect does.
func TestSourceDroppedRecordsCommitOffsets(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e, _ := newLoggedEnv(t, isolated, nil)
			e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "30", "batch": "4",
				"transforms": "drop", "transforms.drop.type": "Filter"})
			waitFor(t, "offsets of every dropped record", func() (bool, string) {
				c := e.committedN("c1")
				return c[`{"task":"0"}`] == 29, fmt.Sprint(c)
			})
			adm := kadm.NewClient(kgoClient(t, e))
			if n := kafkatest.EndOffsets(adm, "t1"); n != 0 {
				t.Fatalf("topic t1 holds %d records, want none", n)
			}
			m := e.h.w.Metrics
			if got := metricValue(t, m, "kafka_connect_source_task_source_record_poll_total", "c1", "0"); got != 30 {
				t.Errorf("source_record_poll_total = %v, want 30", got)
			}
		})
	}
}

// produceRaw writes values (nil: a null value) to a new one-partition
// topic, each with the header h=<index>.
func (e *env) produceRaw(topic string, values []string) {
	e.t.Helper()
	cl := kgoClient(e.t, e)
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		e.t.Fatal(err)
	}
	for i, v := range values {
		r := &kgo.Record{Topic: topic, Value: []byte(v), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}}}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			e.t.Fatal(err)
		}
	}
}

// committedSink returns the sink group's committed offset of topic[0].
func (e *env) committedSink(conn, topic string) int64 {
	adm := kadm.NewClient(kgoClient(e.t, e))
	committed, err := adm.FetchOffsets(context.Background(), SinkGroup(conn))
	if err != nil {
		return -1
	}
	c, ok := committed.Lookup(topic, 0)
	if !ok {
		return -1
	}
	return c.At
}

func jsonValues(n int, special map[int]string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"n":%d}`, i)
		if v, ok := special[i]; ok {
			out[i] = v
		}
	}
	return out
}

func sinkConfig(file string, extra map[string]string) map[string]string {
	cfg := map[string]string{
		"connector.class": "collect", "topics": "in", "file": file,
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}
	maps.Copy(cfg, extra)
	return cfg
}

func fileLines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

// TestSinkFailedRecordsGoToDeadLetterQueue: a record the converter cannot
// read and one the task's put rejects both land in the dead letter queue
// as consumed, raw, with their context headers; the rest is delivered
// and the offsets are committed past them.
func TestSinkFailedRecordsGoToDeadLetterQueue(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e, logs := newLoggedEnv(t, isolated, nil)
			values := jsonValues(20, map[int]string{7: "not json", 12: `{"n":"reject-me"}`})
			e.produceRaw("in", values)
			out := filepath.Join(t.TempDir(), "out.txt")
			cfg := sinkConfig(out, dlqConfig)
			cfg["errors.tolerance"] = "all"
			cfg["reject"] = "reject"
			cfg["errors.deadletterqueue.topic.name"] = "dlq-in"
			e.put("snk", cfg)

			waitFor(t, "committed offsets at the end", func() (bool, string) {
				c := e.committedSink("snk", "in")
				return c == 20, fmt.Sprint(c)
			})
			var want []string
			for i := range 20 {
				if i != 7 && i != 12 {
					want = append(want, fmt.Sprintf("map[n:%d]", i))
				}
			}
			if d := cmp.Diff(want, fileLines(out)); d != "" {
				t.Fatalf("sink file (-want +got):\n%s", d)
			}
			dlq := e.readRecords("dlq-in", 2)
			if len(dlq) != 2 {
				t.Fatalf("dead letter queue holds %d records, want 2", len(dlq))
			}
			for i, c := range []struct {
				offset       int
				stage, class string
			}{
				{7, "VALUE_CONVERTER", "org.apache.kafka.connect.json.JsonConverter"},
				{12, "TASK_PUT", "collect"},
			} {
				d := dlq[i]
				if string(d.Value) != values[c.offset] || d.Key != nil {
					t.Errorf("DLQ record %d: key %q value %q, want the consumed record: null key, value %q", i, d.Key, d.Value, values[c.offset])
				}
				wantHeaders := map[string]string{
					HeaderDLQTopic: "in", HeaderDLQPartition: "0", HeaderDLQOffset: fmt.Sprint(c.offset),
					HeaderDLQConnector: "snk", HeaderDLQTask: "0", HeaderDLQStage: c.stage, HeaderDLQClass: c.class,
				}
				got := contextHeaders(t, d)
				delete(got, HeaderDLQException) // a Go type name; present
				if d := cmp.Diff(wantHeaders, got); d != "" {
					t.Errorf("DLQ record %d context headers (-want +got):\n%s", i, d)
				}
				if h := headers(d)["h"]; h != fmt.Sprint(c.offset) {
					t.Errorf("DLQ record %d: the consumed record's header h = %q, want %d", i, h, c.offset)
				}
			}
			want7 := "Error encountered in task snk-0. Executing stage 'VALUE_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter', where consumed record is {topic='in', partition=0, offset=7, timestamp="
			if !strings.Contains(logs.String(), want7) {
				t.Errorf("the log has no line with %q", want7)
			}
			m := e.h.w.Metrics
			if got := metricValue(t, m, "kafka_connect_task_error_total_records_skipped", "snk", "0"); got != 2 {
				t.Errorf("total_records_skipped = %v, want 2", got)
			}
		})
	}
}

// TestSinkToleranceNoneFails: a record the converter cannot read fails the
// task with a readable trace; nothing at or after it is put or committed.
func TestSinkToleranceNoneFails(t *testing.T) {
	e, _ := newLoggedEnv(t, true, nil)
	e.produceRaw("in", jsonValues(10, map[int]string{4: "not json"}))
	out := filepath.Join(t.TempDir(), "out.txt")
	e.put("snk", sinkConfig(out, nil))
	st := e.waitTaskState("snk", 0, herder.Failed, "Tolerance exceeded in error handler")
	for _, want := range []string{"consumed record {topic='in', partition=0, offset=4} failed in stage VALUE_CONVERTER", "Caused by: "} {
		if !strings.Contains(st.Trace, want) {
			t.Errorf("trace lacks %q:\n%s", want, st.Trace)
		}
	}
	if c := e.committedSink("snk", "in"); c > 4 {
		t.Fatalf("committed offset %d: past the failed record at 4", c)
	}
	for _, l := range fileLines(out) {
		var n int
		if _, err := fmt.Sscanf(l, "map[n:%d]", &n); err != nil || n >= 4 {
			t.Fatalf("the sink got %q: at or after the failed record", l)
		}
	}
}

// TestSinkRetriesRetriablePutRejects: a record put rejects with a
// retriable error is handed again with backoff within errors.retry.timeout;
// without a retry timeout it is skipped (errors.tolerance=all).
func TestSinkRetriesRetriablePutRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		retryTimeout     string
		lines            int
		retries, skipped float64
	}{
		"within the retry timeout": {"60000", 10, 2, 0},
		"no retries":               {"0", 9, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newLoggedEnv(t, false, nil)
			e.produceRaw("in", jsonValues(10, map[int]string{3: `{"n":"flaky"}`}))
			out := filepath.Join(t.TempDir(), "out.txt")
			e.put("snk", sinkConfig(out, map[string]string{"flaky": "flaky", "flaky.times": "2", "errors.tolerance": "all",
				"errors.retry.timeout": tc.retryTimeout, "errors.retry.delay.max.ms": "1"}))
			waitFor(t, "committed offsets at the end", func() (bool, string) {
				c := e.committedSink("snk", "in")
				return c == 10, fmt.Sprint(c)
			})
			if got := len(fileLines(out)); got != tc.lines {
				t.Fatalf("sink file has %d lines, want %d: %v", got, tc.lines, fileLines(out))
			}
			m := e.h.w.Metrics
			if got := metricValue(t, m, "kafka_connect_task_error_total_retries", "snk", "0"); got != tc.retries {
				t.Errorf("total_retries = %v, want %v", got, tc.retries)
			}
			if got := metricValue(t, m, "kafka_connect_task_error_total_records_skipped", "snk", "0"); got != tc.skipped {
				t.Errorf("total_records_skipped = %v, want %v", got, tc.skipped)
			}
		})
	}
}

// TestDeadLetterQueueTopicCreation: the task creates a missing dead letter
// queue topic with one partition and the configured replication factor; a
// factor the cluster cannot meet fails the task's start, saying which key
// to change.
func TestDeadLetterQueueTopicCreation(t *testing.T) {
	e, _ := newLoggedEnv(t, false, nil)
	e.put("ok", poisonSource(10, 5, -1, map[string]string{"errors.deadletterqueue.topic.name": "dlq-ok", "errors.deadletterqueue.topic.replication.factor": "1"}))
	e.waitTaskState("ok", 0, herder.Running, "")
	adm := kadm.NewClient(kgoClient(t, e))
	details, err := adm.ListTopics(context.Background(), "dlq-ok")
	if err != nil {
		t.Fatal(err)
	}
	if d := details["dlq-ok"]; d.Err != nil || len(d.Partitions) != 1 || d.Partitions.NumReplicas() != 1 {
		t.Fatalf("dead letter queue topic: %+v", d)
	}
	// The default replication factor, 3, on a one-broker cluster.
	e.put("bad", poisonSource(10, 5, -1, map[string]string{"errors.deadletterqueue.topic.name": "dlq-bad"}))
	e.waitTaskState("bad", 0, herder.Failed, "Could not initialize dead letter queue with topic=dlq-bad")
	st, _ := e.h.TaskStatus(context.Background(), herder.TaskID{Connector: "bad", Task: 0})
	if !strings.Contains(st.Trace, "errors.deadletterqueue.topic.replication.factor") {
		t.Fatalf("the trace does not say which key to change:\n%s", st.Trace)
	}
}
