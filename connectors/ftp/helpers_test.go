package ftp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/testserver"
)

// server is one real server the suite runs against, with what a test
// needs to put files on it and to point the connector at it.
type server struct {
	kind string
	root string // local directory the user sees as "/"
	user testserver.User
	proc *testserver.Proc
	cfg  map[string]string // connection keys
}

// serverKinds are the servers every behaviour is checked against.
var serverKinds = []string{"vsftpd", "vsftpd-ftps", "proftpd", "proftpd-ftps", "sshd-password", "sshd-key"}

// implicitFTPS is vsftpd speaking implicit FTPS (TLS from the first
// byte): the tests of reading, cleanup and resuming run against it too.
const implicitFTPS = "vsftpd-ftps-implicit"

func startServer(t testing.TB, kind string) *server {
	t.Helper()
	switch kind {
	case "vsftpd", "proftpd", "proftpd-ftps", "vsftpd-ftps", "vsftpd-ftps-implicit":
		start := testserver.StartVsftpd
		if strings.HasPrefix(kind, "proftpd") {
			start = testserver.StartProftpd
		}
		implicit := strings.HasSuffix(kind, "-ftps-implicit")
		tls := implicit || strings.HasSuffix(kind, "-ftps")
		f := start(t, testserver.FTPOptions{TLS: tls, Implicit: implicit})
		cfg := map[string]string{ProtocolKey: ProtoFTP, HostKey: f.Host, PortKey: strconv.Itoa(f.Port),
			UsernameKey: f.User.Name, PasswordKey: f.User.Password}
		if tls {
			cfg[ProtocolKey], cfg[TLSCAFileKey] = ProtoFTPS, f.CAFile
		}
		if implicit {
			cfg[ProtocolKey] = ProtoFTPSImplicit
		}
		return &server{kind: kind, root: f.Root, user: f.User, proc: f.Proc, cfg: cfg}
	case "sshd-password", "sshd-key":
		s := testserver.StartSSHD(t)
		cfg := map[string]string{ProtocolKey: ProtoSFTP, HostKey: s.Host, PortKey: strconv.Itoa(s.Port),
			UsernameKey: s.User.Name, KnownHostsPathKey: s.KnownHosts}
		if kind == "sshd-key" {
			cfg[PrivateKeyPathKey] = s.KeyFile
		} else {
			cfg[PasswordKey] = s.User.Password
		}
		return &server{kind: kind, root: s.Root, user: s.User, proc: s.Proc, cfg: cfg}
	}
	t.Fatalf("unknown server kind %q", kind)
	return nil
}

// forEachServer runs f against every server kind, and the extra kinds,
// at once. The subtests do not call t.Parallel, which -parallel (the core
// count) would hold to two at a time: they spend their time waiting on
// servers and timers.
func forEachServer(t *testing.T, f func(t *testing.T, s *server), extra ...string) {
	var wg sync.WaitGroup
	for _, kind := range append(slices.Clone(serverKinds), extra...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(kind, func(t *testing.T) { f(t, startServer(t, kind)) })
		}()
	}
	wg.Wait()
}

// fixedTime is the modification time test files get, so records are the
// same on every server and in every run.
var fixedTime = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)

// write puts a file on the server, owned by the user, modified at mtime
// (zero: now).
func (s *server) write(t testing.TB, rel string, data []byte, mtime time.Time) {
	t.Helper()
	s.user.WriteFile(t, s.root, rel, data)
	if !mtime.IsZero() {
		if err := os.Chtimes(s.local(rel), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *server) mkdir(t testing.TB, rel string) {
	t.Helper()
	s.user.MkdirAll(t, s.root, rel)
}

func (s *server) local(rel string) string { return filepath.Join(s.root, filepath.FromSlash(rel)) }

func (s *server) exists(rel string) bool {
	_, err := os.Stat(s.local(rel))
	return err == nil
}

// names lists the files of a remote directory, sorted.
func (s *server) names(t testing.TB, rel string) []string {
	t.Helper()
	es, err := os.ReadDir(s.local(rel))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// config returns a connector config for s with the given keys.
func (s *server) config(kv ...string) map[string]string {
	cfg := map[string]string{"name": "ftp-test", TopicKey: "files", InputPathKey: "/in",
		MinAgeKey: "0", PollIntervalKey: "100", ConnectTimeoutKey: "10000", TimeoutKey: "10000"}
	for k, v := range s.cfg {
		cfg[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return cfg
}

// testIdle is how long a test's Poll waits with nothing to return.
const testIdle = 150 * time.Millisecond

// store is the framework's offset store as the task sees it: Start reads
// it, Commit writes what was polled.
type store struct {
	mu sync.Mutex
	m  map[string]connect.SourceOffset // by partition JSON
}

func newStore() *store { return &store{m: map[string]connect.SourceOffset{}} }

func partKey(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func (s *store) Offset(p map[string]any) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[partKey(p)].Offset
}

func (s *store) Offsets() []connect.SourceOffset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]connect.SourceOffset, 0, len(s.m))
	for _, o := range s.m {
		out = append(out, o)
	}
	return out
}

// paths lists the files the store holds offsets for, with "(eof)" after
// finished ones.
func (s *store) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, o := range s.m {
		p := o.Partition[PartitionPath].(string)
		if eof, _ := o.Offset[OffsetEOF].(bool); eof {
			p += " (eof)"
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// rec is a polled record in a comparable form.
type rec struct {
	file   string
	line   int64
	value  string
	key    string
	topic  string
	offset position
}

func (r rec) String() string { return fmt.Sprintf("%s:%d %s", r.file, r.line, r.value) }

// driver runs a task as the framework would, in process: it polls,
// stores the offsets of what it polled when told to commit (every record
// polled counts as durable), applies forgotten partitions in order, and
// calls Commit.
type driver struct {
	t     testing.TB
	cfg   map[string]string
	store *store
	task  *sourceTask
	// pending holds, in poll order, the offsets not yet committed;
	// nil offsets are forgotten partitions.
	pending []connect.SourceOffset
	recs    []rec
	// discard counts records without keeping them (tests of memory).
	discard   bool
	discarded int
	mu        sync.Mutex
}

func newDriver(t testing.TB, cfg map[string]string, st *store) *driver {
	t.Helper()
	if st == nil {
		st = newStore()
	}
	d := &driver{t: t, cfg: cfg, store: st}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *driver) start() {
	d.t.Helper()
	d.task = &sourceTask{idle: testIdle}
	if err := d.task.Start(context.Background(), d.cfg, d.store); err != nil {
		d.t.Fatalf("Start: %v", err)
	}
	d.pending = nil
}

// stop stops the task without committing what is pending, as a crash
// would lose it.
func (d *driver) stop() {
	if d.task != nil {
		d.task.Stop(context.Background())
		d.task = nil
	}
}

// poll polls once.
func (d *driver) poll() []*connect.Record {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := d.task.Poll(ctx)
	if err != nil {
		d.t.Fatalf("Poll: %v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range recs {
		if d.discard {
			d.discarded++
			d.pending = append(d.pending, connect.SourceOffset{Partition: r.SourcePartition, Offset: r.SourceOffset})
			continue
		}
		pos, err := positionOf(r.SourceOffset)
		if err != nil {
			d.t.Fatalf("record offset %v: %v", r.SourceOffset, err)
		}
		var line int64
		var file string
		for _, h := range r.Headers {
			switch h.Key {
			case "file.line":
				line = h.Value.(int64)
			case "file.path":
				file = h.Value.(string)
			}
		}
		d.recs = append(d.recs, rec{file: file, line: line, value: valueString(r.Value), key: valueString(r.Key), topic: r.Topic, offset: pos})
		d.pending = append(d.pending, connect.SourceOffset{Partition: r.SourcePartition, Offset: r.SourceOffset})
	}
	for _, p := range d.task.ForgetOffsets() {
		d.pending = append(d.pending, connect.SourceOffset{Partition: p})
	}
	return recs
}

// commit stores every polled offset, in order, and tells the task.
func (d *driver) commit() {
	d.t.Helper()
	newest := map[string]connect.SourceOffset{}
	d.store.mu.Lock()
	for _, o := range d.pending {
		k := partKey(o.Partition)
		newest[k] = o
		if d.discard {
			continue // memory tests: the framework's store is not the task's memory
		}
		if o.Offset == nil {
			delete(d.store.m, k)
		} else {
			d.store.m[k] = o
		}
	}
	d.store.mu.Unlock()
	d.pending = nil
	var offs []connect.SourceOffset
	for _, o := range newest {
		offs = append(offs, o)
	}
	if err := d.task.Commit(context.Background(), offs); err != nil {
		d.t.Fatalf("Commit: %v", err)
	}
}

// run polls and commits until cond holds, failing after timeout.
func (d *driver) run(timeout time.Duration, what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out after %s waiting for %s; %d records so far; progress %v", timeout, what, len(d.recs), d.task.Progress())
		}
		d.poll()
		d.commit()
	}
}

// taskConfigs starts a connector with cfg and returns its configs for n
// tasks.
func taskConfigs(t *testing.T, cfg map[string]string, n int) []map[string]string {
	t.Helper()
	c := &connector{}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tcs, err := c.TaskConfigs(context.Background(), n)
	if err != nil || len(tcs) != n {
		t.Fatalf("TaskConfigs: %d, %v", len(tcs), err)
	}
	return tcs
}

// runTasks starts a driver for each task config over the store st, then
// polls and commits them in turn until they hold n records among them
// (or 30 s passed), and returns them.
func runTasks(t *testing.T, tcs []map[string]string, st *store, n int) []*driver {
	t.Helper()
	var ds []*driver
	for _, tc := range tcs {
		ds = append(ds, newDriver(t, tc, st))
	}
	total := func() int {
		sum := 0
		for _, d := range ds {
			sum += d.count()
		}
		return sum
	}
	deadline := time.Now().Add(30 * time.Second)
	for total() < n && time.Now().Before(deadline) {
		for _, d := range ds {
			d.poll()
			d.commit()
		}
	}
	return ds
}

// records returns the records polled so far.
func (d *driver) records() []rec {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]rec(nil), d.recs...)
}

func (d *driver) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.recs) + d.discarded
}

func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case []byte:
		return string(x)
	case *connect.StructValue:
		var parts []string
		for i, f := range x.Schema().Fields {
			parts = append(parts, fmt.Sprintf("%s=%v", f.Name, fmtValue(x.GetIndex(i))))
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case connect.Decimal:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

// lines makes n lines "<prefix>-<i>".
func lines(prefix string, n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s-%d\n", prefix, i)
	}
	return []byte(b.String())
}

// exactlyOnce checks that every wanted value arrived exactly once.
func exactlyOnce(t *testing.T, got []rec, want []string) {
	t.Helper()
	counts := map[string]int{}
	for _, r := range got {
		counts[r.value]++
	}
	bad := 0
	for _, w := range want {
		if c := counts[w]; c != 1 {
			if bad < 10 {
				t.Errorf("%q arrived %d times", w, c)
			}
			bad++
		}
		delete(counts, w)
	}
	for v, c := range counts {
		if bad < 10 {
			t.Errorf("%q arrived %d times, not wanted", v, c)
		}
		bad++
	}
	if bad > 0 {
		t.Fatalf("%d values wrong of %d wanted, %d received", bad, len(want), len(got))
	}
}

func wantLines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}
