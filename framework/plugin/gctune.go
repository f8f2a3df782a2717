package plugin

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// A plugin process's live heap is small (its task and a batch or two in
// flight) while a busy source task allocates up to a GiB a second. At
// GOGC=100 the collector then runs every few MiB, hundreds of times a
// second, and marks the batch in flight each time: close to half of the
// process's CPU at full speed, where a worker running the task in-process
// collects rarely because its heap is larger. While the collector marks,
// every pointer the task writes costs a write barrier besides.
//
// So while a plugin process collects at least busyGCs times per
// gcTuneInterval, its collector's next target is max(2 × live heap,
// floor), where the floor is the heap that the process allocates in
// 1/maxGCRate of a second, within gcHeapFloor..gcHeapCap: a process that
// allocates fast collects about maxGCRate times a second, at the cost of
// up to gcHeapCap of heap; one that allocates slowly holds at most
// gcHeapFloor. A process that hosts several busy tasks (see loadTracker)
// allocates for all of them and may hold gcHeapCap for each. An idle or
// slow process keeps GOGC=100 and its resident memory. GOGC or GOMEMLIMIT
// in the environment leave the collector as the operator set it.
const (
	gcHeapFloor    = 16 << 20
	gcHeapCap      = 64 << 20
	maxGCRate      = 20 // collections per second a busy process aims at
	gcTuneInterval = 250 * time.Millisecond
	busyGCs        = 3
	runtimeMinHeap = 4 << 20 // the runtime's minimum target at GOGC=100
)

// tuneGC starts the heap floor in this process, for its lifetime; load
// says how many of its tasks are busy.
func tuneGC(load *loadTracker) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	t := &gcTuner{set: debug.SetGCPercent, read: readGCMetrics, tasks: load.busyTasks}
	onEveryGC(t.cycle)
	go func() {
		for range time.Tick(gcTuneInterval) {
			t.tick()
		}
	}()
}

// gcStats is what the tuner reads of the runtime's metrics.
type gcStats struct {
	cycles, live, allocs uint64 // collections, live heap bytes, bytes allocated so far
}

func readGCMetrics() gcStats {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return gcStats{cycles: s[0].Value.Uint64(), live: s[1].Value.Uint64(), allocs: s[2].Value.Uint64()}
}

// gcTuner decides when the process is busy and how much heap it may hold.
// A task that starts at full speed must not wait for a tick to be seen
// busy: at GOGC=100 it would collect every few MiB for up to
// gcTuneInterval, a quarter of a one-second burst. So every collection is
// noted as it ends (cycle), and busyGCs of them within gcTuneInterval make
// the process busy at once; the tick re-aims the floor at the allocation
// rate and the live heap, and sees a process that has gone quiet.
type gcTuner struct {
	set   func(int) int  // debug.SetGCPercent
	read  func() gcStats // readGCMetrics
	tasks func() int     // busy tasks in the process; nil: one

	mu     sync.Mutex
	busy   bool
	recent [busyGCs]gcMark // the last busyGCs collections, oldest first
	last   gcMark          // at the last tick
}

// gcMark is the time and the runtime's counts at a point.
type gcMark struct {
	at time.Time
	gcStats
}

// cycle notes the end of a collection.
func (t *gcTuner) cycle() {
	now := gcMark{time.Now(), t.read()}
	t.mu.Lock()
	defer t.mu.Unlock()
	copy(t.recent[:], t.recent[1:])
	t.recent[busyGCs-1] = now
	if first := t.recent[0]; !t.busy && !first.at.IsZero() && now.at.Sub(first.at) < gcTuneInterval {
		t.busy = true
		t.apply(now, first)
	}
}

// tick runs every gcTuneInterval: busy while busyGCs collections ended in
// the interval.
func (t *gcTuner) tick() {
	now := gcMark{time.Now(), t.read()}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.busy = !t.last.at.IsZero() && now.cycles-t.last.cycles >= busyGCs
	t.apply(now, t.last)
	t.last = now
}

// apply sets GOGC for t.busy, the live heap at now and the rate of
// allocation since since. t.mu is held.
func (t *gcTuner) apply(now, since gcMark) {
	var rate float64 // bytes per second
	if d := now.at.Sub(since.at).Seconds(); d > 0 && now.allocs > since.allocs {
		rate = float64(now.allocs-since.allocs) / d
	}
	tasks := 1
	if t.tasks != nil {
		tasks = t.tasks()
	}
	t.set(gcPercent(t.busy, now.live, heapFloor(rate, tasks)))
}

// heapFloor returns a busy process's least heap target for allocation at
// rate bytes per second by tasks busy tasks: what it allocates in
// 1/maxGCRate of a second, within gcHeapFloor..gcHeapCap per busy task.
func heapFloor(rate float64, tasks int) uint64 {
	return uint64(min(max(rate/maxGCRate, gcHeapFloor), float64(gcHeapCap*max(tasks, 1))))
}

// onEveryGC calls f, on the runtime's finalizer goroutine, after every
// collection for the life of the process: a finalizer on an object nothing
// else references runs once per collection that finds it unreachable, and
// sets itself again.
func onEveryGC(f func()) {
	type sentinel struct{ _ *byte } // holds a pointer: never a tiny allocation
	var again func(*sentinel)
	again = func(s *sentinel) {
		f()
		runtime.SetFinalizer(s, again)
	}
	runtime.SetFinalizer(&sentinel{}, again)
}

// gcPercent returns the GOGC that puts the collector's next target at
// max(2 × live, floor) when busy, and 100 otherwise. The runtime's target
// is the larger of live × (1 + GOGC/100) and 4 MiB × GOGC/100, so GOGC may
// not exceed what puts the latter at the floor.
func gcPercent(busy bool, live, floor uint64) int {
	live = max(live, 1<<20) // near 0 before the first collection
	if !busy || 2*live >= floor {
		return 100
	}
	return int(min((floor-live)*100/live, floor*100/runtimeMinHeap))
}
