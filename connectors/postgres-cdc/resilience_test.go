package postgrescdc

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
)

// TestDroppedSlotFailsTask drops the slot under a streaming connector: the
// task must fail and say what happened and what to do, not take a new
// snapshot or skip ahead on its own.
func TestDroppedSlotFailsTask(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(nil))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO t VALUES (2)")
	p.readTopics(2, "srv.public.t")

	// The connector reconnects within 100 ms: terminate its walsender and
	// drop the slot until the drop wins.
	c := pg.Connect("app")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.Exec(context.Background(), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'cdc' AND active")
		if _, err := c.Exec(context.Background(), "SELECT pg_drop_replication_slot('cdc')"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("could not drop the slot within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := p.waitTask("pg", herder.Failed, `replication slot "cdc"`)
	for _, want := range []string{"offsets", "snapshot.mode=when_needed"} {
		if !contains(st.Trace, want) {
			t.Errorf("trace does not say what to do (%q): %s", want, st.Trace)
		}
	}
	var n int
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the failed task created the slot again")
	}
}

// TestPostgresRestartResumes restarts the server under a streaming
// connector: it reconnects and the changes made after the restart arrive.
// Heartbeats let the slot confirm the server's shutdown checkpoint, which a
// fast shutdown waits for (without them, up to wal_sender_timeout).
func TestPostgresRestartResumes(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"heartbeat.interval.ms": "200"}))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO accounts SELECT i, i FROM generate_series(1, 100) i")
	p.readTopics(100, "srv.public.accounts")
	pg.Restart()
	pg.Exec("app", "UPDATE accounts SET balance = balance * 2 WHERE id <= 50", "DELETE FROM accounts WHERE id > 90")
	msgs := p.readTopics(100+50+2*10, "srv.public.accounts")
	want := tableRows(t, pg.Connect("app"), "accounts")
	if d := diffStates(want, rebuild(t, msgs)["accounts"]); d != "" {
		t.Fatalf("after the restart the topic does not rebuild the table:\n%s", d)
	}
	p.waitTask("pg", herder.Running, "")
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestLostWALFailsTask lets the slot fall behind max_slot_wal_keep_size
// while the connector streams a table that sees no changes: the server
// invalidates the slot, and the task fails saying WAL was lost and what to
// do, rather than skipping ahead.
func TestLostWALFailsTask(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Setting("max_slot_wal_keep_size", "'32MB'"), pgtest.Setting("max_wal_size", "'64MB'"), pgtest.Setting("min_wal_size", "'32MB'"))
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE t (id int PRIMARY KEY)", "CREATE TABLE junk (id int PRIMARY KEY, pad text)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"table.include.list": `public\.t`}))
	pg.WaitStreaming(t, "app", "cdc")
	// WAL the connector never confirms (no captured changes, no heartbeats).
	for i := 0; i < 4; i++ {
		pg.Exec("app", fmt.Sprintf("INSERT INTO junk SELECT i, repeat('x', 200) FROM generate_series(%d, %d) i", i*200000, (i+1)*200000-1),
			"SELECT pg_switch_wal()", "CHECKPOINT")
	}
	st := p.waitTask("pg", herder.Failed, "lost WAL")
	if !contains(st.Trace, "offsets") {
		t.Fatalf("trace does not say what to do: %s", st.Trace)
	}
}

// TestConnectionLossReconnects kills the connector's server connections
// while it streams: it reconnects and goes on, nothing lost.
func TestConnectionLossReconnects(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(nil))
	pg.WaitStreaming(t, "app", "cdc")
	c := pg.Connect("app")
	for round := 0; round < 3; round++ {
		pg.Exec("app", fmt.Sprintf("INSERT INTO accounts SELECT i, i FROM generate_series(%d, %d) i", round*100, round*100+99))
		if _, err := c.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'connectd-postgres-cdc'"); err != nil {
			t.Fatal(err)
		}
	}
	pg.Exec("app", "UPDATE accounts SET balance = -balance WHERE id % 7 = 0")
	want := tableRows(t, c, "accounts")
	msgs := p.readTopics(300+len(want)/7, "srv.public.accounts")
	if d := diffStates(want, rebuild(t, msgs)["accounts"]); d != "" {
		t.Fatalf("after the connections were killed the topic does not rebuild the table:\n%s", d)
	}
	p.waitTask("pg", herder.Running, "")
}

// TestHeartbeatsAdvanceIdleSlot writes WAL only to a table the connector
// does not capture: with heartbeats the slot's confirmed position still
// follows the server's WAL, so the WAL does not pile up; the heartbeat
// records carry Debezium's key and value.
func TestHeartbeatsAdvanceIdleSlot(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE t (id int PRIMARY KEY)", "CREATE TABLE junk (id int PRIMARY KEY)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"table.include.list": `public\.t`, "heartbeat.interval.ms": "100"}))
	pg.WaitStreaming(t, "app", "cdc")
	// The junk transaction's commit record comes after the WAL position
	// read inside it: the slot must get past that.
	c := pg.Connect("app")
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var target string
	if _, err := tx.Exec(ctx, "INSERT INTO junk SELECT generate_series(1, 10000)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := parseLSN(target)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var conf string
		if err := c.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cdc'").Scan(&conf); err != nil {
			t.Fatal(err)
		}
		if got, _ := parseLSN(conf); got >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot confirmed %s after 30s; the WAL is at %s", conf, target)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Heartbeats never go quiet: stop the connector before reading them.
	if err := p.h.DeleteConnector(context.Background(), "pg"); err != nil {
		t.Fatal(err)
	}
	beats := p.readTopics(1, "__debezium-heartbeat.srv")
	var key, value struct {
		Schema struct {
			Name string `json:"name"`
		} `json:"schema"`
		Payload map[string]any `json:"payload"`
	}
	json.Unmarshal(beats[0].Key, &key)
	json.Unmarshal(beats[0].Value, &value)
	if key.Schema.Name != heartbeatKeyName || key.Payload["serverName"] != "srv" || value.Schema.Name != heartbeatValName || value.Payload["ts_ms"] == nil {
		t.Fatalf("heartbeat record: key %s value %s", beats[0].Key, beats[0].Value)
	}
}

// TestDroppedSlotWhenNeeded drops the slot under a connector with
// snapshot.mode=when_needed: it creates a new slot and takes a new
// snapshot, as that mode asks, and streams on.
func TestDroppedSlotWhenNeeded(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)", "INSERT INTO accounts VALUES (1, 1)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"snapshot.mode": "when_needed"}))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO accounts VALUES (2, 2)")
	p.readTopics(2, "srv.public.accounts")
	c := pg.Connect("app")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.Exec(context.Background(), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'cdc' AND active")
		if _, err := c.Exec(context.Background(), "SELECT pg_drop_replication_slot('cdc')"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("could not drop the slot within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Changed while no slot existed: only a new snapshot can carry it.
	pg.Exec("app", "UPDATE accounts SET balance = 10 WHERE id = 1")
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO accounts VALUES (3, 3)")
	msgs := p.readTopics(2+2+1, "srv.public.accounts")
	want := tableRows(t, c, "accounts")
	if d := diffStates(want, rebuild(t, msgs)["accounts"]); d != "" {
		t.Fatalf("after the new snapshot the topic does not rebuild the table:\n%s", d)
	}
	p.waitTask("pg", herder.Running, "")
}
