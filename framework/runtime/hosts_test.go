package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/connectd/connectd/framework/herder"
)

// sharedHost is what a test sees of one of the worker's shared plugin
// processes.
type sharedHost struct {
	pid, refs int
}

// sharedHosts returns the worker's running shared plugin processes, by
// connector.
func (e *env) sharedHosts() map[string]sharedHost {
	p := e.h.w.hosts
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]sharedHost{}
	for key, ph := range p.hosts {
		select {
		case <-ph.ready:
		default:
			continue // launching
		}
		if ph.host == nil || exited(ph.host) {
			continue
		}
		_, conn, _ := strings.Cut(key, "\x00")
		out[conn] = sharedHost{pid: ph.host.Pid(), refs: ph.refs}
	}
	return out
}

// restarts returns how often the worker restarted a task because its
// plugin process died (connectd_task_restarts_total).
func (e *env) restarts(conn string, task int) float64 {
	var m dto.Metric
	if err := e.h.w.Metrics.restarts.WithLabelValues(conn, strconv.Itoa(task)).Write(&m); err != nil {
		e.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// checkNothingLost checks that every record of tasks tasks×count arrived,
// and that a record repeats only after its task's offset committed before
// the event that could repeat it (since[task]).
func checkNothingLost(t *testing.T, vals []string, tasks, count int, since map[int]int64) {
	t.Helper()
	got := counts(vals)
	for task := 0; task < tasks; task++ {
		for n := 0; n < count; n++ {
			v := fmt.Sprintf("%d-%d", task, n)
			switch c := got[v]; {
			case c == 0:
				t.Fatalf("record %s lost", v)
			case c > 1 && int64(n) <= since[task]:
				t.Fatalf("record %s delivered %d times, though its offset was committed before", v, c)
			}
		}
	}
}

// TestConnectorIsolationSharesOneProcess: with plugin.isolation=connector
// a connector's instance and its three tasks run in one plugin process,
// each task with its own stream. Restarting one task leaves the process
// and its siblings alone (they deliver every record exactly once); a
// kill -9 of the process fails all of them, restarts them in a new
// process, and nothing is lost.
func TestConnectorIsolationSharesOneProcess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "connector")
	const tasks, count = 3, 3000
	e.put("c1", map[string]string{"connector.class": "counter", "tasks.max": fmt.Sprint(tasks), "topic": "t1",
		"count": fmt.Sprint(count), "batch": "10", "delay.ms": "5"})
	for i := 0; i < tasks; i++ {
		e.waitTaskState("c1", i, herder.Running, "")
	}
	var first sharedHost
	waitFor(t, "one process hosting the connector and its tasks", func() (bool, string) {
		hs := e.sharedHosts()
		first = hs["c1"]
		return len(hs) == 1 && first.refs == tasks+1, fmt.Sprint(hs)
	})

	// One task restarted: the same process, the others untouched.
	waitFor(t, "some offsets committed", func() (bool, string) {
		c := e.committedN("c1")
		return c[`{"task":"1"}`] > 50, fmt.Sprint(c)
	})
	atRestart := e.committedN("c1")[`{"task":"1"}`]
	if err := e.h.RestartTask(context.Background(), herder.TaskID{Connector: "c1", Task: 1}); err != nil {
		t.Fatal(err)
	}
	e.waitTaskState("c1", 1, herder.Running, "")
	if hs := e.sharedHosts(); len(hs) != 1 || hs["c1"].pid != first.pid {
		t.Fatalf("after restarting task 1 the processes are %v, want the first one (pid %d)", hs, first.pid)
	}

	// kill -9 of the process: every task fails, then runs again in a new
	// process.
	waitFor(t, "offsets committed by every task", func() (bool, string) {
		c := e.committedN("c1")
		return c[`{"task":"0"}`] > 100 && c[`{"task":"2"}`] > 100, fmt.Sprint(c)
	})
	before := e.committedN("c1")
	if err := syscall.Kill(first.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every task restarted after the kill", func() (bool, string) {
		var states []string
		ok := true
		for i := 0; i < tasks; i++ {
			st, _ := e.h.TaskStatus(context.Background(), herder.TaskID{Connector: "c1", Task: i})
			r := e.restarts("c1", i)
			states = append(states, fmt.Sprintf("%d:%s restarts=%v", i, st.State, r))
			ok = ok && r >= 1 && st.State == herder.Running
		}
		return ok, strings.Join(states, " ")
	})
	var second sharedHost
	waitFor(t, "a new process hosting them all", func() (bool, string) {
		hs := e.sharedHosts()
		second = hs["c1"]
		return len(hs) == 1 && second.refs == tasks+1 && second.pid != first.pid, fmt.Sprint(hs)
	})
	since := map[int]int64{}
	for i := 0; i < tasks; i++ {
		since[i] = before[fmt.Sprintf(`{"task":"%d"}`, i)]
	}
	since[1] = min(since[1], atRestart)
	checkNothingLost(t, e.readTopic("t1", tasks*count), tasks, count, since)
}

// TestConnectorIsolationTaskErrorStaysWithTheTask: a task failing on its
// own error in a shared process leaves the process and its siblings
// running; they deliver every record exactly once.
func TestConnectorIsolationTaskErrorStaysWithTheTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "connector")
	e.put("c1", map[string]string{"connector.class": "counter", "tasks.max": "3", "topic": "t1",
		"count": "400", "batch": "10", "fail.at": "150", "fail.task": "1"})
	st := e.waitTaskState("c1", 1, herder.Failed, "injected failure at 150")
	if strings.Contains(st.Trace, "plugin process exited") {
		t.Fatalf("a task error was reported as a crash: %s", st.Trace)
	}
	pid := e.sharedHosts()["c1"].pid
	vals := e.readTopic("t1", 2*400+150)
	want := wantValues(3, 400)
	for n := 150; n < 400; n++ {
		delete(want, fmt.Sprintf("1-%d", n))
	}
	if d := diffCounts(want, counts(vals)); d != "" {
		t.Fatal(d)
	}
	for _, i := range []int{0, 2} {
		e.waitTaskState("c1", i, herder.Running, "")
		if r := e.restarts("c1", i); r != 0 {
			t.Fatalf("task %d restarted %v times", i, r)
		}
	}
	if hs := e.sharedHosts(); len(hs) != 1 || hs["c1"].pid != pid || hs["c1"].refs != 3 {
		t.Fatalf("processes %v, want the first (pid %d) hosting the connector and two running tasks", hs, pid)
	}
}

// TestConnectorIsolationTaskJoinsProcess: a task started while the
// connector's process runs on the worker joins it (as a task a rebalance
// moves here does); the process ends with its last instance, and the next
// launch starts a new one.
func TestConnectorIsolationTaskJoinsProcess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "connector")
	w := e.h.w
	entry, err := e.reg.Lookup("counter")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := map[string]string{"connector.class": "counter"}
	t0, err := w.launchTask(ctx, entry, herder.TaskID{Connector: "j", Task: 0}, cfg, w.Logger)
	if err != nil {
		t.Fatal(err)
	}
	pid := e.sharedHosts()["j"].pid
	t1, err := w.launchTask(ctx, entry, herder.TaskID{Connector: "j", Task: 1}, cfg, w.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if hs := e.sharedHosts(); len(hs) != 1 || hs["j"] != (sharedHost{pid: pid, refs: 2}) {
		t.Fatalf("processes %v, want pid %d hosting two tasks", hs, pid)
	}
	// A task of another connector gets a process of its own.
	o0, err := w.launchTask(ctx, entry, herder.TaskID{Connector: "other", Task: 0}, cfg, w.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if hs := e.sharedHosts(); len(hs) != 2 || hs["other"].pid == pid {
		t.Fatalf("processes %v, want one per connector", hs)
	}
	o0.Close()
	t0.Close()
	if info, err := t1.Info(ctx); err != nil || info.Name != "counter" {
		t.Fatalf("task 1 after task 0 closed: %+v, %v", info, err)
	}
	t1.Close()
	if hs := e.sharedHosts(); len(hs) != 0 {
		t.Fatalf("processes %v after every instance closed", hs)
	}
	t2, err := w.launchTask(ctx, entry, herder.TaskID{Connector: "j", Task: 0}, cfg, w.Logger)
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Close()
	if hs := e.sharedHosts(); len(hs) != 1 || hs["j"].pid == pid {
		t.Fatalf("processes %v, want a new one", hs)
	}
}
