package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
)

// Distributed mode, measured on real processes: a broker and connectd
// workers. A datagen connector writes ids densely over its tasks
// (id mod tasks is the task), so a tailing consumer sees, from each
// record's producer timestamp, when each task produced.
//
//   - failover: kill -9 of the worker running a task, to that task
//     producing again elsewhere, divided by session.timeout.ms (with
//     scheduled.rebalance.max.delay.ms=0). Goal ≤ 1 + 2 s/session.
//   - handover: SIGTERM of the worker running a task, to that task
//     producing again elsewhere. Goal ≤ 1 s.
//   - join gap: during a worker's join, the longest gap between records of
//     tasks that did not move, divided by their longest gap in as long a
//     steady stretch just before. Goal: no gap beyond normal batching (≈1).
func BenchmarkCluster(b *testing.B) {
	const session = 3 * time.Second
	for range b.N {
		failover := measureFailover(b, session, false)
		handover := measureFailover(b, session, true)
		gapJoin, gapSteady := measureJoinGap(b, session)
		b.ReportMetric(failover.Seconds(), "failover-s")
		b.ReportMetric(failover.Seconds()/session.Seconds(), "failover/session")
		b.ReportMetric(1+2/session.Seconds(), "failover-goal")
		b.ReportMetric(handover.Seconds(), "handover-s")
		b.ReportMetric(gapJoin.Seconds()*1000, "join-gap-ms")
		b.ReportMetric(gapSteady.Seconds()*1000, "steady-gap-ms")
		b.ReportMetric(gapJoin.Seconds()/gapSteady.Seconds(), "join-gap/steady-gap")
	}
}

// benchCluster is a broker process and connectd worker processes.
type benchCluster struct {
	b         testing.TB
	bin       string
	bootstrap string
	broker    *proctest.Proc
	props     string
	workers   map[string]*proctest.Proc // by worker id
	clients   map[string]*api.Client
}

func newBenchCluster(b testing.TB, session time.Duration, brokerArgs ...string) *benchCluster {
	bin := proctest.Binary(b)
	args := append([]string{"broker", "--port", strconv.Itoa(proctest.FreePort(b)), "--data-dir", b.TempDir()}, brokerArgs...)
	broker := proctest.Start(b, "broker", []string{"Kafka bootstrap"}, bin, args...)
	c := &benchCluster{b: b, bin: bin, bootstrap: broker.Ready["Kafka bootstrap"], broker: broker, workers: map[string]*proctest.Proc{}, clients: map[string]*api.Client{}}
	c.props = strings.Join([]string{
		"bootstrap.servers=" + c.bootstrap,
		"group.id=bench", "config.storage.topic=cfg", "offset.storage.topic=off", "status.storage.topic=st",
		"offset.storage.partitions=5",
		fmt.Sprintf("session.timeout.ms=%d", session.Milliseconds()),
		fmt.Sprintf("heartbeat.interval.ms=%d", (session / 6).Milliseconds()),
		"scheduled.rebalance.max.delay.ms=0", "offset.flush.interval.ms=500",
	}, "\n")
	return c
}

func (c *benchCluster) addWorker() (string, *api.Client) {
	port := proctest.FreePort(c.b)
	path := filepath.Join(c.b.TempDir(), "worker.properties")
	if err := os.WriteFile(path, []byte(c.props+fmt.Sprintf("\nlisteners=http://127.0.0.1:%d\n", port)), 0o644); err != nil {
		c.b.Fatal(err)
	}
	p := proctest.Start(c.b, fmt.Sprintf("worker-%d", port), []string{"REST API"}, c.bin, "worker", "--log-level", "warn", path)
	id := fmt.Sprintf("127.0.0.1:%d", port)
	c.workers[id] = p
	cl := &api.Client{BaseURL: p.Ready["REST API"]}
	c.clients[id] = cl
	c.wait("worker to join", func() bool { _, err := cl.Health(context.Background()); return err == nil })
	return id, cl
}

// close kills the workers and then the broker, so that a benchmark's next
// cluster does not share the machine with this one.
func (c *benchCluster) close() {
	for _, p := range c.workers {
		p.Kill()
	}
	c.broker.Kill()
}

func (c *benchCluster) wait(what string, cond func() bool) {
	c.waitUpTo(90*time.Second, what, cond)
}

func (c *benchCluster) waitUpTo(d time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running waits until connector name has tasks tasks RUNNING on live
// workers and returns which worker runs each.
func (c *benchCluster) running(name string, tasks int) []string {
	var owners []string
	c.wait(name+" running", func() bool {
		var cl *api.Client
		for id, p := range c.workers {
			if p.Running() {
				cl = c.clients[id]
			}
		}
		st, err := cl.ConnectorStatus(context.Background(), name)
		if err != nil || len(st.Tasks) != tasks {
			return false
		}
		owners = owners[:0]
		for _, ts := range st.Tasks {
			if ts.State != herder.Running || c.workers[ts.WorkerID] == nil || !c.workers[ts.WorkerID].Running() {
				return false
			}
			owners = append(owners, ts.WorkerID)
		}
		return true
	})
	return owners
}

// tail consumes topic and records, per task, the producer timestamps of
// its records.
type tail struct {
	mu    sync.Mutex
	times map[int][]time.Time
	stop  context.CancelFunc
	done  chan struct{}
}

func startTail(b testing.TB, bootstrap, topic string, tasks int) *tail {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &tail{times: map[int][]time.Time{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var env struct{ Payload string }
				var v struct{ ID int64 }
				if json.Unmarshal(r.Value, &env) != nil || json.Unmarshal([]byte(env.Payload), &v) != nil {
					return
				}
				task := int(v.ID % int64(tasks))
				t.mu.Lock()
				t.times[task] = append(t.times[task], r.Timestamp)
				t.mu.Unlock()
			})
		}
	}()
	return t
}

func (t *tail) close() {
	t.stop()
	<-t.done
}

// firstAfter returns the first record time of task after at.
func (t *tail) firstAfter(task int, at time.Time) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ts := range t.times[task] {
		if ts.After(at) {
			return ts, true
		}
	}
	return time.Time{}, false
}

// maxGap returns the longest gap between consecutive records of task
// within [from, to].
func (t *tail) maxGap(task int, from, to time.Time) time.Duration {
	t.mu.Lock()
	ts := append([]time.Time(nil), t.times[task]...)
	t.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var gap time.Duration
	prev := from
	for _, x := range ts {
		if x.Before(from) || x.After(to) {
			continue
		}
		gap = max(gap, x.Sub(prev))
		prev = x
	}
	return max(gap, to.Sub(prev))
}

// measureFailover runs a two-worker cluster with a two-task datagen, stops
// the worker running task 0 (SIGTERM when graceful, else SIGKILL), and
// returns how long task 0 went without producing.
func measureFailover(b *testing.B, session time.Duration, graceful bool) time.Duration {
	c := newBenchCluster(b, session)
	_, cl := c.addWorker()
	c.addWorker()
	cfg := map[string]string{"connector.class": "datagen", "topic": "fo", "schema": "string", "rate": "500", "batch.size": "5", "tasks.max": "2"}
	if _, err := cl.CreateConnector(context.Background(), "fo", cfg); err != nil {
		b.Fatal(err)
	}
	owners := c.running("fo", 2)
	if owners[0] == owners[1] {
		b.Fatalf("both tasks on %s", owners[0])
	}
	t := startTail(b, c.bootstrap, "fo", 2)
	defer t.close()
	time.Sleep(2 * time.Second)
	victim := c.workers[owners[0]]
	at := time.Now()
	if graceful {
		victim.Stop()
	} else {
		victim.KillNow()
	}
	// The first record of task 0 produced once the victim is gone.
	gone := time.Now()
	var back time.Time
	c.wait("task 0 to produce elsewhere", func() bool {
		var ok bool
		back, ok = t.firstAfter(0, gone)
		return ok
	})
	return back.Sub(at)
}

// measureJoinGap runs a two-worker cluster with a four-task datagen, adds a
// third worker, and returns the longest output gap of the tasks that did
// not move during the join, and in as long a stretch before it.
func measureJoinGap(b *testing.B, session time.Duration) (join, steady time.Duration) {
	const tasks = 4
	c := newBenchCluster(b, session)
	_, cl := c.addWorker()
	c.addWorker()
	cfg := map[string]string{"connector.class": "datagen", "topic": "jg", "schema": "string", "rate": "200", "batch.size": "2", "tasks.max": strconv.Itoa(tasks)}
	if _, err := cl.CreateConnector(context.Background(), "jg", cfg); err != nil {
		b.Fatal(err)
	}
	before := c.running("jg", tasks)
	t := startTail(b, c.bootstrap, "jg", tasks)
	defer t.close()
	time.Sleep(3 * time.Second)
	start := time.Now()
	newID, _ := c.addWorker()
	var after []string
	c.wait("a task to move to the new worker", func() bool {
		after = c.running("jg", tasks)
		for _, o := range after {
			if o == newID {
				return true
			}
		}
		return false
	})
	end := time.Now()
	time.Sleep(time.Second) // records of the window reach the tail
	window := end.Sub(start)
	for i := range tasks {
		if before[i] != after[i] {
			continue
		}
		join = max(join, t.maxGap(i, start, end))
		steady = max(steady, t.maxGap(i, start.Add(-window), start))
	}
	return join, steady
}
