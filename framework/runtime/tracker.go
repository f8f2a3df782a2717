package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/connectd/connectd/offsets"
)

// tracker follows the records a source task submitted, per source
// partition, in poll order. A record's offset may be committed only when it
// and every record polled before it from the same source partition are
// acknowledged by Kafka: acknowledgements arrive out of order across Kafka
// partitions, and committing past an unacknowledged record would lose it on
// a crash.
type tracker struct {
	mu    sync.Mutex
	parts map[string]*partQueue
	// ready holds offsets that became committable but are not yet stored
	// (a failed store is retried with the next commit).
	ready map[string][]byte
}

type partQueue struct {
	q    []*pending
	head int
}

type pending struct {
	offset []byte
	acked  atomic.Bool
}

func newTracker() *tracker {
	return &tracker{parts: map[string]*partQueue{}, ready: map[string][]byte{}}
}

// submit records that a record with this source position was handed to the
// producer. It returns nil when the record has no position to track.
func (t *tracker) submit(partition, offset []byte) *pending {
	if partition == nil || offset == nil {
		return nil
	}
	p := &pending{offset: offset}
	t.mu.Lock()
	pq := t.parts[string(partition)]
	if pq == nil {
		pq = &partQueue{}
		t.parts[string(partition)] = pq
	}
	pq.q = append(pq.q, p)
	t.mu.Unlock()
	return p
}

// ack marks a record acknowledged; safe from any goroutine.
func (p *pending) ack() {
	if p != nil {
		p.acked.Store(true)
	}
}

// committable moves the acknowledged prefix of every partition into the
// ready set and returns the whole ready set as store entries.
func (t *tracker) committable() []offsets.Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	for part, pq := range t.parts {
		var last []byte
		for pq.head < len(pq.q) && pq.q[pq.head].acked.Load() {
			last = pq.q[pq.head].offset
			pq.q[pq.head] = nil
			pq.head++
		}
		if last != nil {
			t.ready[part] = last
		}
		if pq.head == len(pq.q) {
			pq.q, pq.head = pq.q[:0], 0
		} else if pq.head > 1024 && pq.head*2 > len(pq.q) {
			pq.q = append(pq.q[:0], pq.q[pq.head:]...)
			pq.head = 0
		}
	}
	out := make([]offsets.Entry, 0, len(t.ready))
	for part, off := range t.ready {
		out = append(out, offsets.Entry{Partition: []byte(part), Offset: off})
	}
	return out
}

// stored removes entries from the ready set once the store has them, unless
// a newer offset became ready meanwhile.
func (t *tracker) stored(es []offsets.Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range es {
		if cur, ok := t.ready[string(e.Partition)]; ok && string(cur) == string(e.Offset) {
			delete(t.ready, string(e.Partition))
		}
	}
}

// outstanding counts records submitted but not yet committable.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, pq := range t.parts {
		n += len(pq.q) - pq.head
	}
	return n
}
