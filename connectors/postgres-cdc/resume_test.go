package postgrescdc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/pgtest"
)

type mapOffsets struct {
	part, off map[string]any
}

func (m mapOffsets) Offset(p map[string]any) map[string]any {
	if m.off != nil && p[partitionServer] == m.part[partitionServer] {
		return m.off
	}
	return nil
}

// pollRecords polls a task until it returned n records.
func pollRecords(t *testing.T, task *SourceTask, n int) []*connect.Record {
	t.Helper()
	var out []*connect.Record
	deadline := time.Now().Add(60 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records after 60s, want %d", len(out), n)
		}
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

// describe identifies a record: topic, op, key, LSN.
func describe(r *connect.Record) string {
	op, lsn := "tombstone", any(nil)
	if v, ok := r.Value.(*connect.StructValue); ok {
		op = v.GetIndex(envOp).(string)
		lsn = v.GetIndex(envSource).(*connect.StructValue).GetIndex(srcLSN)
	}
	key := "null"
	if k, ok := r.Key.(*connect.StructValue); ok {
		key = fmt.Sprint(k.GetIndex(0))
	}
	return fmt.Sprintf("%s %s key=%s lsn=%v", r.Topic, op, key, lsn)
}

// TestStreamResumesAfterEveryOffset restarts the task from the offset of
// each record of a stream of concurrent transactions (several changes each,
// a key update among them): the restarted task's records are exactly the
// ones that followed, whatever the record: nothing lost, nothing repeated.
func TestStreamResumesAfterEveryOffset(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
	cfg := pg.Config("app")
	cfg["topic.prefix"] = "srv"
	cfg["snapshot.mode"] = "no_data"
	cfg["max.batch.size"] = "3"
	start := func(offsets connect.OffsetReader) *SourceTask { return startTask(t, cfg, offsets) }
	first := start(nil)
	pg.WaitStreaming(t, "app", "debezium")
	// Two transactions interleave: b's changes get lower LSNs than a's
	// last ones but b commits second.
	a, b := pg.Connect("app"), pg.Connect("app")
	ctx := context.Background()
	for _, step := range []struct {
		conn int
		sql  string
	}{
		{0, "BEGIN"}, {0, "INSERT INTO t VALUES (1, 1), (2, 2)"},
		{1, "BEGIN"}, {1, "INSERT INTO t VALUES (10, 10)"},
		{0, "UPDATE t SET id = 3 WHERE id = 2"}, {0, "DELETE FROM t WHERE id = 1"},
		{0, "COMMIT"},
		{1, "UPDATE t SET v = 11 WHERE id = 10"}, {1, "COMMIT"},
		{0, "INSERT INTO t VALUES (4, 4)"},
	} {
		c := a
		if step.conn == 1 {
			c = b
		}
		if _, err := c.Exec(ctx, step.sql); err != nil {
			t.Fatalf("%s: %v", step.sql, err)
		}
	}
	// a: c1 c2, d2 tomb2 c3, d1 tomb1 (7 records); b: c10 u10 (2); c4 (1).
	const total = 10
	all := pollRecords(t, first, total)
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("stream:\n%v", describeAll(all, describe))
	restartFromEveryOffset(t, all, start, describe)
}

func describeAll(recs []*connect.Record, describe func(*connect.Record) string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = describe(r)
	}
	return out
}

// restartFromEveryOffset starts a task from the offset of each record of
// all but the last and checks that it hands on exactly the records that
// followed, as describe tells them apart. A change's leading records (a
// delete before its tombstone) carry the previous change's offset, its last
// record its own: the restarted task begins right after the first record
// carrying the offset.
func restartFromEveryOffset(t *testing.T, all []*connect.Record, start func(connect.OffsetReader) *SourceTask, describe func(*connect.Record) string) {
	t.Helper()
	want := describeAll(all, describe)
	for i, r := range all[:len(all)-1] {
		if r.SourceOffset == nil {
			continue
		}
		task := start(mapOffsets{part: r.SourcePartition, off: r.SourceOffset})
		j := 0
		for fmt.Sprint(all[j].SourceOffset) != fmt.Sprint(r.SourceOffset) {
			j++
		}
		j++
		got := pollRecords(t, task, len(all)-j)
		task.Stop(context.Background())
		for k := range got {
			if describe(got[k]) != want[j+k] {
				t.Fatalf("restarted from the offset of record %d (%s): record %d is %s, want %s", i, want[i], k, describe(got[k]), want[j+k])
			}
		}
	}
}
