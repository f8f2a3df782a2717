package plugin

import (
	"fmt"
	"testing"
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
