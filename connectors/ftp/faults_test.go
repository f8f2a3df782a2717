package ftp

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadFilesGoToErrorPath puts a file the user may not read and a CSV
// file that does not parse among good files: both go to error.path, after
// the records read before the failure are committed, with the reason in
// the progress; every good file is read and moved.
func TestBadFilesGoToErrorPath(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		var want []string
		for i := range 4 {
			name := fmt.Sprintf("good%d", i)
			s.write(t, "/in/"+name+".csv", []byte("v\n"+strings.Join(wantLines(name, 30), "\n")+"\n"), time.Time{})
			want = append(want, wantLines(name, 30)...)
		}
		// Unreadable by the user the server runs the session as.
		if err := os.WriteFile(s.local("/in/secret.csv"), []byte("v\nx\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Line 12 has a field too many.
		bad := "v\n" + strings.Join(wantLines("bad", 10), "\n") + "\nx,y\nz\n"
		s.write(t, "/in/broken.csv", []byte(bad), time.Time{})
		want = append(want, wantLines("bad", 10)...)
		s.mkdir(t, "/done")
		s.mkdir(t, "/errors")
		cfg := s.config(FormatKey, FormatCSV, CleanupKey, CleanupMove, FinishedPathKey, "/done", ErrorPathKey, "/errors", BatchSizeKey, "4")
		d := newDriver(t, cfg, nil)
		d.run(30*time.Second, "every file moved", func() bool {
			return len(s.names(t, "/in")) == 0 && len(s.names(t, "/done")) == 4 && len(s.names(t, "/errors")) == 2
		})
		var got []string
		for _, r := range d.records() {
			got = append(got, strings.TrimSuffix(strings.TrimPrefix(r.value, `{v="`), `"}`))
		}
		exactlyOnce(t, recsOf(got), want)
		prog := d.task.Progress()
		if prog["files_failed"] != int64(2) || prog["files_done"] != int64(4) {
			t.Fatalf("progress: %v", prog)
		}
		reasons := fmt.Sprint(prog["failures"])
		for _, wantReason := range []string{"/in/secret.csv", "/in/broken.csv", "line 12 has 2 fields, the header 1"} {
			if !strings.Contains(reasons, wantReason) {
				t.Errorf("the progress's failures do not say %q: %s", wantReason, reasons)
			}
		}
	})
}

func recsOf(values []string) []rec {
	out := make([]rec, len(values))
	for i, v := range values {
		out[i] = rec{value: v}
	}
	return out
}

// TestFailedFilesRememberedWithoutErrorPath leaves failed files where they
// are (no error.path): they are not read again while the task runs, and
// the other files flow.
func TestFailedFilesRememberedWithoutErrorPath(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		s.write(t, "/in/a.jsonl", []byte("{\"n\":1}\nnot json\n"), time.Time{})
		s.write(t, "/in/b.jsonl", []byte("{\"n\":2}\n"), time.Time{})
		d := newDriver(t, s.config(FormatKey, FormatJSONL), nil)
		d.run(20*time.Second, "both files", func() bool { return d.count() == 2 && d.task.Progress()["files_failed"] == int64(1) })
		for range 3 {
			d.poll()
			d.commit()
		}
		if n := d.count(); n != 2 {
			t.Fatalf("%d records, want 2: the failed file was read again", n)
		}
		if !s.exists("/in/a.jsonl") {
			t.Fatal("the failed file was removed")
		}
	})
}

// TestSilentServerFailsTheTask points a task at a server that accepts
// connections and never answers: every attempt times out, the progress
// shows the connection down with the error, and after
// ftp.reconnect.timeout.ms Poll fails the task, naming the key. Nothing
// hangs.
func TestSilentServerFailsTheTask(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	s := &server{cfg: map[string]string{ProtocolKey: ProtoFTP, HostKey: "127.0.0.1", PortKey: port, UsernameKey: "u", PasswordKey: "p"}}
	task := &sourceTask{idle: testIdle}
	if err := task.Start(context.Background(), s.config(ConnectTimeoutKey, "300", ReconnectBackoffKey, "200", ReconnectTimeoutKey, "1500"), newStore()); err != nil {
		t.Fatal(err)
	}
	defer task.Stop(context.Background())
	var pollErr error
	sawDown := false
	for pollErr == nil {
		_, pollErr = task.Poll(context.Background())
		p := task.Progress()
		if up, _ := p["connected"].(bool); !up && p["down_since"] != nil && p["last_connection_error"] != nil {
			sawDown = true
		}
	}
	if !strings.Contains(pollErr.Error(), ReconnectTimeoutKey) {
		t.Fatalf("Poll failed with %v, want the reconnect timeout named", pollErr)
	}
	if !sawDown {
		t.Fatal("the progress never showed the connection down with its error")
	}
}

// TestRefusedLoginFailsAtOnce: a login the server refuses fails the task
// at the first poll; connecting again would not help.
func TestRefusedLoginFailsAtOnce(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		if s.kind == "sshd-key" {
			return
		}
		task := &sourceTask{idle: testIdle}
		if err := task.Start(context.Background(), s.config(PasswordKey, "wrong"), newStore()); err != nil {
			t.Fatal(err)
		}
		defer task.Stop(context.Background())
		_, err := task.Poll(context.Background())
		if err == nil {
			t.Fatal("Poll succeeded with a wrong password")
		}
	})
}
