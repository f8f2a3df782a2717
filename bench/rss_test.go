package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
)

// BenchmarkRSS measures the resident memory of an idle standalone worker
// and of one running datagen task's plugin process (1000 records a
// second), as processes of the real binary against a broker process.
// Goals: worker ≤ 50 MiB, task process ≤ 30 MiB; the ratios printed are
// measured ÷ goal. It also reports, without a goal, a datagen task
// process running as fast as it can, whose heap the busy floor lets grow
// (see framework/plugin/gctune.go).
func BenchmarkRSS(b *testing.B) {
	sa := startStandalone(b, 0)
	worker := sa.worker
	var idle, task, busy float64
	for i := 0; i < b.N; i++ {
		time.Sleep(2 * time.Second)
		idle = proctest.RSSMiB(b, worker.Pid())
		c := sa.rest
		task = taskRSS(b, c, worker.Pid(), fmt.Sprintf("gen%d", i), "1000")
		busy = taskRSS(b, c, worker.Pid(), fmt.Sprintf("busy%d", i), "0")
	}
	b.ReportMetric(idle, "worker-MiB")
	b.ReportMetric(task, "task-MiB")
	b.ReportMetric(busy, "busy-task-MiB")
	b.Logf("RSS: idle worker %.1f MiB / 50 MiB = %.2f; datagen task process %.1f MiB / 30 MiB = %.2f (goal <= 1); the same at full speed (no rate limit, heap floor in place) %.1f MiB", idle, idle/50, task, task/30, busy)
}

// taskRSS runs a datagen connector named name at rate records a second
// (0: as fast as it can) and returns its task process's resident memory
// after 3 seconds of running, then deletes the connector.
func taskRSS(b *testing.B, c *api.Client, worker int, name, rate string) float64 {
	b.Helper()
	ctx := context.Background()
	if _, err := c.CreateConnector(ctx, name, map[string]string{"connector.class": "datagen", "topic": name, "rate": rate}); err != nil {
		b.Fatal(err)
	}
	defer c.DeleteConnector(ctx, name)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.TaskStatus(ctx, name, 0)
		if err == nil && st.State == herder.Running {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("task not running: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	pid := proctest.TaskPlugin(worker, name, 0)
	if pid == 0 {
		b.Fatal("no plugin process for the task")
	}
	return proctest.RSSMiB(b, pid)
}
