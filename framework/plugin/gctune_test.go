package plugin

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// While busy, the collector's next target, as the runtime computes it from
// GOGC, is max(2 × live heap, floor) within rounding, whatever the live
// heap and the floor; otherwise GOGC stays at the default.
func TestGCPercent(t *testing.T) {
	t.Parallel()
	for _, floor := range []uint64{gcHeapFloor, 40 << 20, gcHeapCap} {
		for _, live := range []uint64{0, 100 << 10, 1 << 20, 3 << 20, 6 << 20, floor / 2, floor, 1 << 30} {
			t.Run(fmt.Sprint(floor, "/", live), func(t *testing.T) {
				t.Parallel()
				if p := gcPercent(false, live, floor); p != 100 {
					t.Fatalf("not busy: GOGC %d, want 100", p)
				}
				p := uint64(gcPercent(true, live, floor))
				if p < 100 {
					t.Fatalf("GOGC %d: below the default", p)
				}
				target := max(runtimeMinHeap*p/100, live+live*p/100)
				want := max(2*live, floor)
				if target > want+want/100 || target < want-want/100 {
					t.Fatalf("GOGC %d puts the target at %d bytes, want max(2 × live, floor) = %d", p, target, want)
				}
			})
		}
	}
}

// A busy process's floor is what it allocates in 1/maxGCRate of a second,
// within gcHeapFloor..gcHeapCap per busy task.
func TestHeapFloor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate  float64
		tasks int
		want  uint64
	}{
		{0, 1, gcHeapFloor},
		{100 << 20, 1, gcHeapFloor},
		{maxGCRate * (40 << 20), 1, 40 << 20},
		{maxGCRate * gcHeapCap, 1, gcHeapCap},
		{10 * maxGCRate * (1 << 30), 1, gcHeapCap},
		{10 * maxGCRate * (1 << 30), 0, gcHeapCap}, // busy while no task counts yet
		{maxGCRate * (100 << 20), 2, 100 << 20},
		{10 * maxGCRate * (1 << 30), 3, 3 * gcHeapCap},
		{0, 4, gcHeapFloor},
	}
	for _, tt := range tests {
		if got := heapFloor(tt.rate, tt.tasks); got != tt.want {
			t.Errorf("heapFloor(%.0f B/s, %d tasks) = %d, want %d", tt.rate, tt.tasks, got, tt.want)
		}
	}
}

// TestGCTunerBusyAtOnce: busyGCs collections within gcTuneInterval put
// the heap floor in place as the last of them ends, without waiting for a
// tick, aimed at the rate the process allocated at over them; collections
// further apart do not.
func TestGCTunerBusyAtOnce(t *testing.T) {
	t.Parallel()
	var set []int
	var allocs uint64
	tu := &gcTuner{
		set:  func(p int) int { set = append(set, p); return 100 },
		read: func() gcStats { return gcStats{live: 2 << 20, allocs: allocs} },
	}
	tu.cycle()
	time.Sleep(gcTuneInterval + 10*time.Millisecond)
	for range busyGCs - 1 {
		tu.cycle()
	}
	if tu.busy || len(set) != 0 {
		t.Fatalf("busy %v after collections spread over more than %v (GOGC set to %v)", tu.busy, gcTuneInterval, set)
	}
	start := time.Now()
	allocs = 1 << 30 // a GiB since the oldest of the last busyGCs collections
	tu.cycle()
	if !tu.busy || len(set) != 1 {
		t.Fatalf("busy %v, GOGC set to %v after %d collections within %v; want busy and GOGC set", tu.busy, set, busyGCs, gcTuneInterval)
	}
	// A GiB in at most gcTuneInterval plus the sleep is at least 3.6 GiB/s:
	// the cap. The target is then max(2 × live, cap).
	if want := gcPercent(true, 2<<20, gcHeapCap); set[0] != want {
		t.Fatalf("GOGC set to %d, want %d (the cap, for %v of allocation since %v ago)", set[0], want, allocs, time.Since(start))
	}
}

// TestOnEveryGC: the hook runs after each collection.
func TestOnEveryGC(t *testing.T) {
	var n atomic.Int32
	onEveryGC(func() { n.Add(1) })
	for i := int32(1); i <= 3; i++ {
		runtime.GC()
		deadline := time.Now().Add(10 * time.Second)
		for n.Load() < i {
			if time.Now().After(deadline) {
				t.Fatalf("%d calls after %d collections", n.Load(), i)
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	}
}
