package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/testserver"
)

// ftpFiles are the files of the fault test: many small ones and two large
// ones, so that every fault strikes in the middle of a file.
var ftpFiles = func() map[string]int {
	m := map[string]int{"big-1.txt": 150_000, "big-2.txt": 150_000}
	for i := range 40 {
		m[fmt.Sprintf("small-%02d.txt", i)] = 2_000 + 37*i
	}
	return m
}()

// TestFTPSourceFaults reads files from an FTP server (vsftpd: LIST and
// MDTM) and an SFTP server (OpenSSH) with connectd dev while everything
// that can die dies: the task's plugin process (SIGKILL), the worker
// itself (SIGKILL), and the file server (restarted mid-poll). Counting
// every record of every file afterwards: none is lost; a file's records
// repeat only as a task restarted from the last committed offset repeats
// them (never from before the offset stored when the fault struck); a
// file moved to finished.path (so its offsets were committed) is never
// read again; and every file ends moved, its offset forgotten.
func TestFTPSourceFaults(t *testing.T) {
	for _, kind := range []string{"vsftpd", "sshd"} {
		t.Run(kind, func(t *testing.T) { ftpFaults(t, kind) })
	}
}

type fileServer struct {
	proc  *testserver.Proc
	user  testserver.User
	root  string
	conn  map[string]string
	local func(rel string) string
}

func startFileServer(t *testing.T, kind string) *fileServer {
	if kind == "sshd" {
		s := testserver.StartSSHD(t)
		return &fileServer{proc: s.Proc, user: s.User, root: s.Root, local: s.Path, conn: map[string]string{
			"ftp.protocol": "sftp", "ftp.host": s.Host, "ftp.port": strconv.Itoa(s.Port), "ftp.username": s.User.Name,
			"ftp.password": s.User.Password, "sftp.known.hosts.path": s.KnownHosts}}
	}
	f := testserver.StartVsftpd(t, testserver.FTPOptions{})
	return &fileServer{proc: f.Proc, user: f.User, root: f.Root, local: f.Path, conn: map[string]string{
		"ftp.protocol": "ftp", "ftp.host": f.Host, "ftp.port": strconv.Itoa(f.Port), "ftp.username": f.User.Name,
		"ftp.password": f.User.Password}}
}

func ftpFaults(t *testing.T, kind string) {
	ctx := context.Background()
	srv := startFileServer(t, kind)
	total := 0
	for name, n := range ftpFiles {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%s line %d\n", name, i)
		}
		srv.user.WriteFile(t, srv.root, "/in/"+name, []byte(b.String()))
		total += n
	}
	srv.user.MkdirAll(t, srv.root, "/done")

	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	cfg := map[string]string{
		"connector.class": "ftp-source", "topic": "lines", "input.path": "/in",
		"file.minimum.age.ms": "0", "poll.interval.ms": "200", "batch.size": "500",
		"cleanup.policy": "move", "finished.path": "/done", "record.key": "path",
		"ftp.timeout.ms": "5000", "ftp.reconnect.backoff.max.ms": "1000",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.storage.StringConverter",
	}
	for k, v := range srv.conn {
		cfg[k] = v
	}
	if _, err := p.client.CreateConnector(ctx, "ftp", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("ftp", 0, herder.Running, "")

	// What each fault may not undo: the stored offsets when it struck,
	// and which files were finished (moved) then, with the topic's end.
	type snapshot struct {
		what   string
		stored map[string]int64 // file path → records committed
		moved  []string
		ends   map[int32]int64 // the topic's partitions' end offsets
	}
	var snaps []snapshot
	snap := func(what string) {
		t.Helper()
		s := snapshot{what: what, stored: storedRecords(t, p, "ftp"), ends: partitionEnds(t, p.bootstrap, "lines")}
		entries, _ := os.ReadDir(srv.local("/done"))
		for _, e := range entries {
			s.moved = append(s.moved, "/in/"+e.Name())
		}
		snaps = append(snaps, s)
	}
	waitRecords := func(n int64) {
		t.Helper()
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d records in lines", n), func() (bool, string) {
			c := topicCount(t, p.bootstrap, "lines")
			return c >= n, fmt.Sprint(c)
		})
	}
	waitRecords(60_000)

	// 1. The task's plugin process dies.
	pids := p.pluginPIDs("ftp-0")
	if len(pids) != 1 {
		t.Fatalf("plugin processes of task ftp-0: %v, want one", pids)
	}
	snap("plugin kill")
	syscall.Kill(pids[0], syscall.SIGKILL)
	p.waitTask("ftp", 0, herder.Failed, "plugin process exited")
	p.waitTask("ftp", 0, herder.Running, "")
	waitRecords(topicCount(t, p.bootstrap, "lines") + 50_000)

	// 2. The worker dies, with its plugin processes.
	snap("worker kill")
	p.KillNow()
	time.Sleep(500 * time.Millisecond)
	p = startDev(t, opts)
	p.waitTask("ftp", 0, herder.Running, "")
	waitRecords(topicCount(t, p.bootstrap, "lines") + 50_000)

	// 3. The file server restarts under the task.
	srv.proc.Restart()

	waitFor(t, 3*time.Minute, "every file moved to /done", func() (bool, string) {
		entries, _ := os.ReadDir(srv.local("/done"))
		return len(entries) == len(ftpFiles), fmt.Sprintf("%d of %d moved", len(entries), len(ftpFiles))
	})
	waitFor(t, time.Minute, "the moved files' offsets forgotten", func() (bool, string) {
		s := storedRecords(t, p, "ftp")
		return len(s) == 0, fmt.Sprint(s)
	})

	recs := kafkatest.ReadRecords(t, []string{p.bootstrap}, kafkatest.Until{Want: total, Quiet: 3 * time.Second, Timeout: 2 * time.Minute}, "lines")
	byFile := map[string][]*kgo.Record{}
	for _, r := range recs {
		byFile[string(r.Key)] = append(byFile[string(r.Key)], r)
	}
	repeated := 0
	for name, n := range ftpFiles {
		path := "/in/" + name
		rs := byFile[path]
		lines := make([]int64, len(rs))
		for i, r := range rs {
			line, err := strconv.ParseInt(headerValue(r, "file.line"), 10, 64)
			if err != nil || string(r.Value) != fmt.Sprintf("%s line %d", name, line) {
				t.Fatalf("%s: record %q with file.line %q", path, r.Value, headerValue(r, "file.line"))
			}
			lines[i] = line
		}
		// Nothing lost, and replays are re-reads from a point on.
		seen := map[int64]bool{}
		for i, l := range lines {
			seen[l] = true
			if i == 0 && l != 1 || i > 0 && l != lines[i-1]+1 && l > lines[i-1] {
				t.Fatalf("%s: line %d follows line %d: a record is missing", path, l, lines[max(i-1, 0)])
			}
			if i > 0 && l <= lines[i-1] {
				repeated += int(lines[i-1] - l + 1)
				for _, s := range snaps {
					if committed := s.stored[path]; l <= committed && committed <= lines[i-1] {
						t.Fatalf("%s: after the %s the records from line %d on came again, but %d were committed then", path, s.what, l, committed)
					}
				}
			}
		}
		if len(seen) != n {
			t.Fatalf("%s: %d distinct lines of %d", path, len(seen), n)
		}
		// A file moved before a fault is not read after it.
		for _, s := range snaps {
			for _, m := range s.moved {
				if m != path {
					continue
				}
				for _, r := range rs {
					if r.Offset >= s.ends[r.Partition] {
						t.Fatalf("%s was moved before the %s and read again after it", path, s.what)
					}
				}
			}
		}
	}
	t.Logf("%d records for %d lines; %d repeated, all after the offsets stored when the faults struck", len(recs), total, repeated)
	st, err := p.client.TaskStatus(ctx, "ftp", 0)
	if err != nil || st.State != herder.Running {
		t.Fatalf("task after the faults: %+v %v", st, err)
	}
	p.stop()
}

// storedRecords returns, per file path, the records committed of it.
func storedRecords(t *testing.T, p *devProcess, name string) map[string]int64 {
	t.Helper()
	offs, err := p.client.ConnectorOffsets(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, o := range offs.Offsets {
		var part struct {
			Path string `json:"path"`
		}
		var off struct {
			Records int64 `json:"records"`
		}
		json.Unmarshal(o.Partition, &part)
		json.Unmarshal(o.Offset, &off)
		out[part.Path] = off.Records
	}
	return out
}

func headerValue(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// partitionEnds returns the end offset of each partition of topic.
func partitionEnds(t *testing.T, bootstrap, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			out[o.Partition] = o.Offset
		}
	})
	return out
}
