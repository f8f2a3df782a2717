package plugin

import (
	"runtime"
	"sync"
	"weak"

	"github.com/connectd/connectd/framework/connect"
)

// errantReporter is the SDK side of connect.ErrantRecordReporter, for sink
// tasks that find failed records after Put returned (bulk requests in
// flight). A report waits here until the next SinkPut answers, which
// carries it to the worker beside that batch's own failures; the worker
// then handles it as a record Put rejected (log, dead letter queue,
// errors.tolerance). Until then SinkFlush holds the committable offset of
// its partition at the record, so no offset passes a record the worker has
// not handled.
//
// The worker writes the record to the dead letter queue as consumed, byte
// for byte, as for every sink failure. The task only has the record it
// was put (converted, maybe transformed), so the reporter remembers, for
// every record handed to the task, the consumed record it came from, for
// as long as the task keeps the record: the entry goes when the record is
// garbage collected (a weak pointer and a cleanup), so the memory is that
// of the records the task holds anyway. A reported record the task made
// itself is written with the connector's converters instead.
type errantReporter struct {
	l *local

	mu      sync.Mutex
	origins map[weak.Pointer[connect.Record]]Record
	queue   []FailedRecord
}

func newErrantReporter(l *local) *errantReporter {
	return &errantReporter{l: l, origins: map[weak.Pointer[connect.Record]]Record{}}
}

// remember notes that r, handed to the task, came from the consumed
// record w.
func (e *errantReporter) remember(r *connect.Record, w *Record) {
	wp := weak.Make(r)
	e.mu.Lock()
	e.origins[wp] = *w
	e.mu.Unlock()
	runtime.AddCleanup(r, e.forget, wp)
}

func (e *errantReporter) forget(wp weak.Pointer[connect.Record]) {
	e.mu.Lock()
	delete(e.origins, wp)
	e.mu.Unlock()
}

// Report implements connect.ErrantRecordReporter.
func (e *errantReporter) Report(rec *connect.Record, err error) {
	if rec == nil {
		return
	}
	if err == nil {
		err = errRejectedSilently
	}
	e.mu.Lock()
	w, ok := e.origins[weak.Make(rec)]
	e.mu.Unlock()
	if !ok {
		w = Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}
		e.l.dlqPayload(rec, &w)
	}
	f := FailedRecord{Index: -1, Record: &w, Err: NewRecordError(StagePut, e.l.className, err)}
	e.mu.Lock()
	e.queue = append(e.queue, f)
	e.mu.Unlock()
}

// drain returns the reports not yet handed to the worker.
func (e *errantReporter) drain() []FailedRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queue
	e.queue = nil
	return q
}

// holdBack lowers the committable offset of every partition with a report
// still waiting here to that record's offset.
func (e *errantReporter) holdBack(committable map[connect.TopicPartition]int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.queue {
		tp := connect.TopicPartition{Topic: f.Record.Topic, Partition: f.Record.Partition}
		if o, ok := committable[tp]; ok && f.Record.Offset < o {
			committable[tp] = f.Record.Offset
		}
	}
}
