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
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	const initial = 3000
	pg.Exec("shop", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL, name text NOT NULL)",
		fmt.Sprintf("INSERT INTO accounts SELECT i, i %% 100, 'acct ' || i FROM generate_series(0, %d) i", initial-1))

	c := newCluster(t, 2)
	cfg := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop", "slot.name": "cluster_slot",
		"snapshot.fetch.size": "500", "heartbeat.interval.ms": "500",
	}
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
	waitRecords := func(n int64) {
		t.Helper()
		waitFor(t, 60*time.Second, fmt.Sprintf("%d records in %s", n, topic), func() (bool, string) {
			got := topicCount(t, c.broker.bootstrap(), topic)
			return got >= n, fmt.Sprint(got)
		})
	}
	waitRecords(initial + 300)

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
