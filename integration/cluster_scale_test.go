package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
)

// TestClusterManyTasks runs 300 low-rate datagen tasks (20 connectors of 15
// tasks) on three worker processes with plugin.isolation=connector: every
// task RUNNING, spread evenly, each worker running one plugin process per
// connector it has work of. After kill -9 of one worker every task runs
// again, evenly, on the two others.
func TestClusterManyTasks(t *testing.T) {
	const conns, tasks = 20, 15
	c := newClusterWith(t, 3, map[string]string{"plugin.isolation": "connector"})
	ctx := context.Background()
	names := make([]string, conns)
	for i := range names {
		names[i] = fmt.Sprintf("many%02d", i)
		cfg := map[string]string{"connector.class": "datagen", "topic": names[i], "schema": "string", "rate": "1", "tasks.max": fmt.Sprint(tasks)}
		// A write during a rebalance answers 409, as in Kafka Connect:
		// the client tries again.
		waitFor(t, 60*time.Second, "create "+names[i], func() (bool, string) {
			_, err := c.workers[i%3].client.CreateConnector(ctx, names[i], cfg)
			var ae *api.APIError
			if errors.As(err, &ae) && ae.Code == 409 {
				time.Sleep(100 * time.Millisecond)
				return false, err.Error()
			}
			if err != nil {
				t.Fatal(err)
			}
			return true, ""
		})
	}
	checkSpread := func(when string) {
		t.Helper()
		perWorker := map[string]int{}
		connsOf := map[string]map[string]bool{}
		for _, w := range c.live() {
			perWorker[w.id] = 0
			connsOf[w.id] = map[string]bool{}
		}
		for _, n := range names {
			st := c.waitRunning(n, tasks)
			for _, ts := range st.Tasks {
				perWorker[ts.WorkerID]++
				connsOf[ts.WorkerID][n] = true
			}
		}
		counts := make([]int, 0, len(perWorker))
		for _, n := range perWorker {
			counts = append(counts, n)
		}
		if slices.Max(counts)-slices.Min(counts) > 1 {
			t.Fatalf("%s: tasks per worker %v, want an even spread", when, perWorker)
		}
		// One plugin process per connector a worker has tasks of (the
		// connector instance runs in it where it runs on that worker).
		for _, w := range c.live() {
			for n := range connsOf[w.id] {
				if pids := w.pluginPIDs(n); len(pids) != 1 {
					t.Fatalf("%s: worker %s runs %v for connector %s, want one process", when, w.id, pids, n)
				}
			}
		}
		t.Logf("%s: tasks per worker %v", when, perWorker)
	}
	checkSpread("three workers")
	victim := c.workers[2]
	victim.KillNow()
	checkSpread("after kill -9 of " + victim.id)
}
