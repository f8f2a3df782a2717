package ftp

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/testserver"
)

// TestPrefetchConnectionDropped drops the second connection, the one
// that fetches small files ahead, in the middle of a file (fault server):
// that file is downloaded by the task in its turn, the prefetcher
// connects again, and every line of every file arrives exactly once, in
// name order.
func TestPrefetchConnectionDropped(t *testing.T) {
	fs := startFaultServer(t, false, false)
	var want []string
	for i := range 300 {
		prefix := fmt.Sprintf("f%03d", i)
		fs.write(t, "/in/"+prefix+".txt", lines(prefix, 200))
		want = append(want, wantLines(prefix, 200)...)
	}
	fs.dropLogin.Store(2) // the task logs in first, lists, then hands files over
	fs.dropAfter.Store(1000)
	d := newDriver(t, fs.config(BatchSizeKey, "500"), nil)
	d.run(60*time.Second, "every line", func() bool { return d.count() >= len(want) })
	got := d.records()
	exactlyOnce(t, got, want)
	inOrder(t, got)
	if fs.drops.Load() != 1 {
		t.Fatalf("%d connections dropped, want 1", fs.drops.Load())
	}
	if d.task.connects != 1 {
		t.Fatalf("the task's own connection was opened %d times, want once", d.task.connects)
	}
	if n := d.task.pre.opened(); n < 2 {
		t.Fatalf("the prefetcher connected %d times, want again after the drop", n)
	}
}

// TestPrefetchRefused runs vsftpd and proftpd allowing one connection
// from an address: the second connection is refused every time, and the
// task reads every file on its own; after a restart of the server the
// task, not the prefetcher, gets the one connection back.
func TestPrefetchRefused(t *testing.T) {
	for _, kind := range []string{"vsftpd", "proftpd"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			start := testserver.StartVsftpd
			if kind == "proftpd" {
				start = testserver.StartProftpd
			}
			prefetchRefused(t, kind, start(t, testserver.FTPOptions{MaxPerIP: 1}))
		})
	}
}

func prefetchRefused(t *testing.T, kind string, f *testserver.FTP) {
	s := &server{kind: kind, root: f.Root, user: f.User, proc: f.Proc, cfg: map[string]string{
		ProtocolKey: ProtoFTP, HostKey: f.Host, PortKey: strconv.Itoa(f.Port), UsernameKey: f.User.Name, PasswordKey: f.User.Password}}
	want := writeSmall(t, s, 0, 50)
	d := newDriver(t, s.config(PollIntervalKey, "200"), nil)
	d.run(60*time.Second, "every line", func() bool { return d.count() >= len(want) })
	s.proc.Restart()
	want = append(want, writeSmall(t, s, 50, 50)...)
	d.run(60*time.Second, "every line after the restart", func() bool { return d.count() >= len(want) })
	got := d.records()
	exactlyOnce(t, got, want)
	inOrder(t, got)
	if d.task.connects < 2 {
		t.Fatalf("the task connected %d times; the restart went unnoticed", d.task.connects)
	}
	if n := d.task.pre.opened(); n != 0 {
		t.Fatalf("the prefetcher connected %d times to a server that allows one connection", n)
	}
}

// TestPrefetchFollowsTask kills the server: once the task's connection is
// lost, the prefetcher holds none either; once the server is back, both
// connect again and the new files are read exactly once.
func TestPrefetchFollowsTask(t *testing.T) {
	s := startServer(t, "proftpd")
	want := writeSmall(t, s, 0, 100)
	d := newDriver(t, s.config(PollIntervalKey, "200"), nil)
	d.run(60*time.Second, "every line", func() bool { return d.count() >= len(want) })
	if n := d.task.pre.opened(); n != 1 {
		t.Fatalf("the prefetcher connected %d times, want once", n)
	}
	s.proc.Kill()
	d.run(30*time.Second, "the lost connection noticed", func() bool {
		up, _ := d.task.Progress()["connected"].(bool)
		return !up && d.task.pre.conn() == nil
	})
	s.proc.StartAgain()
	want = append(want, writeSmall(t, s, 100, 100)...)
	d.run(60*time.Second, "every line after the restart", func() bool { return d.count() >= len(want) })
	got := d.records()
	exactlyOnce(t, got, want)
	inOrder(t, got)
	if n := d.task.pre.opened(); n != 2 {
		t.Fatalf("the prefetcher connected %d times, want twice", n)
	}
}

// TestPrefetchOff keeps the task to one connection with
// ftp.prefetch.files=0.
func TestPrefetchOff(t *testing.T) {
	s := startServer(t, "vsftpd")
	for i := range 20 {
		s.write(t, fmt.Sprintf("/in/f%02d.txt", i), lines(fmt.Sprintf("f%02d", i), 5), fixedTime)
	}
	d := newDriver(t, s.config(PrefetchKey, "0"), nil)
	d.run(30*time.Second, "every line", func() bool { return d.count() >= 100 })
	if d.task.pre != nil {
		t.Fatal("a prefetcher with ftp.prefetch.files=0")
	}
	if n := openConns(d.task.rem); n != 1 || d.task.connects != 1 {
		t.Fatalf("%d connections open, %d opened; want 1 and 1", n, d.task.connects)
	}
}

// writeSmall writes n files of 20 lines to /in, numbered from from, and
// returns their lines.
func writeSmall(t *testing.T, s *server, from, n int) []string {
	t.Helper()
	var want []string
	for i := from; i < from+n; i++ {
		prefix := fmt.Sprintf("f%03d", i)
		s.write(t, "/in/"+prefix+".txt", lines(prefix, 20), fixedTime)
		want = append(want, wantLines(prefix, 20)...)
	}
	return want
}

// inOrder checks that the files' records came in name order.
func inOrder(t *testing.T, got []rec) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].file < got[i-1].file {
			t.Fatalf("%s read after %s: not in name order", got[i].file, got[i-1].file)
		}
	}
}

// opened is how many connections the prefetcher opened.
func (p *prefetcher) opened() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connects
}
