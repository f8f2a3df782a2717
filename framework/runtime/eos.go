package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/offsets"
)

// How a source task runs exactly once (KIP-618), in the order of one run:
//
//  1. The herder's PreProducerCheck confirms the task is still the current
//     generation's and assigned here, and that its connector's older tasks
//     were fenced (the task count record is newer than its task configs).
//  2. The task's producer, with transactional id <group.id>-<connector>-<task>,
//     initialises its producer id: the broker aborts whatever transaction
//     an older instance of the task left open and fences that instance
//     out, so it can neither write nor commit again.
//  3. Offsets are read read_committed: only those of committed
//     transactions.
//  4. The poll loop opens a transaction before the first record after a
//     boundary, produces records into it, and at each boundary (every
//     batch, every interval, or where the task says) flushes the records,
//     writes the offsets of exactly those records into the offsets topic
//     in the same transaction, and commits. A read_committed consumer sees
//     the records and the offsets together or not at all.
//  5. A graceful stop commits the open transaction; a failure or a kill
//     leaves it to be aborted (by the next instance's step 2, or by the
//     broker after transaction.timeout.ms).

// ErrTaskNotReady is returned by a PreProducerCheck when the task may not
// start yet (its connector awaits zombie fencing, the worker is behind on
// the config topic): the worker starts the task again after a backoff
// rather than failing it.
var ErrTaskNotReady = errors.New("task not ready to start")

// exactlyOnce is a source run's transaction state. The poll goroutine owns
// it.
type exactlyOnce struct {
	eos          bool
	txnID        string
	boundary     string        // poll, interval or connector
	interval     time.Duration // transaction.boundary.interval.ms
	offsetsTopic string        // where the transaction writes offsets
	txnOpen      bool
	txnStart     time.Time
	txnRecords   int
}

// prepareExactlyOnce reads the connector's exactly-once keys and runs the
// herder's pre-producer check.
func (r *sourceRun) prepareExactlyOnce(ctx context.Context, config map[string]string) error {
	t := r.t
	k, ok := r.stores.primary.(topicStore)
	if !ok {
		return errors.New("exactly-once source support needs a Kafka offsets topic")
	}
	r.eos = true
	r.offsetsTopic = k.Topic()
	r.txnID = TransactionalID(t.w.ExactlyOnce.GroupID, t.spec.ID.Connector, t.spec.ID.Task)
	r.boundary = strings.ToLower(strings.TrimSpace(config[KeyTransactionBoundary]))
	if r.boundary == "" {
		r.boundary = connect.BoundaryPoll
	}
	r.interval = t.w.Config.OffsetFlushInterval
	if v := strings.TrimSpace(config[KeyTransactionBoundaryInterval]); v != "" {
		var ms int64
		if _, err := fmt.Sscan(v, &ms); err != nil || ms < 0 {
			return fmt.Errorf("%s=%q is not a number of milliseconds", KeyTransactionBoundaryInterval, v)
		}
		r.interval = time.Duration(ms) * time.Millisecond
	}
	if check := t.spec.PreProducerCheck; check != nil {
		if err := check(ctx); err != nil {
			return err
		}
	}
	return nil
}

// transactionTimeout is the task producer's transaction.timeout.ms: Kafka's
// default, or twice a longer transaction interval, so that the broker does
// not abort a transaction the task is still filling; at most Kafka's
// default transaction.max.timeout.ms (15 minutes).
func (r *sourceRun) transactionTimeout() time.Duration {
	d := transactionTimeout
	if r.boundary == connect.BoundaryInterval && 2*r.interval > d {
		d = min(2*r.interval, 15*time.Minute)
	}
	return d
}

// intervalDue reports whether an interval boundary has passed with a
// transaction open.
func (r *sourceRun) intervalDue() bool {
	return r.boundary == connect.BoundaryInterval && r.txnOpen && time.Since(r.txnStart) >= r.interval
}

// produceTransactional produces a polled batch into the open transaction
// (opening one first) and ends transactions at the batch's boundaries.
func (r *sourceRun) produceTransactional(ctx context.Context, batch []plugin.Record) error {
	if len(batch) == 0 {
		return nil
	}
	start, reusable := 0, true
	for i := range batch {
		if batch[i].Txn == plugin.TxnNone || r.boundary != connect.BoundaryConnector {
			continue
		}
		// A boundary the task set: what comes before it, and it, end
		// this transaction; the rest starts the next.
		reusable = false
		if err := r.produceInTxn(ctx, batch[start:i+1], false); err != nil {
			return err
		}
		if err := r.endTransaction(batch[i].Txn == plugin.TxnAbort); err != nil {
			return err
		}
		start = i + 1
	}
	if start < len(batch) {
		if err := r.produceInTxn(ctx, batch[start:], reusable); err != nil {
			return err
		}
	}
	switch {
	case r.boundary == connect.BoundaryPoll:
		return r.endTransaction(false)
	case r.intervalDue():
		return r.endTransaction(false)
	}
	return nil
}

func (r *sourceRun) produceInTxn(ctx context.Context, part []plugin.Record, reusable bool) error {
	if !r.txnOpen {
		if err := r.producer.BeginTransaction(); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		r.txnOpen, r.txnStart, r.txnRecords = true, time.Now(), 0
	}
	r.txnRecords += len(part)
	return r.produceBatch(ctx, part, reusable)
}

// endTransaction ends the open transaction: it waits for its records, then
// either writes the offsets they cover and commits, or aborts and forgets
// those offsets (the task goes on from where it is; the aborted records
// are not produced again unless the task restarts from its committed
// offsets).
func (r *sourceRun) endTransaction(abort bool) error {
	if !r.txnOpen {
		return nil
	}
	t := r.t
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), transactionTimeout)
	defer cancel()
	flushErr := r.producer.Flush(ctx)
	select {
	case <-r.failed:
		abort = true // a record failed: this transaction cannot commit
	default:
	}
	entries := r.tracker.committable()
	if abort || flushErr != nil {
		r.tracker.stored(entries) // never to be committed
		r.txnOpen = false
		if err := r.producer.EndTransaction(ctx, kgo.TryAbort); err != nil {
			return r.txnError("abort", err)
		}
		if flushErr != nil {
			return fmt.Errorf("flush the transaction's records: %w", flushErr)
		}
		t.logger.Info("transaction aborted", "records", r.txnRecords)
		return nil
	}
	recs, err := offsets.Records(r.offsetsTopic, t.spec.ID.Connector, entries)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		if err := r.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			r.m.commitFailed.Inc()
			return r.txnError("write offsets in", err)
		}
	}
	if err := r.producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		r.m.commitFailed.Inc()
		return r.txnError("commit", err)
	}
	r.txnOpen = false
	r.m.commitOK.Inc()
	r.m.txnCommit.Observe(time.Since(start).Seconds())
	r.m.g.commitTime.record(float64(time.Since(start)) / 1e6)
	r.m.txnSize.record(float64(r.txnRecords))
	r.tracker.stored(entries)
	if len(entries) > 0 {
		r.committed(ctx, entries)
	}
	return nil
}

// txnError words a failed transaction step; a fenced producer says why.
func (r *sourceRun) txnError(step string, err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
		return fmt.Errorf("%s transaction of %s: this task instance was fenced out: a newer instance of the task took over (it was moved to another worker, or its connector was reconfigured), so this one commits nothing more: %w", step, r.txnID, err)
	}
	return fmt.Errorf("%s transaction of %s: %w", step, r.txnID, err)
}

// drainTransactional ends a run that runs exactly once: a graceful stop
// commits the open transaction (bounded by the shutdown timeout), a
// failure aborts it; then the task stops.
func (r *sourceRun) drainTransactional() error {
	t := r.t
	var endErr error
	select {
	case <-r.failed:
		endErr = r.endTransaction(true)
	default:
		done := make(chan error, 1)
		go func() { done <- r.endTransaction(false) }()
		select {
		case endErr = <-done:
		case <-time.After(t.w.Config.ShutdownTimeout):
			// Records still in flight: the open transaction is left for
			// the next instance to abort.
			t.logger.Warn("the open transaction did not commit within the shutdown timeout; it will be aborted", "records", r.txnRecords)
			r.producer.Close()
			endErr = <-done
		}
	}
	return r.stopTask(endErr, "final transaction failed")
}

// topicStore is an offset store in a Kafka topic (offsets.Kafka, and what
// wraps it).
type topicStore interface {
	offsets.Store
	Topic() string
}

// offsetStores are where a source task reads and writes its offsets: its
// connector's own offsets topic (offsets.storage.topic) as primary with
// the worker's as secondary, or the worker's alone.
type offsetStores struct {
	primary   offsets.Store
	secondary offsets.Store // nil without a connector offsets topic
}

// sourceOffsetStores returns the offset stores of a source connector with
// config.
func (w *Worker) sourceOffsetStores(ctx context.Context, config map[string]string) (offsetStores, error) {
	topic := strings.TrimSpace(config[KeyOffsetsTopic])
	if topic == "" || w.OpenOffsetsTopic == nil {
		return offsetStores{primary: w.Offsets}, nil
	}
	if k, ok := w.Offsets.(topicStore); ok && k.Topic() == topic {
		return offsetStores{primary: w.Offsets}, nil
	}
	s, err := w.OpenOffsetsTopic(ctx, topic)
	if err != nil {
		return offsetStores{}, fmt.Errorf("open the connector's offsets topic %s (%s): %w", topic, KeyOffsetsTopic, err)
	}
	return offsetStores{primary: s, secondary: w.Offsets}, nil
}

// loadOffsets reads the connector's offsets as the task's stores hold
// them (see Worker.loadSourceOffsets).
func (r *sourceRun) loadOffsets(ctx context.Context) ([]connect.SourceOffset, error) {
	stored, err := r.stores.load(ctx, r.t.spec.ID.Connector)
	if err != nil {
		return nil, fmt.Errorf("load offsets: %w", err)
	}
	offs := make([]connect.SourceOffset, 0, len(stored))
	for _, e := range stored {
		p, err := plugin.DecodeMap(e.Partition)
		if err != nil {
			return nil, err
		}
		o, err := plugin.DecodeMap(e.Offset)
		if err != nil {
			return nil, err
		}
		offs = append(offs, connect.SourceOffset{Partition: p, Offset: o})
	}
	return offs, nil
}

// load reads a connector's offsets: the worker's, overridden partition by
// partition by its own topic's when it has one, as Kafka Connect reads
// them.
func (s offsetStores) load(ctx context.Context, connector string) ([]offsets.Entry, error) {
	merged := map[string][]byte{}
	var order []string
	for _, st := range []offsets.Store{s.secondary, s.primary} {
		if st == nil {
			continue
		}
		es, err := st.Load(ctx, connector)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if _, ok := merged[string(e.Partition)]; !ok {
				order = append(order, string(e.Partition))
			}
			merged[string(e.Partition)] = e.Offset
		}
	}
	out := make([]offsets.Entry, 0, len(order))
	for _, p := range order {
		if merged[p] != nil {
			out = append(out, offsets.Entry{Partition: []byte(p), Offset: merged[p]})
		}
	}
	return out, nil
}

// commit writes entries to the primary store and copies them to the
// secondary, if any.
func (s offsetStores) commit(ctx context.Context, connector string, entries []offsets.Entry) error {
	if err := s.primary.Commit(ctx, connector, entries); err != nil {
		return err
	}
	if s.secondary != nil {
		return s.secondary.Commit(ctx, connector, entries)
	}
	return nil
}

// isRetriableKafka reports whether a Kafka error may pass by itself.
func isRetriableKafka(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return true
}

// pollAhead polls the task on a goroutine of its own (owned by wg, ended
// by ctx), so that an interval boundary is kept while the task has
// nothing to return: the plugin's poll blocks until it has a batch. The
// returned poll waits for the next batch or the boundary, whichever comes
// first; at the boundary it returns an empty batch.
func (r *sourceRun) pollAhead(ctx context.Context, wg *sync.WaitGroup) func(context.Context) ([]plugin.Record, error) {
	type polled struct {
		batch []plugin.Record
		err   error
	}
	ch := make(chan polled)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			b, err := r.client.SourcePoll(ctx)
			select {
			case ch <- polled{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil && !connect.IsRetriable(err) {
				return
			}
		}
	}()
	return func(ctx context.Context) ([]plugin.Record, error) {
		var due <-chan time.Time
		if r.txnOpen {
			timer := time.NewTimer(time.Until(r.txnStart.Add(r.interval)))
			defer timer.Stop()
			due = timer.C
		}
		select {
		case p := <-ch:
			return p.batch, p.err
		case <-due:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
