package postgrescdc

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
)

const signalTable = "CREATE TABLE debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"

// waitIncremental waits until the task's status says no incremental
// snapshot runs and at least rows were read by one.
func (p *pipeline) waitIncremental(name string, rows int64) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		st, err := p.h.TaskStatus(context.Background(), herder.TaskID{Connector: name, Task: 0})
		if err == nil {
			if st.State == herder.Failed {
				p.t.Fatalf("task failed: %s", st.Trace)
			}
			if ip, ok := st.Progress["incremental_snapshot"].(map[string]any); ok {
				last = ip
				if ip["running"] == false && toInt64(ip["rows_done"]) >= rows {
					return ip
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("incremental snapshot not done within 120s: %v", last)
	return nil
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return -1
}

// streamedOrder checks, per key, that the streamed changes of accounts
// arrive in commit order with none missing: the writer only ever adds 1 to
// a balance, so each update's balance is the one before plus 1.
func streamedOrder(t *testing.T, msgs []message) (streamed, reads int) {
	t.Helper()
	last := map[string]int{}
	for _, m := range msgs {
		if string(m.Value) == "null" {
			continue
		}
		var env struct {
			Payload struct {
				Op     string `json:"op"`
				Before *struct {
					Balance int `json:"balance"`
				} `json:"before"`
				After *struct {
					Balance int `json:"balance"`
				} `json:"after"`
			} `json:"payload"`
		}
		json.Unmarshal(m.Value, &env)
		k := string(m.Key)
		switch env.Payload.Op {
		case "r":
			reads++
		case "c":
			streamed++
			last[k] = env.Payload.After.Balance
		case "u":
			streamed++
			if prev, ok := last[k]; ok && env.Payload.After.Balance != prev+1 {
				t.Fatalf("key %s: update to %d after %d: a streamed change is missing or out of order", k, env.Payload.After.Balance, prev)
			}
			last[k] = env.Payload.After.Balance
		case "d":
			streamed++
			delete(last, k)
		}
	}
	return streamed, reads
}

// TestIncrementalSnapshotUnderWrites re-snapshots a table through a signal
// row while a writer changes it, pausing and resuming the snapshot on the
// way: afterwards the topic rebuilds the table exactly, every row was read
// at most once, and no streamed change is missing or out of order per key.
func TestIncrementalSnapshotUnderWrites(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	const rows = 6000
	pg.Exec("app", "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)", signalTable,
		fmt.Sprintf("INSERT INTO accounts SELECT i, i %% 100 FROM generate_series(0, %d) i", rows-1))
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"snapshot.mode": "no_data", "signal.data.collection": "public.debezium_signal",
		"incremental.snapshot.chunk.size": "250"}))
	pg.WaitStreaming(t, "app", "cdc")

	haltWriter := startWriter(t, pg, "app", 7, rows)
	time.Sleep(300 * time.Millisecond)
	pg.Exec("app", `INSERT INTO debezium_signal VALUES ('ad-hoc-1', 'execute-snapshot', '{"data-collections": ["public.accounts"], "type": "incremental"}')`)
	// Pause once the snapshot is under way, then resume.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _ := p.h.TaskStatus(context.Background(), herder.TaskID{Connector: "pg", Task: 0})
		if ip, ok := st.Progress["incremental_snapshot"].(map[string]any); ok && toInt64(ip["rows_done"]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the incremental snapshot did not start within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pg.Exec("app", `INSERT INTO debezium_signal VALUES ('pause-1', 'pause-snapshot', '{}')`)
	time.Sleep(500 * time.Millisecond)
	pg.Exec("app", `INSERT INTO debezium_signal VALUES ('log-1', 'log', '{"message": "paused for a while"}')`,
		`INSERT INTO debezium_signal VALUES ('resume-1', 'resume-snapshot', '{}')`)
	ip := p.waitIncremental("pg", 1)
	txs := haltWriter()
	want := tableRows(t, pg.Connect("app"), "accounts")
	pg.Exec("app", `INSERT INTO accounts VALUES (-1, 0)`) // a marker: everything before it is in Kafka once it is
	want[`{"id":-1}`] = `{"id":-1,"balance":0}`
	var msgs []message
	deadline = time.Now().Add(60 * time.Second)
	for {
		msgs = p.readTopics(1, "srv.public.accounts")
		if strings.Contains(string(msgs[len(msgs)-1].Key), `"id":-1`) || time.Now().After(deadline) {
			break
		}
	}
	reads := map[string]int{}
	for _, m := range msgs {
		if strings.Contains(string(m.Value), `"op":"r"`) {
			reads[string(m.Key)]++
		}
	}
	for k, n := range reads {
		if n != 1 {
			t.Fatalf("row %s read %d times", k, n)
		}
	}
	if d := diffStates(want, rebuild(t, msgs)["accounts"]); d != "" {
		t.Fatalf("the topic does not rebuild the table after the incremental snapshot (%d transactions):\n%s", txs, d)
	}
	streamed, nreads := streamedOrder(t, msgs)
	if nreads == 0 || nreads > rows+txs*4 {
		t.Fatalf("%d rows read", nreads)
	}
	sigs := p.readTopics(7, "srv.public.debezium_signal")
	var types []string
	for _, m := range sigs {
		var env struct {
			Payload struct {
				After struct {
					Type string `json:"type"`
				} `json:"after"`
			} `json:"payload"`
		}
		json.Unmarshal(m.Value, &env)
		types = append(types, env.Payload.After.Type)
	}
	sort.Strings(types)
	t.Logf("%d rows read, %d changes streamed in %d transactions; progress %v; signal table events: %d", nreads, streamed, txs, ip, len(types))
}

// TestIncrementalSnapshotKafkaSignal triggers an incremental snapshot of two
// tables through a record on the Kafka signal topic (key topic.prefix),
// one of them under an additional condition, and checks what was read; a
// record with another key is ignored.
func TestIncrementalSnapshotKafkaSignal(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE a (id int PRIMARY KEY, balance int NOT NULL)", "CREATE TABLE b (id bigint PRIMARY KEY, balance int NOT NULL)",
		signalTable, "INSERT INTO a SELECT i, i FROM generate_series(1, 500) i", "INSERT INTO b SELECT i, i FROM generate_series(1, 300) i")
	p := newPipeline(t, pg, "app", false)
	p.produceSignal("srv-signal", "other", `{"type":"execute-snapshot","data":{"data-collections":["public.a"]}}`)
	p.create("pg", p.connectorConfig(map[string]string{"snapshot.mode": "no_data", "signal.data.collection": "public.debezium_signal",
		"signal.enabled.channels": "source,kafka", "signal.kafka.bootstrap.servers": strings.Join(p.cluster.ListenAddrs(), ","),
		"signal.kafka.consumer.offset.commit.enabled": "true", "incremental.snapshot.chunk.size": "64"}))
	pg.WaitStreaming(t, "app", "cdc")
	p.produceSignal("srv-signal", "srv", `{"id":"k1","type":"execute-snapshot","data":{"data-collections":["public\\.(a|b)"],"type":"INCREMENTAL","additional-conditions":[{"data-collection":"public.b","filter":"id <= 100"}]}}`)
	p.waitIncremental("pg", 600)
	msgs := p.readTopics(600, "srv.public.a", "srv.public.b")
	got := rebuild(t, msgs)
	want := tableRows(t, pg.Connect("app"), "a")
	if d := diffStates(want, got["a"]); d != "" {
		t.Fatalf("table a:\n%s", d)
	}
	if n := len(got["b"]); n != 100 {
		t.Fatalf("%d rows of b read, want the 100 of its additional condition", n)
	}
	for _, m := range msgs {
		if !strings.Contains(string(m.Value), `"snapshot":"incremental"`) {
			t.Fatalf("a read event not marked incremental: %s", m.Value)
		}
	}
}

// produceSignal writes one record to the pipeline's Kafka.
func (p *pipeline) produceSignal(topic, key, value string) {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cluster.ListenAddrs()...), kgo.AllowAutoTopicCreation())
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, topic) // exists after the first call
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
		p.t.Fatal(err)
	}
}

// TestIncrementalSnapshotStop stops a running incremental snapshot for one
// of its tables: that table is not read, the other one is.
func TestIncrementalSnapshotStop(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE a (id int PRIMARY KEY, balance int NOT NULL)", "CREATE TABLE b (id int PRIMARY KEY, balance int NOT NULL)",
		signalTable, "INSERT INTO a SELECT i, i FROM generate_series(1, 400) i", "INSERT INTO b SELECT i, i FROM generate_series(1, 50) i")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"snapshot.mode": "no_data", "signal.data.collection": "public.debezium_signal",
		"incremental.snapshot.chunk.size": "16"}))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", `INSERT INTO debezium_signal VALUES ('x1', 'execute-snapshot', '{"data-collections": ["public.a", "public.b"]}')`,
		`INSERT INTO debezium_signal VALUES ('p1', 'pause-snapshot', '{}')`,
		`INSERT INTO debezium_signal VALUES ('s1', 'stop-snapshot', '{"data-collections": ["public.b"], "type": "incremental"}')`,
		`INSERT INTO debezium_signal VALUES ('r1', 'resume-snapshot', '{}')`)
	p.waitIncremental("pg", 400)
	msgs := p.readTopics(400, "srv.public.a")
	if d := diffStates(tableRows(t, pg.Connect("app"), "a"), rebuild(t, msgs)["a"]); d != "" {
		t.Fatalf("table a:\n%s", d)
	}
	if n := topicEnd(t, p, "srv.public.b"); n != 0 {
		t.Fatalf("%d records of b, a table the snapshot was stopped for", n)
	}
}

// TestIncrementalSnapshotResumesFromDebeziumOffset starts the task from an
// offset as Debezium writes it in the middle of an incremental snapshot
// (the chunk position as a hex Java-serialized Object[]): it reads on
// after that key, up to the stored maximum key, and nothing before it.
func TestIncrementalSnapshotResumesFromDebeziumOffset(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE t (id int PRIMARY KEY, balance int NOT NULL)", signalTable,
		"INSERT INTO t SELECT i, i FROM generate_series(1, 1200) i")
	cfg := pg.Config("app")
	cfg["topic.prefix"] = "srv"
	cfg["snapshot.mode"] = "no_data"
	cfg["signal.data.collection"] = "public.debezium_signal"
	cfg["incremental.snapshot.chunk.size"] = "100"
	ctx := context.Background()
	first := startTask(t, cfg, nil)
	pg.WaitStreaming(t, "app", "debezium")
	first.Stop(ctx)
	var lsnText string
	if err := pg.Connect("app").QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'debezium'").Scan(&lsnText); err != nil {
		t.Fatal(err)
	}
	lsn, _ := parseLSN(lsnText)
	last, _ := encodeJavaArray([]any{int32(500)})
	mx, _ := encodeJavaArray([]any{int32(1000)})
	off := map[string]any{"lsn": int64(lsn), "lsn_proc": int64(lsn), "lsn_commit": int64(lsn), "messageType": "COMMIT", "ts_usec": int64(1),
		"incremental_snapshot_collections":    `[{"incremental_snapshot_collections_id":"public.t","incremental_snapshot_collections_additional_condition":null,"incremental_snapshot_collections_surrogate_key":null}]`,
		"incremental_snapshot_primary_key":    hex.EncodeToString(last),
		"incremental_snapshot_maximum_key":    hex.EncodeToString(mx),
		"incremental_snapshot_correlation_id": nil}
	task := startTask(t, cfg, mapOffsets{part: map[string]any{"server": "srv"}, off: off})
	defer task.Stop(ctx)
	ids := map[int32]int{}
	deadline := time.Now().Add(60 * time.Second)
	var lastOffset map[string]any
	for len(ids) < 500 && time.Now().Before(deadline) {
		recs, err := task.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			lastOffset = r.SourceOffset
			if r.Topic != "srv.public.t" {
				continue
			}
			ids[r.Key.(*connect.StructValue).Get("id").(int32)]++
		}
	}
	for id := int32(501); id <= 1000; id++ {
		if ids[id] != 1 {
			t.Fatalf("row %d read %d times, want once", id, ids[id])
		}
	}
	if len(ids) != 500 {
		t.Fatalf("%d rows read, want 501..1000 (after the stored key, up to the stored maximum)", len(ids))
	}
	// Once done, the offsets no longer carry the snapshot.
	deadline = time.Now().Add(30 * time.Second)
	for lastOffset[offIncrCollections] != nil && time.Now().Before(deadline) {
		recs, _ := task.Poll(ctx)
		for _, r := range recs {
			lastOffset = r.SourceOffset
		}
	}
	if lastOffset[offIncrCollections] != nil {
		t.Fatalf("offset after the snapshot still carries it: %v", lastOffset)
	}
}
