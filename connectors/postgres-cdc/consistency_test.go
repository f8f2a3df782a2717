package postgrescdc

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd/internal/pgtest"
)

// tableRows reads a two-int-column table as the JSON converter writes its
// keys and values: key payload → after payload.
func tableRows(t testing.TB, c *pgx.Conn, table string) tableState {
	t.Helper()
	rows, err := c.Query(context.Background(), "SELECT id, balance FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	st := tableState{}
	for rows.Next() {
		var id, bal int
		if err := rows.Scan(&id, &bal); err != nil {
			t.Fatal(err)
		}
		st[fmt.Sprintf(`{"id":%d}`, id)] = fmt.Sprintf(`{"id":%d,"balance":%d}`, id, bal)
	}
	return st
}

// writer runs random inserts, updates and deletes in small transactions
// until stop is closed; it returns how many transactions committed.
// startWriter runs writer in the background until the returned function
// is called; that function fails the test on the writer's error and
// returns how many transactions it committed.
func startWriter(t *testing.T, pg *pgtest.Server, db string, seed int64, firstNew int) (halt func() int) {
	stop := make(chan struct{})
	done := make(chan struct{})
	var txs int
	var err error
	go func() {
		defer close(done)
		txs, err = writer(t, pg, db, seed, firstNew, stop)
	}()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	})
	return func() int {
		t.Helper()
		close(stop)
		<-done
		if err != nil {
			t.Fatal(err)
		}
		return txs
	}
}

func writer(t *testing.T, pg *pgtest.Server, db string, seed int64, firstNew int, stop <-chan struct{}) (int, error) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.DSN(db))
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	rng := rand.New(rand.NewSource(seed))
	next := firstNew
	n := 0
	for {
		select {
		case <-stop:
			return n, nil
		default:
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			return n, err
		}
		for range 1 + rng.Intn(4) {
			switch rng.Intn(4) {
			case 0:
				_, err = tx.Exec(ctx, "INSERT INTO accounts VALUES ($1, $2)", next, rng.Intn(1000))
				next++
			case 1:
				_, err = tx.Exec(ctx, "DELETE FROM accounts WHERE id = $1", rng.Intn(next))
			default:
				_, err = tx.Exec(ctx, "UPDATE accounts SET balance = balance + 1 WHERE id = $1", rng.Intn(next))
			}
			if err != nil {
				tx.Rollback(ctx)
				return n, err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return n, err
		}
		n++
	}
}

// TestSnapshotConsistency writes to a table while the connector snapshots
// it in small chunks and then streams: every row is read once, every
// change made during the snapshot arrives once, and the topic rebuilds the
// table exactly.
func TestSnapshotConsistency(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	const rows = 20000
	pg.Exec("app", "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)",
		fmt.Sprintf("INSERT INTO accounts SELECT i, i %% 100 FROM generate_series(0, %d) i", rows-1))
	p := newPipeline(t, pg, "app", false)

	haltWriter := startWriter(t, pg, "app", 1, rows)
	p.create("pg", p.connectorConfig(map[string]string{"snapshot.fetch.size": "300"}))
	// Keep writing a while after the snapshot is under way.
	time.Sleep(2 * time.Second)
	txs := haltWriter()
	want := tableRows(t, pg.Connect("app"), "accounts")
	msgs := p.readTopics(len(want), "srv.public.accounts")
	// Wait for the stream to go quiet: readTopics stops after a second
	// without records, long after the last change was committed.
	reads := map[string]int{}
	for _, m := range msgs {
		var env struct {
			Payload struct {
				Op string `json:"op"`
			} `json:"payload"`
		}
		var key struct {
			Payload json.RawMessage `json:"payload"`
		}
		json.Unmarshal(m.Value, &env)
		json.Unmarshal(m.Key, &key)
		if env.Payload.Op == "r" {
			reads[string(key.Payload)]++
		}
	}
	for k, n := range reads {
		if n != 1 {
			t.Fatalf("row %s read %d times by the snapshot", k, n)
		}
	}
	if len(reads) == 0 || len(reads) > rows+txs*4 {
		t.Fatalf("%d rows snapshotted", len(reads))
	}
	got := rebuild(t, msgs)["accounts"]
	if d := diffStates(want, got); d != "" {
		t.Fatalf("the topic does not rebuild the table (%d transactions during the snapshot):\n%s", txs, d)
	}
	t.Logf("%d rows snapshotted, %d transactions during the snapshot, %d records", len(reads), txs, len(msgs))
}

// TestConfirmedLSNNeverPassesKafka samples the slot's confirmed position
// while changes stream: it never passes the newest stored offset, and every
// transaction committed before it is in Kafka.
func TestConfirmedLSNNeverPassesKafka(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"status.update.interval.ms": "100"}))
	pg.WaitStreaming(t, "app", "cdc")
	ctx := context.Background()
	c := pg.Connect("app")
	probe := pg.Connect("app")
	type committed struct {
		id    int
		after uint64 // WAL position read after the commit: past its commit record
	}
	var done []committed
	for round := 0; round < 15; round++ {
		for i := 0; i < 50; i++ {
			id := round*50 + i
			if _, err := c.Exec(ctx, "INSERT INTO accounts VALUES ($1, 0)", id); err != nil {
				t.Fatal(err)
			}
			var lsn string
			if err := c.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
				t.Fatal(err)
			}
			l, _ := parseLSN(lsn)
			done = append(done, committed{id, l})
		}
		var conf string
		if err := probe.QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cdc'").Scan(&conf); err != nil {
			t.Fatal(err)
		}
		confirmed, _ := parseLSN(conf)
		stored := storedCommit(t, p)
		if confirmed > stored && stored != 0 {
			t.Fatalf("slot confirmed %s, past the stored offset %s", lsnString(confirmed), lsnString(stored))
		}
		inKafka := map[string]bool{}
		var must []committed
		for _, d := range done {
			if d.after < confirmed {
				must = append(must, d)
			}
		}
		if len(must) > 0 {
			for _, m := range readKafka(t, p.cluster.ListenAddrs(), len(must), "srv.public.accounts") {
				var key struct {
					Payload json.RawMessage `json:"payload"`
				}
				json.Unmarshal(m.Key, &key)
				inKafka[string(key.Payload)] = true
			}
			for _, d := range must {
				if !inKafka[fmt.Sprintf(`{"id":%d}`, d.id)] {
					t.Fatalf("slot confirmed %s, but row %d (committed before %s) is not in Kafka", lsnString(confirmed), d.id, lsnString(d.after))
				}
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	// Eventually the slot confirms the last transaction: its commit record
	// comes after the WAL position read once the one before it committed.
	deadline := time.Now().Add(30 * time.Second)
	floor := done[len(done)-2].after
	for {
		var conf string
		if err := probe.QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cdc'").Scan(&conf); err != nil {
			t.Fatal(err)
		}
		if l, _ := parseLSN(conf); l >= floor {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot confirmed %s after 30s, want at least %s (the last transaction)", conf, lsnString(floor))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storedCommit returns the lsn_commit of the connector's stored offset.
func storedCommit(t *testing.T, p *pipeline) uint64 {
	es, err := p.store.Load(context.Background(), "pg")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		var off map[string]any
		dec := json.NewDecoder(bytesReader(e.Offset))
		dec.UseNumber()
		if err := dec.Decode(&off); err != nil {
			t.Fatal(err)
		}
		if n, ok := off[offLSNCommit].(json.Number); ok {
			v, _ := n.Int64()
			return uint64(v)
		}
	}
	return 0
}
