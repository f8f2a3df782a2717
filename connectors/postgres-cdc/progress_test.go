package postgrescdc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
)

// TestProgressInTaskStatus reads the task's status while its snapshot is
// held mid-way (the connector starts paused, so the worker takes no
// records and the snapshot stops once its buffers are full), then after
// it finished and a change streamed: the status shows the snapshot's
// tables and rows, done of total, and then the LSN streamed. In-process
// and from a plugin process.
func TestProgressInTaskStatus(t *testing.T) {
	pg := pgtest.Start(t)
	const perTable = 5000
	tables := []string{"a", "b", "c"}
	for i, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			db := fmt.Sprintf("app%d", i)
			pg.CreateDatabase(db)
			for _, tb := range tables {
				pg.Exec(db, fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, balance int NOT NULL)", tb),
					fmt.Sprintf("INSERT INTO %s SELECT i, i FROM generate_series(1, %d) i", tb, perTable),
					"ANALYZE "+tb)
			}
			total := float64(len(tables) * perTable)
			p := newPipeline(t, pg, db, isolated)
			cfg := p.connectorConfig(map[string]string{"slot.name": "cdc_" + db, "publication.name": "pub_" + db,
				"snapshot.fetch.size": "100", "max.batch.size": "50"})
			if _, err := p.h.CreateConnectorInState(context.Background(), "pg", cfg, herder.TargetPaused); err != nil {
				t.Fatal(err)
			}

			during := p.waitProgress("the snapshot under way", func(pr map[string]any) bool {
				return pr["phase"] == "snapshot" && pr["snapshot_completed"] == false
			})
			done, _ := during["rows_done"].(float64)
			if during["tables_total"] != float64(len(tables)) || during["rows_estimated"] != total || done <= 0 || done >= total {
				t.Fatalf("progress while the snapshot is held: %v; want tables_total %d, rows_estimated %v, 0 < rows_done < %v", during, len(tables), total, total)
			}
			if tbl, _ := during["table"].(string); !strings.HasPrefix(tbl, "public.") {
				t.Fatalf("progress while the snapshot is held names no table being read: %v", during)
			}
			if _, ok := during["elapsed_seconds"].(float64); !ok {
				t.Fatalf("progress while the snapshot is held has no elapsed_seconds: %v", during)
			}

			if err := p.h.SetTargetState(context.Background(), "pg", herder.TargetStarted); err != nil {
				t.Fatal(err)
			}
			after := p.waitProgress("the snapshot done and streaming", func(pr map[string]any) bool {
				return pr["phase"] == "streaming" && pr["snapshot_completed"] == true
			})
			for k, want := range map[string]any{"tables_done": float64(len(tables)), "tables_total": float64(len(tables)), "rows_done": total, "rows_estimated": total, "eta_seconds": float64(0)} {
				if after[k] != want {
					t.Errorf("progress after the snapshot: %s = %v, want %v (%v)", k, after[k], want, after)
				}
			}

			if lsn, ok := after["lsn"]; ok {
				t.Fatalf("progress shows lsn %v before any change streamed: %v", lsn, after)
			}
			// The insert's change is written at or after the WAL's end now.
			var before string
			if err := pg.Connect(db).QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&before); err != nil {
				t.Fatal(err)
			}
			pg.Exec(db, "INSERT INTO c VALUES (0, 0)")
			p.waitProgress("the change's LSN", func(pr map[string]any) bool {
				lsn, _ := pr["lsn"].(string)
				return pr["phase"] == "streaming" && lsn != "" && lsnValue(t, lsn) >= lsnValue(t, before)
			})
		})
	}
}

// waitProgress waits until the task's status shows a progress that ok
// accepts, and returns it.
func (p *pipeline) waitProgress(what string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	var st herder.TaskState
	var err error
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		st, err = p.h.TaskStatus(context.Background(), herder.TaskID{Connector: "pg", Task: 0})
		if err == nil && st.Progress != nil && ok(st.Progress) {
			return st.Progress
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("task status did not show %s within 2 minutes: %+v %v", what, st, err)
	return nil
}

func lsnValue(t *testing.T, s string) uint64 {
	t.Helper()
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("%q is not an LSN", s)
	}
	return h<<32 | l
}
