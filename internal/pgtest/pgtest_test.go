package pgtest

import (
	"context"
	"testing"
)

func TestServerRunsLogicalReplication(t *testing.T) {
	s := Start(t)
	c := s.Connect("postgres")
	var level string
	if err := c.QueryRow(context.Background(), "SHOW wal_level").Scan(&level); err != nil {
		t.Fatal(err)
	}
	if level != "logical" {
		t.Fatalf("wal_level = %q, want logical", level)
	}
	s.CreateDatabase("app")
	s.Exec("app", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	s.Restart()
	var n int
	if err := s.Connect("app").QueryRow(context.Background(), "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("after a restart the table holds %d rows, want 1", n)
	}
	pid := s.PID()
	s.Stop()
	if err := processGone(pid); err != nil {
		t.Fatal(err)
	}
}
