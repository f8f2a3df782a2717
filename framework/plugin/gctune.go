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
// flight) while a busy source task allocates hundreds of MiB a second. At
// GOGC=100 the collector then runs every few MiB, hundreds of times a
// second, and marks the batch in flight each time: close to half of the
// process's CPU at full speed, where a worker running the task in-process
// collects rarely because its heap is larger. So while a plugin process
// collects more than busyGCs times per gcTuneInterval, its collector's next
// target is max(2 × live heap, gcHeapFloor) instead of 2 × live heap. An
// idle or slow process keeps GOGC=100 and its resident memory; a busy one
// holds up to gcHeapFloor of heap. GOGC or GOMEMLIMIT in the environment
// leave the collector as the operator set it.
const (
	gcHeapFloor    = 16 << 20
	gcTuneInterval = 250 * time.Millisecond
	busyGCs        = 3
	runtimeMinHeap = 4 << 20 // the runtime's minimum target at GOGC=100
)

// tuneGC starts the heap floor in this process, for its lifetime.
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	t := &gcTuner{set: debug.SetGCPercent}
	onEveryGC(t.cycle)
	go func() {
		for range time.Tick(gcTuneInterval) {
			t.tick()
		}
	}()
}

// gcTuner decides when the process is busy. A task that starts at full
// speed must not wait for a tick to be seen busy: at GOGC=100 it would
// collect every few MiB for up to gcTuneInterval, a quarter of a
// one-second burst. So every collection is noted as it ends (cycle), and
// busyGCs of them within gcTuneInterval make the process busy at once;
// the tick re-aims the floor at the live heap and sees a process that has
// gone quiet.
type gcTuner struct {
	set func(int) int // debug.SetGCPercent

	mu      sync.Mutex
	busy    bool
	recent  [busyGCs]time.Time // when the last busyGCs collections ended, oldest first
	lastN   uint64             // cycles counted at the last tick
	samples []metrics.Sample
}

// cycle notes the end of a collection.
func (t *gcTuner) cycle() {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	copy(t.recent[:], t.recent[1:])
	t.recent[busyGCs-1] = now
	if !t.busy && !t.recent[0].IsZero() && now.Sub(t.recent[0]) < gcTuneInterval {
		t.busy = true
		t.apply()
	}
}

// tick runs every gcTuneInterval: busy while busyGCs collections ended in
// the interval.
func (t *gcTuner) tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.read()
	n := t.samples[0].Value.Uint64()
	t.busy = n-t.lastN >= busyGCs
	t.lastN = n
	t.apply()
}

// apply sets GOGC for t.busy and the live heap. t.mu is held.
func (t *gcTuner) apply() {
	t.read()
	t.set(gcPercent(t.busy, t.samples[1].Value.Uint64()))
}

func (t *gcTuner) read() {
	if t.samples == nil {
		t.samples = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	}
	metrics.Read(t.samples)
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
// max(2 × live, gcHeapFloor) when busy, and 100 otherwise. The runtime's
// target is the larger of live × (1 + GOGC/100) and 4 MiB × GOGC/100, so
// GOGC may not exceed what puts the latter at the floor.
func gcPercent(busy bool, live uint64) int {
	live = max(live, 1<<20) // near 0 before the first collection
	if !busy || 2*live >= gcHeapFloor {
		return 100
	}
	return int(min((gcHeapFloor-live)*100/live, gcHeapFloor*100/runtimeMinHeap))
}
