package postgrescdc

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
)

// TestSnapshotResumes restarts the task in the middle of its snapshot: the
// new run continues after the last row whose offset was stored, table by
// table and chunk by chunk, instead of starting over. After a graceful
// restart every row is read exactly once, and streaming follows.
func TestSnapshotResumes(t *testing.T) { testSnapshotResumes(t, 1) }

// TestSnapshotParallelResumes does the same with three readers, each
// table split into three key ranges read at once.
func TestSnapshotParallelResumes(t *testing.T) { testSnapshotResumes(t, 3) }

func testSnapshotResumes(t *testing.T, threads int) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	perTable := 10000 * threads
	tables := []string{"a", "b", "c"}
	for _, tb := range tables {
		pg.Exec("app", fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, balance int NOT NULL)", tb),
			fmt.Sprintf("INSERT INTO %s SELECT i, i FROM generate_series(1, %d) i", tb, perTable), "ANALYZE "+tb)
	}
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"snapshot.fetch.size": "250", "max.batch.size": "50", "snapshot.max.threads": fmt.Sprint(threads)}))
	topics := []string{"srv.public.a", "srv.public.b", "srv.public.c"}
	deadline := time.Now().Add(3 * time.Minute)
	for endOffsets(t, p, topics) < perTable/2 {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot did not get under way within 3 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.h.RestartTask(context.Background(), herder.TaskID{Connector: "pg", Task: 0}); err != nil {
		t.Fatal(err)
	}
	atRestart := endOffsets(t, p, topics)
	if atRestart >= 3*perTable {
		t.Fatalf("the snapshot finished (%d records) before the restart; the test needs it in flight", atRestart)
	}
	p.waitTask("pg", herder.Running, "")
	// Once the snapshot is done, a change streams after it. (A row written
	// while a resumed snapshot runs may be read and streamed both: the rest
	// of the tables is read under a new snapshot.)
	deadline = time.Now().Add(3 * time.Minute)
	for endOffsets(t, p, topics) < 3*perTable {
		if time.Now().After(deadline) {
			t.Fatalf("the resumed snapshot did not finish within 3 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pg.Exec("app", "INSERT INTO c VALUES (0, 0)")
	msgs := p.readTopics(3*perTable+1, topics...)
	reads := map[string]int{}
	lasts := 0
	for _, m := range msgs {
		var env struct {
			Payload struct {
				Op     string `json:"op"`
				Source struct {
					Table    string `json:"table"`
					Snapshot string `json:"snapshot"`
				} `json:"source"`
			} `json:"payload"`
		}
		var key struct {
			Payload json.RawMessage `json:"payload"`
		}
		json.Unmarshal(m.Value, &env)
		json.Unmarshal(m.Key, &key)
		if env.Payload.Op == "r" {
			reads[env.Payload.Source.Table+string(key.Payload)]++
			if env.Payload.Source.Snapshot == "last" {
				lasts++
			}
		}
	}
	if len(reads) != 3*perTable {
		t.Fatalf("%d rows read, want %d", len(reads), 3*perTable)
	}
	for k, n := range reads {
		if n != 1 {
			t.Fatalf("row %s read %d times: the snapshot started over instead of resuming (restart after %d records)", k, n, atRestart)
		}
	}
	if lasts != 1 {
		t.Fatalf("%d records marked snapshot=last, want 1", lasts)
	}
	for _, tb := range tables {
		want := tableRows(t, pg.Connect("app"), tb)
		if d := diffStates(want, rebuild(t, msgs)[tb]); d != "" {
			t.Fatalf("table %s:\n%s", tb, d)
		}
	}
	t.Logf("restarted after %d of %d rows; every row read once", atRestart, 3*perTable)
}

func endOffsets(t *testing.T, p *pipeline, topics []string) int {
	n := 0
	for _, tp := range topics {
		n += int(topicEnd(t, p, tp))
	}
	return n
}
