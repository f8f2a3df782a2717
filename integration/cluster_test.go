package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// pipeline is a datagen → Kafka → file sink pair of connectors.
type pipeline struct {
	gen, sink string
	topic     string
	out       string
	n, tasks  int
}

func (c *cluster) createPipeline(via, viaSink *workerProc, name string, n, tasks int, rate int) pipeline {
	c.t.Helper()
	p := pipeline{gen: name + "-gen", sink: name + "-sink", topic: name, out: filepath.Join(c.t.TempDir(), name+".txt"), n: n, tasks: tasks}
	gen := map[string]string{
		"connector.class": "datagen", "topic": p.topic, "schema": "string",
		"count": fmt.Sprint(n), "rate": fmt.Sprint(rate), "batch.size": "20", "tasks.max": fmt.Sprint(tasks),
	}
	if _, err := via.client.CreateConnector(context.Background(), p.gen, gen); err != nil {
		c.t.Fatalf("create %s through %s: %v", p.gen, via.id, err)
	}
	sink := map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": p.topic, "file": p.out}
	if _, err := viaSink.client.CreateConnector(context.Background(), p.sink, sink); err != nil {
		c.t.Fatalf("create %s through %s: %v", p.sink, viaSink.id, err)
	}
	return p
}

// underWay waits until the pipeline's connectors run everywhere and a
// quarter of its records are in Kafka, and returns the source's status.
func (c *cluster) underWay(p pipeline) herder.ConnectorStatus {
	c.t.Helper()
	st := c.waitRunning(p.gen, p.tasks)
	c.waitRunning(p.sink, 1)
	waitFor(c.t, 60*time.Second, "a quarter of the records in Kafka", func() (bool, string) {
		got := topicCount(c.t, c.broker.bootstrap(), p.topic)
		return got >= int64(p.n/4), fmt.Sprint(got)
	})
	return st
}

// check counts the pipeline's records in Kafka and in the file: every id
// exactly once plus at most maxDup duplicates in each.
func (c *cluster) check(p pipeline, maxDup int) { c.checkReplay(p, maxDup, -1) }

// checkReplay is check where the sink file may replay only from record
// replayFrom (its task's last committed offset; -1: from any record).
func (c *cluster) checkReplay(p pipeline, maxDup int, replayFrom int64) {
	c.t.Helper()
	ids, total := datagenIDs(c.t, c.broker.bootstrap(), p.topic, p.n)
	checkIDs(c.t, p.topic+" topic", ids, total, p.n, maxDup)
	waitFor(c.t, 60*time.Second, "the sink file to hold every id", func() (bool, string) {
		ids, _ := fileIDs(c.t, p.out)
		return len(ids) == p.n, fmt.Sprintf("%d distinct of %d", len(ids), p.n)
	})
	fids, ftotal := fileIDs(c.t, p.out)
	checkIDs(c.t, p.topic+" sink file", fids, ftotal, p.n, ftotal-p.n)
	checkReplayed(c.t, p.topic+" sink file", topicPayloads(c.t, c.broker.bootstrap(), p.topic, total), fileLines(c.t, p.out), maxDup == 0, replayFrom)
}

// sinkCommitted returns the offset the pipeline's sink task has committed
// on its one-partition topic, -1 before its first commit.
func (c *cluster) sinkCommitted(p pipeline) int64 {
	c.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.broker.bootstrap()))
	if err != nil {
		c.t.Fatal(err)
	}
	defer cl.Close()
	got, err := kadm.NewClient(cl).FetchOffsets(context.Background(), "connect-"+p.sink)
	if err != nil {
		c.t.Fatalf("offsets of %s's group: %v", p.sink, err)
	}
	if o, ok := got.Lookup(p.topic, 0); ok && o.Err == nil {
		return o.At
	}
	return -1
}

// checkReplayed asserts that a sink's output is the topic's records in
// order, except that after some point it starts again from an earlier
// record (the last committed offset) and carries on in order: duplicates
// only after the last committed offset. With none, nothing may repeat;
// with from at 0 or more, a replay must start at record from.
func checkReplayed(t *testing.T, what string, topic, out []string, none bool, from int64) {
	t.Helper()
	k := 0
	for k < len(out) && k < len(topic) && out[k] == topic[k] {
		k++
	}
	if k == len(out) {
		return
	}
	if none {
		t.Fatalf("%s: line %d is %q, want %q: records repeated or out of order", what, k, out[k], topic[min(k, len(topic)-1)])
	}
	replay := slices.Index(topic[:k], out[k])
	if replay < 0 {
		t.Fatalf("%s: line %d (%q) is neither the next record nor a replay of an earlier one", what, k, out[k])
	}
	if from >= 0 && int64(replay) != from {
		t.Fatalf("%s: after %d records the output replays from record %d, not from the committed offset %d", what, k, replay, from)
	}
	rest := out[k:]
	if len(rest) > len(topic)-replay || !slices.Equal(rest, topic[replay:replay+len(rest)]) {
		t.Fatalf("%s: from line %d the output replays from record %d but then departs from the topic's order", what, k, replay)
	}
	t.Logf("%s: %d records, then a replay from record %d (%d repeated after the last committed offset)", what, k, replay, k-replay)
}

// topicPayloads returns the datagen payloads of a one-partition topic in
// order.
func topicPayloads(t *testing.T, bootstrap, topic string, want int) []string {
	t.Helper()
	var out []string
	for _, v := range kafkatest.ReadValues(t, []string{bootstrap}, topic, want) {
		var env struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(v), &env); err != nil {
			t.Fatalf("record %s is not a JSON envelope: %v", v, err)
		}
		out = append(out, env.Payload)
	}
	return out
}

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// TestClusterSharesWork creates connectors through different workers of a
// three-worker cluster: the writes reach the leader whichever worker takes
// them, the work spreads over the workers, and every worker reports the
// same statuses.
func TestClusterSharesWork(t *testing.T) {
	c := newCluster(t, 3)
	w := c.workers
	a := c.createPipeline(w[0], w[1], "a", 3000, 3, 1000)
	b := c.createPipeline(w[2], w[0], "b", 3000, 3, 1000)
	stA := c.waitRunning(a.gen, 3)
	stB := c.waitRunning(b.gen, 3)
	c.waitRunning(a.sink, 1)
	c.waitRunning(b.sink, 1)

	// As Kafka Connect's assignor: connectors spread evenly, tasks spread
	// evenly, and each connector's tasks over distinct workers.
	conns, tasks := map[string]int{}, map[string]int{}
	for _, wp := range w {
		conns[wp.id], tasks[wp.id] = 0, 0
	}
	for _, name := range []string{a.gen, b.gen, a.sink, b.sink} {
		st := c.statuses(name)[w[0].id]
		conns[st.Connector.WorkerID]++
		seen := map[string]bool{}
		for _, ts := range st.Tasks {
			tasks[ts.WorkerID]++
			if seen[ts.WorkerID] {
				t.Errorf("%s runs two tasks on %s while a worker has none of them: %v", name, ts.WorkerID, owners(st))
			}
			seen[ts.WorkerID] = true
		}
	}
	spread := func(m map[string]int) int {
		lo, hi := 1<<30, 0
		for _, n := range m {
			lo, hi = min(lo, n), max(hi, n)
		}
		return hi - lo
	}
	if spread(conns) > 1 || spread(tasks) > 1 {
		t.Errorf("uneven spread: connectors per worker %v, tasks per worker %v", conns, tasks)
	}
	t.Logf("connectors per worker %v, tasks per worker %v; %s: %v; %s: %v", conns, tasks, a.gen, owners(stA), b.gen, owners(stB))

	// Every worker serves reads of the whole cluster alike.
	for _, wp := range w {
		names, err := wp.client.Connectors(context.Background())
		if err != nil || !slices.Equal(names, []string{a.gen, a.sink, b.gen, b.sink}) {
			t.Errorf("%s lists %v, %v", wp.id, names, err)
		}
		info, err := wp.client.ServerInfo(context.Background())
		if err != nil || info.KafkaClusterID == "" {
			t.Errorf("%s GET / = %+v, %v; want the Kafka cluster id", wp.id, info, err)
		}
	}
	c.check(a, 0)
	c.check(b, 0)
}

// TestClusterWorkerLeaves takes away the worker running a source task
// while a pipeline runs, with SIGKILL and with SIGTERM: its work moves to
// the survivors and no record is lost. A killed worker's tasks repeat what
// they produced after their last offset commit; a stopped worker drains
// and commits its tasks before it leaves, so nothing repeats.
func TestClusterWorkerLeaves(t *testing.T) {
	tests := []struct {
		name  string
		leave func(w *workerProc)
		// Offsets are committed every 200 ms, so a killed task repeats
		// what it produced after its last commit: at 1500/s a few hundred
		// records; the bound is a whole second's worth.
		maxDup int
	}{
		{"killed", func(w *workerProc) { w.KillNow() }, 1500},
		{"stopped", func(w *workerProc) { w.Stop() }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 3)
			w := c.workers
			p := c.createPipeline(w[0], w[1], tt.name, 9000, 3, 1500)
			st := c.underWay(p)
			// The worker running the sink task: with three source tasks
			// over three workers it runs one of those too.
			victim := c.worker(c.waitRunning(p.sink, 1).Tasks[0].WorkerID)
			// A sink task killed before its first commit rightly
			// replays from the start; after one, from its last commit.
			waitFor(t, 60*time.Second, "the sink's first commit", func() (bool, string) {
				o := c.sinkCommitted(p)
				return o > 0, fmt.Sprint(o)
			})
			left := time.Now()
			tt.leave(victim)
			// Nothing commits for the sink's group now until the
			// victim's consumer session (45 s) expires and a new task
			// joins; a second lets a commit the victim had sent land.
			replayFrom := int64(-1)
			if tt.maxDup > 0 {
				time.Sleep(time.Second)
				replayFrom = c.sinkCommitted(p)
			}
			after := c.waitRunning(p.gen, 3)
			c.waitRunning(p.sink, 1)
			t.Logf("%s %s, which ran %v; work moved in %s: %v; the sink had committed %d", tt.name, victim.id, owners(st)[victim.id], time.Since(left).Round(time.Millisecond), owners(after), replayFrom)
			c.checkReplay(p, tt.maxDup, replayFrom)
		})
	}
}

// TestClusterWorkerJoins adds a worker to a running two-worker cluster:
// work spreads to it, and tasks on the other workers keep running through
// the rebalance (their plugin processes are the same before and after).
func TestClusterWorkerJoins(t *testing.T) {
	c := newCluster(t, 2)
	w := c.workers
	const n = 15000
	p := c.createPipeline(w[0], w[1], "j", n, 4, 1500)
	before := c.waitRunning(p.gen, 4)
	c.waitRunning(p.sink, 1)
	pids := map[string][]int{}
	for id, insts := range owners(before) {
		for _, inst := range insts {
			pids[inst] = c.worker(id).pluginPIDs(inst)
		}
	}
	joined := c.addWorker(freePort(t))
	var after herder.ConnectorStatus
	waitFor(t, 60*time.Second, "work to spread to the new worker", func() (bool, string) {
		after = c.waitRunning(p.gen, 4)
		return len(owners(after)[joined.id]) > 0, fmt.Sprint(owners(after))
	})
	stayed := 0
	for id, insts := range owners(after) {
		if id == joined.id {
			continue
		}
		for _, inst := range insts {
			if slices.Contains(owners(before)[id], inst) {
				stayed++
				if got := c.worker(id).pluginPIDs(inst); !slices.Equal(got, pids[inst]) {
					t.Errorf("%s stayed on %s but its plugin process changed from %v to %v: it was stopped during the rebalance", inst, id, pids[inst], got)
				}
			}
		}
	}
	if stayed == 0 {
		t.Fatalf("no instance stayed where it was: before %v, after %v", owners(before), owners(after))
	}
	t.Logf("before: %v; after: %v; %d instances kept running", owners(before), owners(after), stayed)
	c.check(p, 0)
}

// TestClusterRestart stops the whole cluster and starts it again on the
// same topics: connectors, target states, task configs and offsets come
// back from the topics alone.
func TestClusterRestart(t *testing.T) {
	c := newCluster(t, 2)
	w := c.workers
	ctx := context.Background()
	const n = 8000
	p := c.createPipeline(w[0], w[1], "r", n, 2, 1000)
	paused := map[string]string{"connector.class": "datagen", "topic": "paused", "schema": "string", "count": "100", "tasks.max": "2"}
	if _, err := w[1].client.CreateConnectorInState(ctx, "held", paused, herder.TargetPaused); err != nil {
		t.Fatal(err)
	}
	c.underWay(p)
	tasksBefore, err := w[0].client.TaskConfigs(ctx, p.gen)
	if err != nil {
		t.Fatal(err)
	}
	for _, wp := range w {
		wp.Stop()
	}
	c.workers = nil
	for range 2 {
		c.addWorker(freePort(t))
	}
	c.waitStable()
	w = c.workers
	names, err := w[0].client.Connectors(ctx)
	if err != nil || !slices.Equal(names, []string{"held", p.gen, p.sink}) {
		t.Fatalf("connectors after restart: %v, %v", names, err)
	}
	tasksAfter, err := w[1].client.TaskConfigs(ctx, p.gen)
	if err != nil || !slices.EqualFunc(tasksBefore, tasksAfter, func(a, b herder.TaskInfo) bool { return a.ID == b.ID && maps.Equal(a.Config, b.Config) }) {
		t.Fatalf("task configs after restart: %v, %v; before: %v", tasksAfter, err, tasksBefore)
	}
	waitFor(t, 60*time.Second, "held to be paused again", func() (bool, string) {
		st, err := w[0].client.ConnectorStatus(ctx, "held")
		if err != nil || st.Connector.State != herder.Paused || len(st.Tasks) != 2 {
			return false, fmt.Sprintf("%+v %v", st, err)
		}
		for _, ts := range st.Tasks {
			if ts.State != herder.Paused {
				return false, fmt.Sprintf("%+v", st)
			}
		}
		return true, ""
	})
	c.waitRunning(p.gen, 2)
	// Offsets came back: the source resumed where it stopped.
	c.check(p, 0)
	if got := topicCount(t, c.broker.bootstrap(), "paused"); got != 0 {
		t.Errorf("the paused connector wrote %d records", got)
	}
}

// TestClusterBrokerRestart restarts the broker under a running cluster: the
// workers recover by themselves and no record is lost.
func TestClusterBrokerRestart(t *testing.T) {
	c := newCluster(t, 2)
	w := c.workers
	const n = 9000
	p := c.createPipeline(w[0], w[1], "br", n, 2, 1000)
	c.underWay(p)
	c.broker.KillNow()
	time.Sleep(2 * time.Second) // the workers notice the broker is gone
	c.broker = startBrokerProc(t, c.broker.port, c.broker.dataDir)
	c.waitStable()
	c.waitRunning(p.gen, 2)
	c.waitRunning(p.sink, 1)
	c.check(p, 1000)
}

// TestClusterWriteDuringRebalance sends connector creates while a
// rebalance cannot finish, because a member is frozen (SIGSTOP) and the
// coordinator waits for it until its session times out. Writes wait up to
// worker.sync.timeout.ms for the rebalance, then answer 409; a refused
// create leaves no trace, and every accepted one is whole.
func TestClusterWriteDuringRebalance(t *testing.T) {
	c := newClusterWith(t, 3, map[string]string{"worker.sync.timeout.ms": "500", "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"})
	ctx := context.Background()
	frozen := c.workers[2]
	var mu sync.Mutex
	codes := map[int]int{}
	created := map[string]map[string]string{}
	refused := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		via := c.workers[g]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("c%d-%d", g, i)
				cfg := map[string]string{"connector.class": "datagen", "topic": "rb", "count": "1", "rate": fmt.Sprint(i + 1)}
				_, err := via.client.CreateConnectorInState(ctx, name, cfg, herder.TargetStopped)
				var ae *api.APIError
				mu.Lock()
				switch {
				case err == nil:
					codes[http.StatusCreated]++
					created[name] = cfg
				case errors.As(err, &ae):
					codes[ae.Code]++
					if ae.Code != http.StatusConflict {
						t.Errorf("create %s: %v; want 201 or 409", name, err)
					}
					refused[name] = ae.Message
				default:
					t.Errorf("create %s: %v", name, err)
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	frozen.Signal(syscall.SIGSTOP)
	c.addWorkerNoWait(freePort(t)) // starts a rebalance the frozen member holds up
	time.Sleep(4 * time.Second)
	frozen.Signal(syscall.SIGCONT)
	c.waitStable()
	close(stop)
	wg.Wait()
	t.Logf("answers: %v", codes)
	if codes[http.StatusConflict] == 0 {
		t.Errorf("no write was refused while the rebalance was held up: %v", codes)
	}
	for name, msg := range refused {
		if msg != "Cannot complete request because of a conflicting operation (e.g. worker rebalance)" {
			t.Errorf("create %s refused with %q", name, msg)
			break
		}
	}
	for _, wp := range c.live() {
		names, err := wp.client.Connectors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != len(created) {
			t.Errorf("%s lists %d connectors, %d creates succeeded", wp.id, len(names), len(created))
		}
		for _, n := range names {
			cfg, ok := created[n]
			if !ok {
				t.Errorf("%s lists %s, whose create was refused", wp.id, n)
				continue
			}
			got, err := wp.client.ConnectorConfig(ctx, n)
			want := maps.Clone(cfg)
			want["name"] = n
			if err != nil || !maps.Equal(got, want) {
				t.Errorf("%s: config of %s = %v, %v; want %v", wp.id, n, got, err, want)
			}
		}
	}
}

// TestClusterLifecycle drives one connector through every lifecycle call,
// each sent to a different worker than the last: pause, resume,
// reconfigure, restart, task restart, stop, resume, delete.
func TestClusterLifecycle(t *testing.T) {
	c := newCluster(t, 3)
	w := c.workers
	ctx := context.Background()
	cfg := map[string]string{"connector.class": "datagen", "topic": "life", "schema": "string", "rate": "50", "tasks.max": "2"}
	if _, err := w[0].client.CreateConnector(ctx, "life", cfg); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("life", 2)

	waitAll := func(what string, want herder.State, tasks int) {
		t.Helper()
		waitFor(t, 60*time.Second, "life "+what, func() (bool, string) {
			for id, st := range c.statuses("life") {
				if st.Connector.State != want || len(st.Tasks) != tasks {
					return false, fmt.Sprintf("%s sees %+v", id, st)
				}
				for _, ts := range st.Tasks {
					if ts.State != want {
						return false, fmt.Sprintf("%s sees %+v", id, st)
					}
				}
			}
			return true, ""
		})
	}
	if err := w[1].client.PauseConnector(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	waitAll("paused", herder.Paused, 2)
	if err := w[2].client.ResumeConnector(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("life", 2)

	// Reconfigure through a third worker: three tasks.
	cfg["tasks.max"] = "3"
	if _, _, err := w[1].client.PutConnectorConfig(ctx, "life", cfg); err != nil {
		t.Fatal(err)
	}
	st := c.waitRunning("life", 3)

	// Restart the connector and its tasks: every instance gets a new
	// plugin process.
	pids := map[string][]int{}
	for id, insts := range owners(st) {
		for _, inst := range insts {
			pids[inst] = c.worker(id).pluginPIDs(inst)
		}
	}
	plan, err := w[2].client.RestartConnector(ctx, "life", true, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Connector.State != herder.Restarting || len(plan.Tasks) != 3 || plan.Tasks[2].State != herder.Restarting {
		t.Errorf("restart plan %+v; want everything RESTARTING", plan)
	}
	waitFor(t, 60*time.Second, "every instance in a new plugin process", func() (bool, string) {
		st := c.waitRunning("life", 3)
		for id, insts := range owners(st) {
			for _, inst := range insts {
				got := c.worker(id).pluginPIDs(inst)
				if len(got) != 1 || slices.Equal(got, pids[inst]) {
					return false, fmt.Sprintf("%s: %v, before %v", inst, got, pids[inst])
				}
			}
		}
		return true, ""
	})

	// Restart task 1 through a worker that does not run it.
	st = c.waitRunning("life", 3)
	owner := c.worker(st.Tasks[1].WorkerID)
	var other *workerProc
	for _, wp := range w {
		if wp != owner {
			other = wp
		}
	}
	before := owner.pluginPIDs("life-1")
	if err := other.client.RestartTask(ctx, "life", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "task 1 in a new plugin process", func() (bool, string) {
		got := owner.pluginPIDs("life-1")
		return len(got) == 1 && !slices.Equal(got, before), fmt.Sprintf("%v, before %v", got, before)
	})
	c.waitRunning("life", 3)

	// Stop: no tasks, no plugin processes; resume: running again.
	if err := w[0].client.StopConnector(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	waitAll("stopped", herder.Stopped, 0)
	// The status says STOPPED once the connector has stopped and its task
	// configs are gone; each task's worker stops it in its own time (as
	// in Kafka Connect), so its process may take a moment to end.
	waitFor(t, 60*time.Second, "no plugin process after stop", func() (bool, string) {
		for _, wp := range w {
			for _, inst := range []string{"life", "life-0", "life-1", "life-2"} {
				if p := wp.pluginPIDs(inst); len(p) != 0 {
					return false, fmt.Sprintf("%s still runs %s (pids %v) after stop", wp.id, inst, p)
				}
			}
		}
		return true, ""
	})
	if err := w[1].client.ResumeConnector(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("life", 3)

	// Delete: gone everywhere, with its processes.
	if err := w[2].client.DeleteConnector(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "life to be gone everywhere", func() (bool, string) {
		for _, wp := range w {
			if _, err := wp.client.ConnectorStatus(ctx, "life"); !errors.Is(err, herder.ErrNotFound) {
				return false, fmt.Sprintf("%s: %v", wp.id, err)
			}
			for _, inst := range []string{"life", "life-0", "life-1", "life-2"} {
				if p := wp.pluginPIDs(inst); len(p) != 0 {
					return false, fmt.Sprintf("%s still runs %s", wp.id, inst)
				}
			}
		}
		return true, ""
	})
}
