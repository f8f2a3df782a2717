package plugin

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
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
	go func() {
		samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
		var last uint64
		for range time.Tick(gcTuneInterval) {
			metrics.Read(samples)
			cycles := samples[0].Value.Uint64()
			debug.SetGCPercent(gcPercent(cycles-last >= busyGCs, samples[1].Value.Uint64()))
			last = cycles
		}
	}()
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
