package postgrescdc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/pgtest"
	"github.com/connectd/connectd/offsets"
)

// pipeline is a real worker (in-process runtime) over a fresh kfake
// cluster, reading from a real Postgres.
type pipeline struct {
	t       *testing.T
	pg      *pgtest.Server
	db      string
	cluster *kfake.Cluster
	store   offsets.Store
	reg     *runtime.Registry
	cfg     *runtime.WorkerConfig
	h       *runtime.Standalone
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newPipeline(t *testing.T, pg *pgtest.Server, db string, isolated bool) *pipeline {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	iso := "none"
	if isolated {
		iso = "process"
	}
	cfg, err := runtime.ParseWorkerConfig(map[string]string{
		runtime.KeyBootstrapServers:      strings.Join(c.ListenAddrs(), ","),
		runtime.KeyOffsetFlushInterval:   "100",
		runtime.KeyPluginIsolation:       iso,
		runtime.KeyRestartBackoffInitial: "100",
		// A graceful stop drains every record in flight, which on a
		// loaded machine can take longer than the worker's default; the
		// tests of graceful restarts count on the drain.
		runtime.KeyShutdownTimeout: "60000",
	}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := runtime.NewRegistry(context.Background(), map[string]plugin.Plugin{Name: testPlugin}, isolated, nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, pg: pg, db: db, cluster: c, store: offsets.NewMemory(), reg: reg, cfg: cfg}
	p.startWorker()
	t.Cleanup(func() { p.h.Close() })
	return p
}

func (p *pipeline) startWorker() {
	w := runtime.NewWorker("test:8083", p.cfg, p.reg, p.store, testLogger())
	h, err := runtime.NewStandalone(context.Background(), w, &runtime.MemoryConfigStore{})
	if err != nil {
		p.t.Fatal(err)
	}
	p.h = h
}

// connectorConfig is a config for the pipeline's database; extra wins.
func (p *pipeline) connectorConfig(extra map[string]string) map[string]string {
	cfg := p.pg.Config(p.db)
	for k, v := range map[string]string{
		"connector.class": DebeziumClass, "topic.prefix": "srv", "slot.name": "cdc", "publication.name": "cdc_pub",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "true",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
	} {
		cfg[k] = v
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func (p *pipeline) create(name string, cfg map[string]string) {
	p.t.Helper()
	cfg["name"] = name
	if _, _, err := p.h.PutConnectorConfig(context.Background(), name, cfg, true); err != nil {
		p.t.Fatalf("create connector %s: %v", name, err)
	}
	p.waitTask(name, herder.Running, "")
}

func (p *pipeline) waitTask(name string, state herder.State, traceHas string) herder.TaskState {
	p.t.Helper()
	var st herder.TaskState
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, err = p.h.TaskStatus(context.Background(), herder.TaskID{Connector: name, Task: 0})
		if err == nil && st.State == state && strings.Contains(st.Trace, traceHas) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("task %s not %s (trace containing %q) within 60s: %+v %v", name, state, traceHas, st, err)
	return st
}

// message is a record as read back from Kafka.
type message struct {
	Topic   string            `json:"topic"`
	Key     json.RawMessage   `json:"key"`
	Value   json.RawMessage   `json:"value"`
	Headers map[string]string `json:"headers,omitempty"`
	Offset  int64             `json:"-"`
}

// readTopics reads topics from the start until it holds at least want
// records and nothing more arrived for a second.
func (p *pipeline) readTopics(want int, topics ...string) []message {
	p.t.Helper()
	return readKafka(p.t, p.cluster.ListenAddrs(), want, topics...)
}

func readKafka(t testing.TB, seeds []string, want int, topics ...string) []message {
	t.Helper()
	var out []message
	for _, r := range kafkatest.ReadRecords(t, seeds, kafkatest.Until{Want: want, Timeout: 90 * time.Second}, topics...) {
		m := message{Topic: r.Topic, Key: nullable(r.Key), Value: nullable(r.Value), Offset: r.Offset}
		for _, h := range r.Headers {
			if m.Headers == nil {
				m.Headers = map[string]string{}
			}
			m.Headers[h.Key] = string(h.Value)
		}
		out = append(out, m)
	}
	if len(out) < want {
		t.Fatalf("read %d records from %v, want at least %d", len(out), topics, want)
	}
	return out
}

func nullable(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

// normalize replaces what differs between runs (times, LSNs, transaction
// ids) with placeholders and indents the JSON, for golden files.
func normalize(t *testing.T, msgs []message) string {
	t.Helper()
	var parts []string
	for _, m := range msgs {
		var v any
		dec := json.NewDecoder(strings.NewReader(string(m.Value)))
		dec.UseNumber() // int64s beyond 2^53 stay exact
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("value %s: %v", m.Value, err)
		}
		if env, ok := v.(map[string]any); ok {
			if payload, ok := env["payload"].(map[string]any); ok {
				for _, k := range []string{"ts_ms", "ts_us", "ts_ns"} {
					if payload[k] != nil {
						payload[k] = "<time>"
					}
				}
				if src, ok := payload["source"].(map[string]any); ok {
					for _, k := range []string{"ts_ms", "ts_us", "ts_ns"} {
						src[k] = "<time>"
					}
					for _, k := range []string{"txId", "lsn", "sequence"} {
						if src[k] != nil {
							src[k] = "<" + k + ">"
						}
					}
				}
			}
		}
		var key any
		if err := json.Unmarshal(m.Key, &key); err != nil {
			t.Fatalf("key %s: %v", m.Key, err)
		}
		b, _ := json.MarshalIndent(map[string]any{"topic": m.Topic, "key": key, "value": v, "headers": m.Headers}, "", "  ")
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n") + "\n"
}

// tableState is a table rebuilt from change events: key JSON → row JSON.
type tableState map[string]string

// rebuild applies the events of msgs (JsonConverter with schemas) in
// order: creates, reads and updates set a row, deletes remove it.
func rebuild(t testing.TB, msgs []message) map[string]tableState {
	t.Helper()
	out := map[string]tableState{}
	for _, m := range msgs {
		if string(m.Value) == "null" || strings.HasPrefix(m.Topic, "__debezium-heartbeat") {
			continue
		}
		var env struct {
			Payload struct {
				Op     string          `json:"op"`
				After  json.RawMessage `json:"after"`
				Source struct {
					Table string `json:"table"`
				} `json:"source"`
			} `json:"payload"`
		}
		var key struct {
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(m.Value, &env); err != nil {
			t.Fatalf("value %s: %v", m.Value, err)
		}
		if err := json.Unmarshal(m.Key, &key); err != nil {
			t.Fatalf("key %s: %v", m.Key, err)
		}
		st := out[env.Payload.Source.Table]
		if st == nil {
			st = tableState{}
			out[env.Payload.Source.Table] = st
		}
		switch env.Payload.Op {
		case "c", "r", "u":
			st[string(key.Payload)] = string(env.Payload.After)
		case "d":
			delete(st, string(key.Payload))
		case "t":
			clear(st)
		}
	}
	return out
}

// sortedKeys lists a state's keys, for messages.
func sortedKeys(st tableState) []string {
	ks := make([]string, 0, len(st))
	for k := range st {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func diffStates(want, got tableState) string {
	var b strings.Builder
	n := 0
	for _, k := range sortedKeys(want) {
		if g, ok := got[k]; !ok || g != want[k] {
			if n < 5 {
				fmt.Fprintf(&b, "key %s: want %s, got %s\n", k, want[k], g)
			}
			n++
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			if n < 5 {
				fmt.Fprintf(&b, "key %s: not in the table, got %s\n", k, got[k])
			}
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(&b, "%d rows differ", n)
	}
	return b.String()
}
