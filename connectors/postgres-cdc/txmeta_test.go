package postgrescdc

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/pgtest"
)

// describeTx identifies a record with its transaction metadata: for a
// change event its table, op, key and transaction block; for a BEGIN or END
// event its status, id and counts.
func describeTx(r *connect.Record) string {
	v, ok := r.Value.(*connect.StructValue)
	if !ok {
		return describe(r)
	}
	if r.ValueSchema == txValueSchema {
		s := fmt.Sprintf("%s tx=%s", v.Get("status"), v.Get("id"))
		if v.Get("status") == txEnd {
			s += fmt.Sprintf(" count=%d", v.Get("event_count"))
			for _, c := range v.Get("data_collections").([]any) {
				cs := c.(*connect.StructValue)
				s += fmt.Sprintf(" %s:%d", cs.Get("data_collection"), cs.Get("event_count"))
			}
		}
		return s
	}
	s := describe(r)
	if b, ok := v.GetIndex(envTransaction).(*connect.StructValue); ok {
		s += fmt.Sprintf(" tx=%s total=%d table=%d", b.GetIndex(0), b.GetIndex(1), b.GetIndex(2))
	}
	return s
}

// TestTransactionMetadata streams transactions over two tables with
// provide.transaction.metadata: each has a BEGIN and an END event whose
// counts match its change events, whose order fields count up per
// transaction and per table; and a task restarted from the offset of any
// record goes on exactly where it was, counts included.
func TestTransactionMetadata(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL)", "CREATE TABLE b (id int PRIMARY KEY, v int NOT NULL)",
		"CREATE TABLE other (id int PRIMARY KEY)")
	cfg := pg.Config("app")
	cfg["topic.prefix"] = "srv"
	cfg["snapshot.mode"] = "no_data"
	cfg["max.batch.size"] = "3"
	cfg["provide.transaction.metadata"] = "true"
	cfg["table.include.list"] = `public\.a,public\.b`
	start := func(offsets connect.OffsetReader) *SourceTask { return startTask(t, cfg, offsets) }
	first := start(nil)
	pg.WaitStreaming(t, "app", "debezium")
	ctx := context.Background()
	a, b := pg.Connect("app"), pg.Connect("app")
	for _, step := range []struct {
		conn int
		sql  string
	}{
		{0, "BEGIN"}, {0, "INSERT INTO a VALUES (1, 1), (2, 2)"}, {0, "INSERT INTO b VALUES (1, 1)"},
		{1, "BEGIN"}, {1, "INSERT INTO b VALUES (10, 10)"},
		{0, "UPDATE a SET id = 3 WHERE id = 2"}, {0, "DELETE FROM b WHERE id = 1"}, {0, "COMMIT"},
		{1, "UPDATE b SET v = 11 WHERE id = 10"}, {1, "INSERT INTO other VALUES (1)"}, {1, "COMMIT"},
		{0, "INSERT INTO other VALUES (2)"},
		{0, "INSERT INTO a VALUES (4, 4)"},
	} {
		c := a
		if step.conn == 1 {
			c = b
		}
		if _, err := c.Exec(ctx, step.sql); err != nil {
			t.Fatalf("%s: %v", step.sql, err)
		}
	}
	// Transaction 1: BEGIN, a c1 c2, b c1, a d2 tomb c3, b d1 tomb, END
	// (6 events, 8 records + 2); 2: BEGIN, b c10 u10, END (4); 3: "other"
	// only, BEGIN and END with no events (2); 4: BEGIN, a c4, END (3).
	const total = 10 + 4 + 2 + 3
	all := pollRecords(t, first, total)
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("stream:\n%s", strings.Join(describeAll(all, describeTx), "\n"))
	checkTxStream(t, all)
	restartFromEveryOffset(t, all, start, describeTx)
}

// checkTxStream checks that every transaction's events sit between its
// BEGIN and END, with total_order 1, 2, ... and data_collection_order 1,
// 2, ... per table, and that END counts them.
func checkTxStream(t *testing.T, recs []*connect.Record) {
	t.Helper()
	cur := ""
	var total int64
	per := map[string]int64{}
	for i, r := range recs {
		v, ok := r.Value.(*connect.StructValue)
		if !ok {
			continue
		}
		if r.ValueSchema == txValueSchema {
			if r.Topic != "srv.transaction" {
				t.Fatalf("record %d: transaction event on topic %s", i, r.Topic)
			}
			id := v.Get("id").(string)
			switch v.Get("status") {
			case txBegin:
				if cur != "" {
					t.Fatalf("record %d: BEGIN of %s inside %s", i, id, cur)
				}
				cur, total = id, 0
				clear(per)
			case txEnd:
				if id != cur {
					t.Fatalf("record %d: END of %s, want of %s", i, id, cur)
				}
				if v.Get("event_count").(int64) != total {
					t.Fatalf("record %d: END counts %d events, %d seen", i, v.Get("event_count"), total)
				}
				for _, c := range v.Get("data_collections").([]any) {
					cs := c.(*connect.StructValue)
					if per[cs.Get("data_collection").(string)] != cs.Get("event_count").(int64) {
						t.Fatalf("record %d: END counts %v for %s, %d seen", i, cs.Get("event_count"), cs.Get("data_collection"), per[cs.Get("data_collection").(string)])
					}
				}
				cur = ""
			}
			continue
		}
		b, ok := v.GetIndex(envTransaction).(*connect.StructValue)
		if !ok || b.GetIndex(0) != cur {
			t.Fatalf("record %d (%s): transaction block %v outside transaction %q", i, describeTx(r), b, cur)
		}
		total++
		table := v.GetIndex(envSource).(*connect.StructValue)
		name := fmt.Sprintf("%s.%s", table.GetIndex(srcSchema), table.GetIndex(srcTable))
		per[name]++
		if b.GetIndex(1) != total || b.GetIndex(2) != per[name] {
			t.Fatalf("record %d (%s): order %v/%v, want %d/%d", i, describeTx(r), b.GetIndex(1), b.GetIndex(2), total, per[name])
		}
		if txid := table.GetIndex(srcTxID); fmt.Sprint(txid) != cur {
			t.Fatalf("record %d: source.txId %v in transaction %s", i, txid, cur)
		}
	}
}
