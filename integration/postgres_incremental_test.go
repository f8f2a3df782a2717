package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
)

// logWriter changes accounts in small transactions, as pgbench's simple
// updates do, and logs every row change it committed: per transaction id
// the (op, key) pairs in order, so the test can hold the topic's streamed
// events against them.
type logWriter struct {
	pg   *pgtest.Server
	db   string
	stop chan struct{}
	wg   sync.WaitGroup

	mu  sync.Mutex
	log []txLog
	err error
}

type txLog struct {
	xid     int64
	changes []string // "c 12", "u 7", "d 3"
}

func startLogWriter(pg *pgtest.Server, db string, firstNew int64, seed int64) *logWriter {
	w := &logWriter{pg: pg, db: db, stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		ctx := context.Background()
		rng := rand.New(rand.NewSource(seed))
		next := firstNew
		c, err := pgx.Connect(ctx, pg.DSN(db))
		if err != nil {
			w.err = err
			return
		}
		defer c.Close(ctx)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			tx, err := c.Begin(ctx)
			if err != nil {
				w.err = err
				return
			}
			var l txLog
			if err := tx.QueryRow(ctx, "SELECT txid_current() % 4294967296").Scan(&l.xid); err != nil {
				w.err = err
				return
			}
			for range 1 + rng.Intn(4) {
				var op string
				var id int64
				var tag interface{ RowsAffected() int64 }
				switch rng.Intn(5) {
				case 0, 1:
					op, id = "c", next
					next++
					tag, err = tx.Exec(ctx, "INSERT INTO accounts VALUES ($1, $2, $3)", id, rng.Intn(1000), fmt.Sprintf("acct %d", id))
				case 2:
					op, id = "d", rng.Int63n(next)
					tag, err = tx.Exec(ctx, "DELETE FROM accounts WHERE id = $1", id)
				default:
					op, id = "u", rng.Int63n(next)
					tag, err = tx.Exec(ctx, "UPDATE accounts SET balance = balance + $2 WHERE id = $1", id, 1+rng.Intn(9))
				}
				if err != nil {
					w.err = err
					return
				}
				if tag.RowsAffected() == 1 {
					l.changes = append(l.changes, fmt.Sprintf("%s %d", op, id))
				}
			}
			if err := tx.Commit(ctx); err != nil {
				w.err = err
				return
			}
			w.mu.Lock()
			w.log = append(w.log, l)
			w.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *logWriter) halt(t *testing.T) {
	t.Helper()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
}

// incrementalProgress returns the task's incremental snapshot progress.
func (p *devProcess) incrementalProgress(name string) map[string]any {
	st, err := p.client.TaskStatus(context.Background(), name, 0)
	if err != nil {
		return nil
	}
	ip, _ := st.Progress["incremental_snapshot"].(map[string]any)
	return ip
}

func produceSignal(t *testing.T, bootstrap, topic, key, value string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, topic) // exists after the first call
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresIncrementalSnapshotFaults re-snapshots a table with an
// incremental snapshot while a writer changes it: started by a record on
// the Kafka signal topic, paused by a signal row, resumed by a signal
// record, and the worker killed with SIGKILL while chunks are being read.
// Afterwards the table rebuilt from its topic equals the table, and the
// streamed changes, replays after the kill set aside, are exactly the
// writer's, in its order for every key.
func TestPostgresIncrementalSnapshotFaults(t *testing.T) {
	ctx := context.Background()
	const initial = 10000
	pg := startShop(t, initial)
	pg.Exec("shop", "CREATE TABLE debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))")
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	cfg := shopSourceConfig(pg, map[string]string{"snapshot.mode": "no_data",
		"signal.data.collection": "public.debezium_signal", "signal.enabled.channels": "source,kafka",
		"signal.kafka.bootstrap.servers": p.bootstrap, "signal.kafka.consumer.offset.commit.enabled": "true",
		"incremental.snapshot.chunk.size": "100"})
	if _, err := p.client.CreateConnector(ctx, "pg", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	// Changes count from the slot's consistent point on
	// (snapshot.mode=no_data): the writer starts once the slot streams.
	pg.WaitStreaming(t, "shop", "debezium")
	w := startLogWriter(pg, "shop", initial, 3)
	defer w.halt(t)
	time.Sleep(500 * time.Millisecond)

	produceSignal(t, p.bootstrap, "shop-signal", "shop", `{"id":"snap-1","type":"execute-snapshot","data":{"data-collections":["public.accounts"],"type":"incremental"}}`)
	waitFor(t, 60*time.Second, "the incremental snapshot under way", func() (bool, string) {
		ip := p.incrementalProgress("pg")
		return ip != nil && ip["rows_done"].(float64) >= 1000, fmt.Sprint(ip)
	})
	pg.Exec("shop", `INSERT INTO debezium_signal VALUES ('pause-1', 'pause-snapshot', '{}')`)
	waitFor(t, 30*time.Second, "the snapshot paused", func() (bool, string) {
		ip := p.incrementalProgress("pg")
		return ip != nil && ip["paused"] == true, fmt.Sprint(ip)
	})
	paused := p.incrementalProgress("pg")["rows_done"].(float64)
	time.Sleep(time.Second)
	if now := p.incrementalProgress("pg")["rows_done"].(float64); now > paused+100 {
		t.Fatalf("the paused snapshot read on: %v rows, then %v", paused, now)
	}
	produceSignal(t, p.bootstrap, "shop-signal", "shop", `{"id":"resume-1","type":"resume-snapshot","data":{}}`)
	waitFor(t, 60*time.Second, "the snapshot resumed and further along", func() (bool, string) {
		ip := p.incrementalProgress("pg")
		return ip != nil && ip["paused"] == false && ip["rows_done"].(float64) >= paused+3000, fmt.Sprint(ip)
	})

	// SIGKILL while chunks are read: the restarted task resumes the
	// snapshot from its stored offset.
	if ip := p.incrementalProgress("pg"); ip["running"] != true {
		t.Fatalf("the snapshot finished before the kill; the test needs it running: %v", ip)
	}
	p.KillNow()
	time.Sleep(300 * time.Millisecond)
	p = startDev(t, opts)
	p.waitTask("pg", 0, herder.Running, "")
	waitFor(t, 3*time.Minute, "the resumed incremental snapshot done", func() (bool, string) {
		ip := p.incrementalProgress("pg")
		return ip != nil && ip["running"] == false && ip["chunks"].(float64) > 0, fmt.Sprint(ip)
	})
	w.halt(t)
	pg.Exec("shop", "INSERT INTO accounts VALUES (-1, 0, 'marker')")

	want := accountsRows(t, pg, "shop")
	got, n, ids := rebuildTopic(t, p.bootstrap, "shop.public.accounts", len(want))
	if d := diffRows(want, got); d != "" {
		t.Fatalf("the topic does not rebuild the table after the incremental snapshot and the kill (%d records):\n%s", n, d)
	}
	// The streamed changes per key, replays after the kill set aside.
	seen := map[string]bool{}
	perKey := map[string][]string{}
	reads := 0
	for _, id := range ids {
		var op string
		var key struct {
			ID int64 `json:"id"`
		}
		var rest string
		if i := strings.IndexByte(id, ' '); i > 0 {
			op, rest = id[:i], id[i+1:]
		}
		if op == "r" {
			reads++
			continue
		}
		if seen[id] {
			continue // replayed after the kill
		}
		seen[id] = true
		keyJSON, tail, _ := strings.Cut(rest, " ")
		json.Unmarshal([]byte(keyJSON), &key)
		tx, _, _ := strings.Cut(tail, " ")
		k := fmt.Sprint(key.ID)
		perKey[k] = append(perKey[k], op+" "+tx)
	}
	// Every change the writer committed, per key in commit order.
	wantKey := map[string][]string{}
	changes := 0
	for _, l := range w.log {
		for _, ch := range l.changes {
			op, id, _ := strings.Cut(ch, " ")
			wantKey[id] = append(wantKey[id], fmt.Sprintf("%s tx=%d", op, l.xid))
			changes++
		}
	}
	wantKey["-1"] = perKey["-1"] // the marker
	for id, ws := range wantKey {
		if fmt.Sprint(ws) != fmt.Sprint(perKey[id]) {
			t.Fatalf("key %s: streamed %v, the writer committed %v", id, perKey[id], ws)
		}
	}
	for id := range perKey {
		if _, ok := wantKey[id]; !ok {
			t.Fatalf("key %s: streamed %v, but the writer never changed it", id, perKey[id])
		}
	}
	t.Logf("%d rows match; %d rows read by the incremental snapshot, %d changes in %d transactions streamed in order, %d records", len(want), reads, changes, len(w.log), n)
	p.stop()
}
