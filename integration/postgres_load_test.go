package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/pgtest"
)

// pgbenchTables are pgbench's tables, each with the SQL that renders its
// rows as the connector's events do (key columns, then the value): ints
// as they are, char(n) padded, timestamps in microseconds.
var pgbenchTables = map[string]struct{ key, value string }{
	"pgbench_accounts": {"json_build_object('aid', aid)", "json_build_object('aid', aid, 'bid', bid, 'abalance', abalance, 'filler', filler)"},
	"pgbench_branches": {"json_build_object('bid', bid)", "json_build_object('bid', bid, 'bbalance', bbalance, 'filler', filler)"},
	"pgbench_tellers":  {"json_build_object('tid', tid)", "json_build_object('tid', tid, 'bid', bid, 'tbalance', tbalance, 'filler', filler)"},
	"pgbench_history": {"json_build_object('id', id)", "json_build_object('tid', tid, 'bid', bid, 'aid', aid, 'delta', delta, " +
		"'mtime', (extract(epoch FROM mtime) * 1000000)::bigint, 'filler', filler, 'id', id)"},
}

// canonical re-encodes a JSON object so that equal objects compare equal
// as strings (sorted keys, numbers as written).
func canonical(t *testing.T, raw string) string {
	t.Helper()
	if raw == "" || raw == "null" {
		return raw
	}
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func pgbenchRows(t *testing.T, pg *pgtest.Server, db, table string) map[string]string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	q := pgbenchTables[table]
	rows, err := c.Query(ctx, fmt.Sprintf("SELECT %s::text, %s::text FROM %s", q.key, q.value, table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[canonical(t, k)] = canonical(t, v)
	}
	return out
}

// rebuildTopics applies the change events of every topic in order.
func rebuildTopics(t *testing.T, bootstrap string, topics []string, minRecords int) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	recs := kafkatest.ReadRecords(t, strings.Split(bootstrap, ","), kafkatest.Until{Want: minRecords, Quiet: 3 * time.Second, Timeout: 3 * time.Minute}, topics...)
	for _, r := range recs {
		if r.Value == nil {
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
		if err := json.Unmarshal(r.Value, &env); err != nil {
			t.Fatalf("value %s: %v", r.Value, err)
		}
		json.Unmarshal(r.Key, &key)
		st := out[env.Payload.Source.Table]
		if st == nil {
			st = map[string]string{}
			out[env.Payload.Source.Table] = st
		}
		k := canonical(t, string(key.Payload))
		switch env.Payload.Op {
		case "r", "c", "u":
			st[k] = canonical(t, string(env.Payload.After))
		case "d":
			delete(st, k)
		}
	}
	return out
}

// TestPostgresCDCUnderPgbench runs pgbench against the database while the
// connector takes its snapshot and then streams; afterwards every pgbench
// table rebuilt from its topic equals the table.
func TestPostgresCDCUnderPgbench(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("bank")
	pgbench := filepath.Join(pg.BinDir, "pgbench")
	if out, err := exec.Command(pgbench, "-i", "-s", "2", "-q", pg.DSN("bank")).CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v: %s", err, out)
	}
	// pgbench_history has no key; give it one so its rows can be told apart.
	pg.Exec("bank", "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY")

	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	load := exec.Command(pgbench, "-c", "4", "-j", "2", "-T", "12", "-n", pg.DSN("bank"))
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { load.Process.Kill(); load.Wait() })
	time.Sleep(time.Second) // the snapshot starts under load
	cfg := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "bank", "topic.prefix": "bank", "snapshot.fetch.size": "2000",
		"heartbeat.interval.ms": "1000",
		"key.converter":         "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
	}
	if _, err := p.client.CreateConnector(ctx, "pg", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	if err := load.Wait(); err != nil {
		t.Fatalf("pgbench: %v: %s", err, loadOut.String())
	}
	var topics []string
	want := map[string]map[string]string{}
	total := 0
	for table := range pgbenchTables {
		topics = append(topics, "bank.public."+table)
		want[table] = pgbenchRows(t, pg, "bank", table)
		total += len(want[table])
	}
	got := rebuildTopics(t, p.bootstrap, topics, total)
	for table, rows := range want {
		if d := diffRows(rows, got[table]); d != "" {
			t.Errorf("%s rebuilt from its topic differs from the table:\n%s", table, d)
		}
	}
	if st, err := p.client.TaskStatus(ctx, "pg", 0); err != nil || st.State != herder.Running {
		t.Fatalf("task: %+v %v", st, err)
	}
	t.Logf("pgbench: %s", lastLines(loadOut.String(), 3))
	p.stop()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
