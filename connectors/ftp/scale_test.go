package ftp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/internal/testserver"
)

// TestServerRestartMidFile restarts the server while a task is in the
// middle of a file: the task connects again and resumes after its last
// returned record; every line arrives exactly once.
func TestServerRestartMidFile(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		s.write(t, "/in/big.txt", lines("b", 200_000), fixedTime)
		d := newDriver(t, s.config(BatchSizeKey, "500"), nil)
		d.run(30*time.Second, "a part of the file", func() bool { return d.count() >= 20_000 })
		s.proc.Restart()
		d.run(60*time.Second, "the whole file", func() bool { return d.count() >= 200_000 })
		exactlyOnce(t, d.records(), wantLines("b", 200_000))
		if up, _ := d.task.Progress()["connected"].(bool); !up {
			t.Fatalf("progress after the restart: %v", d.task.Progress())
		}
	})
}

// TestTasksShareFiles runs three tasks over one directory: each file is
// read by exactly one of them, and every line arrives once.
func TestTasksShareFiles(t *testing.T) {
	s := startServer(t, "proftpd")
	var want []string
	for i := range 30 {
		name := fmt.Sprintf("f%02d", i)
		s.write(t, "/in/"+name+".txt", lines(name, 20), fixedTime)
		want = append(want, wantLines(name, 20)...)
	}
	ds := runTasks(t, taskConfigs(t, s.config(), 3), newStore(), len(want))
	var all []rec
	readers := map[string]int{}
	for i, d := range ds {
		files := map[string]bool{}
		for _, r := range d.records() {
			files[r.file] = true
		}
		for f := range files {
			readers[f]++
		}
		if len(files) == 0 {
			t.Errorf("task %d read no file", i)
		}
		all = append(all, d.records()...)
	}
	for f, n := range readers {
		if n != 1 {
			t.Errorf("%s was read by %d tasks", f, n)
		}
	}
	exactlyOnce(t, all, want)
}

// TestTasksMaxChanged reads with one task until a file is half read,
// commits and stops, then goes on with three tasks over the same stored
// offsets, as after a change of tasks.max: the file read in part resumes
// in the task its path now hashes to, and every line arrives once.
func TestTasksMaxChanged(t *testing.T) {
	s := startServer(t, "proftpd")
	var want []string
	for i := range 12 {
		name := fmt.Sprintf("f%02d", i)
		s.write(t, "/in/"+name+".txt", lines(name, 300), fixedTime)
		want = append(want, wantLines(name, 300)...)
	}
	s.mkdir(t, "/done")
	cfg := s.config(SortKey, SortName, BatchSizeKey, "50", CleanupKey, CleanupMove, FinishedPathKey, "/done")
	st := newStore()
	one := newDriver(t, taskConfigs(t, cfg, 1)[0], st)
	one.run(30*time.Second, "six and a half files read", func() bool { return one.count() >= 6*300+30 })
	one.stop() // everything polled is committed: nothing may come again
	first := one.records()

	ds := runTasks(t, taskConfigs(t, cfg, 3), st, len(want)-len(first))
	all := first
	later := map[string]bool{}
	for _, d := range ds {
		for _, r := range d.records() {
			later[r.file] = true
		}
		all = append(all, d.records()...)
	}
	exactlyOnce(t, all, want)
	split := 0
	for f := range later {
		for _, r := range first {
			if r.file == f {
				split++
				break
			}
		}
	}
	if split == 0 {
		t.Error("no file was read in part by the one task and finished by one of the three")
	}
}

// TestListingIsBounded lists a directory of 1200 files keeping at most 40
// of them at a time: the task never holds more, and reads every file
// once, in name order.
func TestListingIsBounded(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		var want []string
		for i := range 1200 {
			name := fmt.Sprintf("f%04d", i)
			s.write(t, "/in/"+name+".txt", []byte(name+"\n"), fixedTime)
			want = append(want, name)
		}
		d := newDriver(t, s.config(MaxCandidatesKey, "40", BatchSizeKey, "1000"), nil)
		held := 0
		d.run(120*time.Second, "every file", func() bool {
			held = max(held, len(d.task.queue)+len(d.task.observed))
			return d.count() >= 1200
		})
		if held > 40 {
			t.Fatalf("the task held %d files to read, more than input.max.candidates=40", held)
		}
		// One connection for every listing and file, one more for the
		// files fetched ahead, and no connection left open but those
		// (FTP: the control connections; SFTP: the SSH connections).
		if d.task.connects != 1 || d.task.pre.opened() != 1 {
			t.Fatalf("the task connected %d times and its prefetcher %d, want once each", d.task.connects, d.task.pre.opened())
		}
		if n, m := openConns(d.task.rem), openConns(d.task.pre.conn()); n != 1 || m != 1 {
			t.Fatalf("%d and %d connections open after the files were read, want 1 and 1", n, m)
		}
		got := d.records()
		exactlyOnce(t, got, want)
		inOrder(t, got)
	})
}

// TestListTimesInLocalTime runs vsftpd listing local times (Asia/Tokyo)
// with cleanup.policy=none, once with ftp.server.timezone right and once
// wrong (UTC): either way a restarted task reads no finished file again
// (a wrong zone costs an MDTM per file, once).
func TestListTimesInLocalTime(t *testing.T) {
	for _, zone := range []string{"Asia/Tokyo", "UTC"} {
		t.Run(strings.ReplaceAll(zone, "/", "-"), func(t *testing.T) {
			t.Parallel()
			f := testserver.StartVsftpd(t, testserver.FTPOptions{TZ: "Asia/Tokyo"})
			s := &server{kind: "vsftpd", root: f.Root, user: f.User, proc: f.Proc, cfg: map[string]string{
				ProtocolKey: ProtoFTP, HostKey: f.Host, PortKey: fmt.Sprint(f.Port), UsernameKey: f.User.Name, PasswordKey: f.User.Password}}
			for i := range 5 {
				s.write(t, fmt.Sprintf("/in/f%d.txt", i), lines(fmt.Sprintf("f%d", i), 10), time.Now().Add(-time.Duration(i)*time.Hour))
			}
			s.write(t, "/in/old.txt", lines("old", 10), fixedTime) // LIST shows a year, not a time
			cfg := s.config(ServerTimezoneKey, zone)
			d := newDriver(t, cfg, nil)
			d.run(20*time.Second, "every file", func() bool { return d.count() == 60 })
			d.stop()
			d2 := newDriver(t, cfg, d.store)
			for range 5 {
				d2.poll()
				d2.commit()
			}
			if n := d2.count(); n != 0 {
				t.Fatalf("the restarted task read %d records of finished files", n)
			}
			if got := len(d2.store.paths()); got != 6 {
				t.Fatalf("%d stored offsets, want 6", got)
			}
		})
	}
}

// openConns counts the connections a remote holds open.
func openConns(r remote) int {
	var cs *conns
	switch x := r.(type) {
	case *ftpRemote:
		cs = &x.cs
	case *sftpRemote:
		cs = &x.cs
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.live)
}

// TestRecursiveAndOrder reads two input directories and their
// subdirectories, oldest file first: hidden files and folders and
// finished.path below an input directory are left alone.
func TestRecursiveAndOrder(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		files := []string{"/in/b/one.txt", "/in2/two.txt", "/in/three.txt", "/in/a/deep/four.txt"}
		for i, f := range files {
			s.write(t, f, []byte(f+"\n"), fixedTime.Add(time.Duration(i)*time.Minute))
		}
		s.write(t, "/in/.hidden.txt", []byte("hidden\n"), fixedTime)
		s.write(t, "/in/.dir/x.txt", []byte("hidden dir\n"), fixedTime)
		s.write(t, "/in/done/old.txt", []byte("finished before\n"), fixedTime)
		d := newDriver(t, s.config(InputPathKey, "/in,/in2", RecursiveKey, "true", SortKey, SortModified,
			CleanupKey, CleanupMove, FinishedPathKey, "/in/done"), nil)
		d.run(20*time.Second, "four files", func() bool { return d.count() >= 4 })
		for range 3 {
			d.poll()
			d.commit()
		}
		var got []string
		for _, r := range d.records() {
			got = append(got, r.value)
		}
		if d := cmp.Diff(files, got); d != "" {
			t.Fatalf("records (-want +got):\n%s", d)
		}
		d.run(20*time.Second, "the files moved below /in/done", func() bool {
			return s.exists("/in/done/b/one.txt") && s.exists("/in/done/two.txt") && s.exists("/in/done/three.txt") && s.exists("/in/done/a/deep/four.txt")
		})
	})
}
