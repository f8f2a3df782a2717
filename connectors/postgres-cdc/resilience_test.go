package postgrescdc

import (
	"context"
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
	waitSlot(t, pg, "app", "cdc")
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
	waitSlot(t, pg, "app", "cdc")
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
