package postgrescdc

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/internal/pgtest"
)

// TestSchemaChanges alters a table while the connector streams: events
// after each ALTER carry the new columns, learned from pgoutput's Relation
// messages; slot.drop.on.stop drops the slot when the connector goes.
func TestSchemaChanges(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE t (id int PRIMARY KEY, a int)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"slot.drop.on.stop": "true"}))
	waitSlot(t, pg, "app", "cdc")
	pg.Exec("app",
		"INSERT INTO t VALUES (1, 1)",
		"ALTER TABLE t ADD COLUMN b text NOT NULL DEFAULT 'x'",
		"INSERT INTO t VALUES (2, 2, 'y')",
		"ALTER TABLE t DROP COLUMN a",
		"UPDATE t SET b = 'z' WHERE id = 1",
	)
	msgs := p.readTopics(3, "srv.public.t")
	var got [][]string
	for _, m := range msgs {
		var env struct {
			Schema struct {
				Fields []struct {
					Field  string `json:"field"`
					Fields []struct {
						Field string `json:"field"`
					} `json:"fields"`
				} `json:"fields"`
			} `json:"schema"`
		}
		if err := json.Unmarshal(m.Value, &env); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, f := range env.Schema.Fields[1].Fields { // after
			cols = append(cols, f.Field)
		}
		got = append(got, cols)
	}
	want := [][]string{{"id", "a"}, {"id", "a", "b"}, {"id", "b"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("value columns per event (-want +got):\n%s", d)
	}
	p.h.Close()
	var n int
	if err := pg.Connect("app").QueryRow(t.Context(), "SELECT count(*) FROM pg_replication_slots").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d slots left after a stop with slot.drop.on.stop", n)
	}
}
