package runtime

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/offsets"
)

func TestTrackerCommitsOnlyContiguousAcks(t *testing.T) {
	t.Parallel()
	tr := newTracker()
	a1 := tr.submit([]byte(`{"p":"a"}`), []byte(`{"o":1}`))
	a2 := tr.submit([]byte(`{"p":"a"}`), []byte(`{"o":2}`))
	a3 := tr.submit([]byte(`{"p":"a"}`), []byte(`{"o":3}`))
	b1 := tr.submit([]byte(`{"p":"b"}`), []byte(`{"o":1}`))
	none := tr.submit([]byte(`{"p":"c"}`), nil) // tracked, but carries no offset
	none.ack()
	if tr.submit(nil, []byte(`{}`)) != nil {
		t.Fatal("a record without a source partition was tracked")
	}

	a2.ack()
	a3.ack()
	if got := tr.committable(); len(got) != 0 {
		t.Fatalf("committable = %s before the first record was acked", got)
	}
	a1.ack()
	b1.ack()
	got := tr.committable()
	want := map[string]string{`{"p":"a"}`: `{"o":3}`, `{"p":"b"}`: `{"o":1}`}
	if d := cmp.Diff(want, asMap(got)); d != "" {
		t.Fatalf("committable (-want +got):\n%s", d)
	}
	// Not stored yet: offered again.
	if d := cmp.Diff(want, asMap(tr.committable())); d != "" {
		t.Fatalf("committable after failed store (-want +got):\n%s", d)
	}
	tr.stored(got)
	if got := tr.committable(); len(got) != 0 {
		t.Fatalf("committable = %s after store", got)
	}
	if n := tr.outstanding(); n != 0 {
		t.Fatalf("outstanding = %d, want 0", n)
	}
}

// submit queues one record with this source position, as produce does for
// a batch of one, and returns its entry (nil without a partition).
func (t *tracker) submit(partition, offset []byte) *pending {
	if partition == nil {
		return nil
	}
	p := &pending{partition: partition, offset: offset, size: 1}
	p.remaining.Store(1)
	t.add(p)
	return p
}

// ack acknowledges the entry's one record, as onAck does without error.
func (p *pending) ack() {
	if p.remaining.Add(-1) == 0 {
		p.acked.Store(true)
	}
}

func asMap(es []offsets.Entry) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		m[string(e.Partition)] = string(e.Offset)
	}
	return m
}
