package postgrescdc

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/internal/pgtest"
)

// TestFiltersAndPublication captures one table of two, leaves a column out,
// lets the connector create a filtered publication, and runs a heartbeat
// action query.
func TestFiltersAndPublication(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app",
		"CREATE TABLE a (id int PRIMARY KEY, secret text, v int)",
		"CREATE TABLE b (id int PRIMARY KEY)",
		"CREATE TABLE hb (at timestamptz)",
		"INSERT INTO a VALUES (1, 's1', 1)", "INSERT INTO b VALUES (1)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{
		"table.include.list": `public\.a`, "column.exclude.list": `public\.a\.secret`,
		"publication.autocreate.mode": "filtered",
		"heartbeat.interval.ms":       "100", "heartbeat.action.query": "INSERT INTO hb VALUES (now())",
	}))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO a VALUES (2, 's2', 2)", "INSERT INTO b VALUES (2)")
	msgs := p.readTopics(2, "srv.public.a")
	for _, m := range msgs {
		var env struct {
			Payload struct {
				After map[string]any `json:"after"`
			} `json:"payload"`
		}
		json.Unmarshal(m.Value, &env)
		if _, ok := env.Payload.After["secret"]; ok || env.Payload.After["v"] == nil {
			t.Fatalf("event value %v: secret must be left out, v kept", env.Payload.After)
		}
	}
	c := pg.Connect("app")
	rows, err := c.Query(context.Background(), "SELECT tablename FROM pg_publication_tables WHERE pubname = 'cdc_pub' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		tables = append(tables, s)
	}
	rows.Close()
	if d := cmp.Diff([]string{"a"}, tables); d != "" {
		t.Errorf("tables of the filtered publication (-want +got):\n%s", d)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := c.QueryRow(context.Background(), "SELECT count(*) FROM hb").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("heartbeat.action.query never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := topicEnd(t, p, "srv.public.b"); n != 0 {
		t.Fatalf("table b, not captured, has %d records", n)
	}
}
