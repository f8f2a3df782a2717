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

// TestPrefetchRefused runs vsftpd allowing one connection from an
// address: the second connection is refused (421) every time, and the
// task reads every file on its own.
func TestPrefetchRefused(t *testing.T) {
	f := testserver.StartVsftpd(t, testserver.FTPOptions{MaxPerIP: 1})
	s := &server{kind: "vsftpd", root: f.Root, user: f.User, proc: f.Proc, cfg: map[string]string{
		ProtocolKey: ProtoFTP, HostKey: f.Host, PortKey: strconv.Itoa(f.Port), UsernameKey: f.User.Name, PasswordKey: f.User.Password}}
	var want []string
	for i := range 50 {
		prefix := fmt.Sprintf("f%02d", i)
		s.write(t, "/in/"+prefix+".txt", lines(prefix, 20), fixedTime)
		want = append(want, wantLines(prefix, 20)...)
	}
	d := newDriver(t, s.config(), nil)
	d.run(60*time.Second, "every line", func() bool { return d.count() >= len(want) })
	got := d.records()
	exactlyOnce(t, got, want)
	inOrder(t, got)
	if n := d.task.pre.opened(); n != 0 {
		t.Fatalf("the prefetcher connected %d times to a server that allows one connection", n)
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
