package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
)

// BenchmarkClusterRebalance measures how long a cluster of worker
// processes takes to settle when a worker joins and when one leaves
// (SIGTERM), with 1,000 tasks (100 datagen connectors of 10 tasks, one
// record a second each) and with 10 (one connector), on three workers with
// plugin.isolation=connector: from the fourth worker's start, or the
// signal, until every task is RUNNING on a live worker and the tasks are
// spread evenly (at most one apart). The ratio of the two sizes says what
// a hundred times the work costs a rebalance. Each worker's log is
// searched for revocations of all work (a member that took itself for
// lost): a rebalance storm shows there.
func BenchmarkClusterRebalance(b *testing.B) {
	for range b.N {
		small := measureRebalance(b, 1, 10)
		large := measureRebalance(b, 100, 10)
		b.ReportMetric(small.join.Seconds(), "join-10-s")
		b.ReportMetric(large.join.Seconds(), "join-1000-s")
		b.ReportMetric(small.leave.Seconds(), "leave-10-s")
		b.ReportMetric(large.leave.Seconds(), "leave-1000-s")
		b.ReportMetric(large.join.Seconds()/small.join.Seconds(), "join-1000/join-10")
		b.ReportMetric(large.leave.Seconds()/small.leave.Seconds(), "leave-1000/leave-10")
		b.ReportMetric(large.joinMoved, "join-moved/share")
		b.ReportMetric(large.leaveMoved, "leave-moved/share")
		b.ReportMetric(float64(small.lostRevocations+large.lostRevocations), "lost-revocations")
	}
}

type rebalanceTimes struct {
	join, leave time.Duration
	// Tasks that changed worker ÷ the tasks the joining worker took, or
	// the leaving one had: 1 when only that share moved.
	joinMoved, leaveMoved float64
	lostRevocations       int
}

func measureRebalance(b *testing.B, conns, tasksEach int) rebalanceTimes {
	// The broker acknowledges writes from memory, as a replicated Kafka
	// cluster does: with a disk sync per write its one request loop, not
	// the workers, would set the pace of a thousand producers.
	c := newBenchCluster(b, 10*time.Second, "--sync-writes=false")
	// Kafka Connect's default flush interval, not the failover
	// benchmarks' half second: a thousand idle tasks committing twice a
	// second load the broker with little to do with rebalancing.
	c.props = strings.Replace(c.props, "offset.flush.interval.ms=500", "offset.flush.interval.ms=60000", 1)
	defer c.close()
	ids := make([]string, 0, 4)
	for range 3 {
		id, _ := c.addWorker()
		ids = append(ids, id)
	}
	cl := c.clients[ids[0]]
	ctx := context.Background()
	for i := range conns {
		name := fmt.Sprintf("rb%03d", i)
		cfg := map[string]string{"connector.class": "datagen", "topic": name, "schema": "string", "rate": "1", "tasks.max": fmt.Sprint(tasksEach)}
		c.waitUpTo(5*time.Minute, "create "+name, func() bool {
			// A write during a rebalance answers 409, as in Kafka
			// Connect: try again.
			_, err := cl.CreateConnector(ctx, name, cfg)
			return err == nil
		})
	}
	total := conns * tasksEach
	var owners map[string]string
	settled := func(live []string) bool {
		if owners = c.settled(live, conns, total); owners != nil {
			return true
		}
		time.Sleep(100 * time.Millisecond) // a status of every task is a large answer
		return false
	}
	c.waitUpTo(10*time.Minute, "every task running on three workers", func() bool { return settled(ids) })
	three := owners

	var t rebalanceTimes
	start := time.Now()
	newID, _ := c.addWorker()
	ids = append(ids, newID)
	c.waitUpTo(10*time.Minute, "every task running on four workers", func() bool { return settled(ids) })
	t.join = time.Since(start)
	four := owners
	t.joinMoved = moved(three, four) / float64(countOf(four, newID))

	// The new worker leaves again: its share goes back to the others.
	start = time.Now()
	c.workers[newID].Stop()
	ids = ids[:3]
	c.waitUpTo(10*time.Minute, "every task running on three workers again", func() bool { return settled(ids) })
	t.leave = time.Since(start)
	t.leaveMoved = moved(four, owners) / float64(countOf(four, newID))

	for _, p := range c.workers {
		t.lostRevocations += strings.Count(p.LogTail(1<<30), "has not answered for too long")
	}
	b.Logf("%d tasks: join %v (moved %.2f of the new worker's share), leave %v (moved %.2f of its share), revocations of all work %d",
		total, t.join, t.joinMoved, t.leave, t.leaveMoved, t.lostRevocations)
	return t
}

// moved counts the tasks whose worker differs between two owner maps.
func moved(before, after map[string]string) float64 {
	n := 0
	for task, w := range after {
		if before[task] != w {
			n++
		}
	}
	return float64(n)
}

func countOf(owners map[string]string, worker string) int {
	n := 0
	for _, w := range owners {
		if w == worker {
			n++
		}
	}
	return n
}

// settled returns which worker runs each task ("connector/task") once
// conns connectors with total tasks are RUNNING, every task on one of the
// live workers, spread at most one apart; else nil.
func (c *benchCluster) settled(live []string, conns, total int) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := c.clients[live[0]].ConnectorsExpanded(ctx, "status")
	if err != nil || len(all) != conns {
		return nil
	}
	owners := map[string]string{}
	perWorker := map[string]int{}
	for _, id := range live {
		perWorker[id] = 0
	}
	n := 0
	for name, e := range all {
		if e.Status == nil || e.Status.Connector.State != herder.Running {
			return nil
		}
		for _, ts := range e.Status.Tasks {
			if _, ok := perWorker[ts.WorkerID]; !ok || ts.State != herder.Running {
				return nil
			}
			perWorker[ts.WorkerID]++
			owners[fmt.Sprintf("%s/%d", name, ts.ID)] = ts.WorkerID
			n++
		}
	}
	counts := slices.Collect(maps.Values(perWorker))
	if n != total || slices.Max(counts)-slices.Min(counts) > 1 {
		return nil
	}
	return owners
}
