package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/pgtest"
)

// TestClusterPostgresCDC runs postgres-cdc in a two-worker cluster while a
// writer changes the table, kills the worker running the task with
// SIGKILL, and checks the task carries on on the other worker from the
// offsets topic: the topic still rebuilds the table exactly, and events
// repeat only after a stored offset.
func TestClusterPostgresCDC(t *testing.T) {
	ctx := context.Background()
	const initial = 3000
	pg := startShop(t, initial)
	c := newCluster(t, 2)
	cfg := shopCDC(pg, "cluster_slot")
	if _, err := c.workers[1].client.CreateConnector(ctx, "pg", cfg); err != nil {
		t.Fatal(err)
	}
	st := c.waitRunning("pg", 1)
	w := startWriter(pg, "shop", initial, 2)
	defer func() {
		select {
		case <-w.stop:
		default:
			w.halt()
		}
	}()
	const topic = "shop.public.accounts"
	waitRecords := func(n int64) { t.Helper(); c.waitTopicCount(topic, n) }
	waitRecords(initial + 300)
	// Kill once an offset past the snapshot is committed: a task resuming
	// an interrupted snapshot reads the rows as they are then, not as the
	// first snapshot saw them, so it would not repeat the first's events.
	waitConfirmedAdvances(t, pg, "shop", "cluster_slot")

	victim := c.worker(st.Tasks[0].WorkerID)
	victim.KillNow()
	after := c.waitRunning("pg", 1)
	t.Logf("task moved from %s to %s", victim.id, after.Tasks[0].WorkerID)
	waitRecords(topicCount(t, c.broker.bootstrap(), topic) + 300)

	w.halt()
	want := accountsRows(t, pg, "shop")
	got, n, ids := rebuildTopic(t, c.broker.bootstrap(), topic, len(want))
	if d := diffRows(want, got); d != "" {
		t.Fatalf("after the worker died, the topic does not rebuild the table (%d records, %d transactions):\n%s", n, w.commits.Load(), d)
	}
	t.Logf("%d rows match after %d transactions; %d records, %d repeated after a stored offset", len(want), w.commits.Load(), n, checkReplays(t, ids))
}

// startShop starts PostgreSQL with a shop database whose accounts table
// holds rows 0..initial-1.
func startShop(t *testing.T, initial int) *pgtest.Server {
	t.Helper()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	pg.Exec("shop", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL, name text NOT NULL)",
		fmt.Sprintf("INSERT INTO accounts SELECT i, i %% 100, 'acct ' || i FROM generate_series(0, %d) i", initial-1))
	return pg
}

// shopCDC is a postgres-cdc config of the shop database, with its own slot.
func shopCDC(pg *pgtest.Server, slot string) map[string]string {
	return map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop", "slot.name": slot,
		"snapshot.fetch.size": "500", "heartbeat.interval.ms": "500",
	}
}

// waitTopicCount waits until topic holds at least n records.
func (c *cluster) waitTopicCount(topic string, n int64) {
	c.t.Helper()
	waitFor(c.t, 90*time.Second, fmt.Sprintf("%d records in %s", n, topic), func() (bool, string) {
		got := topicCount(c.t, c.broker.bootstrap(), topic)
		return got >= n, fmt.Sprint(got)
	})
}
