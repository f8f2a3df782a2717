package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd/framework/herder"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/pgtest"
)

// pgWriter runs random inserts, updates and deletes in small transactions
// against accounts until stopped, reconnecting when the server goes away
// (a transaction that failed is simply not committed).
type pgWriter struct {
	pg      *pgtest.Server
	db      string
	next    atomic.Int64
	commits atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startWriter(pg *pgtest.Server, db string, firstNew int64, seed int64) *pgWriter {
	w := &pgWriter{pg: pg, db: db, stop: make(chan struct{})}
	w.next.Store(firstNew)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		rng := rand.New(rand.NewSource(seed))
		ctx := context.Background()
		var c *pgx.Conn
		for {
			select {
			case <-w.stop:
				if c != nil {
					c.Close(ctx)
				}
				return
			default:
			}
			if c == nil || c.IsClosed() {
				var err error
				if c, err = pgx.Connect(ctx, pg.DSN(db)); err != nil {
					c = nil
					time.Sleep(100 * time.Millisecond)
					continue
				}
			}
			if err := w.tx(ctx, c, rng); err != nil {
				c.Close(ctx)
				c = nil
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *pgWriter) tx(ctx context.Context, c *pgx.Conn, rng *rand.Rand) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for range 1 + rng.Intn(5) {
		n := w.next.Load()
		switch rng.Intn(5) {
		case 0, 1:
			_, err = tx.Exec(ctx, "INSERT INTO accounts VALUES ($1, $2, $3)", n, rng.Intn(1000), fmt.Sprintf("acct %d", n))
			w.next.Add(1)
		case 2:
			_, err = tx.Exec(ctx, "DELETE FROM accounts WHERE id = $1", rng.Int63n(n))
		default:
			_, err = tx.Exec(ctx, "UPDATE accounts SET balance = balance + $2 WHERE id = $1", rng.Int63n(n), rng.Intn(10))
		}
		if err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	w.commits.Add(1)
	return nil
}

func (w *pgWriter) halt() {
	close(w.stop)
	w.wg.Wait()
}

// accountsRows reads the table as the JSON converter writes keys and
// values: key payload → after payload.
func accountsRows(t *testing.T, pg *pgtest.Server, db string) map[string]string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT id, balance, name FROM accounts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id int64
		var bal int
		var name string
		if err := rows.Scan(&id, &bal, &name); err != nil {
			t.Fatal(err)
		}
		nb, _ := json.Marshal(name)
		out[fmt.Sprintf(`{"id":%d}`, id)] = fmt.Sprintf(`{"id":%d,"balance":%d,"name":%s}`, id, bal, nb)
	}
	return out
}

// rebuildTopic applies the change events of topic in order and returns
// the rows they leave, how many records it read, and each change event's
// identity (op, key, txId, lsn) in order.
func rebuildTopic(t *testing.T, bootstrap, topic string, want int) (map[string]string, int, []string) {
	t.Helper()
	recs := kafkatest.ReadRecords(t, strings.Split(bootstrap, ","), kafkatest.Until{Want: want, Quiet: 3 * time.Second, Timeout: 2 * time.Minute}, topic)
	state, ids := rebuildRecords(t, recs)
	return state, len(recs), ids
}

// rebuildRecords applies change events in order and returns the rows they
// leave and each change event's identity (op, key, txId, lsn) in order.
func rebuildRecords(t *testing.T, recs []*kgo.Record) (map[string]string, []string) {
	t.Helper()
	state := map[string]string{}
	var ids []string
	for _, r := range recs {
		if r.Value == nil {
			continue
		}
		var env struct {
			Payload struct {
				Op     string          `json:"op"`
				After  json.RawMessage `json:"after"`
				Source struct {
					TxID json.Number `json:"txId"`
					LSN  json.Number `json:"lsn"`
				} `json:"source"`
			} `json:"payload"`
		}
		var key struct {
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(r.Value, &env); err != nil {
			t.Fatalf("value %s: %v", r.Value, err)
		}
		json.Unmarshal(r.Key, &key)
		ids = append(ids, fmt.Sprintf("%s %s tx=%s lsn=%s", env.Payload.Op, key.Payload, env.Payload.Source.TxID, env.Payload.Source.LSN))
		switch env.Payload.Op {
		case "r", "c", "u":
			state[string(key.Payload)] = string(env.Payload.After)
		case "d":
			delete(state, string(key.Payload))
		}
	}
	return state, ids
}

// checkReplays asserts that events repeat only as a task restarted from its
// last stored offset repeats them: each run of repeated events replays,
// in order, everything from some point of the stream up to where the
// repeats begin (the events after the last stored offset), and nothing
// from before that point repeats. It returns how many events repeated.
func checkReplays(t *testing.T, ids []string) int {
	t.Helper()
	first := map[string]int{}
	repeated := 0
	for i := 0; i < len(ids); {
		f, seen := first[ids[i]]
		if !seen {
			first[ids[i]] = i
			i++
			continue
		}
		// A replay starts at i: ids[f:i] must follow again, in order.
		span := i - f
		for j := 0; j < span; j++ {
			if i+j >= len(ids) {
				break // the stream ended inside the replay
			}
			if ids[i+j] != ids[f+j] {
				t.Fatalf("event %d (%s) repeats event %d, but event %d is %s where a replay from the stored offset would repeat %s",
					i, ids[i], f, i+j, ids[i+j], ids[f+j])
			}
		}
		repeated += span
		i += span
	}
	return repeated
}

func diffRows(want, got map[string]string) string {
	var b strings.Builder
	bad := 0
	for k, v := range want {
		if got[k] != v {
			if bad < 5 {
				fmt.Fprintf(&b, "%s: table %s, topic %q\n", k, v, got[k])
			}
			bad++
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			if bad < 5 {
				fmt.Fprintf(&b, "%s: not in the table, topic %s\n", k, v)
			}
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintf(&b, "%d rows differ", bad)
	}
	return b.String()
}

// TestPostgresCDCFaults streams a table that a writer keeps changing while
// everything that can die dies: the task's plugin process (SIGKILL), the
// worker itself (SIGKILL), and the Postgres server (restart). Afterwards
// rebuilding the table from its topic gives exactly the table.
// shopSourceConfig is shopCDC with Debezium's default slot, JSON with
// schemas, and extra's keys added.
func shopSourceConfig(pg *pgtest.Server, extra map[string]string) map[string]string {
	cfg := shopCDC(pg, "debezium")
	cfg["key.converter"] = "org.apache.kafka.connect.json.JsonConverter"
	cfg["value.converter"] = "org.apache.kafka.connect.json.JsonConverter"
	maps.Copy(cfg, extra)
	return cfg
}

// waitConfirmedAdvances waits until the slot streams and its confirmed
// position then moves: the connector confirms a position only once its
// offset is committed, so an offset past the snapshot is stored.
func waitConfirmedAdvances(t *testing.T, pg *pgtest.Server, db, slot string) {
	t.Helper()
	pg.WaitStreaming(t, db, slot)
	c := pg.Connect(db)
	const q = "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1"
	var base int64
	if err := c.QueryRow(context.Background(), q, slot).Scan(&base); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the slot's confirmed position to move", func() (bool, string) {
		var now int64
		err := c.QueryRow(context.Background(), q, slot).Scan(&now)
		return err == nil && now > base, fmt.Sprint(now, err)
	})
}

func TestPostgresCDCFaults(t *testing.T) {
	ctx := context.Background()
	const initial = 5000
	pg := startShop(t, initial)
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	cfg := shopSourceConfig(pg, map[string]string{"status.update.interval.ms": "500"})
	if _, err := p.client.CreateConnector(ctx, "pg", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	w := startWriter(pg, "shop", initial, 1)
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
			c := topicCount(t, p.bootstrap, topic)
			return c >= n, fmt.Sprint(c)
		})
	}
	waitRecords(initial + 200)

	// 1. The task's plugin process dies.
	pids := p.pluginPIDs("pg-0")
	if len(pids) != 1 {
		t.Fatalf("plugin processes of task pg-0: %v, want one", pids)
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	p.waitTask("pg", 0, herder.Failed, "plugin process exited")
	p.waitTask("pg", 0, herder.Running, "")
	waitRecords(topicCount(t, p.bootstrap, topic) + 300)

	// 2. The worker dies, with its plugin processes.
	p.KillNow()
	time.Sleep(500 * time.Millisecond)
	p = startDev(t, opts)
	p.waitTask("pg", 0, herder.Running, "")
	waitRecords(topicCount(t, p.bootstrap, topic) + 300)

	// 3. Postgres restarts under the connector and the writer.
	pg.Restart()
	waitRecords(topicCount(t, p.bootstrap, topic) + 300)

	w.halt()
	want := accountsRows(t, pg, "shop")
	got, n, ids := rebuildTopic(t, p.bootstrap, topic, len(want))
	if d := diffRows(want, got); d != "" {
		t.Fatalf("after the faults, the topic does not rebuild the table (%d records, %d transactions):\n%s", n, w.commits.Load(), d)
	}
	repeated := checkReplays(t, ids)
	t.Logf("%d events repeated, all after a stored offset", repeated)
	st, err := p.client.TaskStatus(ctx, "pg", 0)
	if err != nil || st.State != herder.Running {
		t.Fatalf("task after the faults: %+v %v", st, err)
	}
	t.Logf("%d rows match after %d transactions; %d records in the topic", len(want), w.commits.Load(), n)
	p.stop()
}
