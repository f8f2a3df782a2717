package elasticsink

import (
	"sort"
	"sync"

	"github.com/connectd/connectd/framework/connect"
)

// pendingOffsets tracks, per partition, the records the task holds until
// Elasticsearch acknowledges them (out of order: several bulk requests are
// in flight), and answers PreCommit: a partition's committable offset is
// its smallest offset still pending, or the offset given when none is.
// Safe for concurrent use.
type pendingOffsets struct {
	mu    sync.Mutex
	parts map[connect.TopicPartition]*pendingPart
	n     int
}

// pendingPart holds a partition's pending offsets in the order they were
// added (increasing); done ones are dropped from the front.
type pendingPart struct {
	offsets []int64
	done    []bool
	head    int
}

func newPendingOffsets() *pendingOffsets {
	return &pendingOffsets{parts: map[connect.TopicPartition]*pendingPart{}}
}

// Add records that the task now holds the record at offset of tp; offsets
// of one partition are added in increasing order.
func (p *pendingOffsets) Add(tp connect.TopicPartition, offset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := p.parts[tp]
	if pp == nil {
		pp = &pendingPart{}
		p.parts[tp] = pp
	}
	pp.offsets = append(pp.offsets, offset)
	pp.done = append(pp.done, false)
	p.n++
}

// Done records that the record at offset of tp is durable.
func (p *pendingOffsets) Done(tp connect.TopicPartition, offset int64) {
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
		n := copy(pp.offsets, pp.offsets[pp.head:])
		copy(pp.done, pp.done[pp.head:])
		pp.offsets, pp.done, pp.head = pp.offsets[:n], pp.done[:n], 0
	}
}

// Committable returns, for every partition of offsets, the offset to
// commit: its smallest pending offset, or the one given when none is
// pending.
func (p *pendingOffsets) Committable(offsets map[connect.TopicPartition]int64) map[connect.TopicPartition]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[connect.TopicPartition]int64, len(offsets))
	for tp, o := range offsets {
		if pp := p.parts[tp]; pp != nil && pp.head < len(pp.offsets) && pp.offsets[pp.head] < o {
			o = pp.offsets[pp.head]
		}
		out[tp] = o
	}
	return out
}

// Forget drops the state of partitions that were closed.
func (p *pendingOffsets) Forget(tps []connect.TopicPartition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tp := range tps {
		if pp := p.parts[tp]; pp != nil {
			p.n -= len(pp.offsets) - pp.head
			for i := pp.head; i < len(pp.offsets); i++ {
				if pp.done[i] {
					p.n++
				}
			}
			delete(p.parts, tp)
		}
	}
}

// Len returns how many records are pending in all partitions.
func (p *pendingOffsets) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
