package connect

import (
	"slices"
	"sort"
	"sync"
)

// PendingOffsets tracks, per partition, the records a sink task holds until
// they are durable, when they become durable out of order (concurrent bulk
// requests, parallel uploads), and answers PreCommit: the committable offset
// of a partition is its smallest offset still pending, or the offset the
// framework gave when none is. It is safe for concurrent use, so the
// goroutines that learn of durability can call Done while Put calls Add.
//
// Memory is one int64 and one bool per pending record; the records of a
// partition that are durable up to its first pending one are dropped.
type PendingOffsets struct {
	mu    sync.Mutex
	parts map[TopicPartition]*pendingPart
	n     int // records pending in all partitions
}

// pendingPart holds a partition's held offsets in ascending order from
// head; done marks those durable behind a pending one.
type pendingPart struct {
	offsets []int64
	done    []bool
	head    int
}

// Add records that the task now holds the record at offset of tp. Offsets
// normally increase per partition; a record handed again (after a
// retriable error) is pending again.
func (p *PendingOffsets) Add(tp TopicPartition, offset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parts == nil {
		p.parts = map[TopicPartition]*pendingPart{}
	}
	pp := p.parts[tp]
	if pp == nil {
		pp = &pendingPart{}
		p.parts[tp] = pp
	}
	if n := len(pp.offsets); n == pp.head || pp.offsets[n-1] < offset {
		pp.offsets = append(pp.offsets, offset)
		pp.done = append(pp.done, false)
		p.n++
		return
	}
	live := pp.offsets[pp.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i] >= offset })
	if i < len(live) && live[i] == offset {
		if pp.done[pp.head+i] {
			pp.done[pp.head+i] = false
			p.n++
		}
		return
	}
	at := pp.head + i
	pp.offsets = slices.Insert(pp.offsets, at, offset)
	pp.done = slices.Insert(pp.done, at, false)
	p.n++
}

// Done records that the record at offset of tp is durable. An offset that
// is not pending is ignored.
func (p *PendingOffsets) Done(tp TopicPartition, offset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := p.parts[tp]
	if pp == nil {
		return
	}
	live := pp.offsets[pp.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i] >= offset })
	if i == len(live) || live[i] != offset || pp.done[pp.head+i] {
		return
	}
	pp.done[pp.head+i] = true
	p.n--
	for pp.head < len(pp.offsets) && pp.done[pp.head] {
		pp.head++
	}
	switch {
	case pp.head == len(pp.offsets):
		pp.offsets, pp.done, pp.head = pp.offsets[:0], pp.done[:0], 0
	case pp.head > 1024 && pp.head > len(pp.offsets)/2:
		pp.offsets = append(pp.offsets[:0], pp.offsets[pp.head:]...)
		pp.done = append(pp.done[:0], pp.done[pp.head:]...)
		pp.head = 0
	}
}

// Committable returns, for every partition of offsets, the offset up to
// which its records are durable: its smallest pending offset, else the
// offset given. It is what PreCommit returns.
func (p *PendingOffsets) Committable(offsets map[TopicPartition]int64) map[TopicPartition]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[TopicPartition]int64, len(offsets))
	for tp, o := range offsets {
		if pp := p.parts[tp]; pp != nil && pp.head < len(pp.offsets) && pp.offsets[pp.head] < o {
			o = pp.offsets[pp.head]
		}
		out[tp] = o
	}
	return out
}

// Forget drops the state of partitions the task no longer holds (Close).
func (p *PendingOffsets) Forget(tps []TopicPartition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tp := range tps {
		if pp := p.parts[tp]; pp != nil {
			for i := pp.head; i < len(pp.offsets); i++ {
				if !pp.done[i] {
					p.n--
				}
			}
			delete(p.parts, tp)
		}
	}
}

// Len returns how many records are pending in all partitions.
func (p *PendingOffsets) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
