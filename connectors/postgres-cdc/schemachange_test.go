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
	pg.WaitStreaming(t, "app", "cdc")
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

// partitionedTable is table m, partitioned by region, with a row in each
// partition.
var partitionedTable = []string{
	"CREATE TABLE m (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region)",
	"CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu')",
	"CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us')",
	"INSERT INTO m VALUES (1, 'eu', 1), (2, 'us', 2)",
}

// TestPartitionedTable captures a partitioned table per partition, the
// same way in the snapshot and in the stream, with the partitions' keys.
func TestPartitionedTable(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", partitionedTable...)
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(nil))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO m VALUES (3, 'eu', 3)", "UPDATE m SET v = 20 WHERE id = 2")
	msgs := p.readTopics(4, "srv.public.m_eu", "srv.public.m_us")
	got := rebuild(t, msgs)
	want := map[string]tableState{
		"m_eu": {`{"id":1,"region":"eu"}`: `{"id":1,"region":"eu","v":1}`, `{"id":3,"region":"eu"}`: `{"id":3,"region":"eu","v":3}`},
		"m_us": {`{"id":2,"region":"us"}`: `{"id":2,"region":"us","v":20}`},
	}
	for table, st := range want {
		if d := diffStates(st, got[table]); d != "" {
			t.Errorf("%s:\n%s", table, d)
		}
	}
}

// TestPartitionedTableViaRoot captures a partitioned table through its
// root when the publication publishes via the partition root: the snapshot
// reads the root and the stream reports the partitions' changes as the
// root's, so every row lands in one topic.
func TestPartitionedTableViaRoot(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", partitionedTable...)
	pg.Exec("app", "CREATE PUBLICATION cdc_pub FOR ALL TABLES WITH (publish_via_partition_root = true)")
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(nil))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", "INSERT INTO m VALUES (3, 'eu', 3)", "UPDATE m SET v = 20 WHERE id = 2", "DELETE FROM m WHERE id = 1")
	msgs := p.readTopics(2+3+1, "srv.public.m")
	want := tableState{`{"id":2,"region":"us"}`: `{"id":2,"region":"us","v":20}`, `{"id":3,"region":"eu"}`: `{"id":3,"region":"eu","v":3}`}
	if d := diffStates(want, rebuild(t, msgs)["m"]); d != "" {
		t.Fatal(d)
	}
	for _, topic := range []string{"srv.public.m_eu", "srv.public.m_us"} {
		if n := topicEnd(t, p, topic); n != 0 {
			t.Fatalf("%d records in %s: partitions must not have topics of their own", n, topic)
		}
	}
}
