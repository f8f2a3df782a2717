package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
)

// s3TaskOverheadMiB is what a sink task's plugin process holds beyond its
// memory budget: the Go runtime, the plugin machinery, a poll of records
// in flight and the collector's slack.
const s3TaskOverheadMiB = 64

// TestS3SinkThousandPartitionsMemory runs one sink task over a topic of
// 1000 partitions whose records would take 60 MB of open files, under a
// 32 MiB memory budget: the task process's peak resident memory (VmHWM)
// stays within the budget plus a fixed overhead, and every record lands
// exactly once (the schedule closes the last files once the topic idles).
func TestS3SinkThousandPartitionsMemory(t *testing.T) {
	b := newS3Bucket(t)
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	const parts, n = 1000, 60000
	const budgetMiB = 32
	createTopic(t, p.bootstrap, "wide", parts)
	start := time.Now()
	produceIDs(t, p.bootstrap, "wide", parts, 0, n)
	t.Logf("produced in %s", time.Since(start))
	cfg := b.sinkConfig("wide", "flush.size", "100000", "s3.memory.budget.bytes", fmt.Sprint(budgetMiB<<20),
		"rotate.schedule.interval.ms", "5000", "timezone", "UTC", "s3.part.size", fmt.Sprint(5<<20))
	if _, err := p.client.CreateConnector(context.Background(), "s3", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("s3", 0, herder.Running, "")
	var pid int
	waitFor(t, 30*time.Second, "the task's plugin process", func() (bool, string) {
		pids := p.pluginPIDs("s3-0")
		if len(pids) == 1 {
			pid = pids[0]
		}
		return pid != 0, fmt.Sprint(pids)
	})
	ids, _ := b.waitIDs(t, p, "s3", "wide", n)
	t.Logf("committed after %s", time.Since(start))
	peak := vmHWM(t, pid)
	checkExactlyOnce(t, ids, n)
	t.Logf("peak RSS of the task process: %.1f MiB (budget %d MiB + overhead %d MiB)", peak, budgetMiB, s3TaskOverheadMiB)
	if peak > budgetMiB+s3TaskOverheadMiB {
		t.Fatalf("peak RSS %.1f MiB is over the budget of %d MiB plus %d MiB", peak, budgetMiB, s3TaskOverheadMiB)
	}
	p.stop()
}

// vmHWM is a process's peak resident memory in MiB.
func vmHWM(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(v)[0])
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
