package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

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

// pending is one or more records of one source partition submitted
// together; offset is the newest offset among them (nil if none had one).
type pending struct {
	partition []byte
	offset    []byte
	remaining atomic.Int32
	size      int32 // records covered, for the write metric
	acked     atomic.Bool
	run       *sourceRun
	refs      *batchRefs // the batch's reference count, when it has one
}

// onAck is the produce callback of each record the entry covers.
func (p *pending) onAck(kr *kgo.Record, err error) {
	if err != nil {
		p.run.produceFailed(kr, err)
		return
	}
	if p.remaining.Add(-1) == 0 {
		p.acked.Store(true)
		p.run.m.write.Add(float64(p.size))
		p.refs.done()
	}
}

func newTracker() *tracker {
	return &tracker{parts: map[string]*partQueue{}, ready: map[string][]byte{}}
}

// add queues p behind everything submitted before from its partition.
func (t *tracker) add(p *pending) {
	t.mu.Lock()
	pq := t.parts[string(p.partition)]
	if pq == nil {
		pq = &partQueue{}
		t.parts[string(p.partition)] = pq
	}
	pq.q = append(pq.q, p)
	t.mu.Unlock()
}

// committable moves the acknowledged prefix of every partition into the
// ready set and returns the whole ready set as store entries.
func (t *tracker) committable() []offsets.Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	for part, pq := range t.parts {
		var last []byte
		for pq.head < len(pq.q) && pq.q[pq.head].acked.Load() {
			if off := pq.q[pq.head].offset; off != nil {
				last = off
			}
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
