package ftp

import (
	"fmt"
	"testing"
	"time"
)

// TestEveryRecordOnce reads files of lines from every server, moving each
// once its records are committed: every line arrives once, and a file
// leaves the input only after the offsets of all its records are stored.
func TestEveryRecordOnce(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		var want []string
		for i := range 5 { // a batch holds all of f0 and more, f4 spans several
			name := fmt.Sprintf("f%d", i)
			n := []int{3, 10, 40, 100, 500}[i]
			s.write(t, "/in/"+name+".txt", lines(name, n), time.Time{})
			want = append(want, wantLines(name, n)...)
		}
		s.mkdir(t, "/done")
		d := newDriver(t, s.config(CleanupKey, CleanupMove, FinishedPathKey, "/done", BatchSizeKey, "37"), nil)
		// Poll everything without committing: nothing may move.
		deadline := time.Now().Add(30 * time.Second)
		for d.count() < len(want) && time.Now().Before(deadline) {
			d.poll()
		}
		exactlyOnce(t, d.records(), want)
		d.poll()
		if got := s.names(t, "/done"); len(got) != 0 {
			t.Fatalf("files moved before their offsets were committed: %v", got)
		}
		d.run(30*time.Second, "all files moved", func() bool { return len(s.names(t, "/done")) == 5 })
		if got := s.names(t, "/in"); len(got) != 0 {
			t.Fatalf("files left in /in: %v", got)
		}
		d.run(10*time.Second, "the moved files forgotten", func() bool { return len(d.store.paths()) == 0 })
		exactlyOnce(t, d.records(), want)
	}, implicitFTPS)
}
