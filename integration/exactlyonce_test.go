package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

var eosWorker = map[string]string{"exactly.once.source.support": "enabled"}

// committedIDs reads topic as a read_committed consumer does and returns
// how often each datagen id occurs, and the records read.
func committedIDs(t *testing.T, bootstrap, topic string) (map[int64]int, int) {
	t.Helper()
	recs := kafkatest.ReadCommitted(t, strings.Split(bootstrap, ","), topic)
	return recordIDs(t, recs), len(recs)
}

// waitCommitted waits until a read_committed consumer sees n distinct ids
// in topic, and returns what it sees then.
func (c *cluster) waitCommitted(topic string, n int) (map[int64]int, int) {
	c.t.Helper()
	var ids map[int64]int
	var total int
	waitFor(c.t, 3*time.Minute, fmt.Sprintf("%d distinct ids committed in %s", n, topic), func() (bool, string) {
		ids, total = committedIDs(c.t, c.broker.bootstrap(), topic)
		return len(ids) >= n, fmt.Sprintf("%d distinct, %d records", len(ids), total)
	})
	return ids, total
}

// victim returns a live worker that runs a task of one of the connectors.
func (c *cluster) victim(names ...string) *workerProc {
	c.t.Helper()
	for _, name := range names {
		for id, st := range c.statuses(name) {
			_ = id
			for _, ts := range st.Tasks {
				if ts.State == herder.Running {
					for _, w := range c.live() {
						if w.id == ts.WorkerID {
							return w
						}
					}
				}
			}
		}
	}
	c.t.Fatalf("no live worker runs a task of %v", names)
	return nil
}

// datagenEOS is a datagen connector's config for the exactly-once tests.
func datagenEOS(topic string, n, tasks, rate int, extra map[string]string) map[string]string {
	cfg := map[string]string{
		"connector.class": "datagen", "topic": topic, "schema": "string", "count": fmt.Sprint(n),
		"rate": fmt.Sprint(rate), "batch.size": "50", "tasks.max": fmt.Sprint(tasks),
		"exactly.once.support": "required",
	}
	maps.Copy(cfg, extra)
	return cfg
}

// Workers are killed with SIGKILL, one after another, while three datagen
// connectors write to Kafka exactly once, one per transaction boundary. A
// read_committed consumer then sees every record of each exactly once. One
// of the connectors creates its topic through KIP-158 settings, which the
// broker reports back.
func TestExactlyOnceDatagenSurvivesKills(t *testing.T) {
	c := newClusterWith(t, 3, eosWorker)
	ctx := context.Background()
	const n = 24000
	boundaries := map[string]map[string]string{
		"eos-poll": {"transaction.boundary": "poll",
			"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "4",
			"topic.creation.default.compression.type": "lz4"},
		"eos-interval":  {"transaction.boundary": "interval", "transaction.boundary.interval.ms": "300"},
		"eos-connector": {"transaction.boundary": "connector"},
	}
	var names []string
	for name, extra := range boundaries {
		names = append(names, name)
		if _, err := c.workers[len(names)%3].client.CreateConnector(ctx, name, datagenEOS(name, n, 2, 800, extra)); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	for _, name := range names {
		st := c.waitRunning(name, 2)
		if st.ExactlyOnce == nil || !st.ExactlyOnce.Enabled || st.ExactlyOnce.TransactionBoundary != boundaries[name]["transaction.boundary"] {
			t.Fatalf("%s status does not say it runs exactly once with its boundary: %+v", name, st.ExactlyOnce)
		}
	}
	for round := range 3 {
		waitFor(t, time.Minute, "records flowing", func() (bool, string) {
			got := topicCount(t, c.broker.bootstrap(), "eos-poll")
			return got >= int64((round+1)*n/6), fmt.Sprint(got)
		})
		v := c.victim(names...)
		t.Logf("round %d: kill -9 %s", round, v.id)
		v.KillNow()
		c.addWorker(freePort(t))
		for _, name := range names {
			c.waitRunning(name, 2)
		}
	}
	for _, name := range names {
		ids, total := c.waitCommitted(name, n)
		checkIDs(t, name+" read_committed", ids, total, n, 0)
	}

	// KIP-158: the topic was created with the default group's settings.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.broker.bootstrap()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, "eos-poll")
	if err != nil {
		t.Fatal(err)
	}
	if p := len(td["eos-poll"].Partitions); p != 4 {
		t.Errorf("eos-poll has %d partitions; topic.creation.default.partitions is 4", p)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "eos-poll")
	if err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]string{}
	for _, rc := range rcs {
		for _, kv := range rc.Configs {
			if kv.Source == kmsg.ConfigSourceDynamicTopicConfig && kv.Value != nil {
				cfgs[kv.Key] = *kv.Value
			}
		}
	}
	if cfgs["compression.type"] != "lz4" {
		t.Errorf("eos-poll topic configs %v; want compression.type=lz4", cfgs)
	}
}

// A worker frozen with SIGSTOP until its task moved to another worker is a
// zombie: resumed, it can commit neither records nor offsets, because the
// task's new instance fenced its transactional id. A read_committed
// consumer sees every record once, and the offsets topic holds the new
// instance's offsets.
func TestExactlyOnceZombieWorkerCannotCommit(t *testing.T) {
	c := newClusterWith(t, 2, eosWorker)
	ctx := context.Background()
	const n = 16000
	cfg := datagenEOS("zombie", n, 1, 1000, map[string]string{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "1000"})
	if _, err := c.workers[0].client.CreateConnector(ctx, "zombie", cfg); err != nil {
		t.Fatal(err)
	}
	st := c.waitRunning("zombie", 1)
	zombie := c.worker(st.Tasks[0].WorkerID)
	other := c.workers[0]
	if other == zombie {
		other = c.workers[1]
	}
	waitFor(t, time.Minute, "records flowing", func() (bool, string) {
		got := topicCount(t, c.broker.bootstrap(), "zombie")
		return got >= n/5, fmt.Sprint(got)
	})
	zombie.Signal(syscall.SIGSTOP)
	resumed := false
	defer func() {
		if !resumed {
			zombie.Signal(syscall.SIGCONT)
		}
	}()
	t.Logf("froze %s", zombie.id)
	waitFor(t, time.Minute, "the task to run on "+other.id, func() (bool, string) {
		st, err := other.client.ConnectorStatus(ctx, "zombie")
		if err != nil || len(st.Tasks) != 1 {
			return false, fmt.Sprint(st, err)
		}
		return st.Tasks[0].WorkerID == other.id && st.Tasks[0].State == herder.Running, fmt.Sprintf("%+v", st.Tasks[0])
	})
	before := topicCount(t, c.broker.bootstrap(), "zombie")
	waitFor(t, time.Minute, "the new instance to produce", func() (bool, string) {
		got := topicCount(t, c.broker.bootstrap(), "zombie")
		return got > before+500, fmt.Sprint(got)
	})
	zombie.Signal(syscall.SIGCONT)
	resumed = true
	t.Logf("resumed %s", zombie.id)
	waitFor(t, time.Minute, "the zombie to find itself fenced out", func() (bool, string) {
		b, _ := os.ReadFile(zombie.Log)
		return strings.Contains(string(b), "fenced out"), "no fencing in its log"
	})
	ids, total := c.waitCommitted("zombie", n)
	checkIDs(t, "zombie read_committed", ids, total, n, 0)
	offs, err := other.client.ConnectorOffsets(ctx, "zombie")
	if err != nil {
		t.Fatal(err)
	}
	if len(offs.Offsets) != 1 || string(offs.Offsets[0].Offset) != fmt.Sprintf(`{"seq":%d}`, n-1) {
		t.Fatalf("stored offsets %s; want the last record's seq %d", offs.Offsets, n-1)
	}
}

// The rolling upgrade Kafka documents: every worker from disabled to
// preparing, one at a time, then every worker to enabled, one at a time,
// with records flowing throughout and none lost. Once every worker is
// enabled the connector runs exactly once: a kill -9 then repeats nothing.
// Before, exactly.once.support=required is refused.
func TestExactlyOnceRollingUpgrade(t *testing.T) {
	c := newCluster(t, 2)
	ctx := context.Background()
	const n = 30000
	_, err := c.workers[0].client.CreateConnector(ctx, "up", datagenEOS("up", n, 2, 300, nil))
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Code != 400 || !strings.Contains(ae.Message, "exactly.once.source.support=disabled") {
		t.Fatalf("required on disabled workers: %v; want 400 naming the worker setting", err)
	}
	cfg := datagenEOS("up", n, 2, 300, map[string]string{"exactly.once.support": "requested"})
	if _, err := c.workers[0].client.CreateConnector(ctx, "up", cfg); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("up", 2)
	flowing := func(what string) {
		t.Helper()
		from := topicCount(t, c.broker.bootstrap(), "up")
		waitFor(t, time.Minute, "records flowing "+what, func() (bool, string) {
			got := topicCount(t, c.broker.bootstrap(), "up")
			return got > from+200, fmt.Sprint(got)
		})
	}
	flowing("before the upgrade")
	for _, mode := range []string{"preparing", "enabled"} {
		c.props["exactly.once.source.support"] = mode
		for _, w := range c.live() {
			t.Logf("%s: restarting %s", mode, w.id)
			w.Stop()
			c.addWorker(freePort(t))
			c.waitStable()
			c.waitRunning("up", 2)
			flowing("with a worker " + mode)
		}
	}
	st := c.waitRunning("up", 2)
	if st.ExactlyOnce == nil || !st.ExactlyOnce.Enabled {
		t.Fatalf("after the upgrade the status says %+v; want exactly once", st.ExactlyOnce)
	}
	// Everything written so far may hold repeats (at least once, before
	// every worker was enabled); what comes after must not.
	seen, _ := committedIDs(t, c.broker.bootstrap(), "up")
	flowing("with every worker enabled")
	v := c.victim("up")
	t.Logf("kill -9 %s", v.id)
	v.KillNow()
	c.addWorker(freePort(t))
	ids, total := c.waitCommitted("up", n)
	checkIDs(t, "up read_committed", ids, total, n, total-n)
	for id, k := range ids {
		if k > 1 && seen[id] == 0 {
			t.Errorf("id %d written %d times after every worker ran exactly once", id, k)
		}
	}
}

// postgres-cdc under writes, exactly once, with each transaction boundary
// it supports (poll and interval; it does not define its own): the
// workers running the tasks are killed twice; for each connector, a
// read_committed consumer's events rebuild the table and no event repeats.
func TestExactlyOncePostgresCDCSurvivesKills(t *testing.T) {
	ctx := context.Background()
	const initial = 3000
	pg := startShop(t, initial)
	c := newClusterWith(t, 2, eosWorker)
	boundaries := map[string]map[string]string{
		"pg-poll":     {"transaction.boundary": "poll"},
		"pg-interval": {"transaction.boundary": "interval", "transaction.boundary.interval.ms": "500"},
	}
	var names []string
	for name, extra := range boundaries {
		cfg := shopCDC(pg, strings.ReplaceAll(name, "-", "_"))
		cfg["topic.prefix"] = strings.ReplaceAll(name, "-", "_")
		cfg["exactly.once.support"] = "required"
		maps.Copy(cfg, extra)
		if _, err := c.workers[len(names)%2].client.CreateConnector(ctx, name, cfg); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		names = append(names, name)
	}
	topic := func(name string) string { return strings.ReplaceAll(name, "-", "_") + ".public.accounts" }
	for _, name := range names {
		c.waitRunning(name, 1)
	}
	w := startWriter(pg, "shop", initial, 3)
	defer func() {
		select {
		case <-w.stop:
		default:
			w.halt()
		}
	}()
	waitRecords := func() {
		t.Helper()
		for _, name := range names {
			c.waitTopicCount(topic(name), topicCount(t, c.broker.bootstrap(), topic(name))+300)
		}
	}
	for _, name := range names {
		c.waitTopicCount(topic(name), initial+300)
	}
	for round := range 2 {
		v := c.victim(names...)
		t.Logf("round %d: kill -9 %s", round, v.id)
		v.KillNow()
		c.addWorker(freePort(t))
		for _, name := range names {
			c.waitRunning(name, 1)
		}
		waitRecords()
	}
	w.halt()
	want := accountsRows(t, pg, "shop")
	for _, name := range names {
		var got map[string]string
		var ids []string
		waitFor(t, 2*time.Minute, name+"'s committed events to rebuild the table", func() (bool, string) {
			got, ids = rebuildRecords(t, kafkatest.ReadCommitted(t, []string{c.broker.bootstrap()}, topic(name)))
			d := diffRows(want, got)
			return d == "", d
		})
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
			if seen[id] > 1 {
				t.Fatalf("%s: event %s seen twice by a read_committed consumer", name, id)
			}
		}
		t.Logf("%s: %d rows match after %d transactions; %d events, none repeated", name, len(want), w.commits.Load(), len(ids))
	}
}
