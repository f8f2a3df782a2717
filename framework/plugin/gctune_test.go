package plugin

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// While busy, the collector's next target, as the runtime computes it from
// GOGC, is max(2 × live heap, gcHeapFloor) within rounding, whatever the
// live heap; otherwise GOGC stays at the default.
func TestGCPercent(t *testing.T) {
	t.Parallel()
	for _, live := range []uint64{0, 100 << 10, 1 << 20, 3 << 20, 6 << 20, gcHeapFloor / 2, gcHeapFloor, 1 << 30} {
		t.Run(fmt.Sprint(live), func(t *testing.T) {
			t.Parallel()
			if p := gcPercent(false, live); p != 100 {
				t.Fatalf("not busy: GOGC %d, want 100", p)
			}
			p := uint64(gcPercent(true, live))
			if p < 100 {
				t.Fatalf("GOGC %d: below the default", p)
			}
			target := max(runtimeMinHeap*p/100, live+live*p/100)
			want := max(2*live, uint64(gcHeapFloor))
			if target > want+want/100 || target < want-want/100 {
				t.Fatalf("GOGC %d puts the target at %d bytes, want max(2 × live, floor) = %d", p, target, want)
			}
		})
	}
}

// TestGCTunerBusyAtOnce: busyGCs collections within gcTuneInterval put
// the heap floor in place as the last of them ends, without waiting for a
// tick; collections further apart do not.
func TestGCTunerBusyAtOnce(t *testing.T) {
	t.Parallel()
	var set []int
	tu := &gcTuner{set: func(p int) int { set = append(set, p); return 100 }}
	tu.cycle()
	time.Sleep(gcTuneInterval + 10*time.Millisecond)
	for range busyGCs - 1 {
		tu.cycle()
	}
	if tu.busy || len(set) != 0 {
		t.Fatalf("busy %v after collections spread over more than %v (GOGC set to %v)", tu.busy, gcTuneInterval, set)
	}
	tu.cycle()
	if !tu.busy || len(set) != 1 || set[0] <= 100 {
		t.Fatalf("busy %v, GOGC set to %v after %d collections within %v; want busy and GOGC above 100", tu.busy, set, busyGCs, gcTuneInterval)
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
