package connect_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestPendingOffsets(t *testing.T) {
	t.Parallel()
	a := connect.TopicPartition{Topic: "t", Partition: 0}
	b := connect.TopicPartition{Topic: "t", Partition: 1}
	given := map[connect.TopicPartition]int64{a: 10, b: 7}
	var p connect.PendingOffsets
	if diff := cmp.Diff(given, p.Committable(given)); diff != "" {
		t.Fatalf("nothing pending: committable differs from given (-want +got):\n%s", diff)
	}
	for o := int64(3); o < 10; o++ {
		p.Add(a, o)
	}
	p.Add(b, 5)
	p.Done(a, 4) // out of order: 3 still pending
	p.Done(a, 6)
	want := map[connect.TopicPartition]int64{a: 3, b: 5}
	if diff := cmp.Diff(want, p.Committable(given)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	p.Done(a, 3) // 3 and 4 durable: 5 is next
	p.Done(b, 5)
	want = map[connect.TopicPartition]int64{a: 5, b: 7}
	if diff := cmp.Diff(want, p.Committable(given)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if got := p.Len(); got != 4 { // 5, 7, 8, 9
		t.Fatalf("Len = %d, want 4", got)
	}
	p.Add(a, 5) // handed again after a retriable error: still pending once
	p.Done(a, 99)
	if got := p.Len(); got != 4 {
		t.Fatalf("Len after re-adding a pending record = %d, want 4", got)
	}
	p.Forget([]connect.TopicPartition{a})
	if got := p.Len(); got != 0 {
		t.Fatalf("Len after Forget = %d, want 0", got)
	}
	if diff := cmp.Diff(given, p.Committable(given)); diff != "" {
		t.Fatalf("after Forget (-want +got):\n%s", diff)
	}
}

// TestPendingOffsetsModel checks PendingOffsets against a plain set under
// random adds, re-adds and out-of-order acknowledgements from several
// goroutines at once.
func TestPendingOffsetsModel(t *testing.T) {
	t.Parallel()
	tp := connect.TopicPartition{Topic: "t", Partition: 0}
	rng := rand.New(rand.NewPCG(1, 2))
	var p connect.PendingOffsets
	model := map[int64]bool{}
	next := int64(0)
	for step := 0; step < 20000; step++ {
		switch r := rng.IntN(10); {
		case r < 5:
			p.Add(tp, next)
			model[next] = true
			next++
		case r < 6 && next > 0:
			o := next - 1 - rng.Int64N(min(next, 50))
			p.Add(tp, o)
			model[o] = true
		default:
			if next == 0 {
				continue
			}
			o := next - 1 - rng.Int64N(min(next, 200))
			p.Done(tp, o)
			delete(model, o)
		}
		want := next
		for o := range model {
			want = min(want, o)
		}
		if got := p.Committable(map[connect.TopicPartition]int64{tp: next})[tp]; got != want {
			t.Fatalf("step %d: committable %d, want %d", step, got, want)
		}
		if p.Len() != len(model) {
			t.Fatalf("step %d: Len %d, want %d", step, p.Len(), len(model))
		}
	}
	// Acknowledgements racing with adds on other partitions.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp := connect.TopicPartition{Topic: "c", Partition: int32(g)}
			for o := int64(0); o < 2000; o++ {
				p.Add(tp, o)
			}
			for o := int64(1999); o >= 0; o-- {
				p.Done(tp, o)
			}
		}()
	}
	wg.Wait()
	if p.Len() != len(model) {
		t.Fatalf("after concurrent partitions: Len %d, want %d", p.Len(), len(model))
	}
}

func BenchmarkPendingOffsets(b *testing.B) {
	tp := connect.TopicPartition{Topic: "t", Partition: 0}
	var p connect.PendingOffsets
	const window = 2000
	for i := 0; i < b.N; i++ {
		o := int64(i)
		p.Add(tp, o)
		if o >= window {
			p.Done(tp, o-window)
		}
	}
}
