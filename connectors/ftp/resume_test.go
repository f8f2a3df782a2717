package ftp

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestResumeMidFile stops a task mid-file after some of its records were
// committed and more were polled (and lost, as in a crash), then starts a
// new task on the stored offsets: records repeat only after the last
// committed offset, none is lost, and a plain file resumes where it
// stopped (REST or a seek: fewer bytes than the file are read again),
// while a gzipped one is read again from the start and skipped.
func TestResumeMidFile(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		for _, tc := range []struct {
			name, file string
			data       []byte
			kv         []string
			want       []string
		}{
			{"lines", "big.txt", lines("l", 3000), nil, wantLines("l", 3000)},
			{"csv", "big.csv", []byte("id,name\n" + csvRows(0, 3000)), []string{FormatKey, FormatCSV}, nil},
			{"gzip", "big.txt.gz", gz(t, lines("z", 3000)), nil, wantLines("z", 3000)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dir := "/" + tc.name
				s.write(t, dir+"/"+tc.file, tc.data, fixedTime)
				cfg := s.config(InputPathKey, dir, BatchSizeKey, "100")
				for i := 0; i+1 < len(tc.kv); i += 2 {
					cfg[tc.kv[i]] = tc.kv[i+1]
				}
				d := newDriver(t, cfg, nil)
				d.run(20*time.Second, "700 records", func() bool { return d.count() >= 700 })
				committed := d.count()
				for d.count() < committed+300 { // polled, never committed: lost
					d.poll()
				}
				lost := d.count() - committed
				first := d.records()
				d.stop()

				d2 := newDriver(t, cfg, d.store)
				d2.run(20*time.Second, "the file read to its end", func() bool {
					rs := d2.records()
					return len(rs) > 0 && rs[len(rs)-1].offset.eof
				})
				second := d2.records()
				if got, want := second[0].line, first[committed-1].line+1; got != want {
					t.Fatalf("the resumed task started at line %d, want %d (after the last committed record)", got, want)
				}
				if len(second) != 3000-committed {
					t.Fatalf("the resumed task read %d records, want %d", len(second), 3000-committed)
				}
				all := append(first[:committed], second...)
				if tc.want != nil {
					exactlyOnce(t, all, tc.want)
				}
				for i, r := range all {
					if r.line != int64(i+1)+boolInt(tc.name == "csv") {
						t.Fatalf("record %d is from line %d", i, r.line)
					}
				}
				read := d2.task.Progress()["bytes_read"].(int64)
				size := int64(len(tc.data))
				if tc.name == "gzip" {
					if read != size {
						t.Fatalf("the resumed task read %d bytes of the gzipped file, want all %d", read, size)
					}
				} else if read >= size-first[committed-1].offset.pos+10 || read < size-first[committed-1].offset.pos {
					t.Fatalf("the resumed task read %d bytes of %d; it should have started at %d", read, size, first[committed-1].offset.pos)
				}
				t.Logf("%d records committed, %d polled and lost, %d read again", committed, lost, len(second))
			})
		}
	}, implicitFTPS)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestCrashAfterCommitBeforeCleanup stores the offset of a file's last
// record and stops the task before it moves the file: the next task moves
// it without reading it again, then forgets its offset.
func TestCrashAfterCommitBeforeCleanup(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		for _, policy := range []string{CleanupMove, CleanupDelete} {
			t.Run(policy, func(t *testing.T) {
				dir := "/" + policy
				s.write(t, dir+"/a.txt", lines("a", 50), fixedTime)
				s.mkdir(t, "/finished-"+policy)
				cfg := s.config(InputPathKey, dir, CleanupKey, policy, FinishedPathKey, "/finished-"+policy)
				d := newDriver(t, cfg, nil)
				for d.count() < 50 {
					d.poll()
				}
				// Stored, but the task stops before the Poll that would move it.
				d.store.mu.Lock()
				for _, o := range d.pending {
					d.store.m[partKey(o.Partition)] = o
				}
				d.store.mu.Unlock()
				d.pending = nil
				d.stop()
				if !s.exists(dir + "/a.txt") {
					t.Fatal("the file was cleaned up before the task learnt its offsets were committed")
				}
				d2 := newDriver(t, cfg, d.store)
				d2.run(20*time.Second, "the file cleaned up and its offset forgotten", func() bool {
					return !s.exists(dir+"/a.txt") && len(d2.store.paths()) == 0
				})
				if n := d2.count(); n != 0 {
					t.Fatalf("the restarted task read %d records of a finished file", n)
				}
				if policy == CleanupMove && !s.exists("/finished-move/a.txt") {
					t.Fatal("the file is not in finished.path")
				}
			})
		}
	})
}

// TestFinishedFilesNotReadAgain runs with cleanup.policy=none: a restarted
// task reads nothing of the finished files; the store keeps one entry per
// file still on the server and forgets a file once it is gone; a file
// read in part that changed before the restart is read anew, as another
// file.
func TestFinishedFilesNotReadAgain(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		for i := range 3 {
			s.write(t, fmt.Sprintf("/in/f%d.txt", i), lines(fmt.Sprintf("f%d", i), 20), fixedTime)
		}
		s.write(t, "/in/part.txt", lines("p", 500), fixedTime)
		cfg := s.config(BatchSizeKey, "50", SortKey, SortName)
		d := newDriver(t, cfg, nil)
		d.run(20*time.Second, "the first files and part of part.txt", func() bool { return d.count() >= 160 })
		d.stop()
		if got, want := strings.Join(d.store.paths(), ","), "/in/f0.txt (eof),/in/f1.txt (eof),/in/f2.txt (eof),/in/part.txt"; got != want {
			t.Fatalf("stored offsets: %s, want %s", got, want)
		}
		// part.txt changes while no task runs.
		s.write(t, "/in/part.txt", append(lines("p", 500), lines("q", 10)...), fixedTime.Add(time.Hour))
		d2 := newDriver(t, cfg, d.store)
		d2.run(20*time.Second, "the changed part.txt read anew", func() bool { return d2.count() >= 510 })
		for range 3 {
			d2.poll()
			d2.commit()
		}
		exactlyOnce(t, d2.records(), append(wantLines("p", 500), wantLines("q", 10)...))
		if got, want := strings.Join(d2.store.paths(), ","), "/in/f0.txt (eof),/in/f1.txt (eof),/in/f2.txt (eof),/in/part.txt (eof)"; got != want {
			t.Fatalf("stored offsets: %s, want %s", got, want)
		}
		if err := os.Remove(s.local("/in/f1.txt")); err != nil {
			t.Fatal(err)
		}
		d2.run(20*time.Second, "the removed file forgotten", func() bool { return len(d2.store.paths()) == 3 })
		d2.stop()
		d3 := newDriver(t, cfg, d2.store)
		for range 3 {
			d3.poll()
			d3.commit()
		}
		if n := d3.count(); n != 0 {
			t.Fatalf("a third task read %d records of finished files", n)
		}
	})
}
