package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// Plugins served by re-executing the test binary (TestMain).
var processPlugins = []Plugin{
	{Name: "seq", NewSource: func() connect.SourceConnector { return seqConnector{} }},
	{Name: "judge", NewSink: func() connect.SinkConnector { return judgeConnector{} }},
}

var rawConverters = map[string]string{
	"key.converter":   "org.apache.kafka.connect.converters.ByteArrayConverter",
	"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
}

func withRaw(cfg map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range rawConverters {
		out[k] = v
	}
	for k, v := range cfg {
		out[k] = v
	}
	return out
}

// seqConnector's task writes "<name>-<n>" for n from 0, a batch of
// "batch" records per poll; with "panic.at" it panics at that record.
type seqConnector struct{}

func (seqConnector) Config() *connect.ConfigDef                     { return connect.NewConfigDef() }
func (seqConnector) Start(context.Context, map[string]string) error { return nil }
func (seqConnector) Stop(context.Context) error                     { return nil }
func (seqConnector) NewTask() connect.SourceTask                    { return &seqTask{} }
func (seqConnector) TaskConfigs(_ context.Context, n int) ([]map[string]string, error) {
	return make([]map[string]string, n), nil
}

type seqTask struct {
	name           string
	next, panicAt  int
	batch          int
	failAt, exitAt int
}

func (t *seqTask) Start(_ context.Context, cfg map[string]string, _ connect.OffsetReader) error {
	t.name = cfg["name"]
	t.batch, _ = strconv.Atoi(cfg["batch"])
	t.batch = max(t.batch, 1)
	t.panicAt, t.failAt = -1, -1
	if v, ok := cfg["panic.at"]; ok {
		t.panicAt, _ = strconv.Atoi(v)
	}
	if v, ok := cfg["fail.at"]; ok {
		t.failAt, _ = strconv.Atoi(v)
	}
	return nil
}
func (t *seqTask) Stop(context.Context) error { return nil }
func (t *seqTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	var out []*connect.Record
	for range t.batch {
		if t.next == t.panicAt {
			panic(fmt.Sprintf("seq %s: boom at %d", t.name, t.next))
		}
		if t.next == t.failAt {
			return out, fmt.Errorf("seq %s: failed at %d", t.name, t.next)
		}
		out = append(out, &connect.Record{Topic: "t", Partition: -1, Value: []byte(fmt.Sprintf("%s-%d", t.name, t.next)),
			SourcePartition: map[string]any{"task": t.name}, SourceOffset: map[string]any{"n": int64(t.next)}})
		t.next++
	}
	select { // a low rate, as most tasks of a shared process have
	case <-ctx.Done():
	case <-time.After(time.Millisecond):
	}
	return out, nil
}

// judgeConnector's task rejects records whose value starts with "bad",
// reports those starting with "late" (connect.ErrantRecordReporter), fails
// the put with a retriable error on "busy", blocks on "block" until the
// call is cancelled, and panics on "panic".
type judgeConnector struct{}

func (judgeConnector) Config() *connect.ConfigDef                     { return connect.NewConfigDef() }
func (judgeConnector) Start(context.Context, map[string]string) error { return nil }
func (judgeConnector) Stop(context.Context) error                     { return nil }
func (judgeConnector) NewTask() connect.SinkTask                      { return &judgeTask{} }
func (judgeConnector) TaskConfigs(_ context.Context, n int) ([]map[string]string, error) {
	return make([]map[string]string, n), nil
}

type judgeTask struct {
	reporter connect.ErrantRecordReporter
	put      int
}

func (j *judgeTask) SetErrantRecordReporter(r connect.ErrantRecordReporter) { j.reporter = r }
func (j *judgeTask) Start(context.Context, map[string]string) error         { return nil }
func (j *judgeTask) Stop(context.Context) error                             { return nil }
func (j *judgeTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	return nil
}
func (j *judgeTask) Put(ctx context.Context, recs []*connect.Record) error {
	var be connect.BatchError
	for i, r := range recs {
		v := string(r.Value.([]byte))
		switch {
		case v == "panic":
			panic("judge: told to panic")
		case v == "busy":
			return connect.Retriable(errors.New("judge: busy"))
		case v == "block":
			<-ctx.Done()
			return ctx.Err()
		case strings.HasPrefix(v, "bad"):
			if be.Errs == nil {
				be.Errs = map[int]error{}
			}
			be.Errs[i] = fmt.Errorf("judge: %s refused", v)
		case strings.HasPrefix(v, "late"):
			j.reporter.Report(r, fmt.Errorf("judge: %s refused later", v))
		}
	}
	j.put += len(recs)
	if be.Errs != nil {
		return &be
	}
	return nil
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// launchHost starts the test binary serving name.
func launchHost(t testing.TB, name string) *Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := LaunchHost(ctx, exec.Command(os.Args[0], "plugin", "serve", name, name), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if !h.Shared() {
		t.Fatal("a process of this SDK does not host several instances")
	}
	return h
}

func open(t testing.TB, h *Host, name string) Client {
	t.Helper()
	c, err := h.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestHostRunsTasksSideBySide: three source tasks in one process, each
// with its own data channel and record stream; stopping one leaves the
// others streaming, and a task added later joins the same process.
func TestHostRunsTasksSideBySide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := launchHost(t, "seq")
	tasks := map[string]Client{}
	for _, n := range []string{"a", "b", "c"} {
		c := open(t, h, "seq-"+n)
		if err := c.SourceStart(ctx, withRaw(map[string]string{"name": n, "batch": "3"}), nil); err != nil {
			t.Fatal(err)
		}
		tasks[n] = c
	}
	// Each stream is its task's, in order.
	next := map[string]int{}
	pollUntil := func(name string, n int) {
		t.Helper()
		for next[name] < n {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			batch, err := tasks[name].SourcePoll(pctx)
			cancel()
			if err != nil {
				t.Fatalf("poll %s: %v", name, err)
			}
			for _, r := range batch {
				if want := fmt.Sprintf("%s-%d", name, next[name]); string(r.Value) != want {
					t.Fatalf("task %s: record %q, want %q", name, r.Value, want)
				}
				next[name]++
			}
		}
	}
	for _, n := range []string{"a", "b", "c"} {
		pollUntil(n, 30)
	}
	if err := tasks["b"].SourceStop(ctx); err != nil {
		t.Fatal(err)
	}
	tasks["b"].Close()
	d := open(t, h, "seq-d")
	if err := d.SourceStart(ctx, withRaw(map[string]string{"name": "d"}), nil); err != nil {
		t.Fatal(err)
	}
	tasks["d"] = d
	for _, n := range []string{"a", "c", "d"} {
		pollUntil(n, next[n]+30)
	}
	// A task failing on its own error ends its stream only.
	e := open(t, h, "seq-e")
	if err := e.SourceStart(ctx, withRaw(map[string]string{"name": "e", "fail.at": "5"}), nil); err != nil {
		t.Fatal(err)
	}
	var err error
	for err == nil {
		_, err = e.SourcePoll(ctx)
	}
	if !strings.Contains(err.Error(), "seq e: failed at 5") || errors.Is(err, ErrPluginExited) {
		t.Fatalf("task e's error: %v", err)
	}
	for _, n := range []string{"a", "c", "d"} {
		pollUntil(n, next[n]+10)
	}
	for _, n := range []string{"a", "c", "d"} {
		if err := tasks[n].SourceStop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHostCrashFailsEveryInstance: a panic in one task ends the process;
// every instance's calls then fail with ErrPluginExited, and the exit
// reason quotes the panic.
func TestHostCrashFailsEveryInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := launchHost(t, "seq")
	calm := open(t, h, "seq-calm")
	if err := calm.SourceStart(ctx, withRaw(map[string]string{"name": "calm"}), nil); err != nil {
		t.Fatal(err)
	}
	wild := open(t, h, "seq-wild")
	if err := wild.SourceStart(ctx, withRaw(map[string]string{"name": "wild", "panic.at": "50"}), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Client{calm, wild} {
		var err error
		for err == nil {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err = c.SourcePoll(pctx)
			cancel()
		}
		if !errors.Is(err, ErrPluginExited) || !strings.Contains(err.Error(), "panic: seq wild: boom at 50") {
			t.Fatalf("poll after the panic: %v; want ErrPluginExited quoting the panic", err)
		}
	}
	select {
	case <-h.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the host did not report the exit")
	}
	if err := h.ExitErr(); !strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "boom at 50") {
		t.Fatalf("exit reason %q", err)
	}
	if _, err := h.Open(ctx, "late"); !errors.Is(err, ErrPluginExited) {
		t.Fatalf("open after the exit: %v", err)
	}
}

// TestSinkBatchesOverTheDataChannel: put answers carry records the task
// rejected (by index), records it reported after the put that took them
// (as consumed), and its errors, retriable or not; two sink tasks of one
// process get their own answers.
func TestSinkBatchesOverTheDataChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := launchHost(t, "judge")
	a, b := open(t, h, "judge-a"), open(t, h, "judge-b")
	for _, c := range []Client{a, b} {
		if err := c.SinkStart(ctx, withRaw(nil)); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(off int64, v string) Record {
		return Record{Topic: "in", Partition: 1, Offset: off, Key: []byte("k"), Value: []byte(v), TimestampMs: 1700000000000,
			Headers: []Header{{Key: "h", Value: []byte("x")}}}
	}
	failed, err := a.SinkPut(ctx, []Record{rec(0, "ok"), rec(1, "bad-1"), rec(2, "late-2"), rec(3, "ok")})
	if err != nil {
		t.Fatal(err)
	}
	// The rejected record by its index; the reported one, with the record
	// as consumed, in the answer of the put during which it was reported.
	if len(failed) != 2 || failed[0].Index != 1 || failed[0].Record != nil || failed[0].Err.Stage != StagePut || failed[0].Err.Message != "judge: bad-1 refused" {
		t.Fatalf("first answer %+v", failed)
	}
	want := rec(2, "late-2")
	if failed[1].Index != -1 || failed[1].Err.Message != "judge: late-2 refused later" {
		t.Fatalf("report %+v", failed[1])
	}
	if d := cmp.Diff(&want, failed[1].Record); d != "" {
		t.Fatalf("reported record (-want +got):\n%s", d)
	}
	// b's answers are its own, and a's next answer has nothing left over.
	if failed, err := b.SinkPut(ctx, []Record{rec(0, "ok")}); err != nil || len(failed) != 0 {
		t.Fatalf("b: %+v, %v", failed, err)
	}
	if failed, err := a.SinkPut(ctx, nil); err != nil || len(failed) != 0 {
		t.Fatalf("a's empty put: %+v, %v", failed, err)
	}
	_, err = a.SinkPut(ctx, []Record{rec(4, "busy")})
	if err == nil || !connect.IsRetriable(err) || err.Error() != "judge: busy" {
		t.Fatalf("retriable put error: %v", err)
	}
	// A put whose call ends is cancelled in the task; the next one works.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = a.SinkPut(cctx, []Record{rec(5, "block")})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put past its deadline: %v", err)
	}
	if failed, err := a.SinkPut(ctx, []Record{rec(6, "ok"), rec(7, "bad-7")}); err != nil || len(failed) != 1 || failed[0].Index != 1 {
		t.Fatalf("put after a cancelled one: %+v, %v", failed, err)
	}
	// A task's panic ends the process: both tasks see it.
	if _, err := b.SinkPut(ctx, []Record{rec(1, "panic")}); !errors.Is(err, ErrPluginExited) || !strings.Contains(err.Error(), "judge: told to panic") {
		t.Fatalf("put that panics: %v", err)
	}
	if _, err := a.SinkPut(ctx, []Record{rec(8, "ok")}); !errors.Is(err, ErrPluginExited) {
		t.Fatalf("put after the process died: %v", err)
	}
}

// TestLaunchHostsOneInstance: Launch's Client ends its process on Close.
func TestLaunchHostsOneInstance(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Launch(ctx, exec.Command(os.Args[0], "plugin", "serve", "seq", "seq-0"), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Name != "seq" {
		t.Fatalf("Info: %+v, %v", info, err)
	}
	r := c.(*remote)
	c.Close()
	if !r.host.pc.Exited() {
		t.Fatal("the process outlived its only instance")
	}
}
