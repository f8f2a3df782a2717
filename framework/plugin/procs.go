package plugin

import (
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// A plugin process runs its Go code on as many threads (GOMAXPROCS) as it
// has busy tasks, times the threads Plugin.Procs asks for per task, at
// least one and at most the machine's cores: a task polls or puts from one
// goroutine, as Kafka Connect runs a thread per task, and an idle task
// needs no thread of its own. More threads than busy tasks only compete
// with the worker and the other processes for the same cores (spinning
// scheduler threads, collector workers on idle processors, goroutine
// hand-offs between cores). GOMAXPROCS in the worker's environment, which
// plugin processes inherit, overrides it.
//
// A task is busy while it moves at least busyRecordsPerSecond records:
// the loadTracker counts, every gcTuneInterval, the records each instance
// polled or was put. The same count sizes the busy heap floor's cap
// (gctune.go).
const busyRecordsPerSecond = 10_000

// busyRecords is busyRecordsPerSecond over one gcTuneInterval.
const busyRecords = busyRecordsPerSecond * int64(gcTuneInterval) / int64(time.Second)

// loadTracker counts a process's busy tasks and sets its GOMAXPROCS.
type loadTracker struct {
	srv  *server
	busy atomic.Int32

	prev map[*instance]int64 // each instance's count at the last tick; tick's goroutine only
}

func newLoadTracker(s *server) *loadTracker {
	return &loadTracker{srv: s, prev: map[*instance]int64{}}
}

// busyTasks returns how many tasks were busy at the last tick.
func (t *loadTracker) busyTasks() int { return int(t.busy.Load()) }

// run sets the process's GOMAXPROCS for p and keeps it following the
// busy tasks, for the life of the process.
func (t *loadTracker) run(p Plugin) {
	env := os.Getenv("GOMAXPROCS")
	set := func(n int) {
		if n > 0 && n != runtime.GOMAXPROCS(0) {
			runtime.GOMAXPROCS(n)
		}
	}
	set(procsFor(p, env, 0, runtime.NumCPU()))
	for range time.Tick(gcTuneInterval) {
		set(procsFor(p, env, t.tick(), runtime.NumCPU()))
	}
}

// tick counts the tasks that moved at least busyRecords since the last
// tick.
func (t *loadTracker) tick() int {
	busy := 0
	seen := make(map[*instance]int64, len(t.prev))
	for _, in := range t.srv.snapshot() {
		n := in.handled.Load()
		if n-t.prev[in] >= busyRecords {
			busy++
		}
		seen[in] = n
	}
	t.prev = seen
	t.busy.Store(int32(busy))
	return busy
}

// procsFor returns the GOMAXPROCS for p with busy busy tasks on a machine
// of cpus cores, or 0 to leave the runtime's when env (the GOMAXPROCS
// variable) names one.
func procsFor(p Plugin, env string, busy, cpus int) int {
	if strings.TrimSpace(env) != "" {
		return 0
	}
	return min(max(busy, 1)*max(p.Procs, 1), max(cpus, 1))
}
