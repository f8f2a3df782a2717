package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/offsets"
)

// sourceRun is one run of a source task: one plugin process (or in-process
// instance) and one producer.
type sourceRun struct {
	t        *Task
	client   plugin.Client
	producer *kgo.Client
	tracker  *tracker

	commitMu sync.Mutex

	failOnce sync.Once
	failErr  error
	failed   chan struct{}
	hardStop <-chan struct{} // closed when records in flight are abandoned

	topics map[string]bool // topics known to exist; poll goroutine only
	m      taskMetrics
	errs   *errorHandler

	recycler plugin.Recycler // the client, when it reuses batches' buffers
	slabMu   sync.Mutex
	slabs    [][]kgo.Record // producer records of acknowledged batches, for reuse

	stores        offsetStores
	admin         *lazyAdmin     // topic creation and the dead letter queue's topic
	topicCreation *topicCreation // the connector's KIP-158 settings; nil: broker defaults
	exactlyOnce                  // the transaction state, when the task runs exactly once
}

// ensureTopics creates the batch's topics that do not exist yet, with the
// broker's default partitions and replication, before anything is produced
// to them (Kafka Connect's topic.creation.enable). Relying on the broker's
// auto-creation instead leaves the topic's existence to a side effect of a
// metadata request, which some brokers do not persist at once.
func (r *sourceRun) ensureTopics(ctx context.Context, batch []plugin.Record) error {
	if !r.t.w.Config.TopicCreation {
		return nil
	}
	var missing []string
	last := ""
	for i := range batch {
		if batch[i].Dropped || batch[i].Err != nil {
			continue // not produced to its topic
		}
		t := batch[i].Topic
		if t == last || r.topics[t] {
			last = t
			continue
		}
		last = t
		missing = append(missing, t)
		r.topics[t] = true // asked once per batch; reset below on failure
	}
	if len(missing) == 0 {
		return nil
	}
	// CreateTopics, not a metadata lookup first: with auto-creation allowed
	// the lookup itself would create the topic the unpersisted way.
	adm, err := r.admin.get(ctx)
	if err != nil {
		return connect.Retriable(err)
	}
	cctx, cancel := context.WithTimeout(ctx, r.t.w.Config.OffsetFlushTimeout)
	defer cancel()
	for _, t := range missing {
		partitions, rf, configs, group := int32(-1), int16(-1), map[string]*string(nil), ""
		if tc := r.topicCreation; tc != nil {
			g := tc.group(t)
			partitions, rf, configs, group = g.partitions, g.replicationFactor, g.configs, g.name
		}
		resp, err := adm.CreateTopic(cctx, partitions, rf, configs, t)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			r.t.logger.Info("created topic", "topic", t, "topic.creation.group", group, "partitions", partitions, "replication.factor", rf)
		case errors.Is(err, kerr.TopicAlreadyExists):
		case group != "" && !isRetriableKafka(err):
			// The connector's own settings are wrong for this cluster
			// (too many replicas, a config the broker refuses): retrying
			// will not help.
			delete(r.topics, t)
			return fmt.Errorf("create topic %s with topic creation group %s (topic.creation.%s.*): %w", t, group, group, err)
		default:
			delete(r.topics, t)
			return connect.Retriable(fmt.Errorf("create topic %s: %w", t, err))
		}
	}
	return nil
}

func (t *Task) runSource(stop context.Context) error {
	w := t.w
	sctx, cancel := startCtx(stop)
	defer cancel()
	client, err := t.spec.Entry.Launch(sctx, t.spec.ID.String(), t.logger)
	if err != nil {
		return err
	}
	defer client.Close()

	config, err := w.ResolveConfig(sctx, t.spec.Config)
	if err != nil {
		return err
	}
	policy, err := plugin.ParseErrorPolicy(config)
	if err != nil {
		return err
	}
	popts, psec, err := w.connectorProducerOpts(config)
	if err != nil {
		return err
	}
	admin, err := w.newLazyAdmin(config, w.clientID("admin", t.spec.ID))
	if err != nil {
		return err
	}
	defer admin.close()
	stores, err := w.sourceOffsetStores(sctx, config)
	if err != nil {
		return err
	}
	r := &sourceRun{t: t, client: client, tracker: newTracker(), failed: make(chan struct{}), topics: map[string]bool{}, m: w.Metrics.task(t.spec.ID.Connector, t.spec.ID.Task), stores: stores, admin: admin}
	if r.topicCreation, _ = parseTopicCreation(config); r.topicCreation != nil {
		t.logger.Debug("topics are created as the connector's topic.creation.* keys say")
	}
	popts = w.kafkaOpts(append(popts, kgo.ClientID(w.clientID("producer", t.spec.ID)), w.Metrics.ClientHooks("producer", w.clientID("producer", t.spec.ID)))...)
	if !w.Config.TopicCreation {
		popts = append(popts, kgo.AllowAutoTopicCreation())
	}
	popts = append(popts,
		kgo.RecordPartitioner(connectPartitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.ProducerBatchMaxBytes(1<<20),
	)
	if w.ExactlyOnce.Enabled() {
		// The task's records and offsets go in its transactions; before
		// its producer exists the herder checks that this task is still
		// the current one, and initialising the producer fences out any
		// older instance of it (a zombie) before the offsets are read.
		if err := r.prepareExactlyOnce(sctx, config); err != nil {
			return err
		}
		popts = append(popts, kgo.TransactionalID(r.txnID), kgo.TransactionTimeout(r.transactionTimeout()))
	}
	producer, err := kgo.NewClient(popts...)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer producer.Close()
	if err := psec.check(sctx, producer, "producer"); err != nil {
		return err
	}
	r.producer = producer
	if r.eos {
		if _, _, err := producer.ProducerID(sctx); err != nil {
			return fmt.Errorf("initialise the transactional producer %s: %w", r.txnID, err)
		}
		t.logger.Info("source task runs exactly once", "transactional.id", r.txnID, "transaction.boundary", r.boundary)
	}

	offs, err := r.loadOffsets(sctx)
	if err != nil {
		return err
	}
	if err := client.SourceStart(sctx, config, offs); err != nil {
		return fmt.Errorf("start: %w", w.redactErr(err))
	}
	r.recycler, _ = client.(plugin.Recycler)
	r.errs = newErrorHandler(policy, t.spec.ID, t.logger, r.m.errs)
	if policy.DLQTopic != "" {
		if r.errs.dlq, err = newDLQWriter(sctx, w, t.spec.ID, policy, producer, admin, r.m.errs); err != nil {
			client.SourceStop(context.Background())
			return err
		}
	}
	t.spec.Report(herder.Running, "")
	t.logger.Info("source task started", "offsets", len(offs))
	defer t.watchProgress(stop, client)()
	return r.loop(stop)
}

func (r *sourceRun) fail(err error) {
	r.failOnce.Do(func() {
		r.failErr = err
		close(r.failed)
	})
}

func (r *sourceRun) loop(stop context.Context) error {
	t := r.t
	ctx, cancel := context.WithCancel(stop)
	defer cancel()
	go func() {
		select {
		case <-r.failed:
			cancel()
		case <-ctx.Done():
		}
	}()
	// Records handed to the producer outlive the poll loop: a graceful
	// stop lets them finish (drain), and only a stop that overruns the
	// shutdown timeout fails them, through produceCtx.
	produceCtx, produceCancel := context.WithCancel(context.Background())
	defer produceCancel()
	r.hardStop = produceCtx.Done()
	go func() {
		select {
		case <-ctx.Done():
		case <-produceCtx.Done():
			return
		}
		select {
		case <-time.After(t.w.Config.ShutdownTimeout):
			produceCancel()
		case <-produceCtx.Done():
		}
	}()

	var wg sync.WaitGroup
	// Exactly once, offsets are committed with each transaction, in the
	// poll loop; otherwise every offset.flush.interval.ms.
	if !r.eos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(t.w.Config.OffsetFlushInterval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if err := r.commit(); err != nil {
						t.logger.Warn("offset commit failed; retrying at the next interval", "error", err)
					}
				}
			}
		}()
	}

	poll := r.client.SourcePoll
	if r.eos && r.boundary == connect.BoundaryInterval {
		poll = r.pollAhead(ctx, &wg)
	}
	retry := time.Duration(0)
	for ctx.Err() == nil {
		if r.eos && (r.intervalDue() || t.paused.Load()) {
			// An interval boundary passes while no records come, or the
			// task pauses: a transaction left open while paused would
			// outlive its timeout and be aborted by the broker.
			if err := r.endTransaction(false); err != nil {
				r.fail(err)
				break
			}
		}
		if !t.waitResumed(ctx) {
			break
		}
		polled := time.Now()
		batch, err := poll(ctx)
		if err == nil {
			r.m.g.pollTime.record(float64(time.Since(polled)) / 1e6)
			r.m.g.batchSize.record(float64(len(batch)))
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if connect.IsRetriable(err) {
				t.logger.Warn("poll failed; retrying", "error", err)
				r.m.errs.retries.Inc()
				pause(ctx, &retry)
				continue
			}
			r.fail(fmt.Errorf("poll: %w", err))
			break
		}
		retry = 0
		for {
			err := r.ensureTopics(ctx, batch)
			if err == nil || ctx.Err() != nil {
				break
			}
			if !connect.IsRetriable(err) {
				r.fail(err)
				break
			}
			t.logger.Warn("topic creation failed; retrying", "error", err)
			pause(ctx, &retry)
		}
		if ctx.Err() != nil {
			break
		}
		r.reportTopics(batch)
		if r.eos {
			if err := r.produceTransactional(produceCtx, batch); err != nil {
				r.fail(err)
				break
			}
			continue
		}
		if err := r.produce(produceCtx, batch); err != nil {
			r.fail(err)
			break
		}
	}
	cancel()
	wg.Wait()
	if r.eos {
		return r.drainTransactional()
	}
	return r.drain()
}

// produce hands a polled batch to the producer. All records of one source
// partition in the batch share one tracker entry, carrying the newest
// offset among them: it becomes committable once every one of them is
// acknowledged (and everything before it). A record a transform dropped
// needs no acknowledgement; one that failed needs its dead letter queue
// write's, if it has one. The kgo records are allocated as one slab per
// batch.
//
// With errors.tolerance=none a failed record fails the task: the records
// before it are produced, it is reported (error log, dead letter queue),
// and nothing after it is: no offset at or past it is committed.
func (r *sourceRun) produce(ctx context.Context, batch []plugin.Record) error {
	return r.produceBatch(ctx, batch, true)
}

// produceBatch is produce; a batch that is not reusable is never handed
// back to the client (a part of a batch split at transaction boundaries).
func (r *sourceRun) produceBatch(ctx context.Context, batch []plugin.Record, reusable bool) error {
	if !r.errs.policy.TolerateAll {
		for i := range batch {
			if batch[i].Err != nil {
				// Not reusable: the failed record's dead letter write
				// may still read from the batch.
				if err := r.send(ctx, batch[:i], false); err != nil {
					return err
				}
				r.m.poll.Inc()
				r.errs.m.failures.Inc()
				return r.errs.handle(ctx, failure{err: batch[i].Err, source: &batch[i]}, nil)
			}
		}
	}
	return r.send(ctx, batch, reusable)
}

// send produces a batch, routing its failed records per errors.tolerance=all.
//
// A reusable batch whose records are all produced (none failed or
// dropped) is reference counted: once every record is acknowledged, its
// producer records are reused for a later batch and, when the client
// reuses its buffers (plugin.Recycler), the batch goes back to the client.
// Nothing else keeps a reference into it: the tracker holds copies of its
// source partitions and offsets.
func (r *sourceRun) send(ctx context.Context, batch []plugin.Record, reusable bool) error {
	// Group by source partition; a batch nearly always holds one or a few.
	var groups []*pending
	owner := make([]*pending, len(batch))
	plain, untracked, produced := reusable, int32(0), int64(0)
	for i := range batch {
		rec := &batch[i]
		if rec.Dropped || rec.Err != nil {
			plain = false
		} else {
			produced++
		}
		if rec.SourcePartition == nil {
			untracked++
			continue
		}
		var g *pending
		for _, c := range groups {
			if string(c.partition) == string(rec.SourcePartition) {
				g = c
				break
			}
		}
		if g == nil {
			g = &pending{partition: rec.SourcePartition, run: r}
			groups = append(groups, g)
		}
		if rec.SourceOffset != nil {
			g.offset = rec.SourceOffset
		}
		owner[i] = g
		switch {
		case rec.Dropped:
		case rec.Err != nil:
			if r.errs.dlq != nil {
				g.remaining.Add(1) // the dead letter queue's acknowledgement
			}
		default:
			g.remaining.Add(1)
			g.size++
		}
	}
	var krs []kgo.Record
	var refs *batchRefs
	if plain && len(batch) > 0 {
		krs = r.slab(len(batch))
		refs = &batchRefs{run: r, batch: batch, krs: krs}
		refs.remaining.Store(int32(len(groups)) + untracked)
	} else {
		krs = make([]kgo.Record, len(batch))
	}
	for _, g := range groups {
		if r.recycler != nil { // the batch's bytes are the client's to reuse
			g.partition, g.offset = bytes.Clone(g.partition), bytes.Clone(g.offset)
		}
		g.refs = refs
		if g.remaining.Load() == 0 {
			g.acked.Store(true) // nothing of it is produced
		}
		r.tracker.add(g)
	}
	r.m.poll.Add(float64(len(batch)))
	r.m.g.sourceActiveW.record(float64(r.m.g.sourceActive.Add(produced)))
	for i := range batch {
		rec, kr := &batch[i], &krs[i]
		if rec.Dropped {
			continue
		}
		if rec.Err != nil {
			r.errs.m.failures.Inc()
			cb := r.onUntrackedDLQ
			if g := owner[i]; g != nil {
				cb = g.onAck
			}
			if err := r.errs.handle(ctx, failure{err: rec.Err, source: rec}, cb); err != nil {
				return err
			}
			continue
		}
		kr.Topic, kr.Partition, kr.Key, kr.Value = rec.Topic, rec.Partition, rec.Key, rec.Value
		if rec.TimestampMs != 0 {
			kr.Timestamp = time.UnixMilli(rec.TimestampMs)
		}
		if len(rec.Headers) > 0 {
			kr.Headers = make([]kgo.RecordHeader, len(rec.Headers))
			for j, h := range rec.Headers {
				kr.Headers[j] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
			}
		}
		cb := r.onUntracked
		if g := owner[i]; g != nil {
			cb = g.onAck
		} else if refs != nil {
			cb = refs.onUntracked
		}
		r.producer.Produce(ctx, kr, cb)
	}
	return nil
}

// batchRefs counts what of a plain batch is still with the producer: its
// source partition groups and its records without a source partition.
type batchRefs struct {
	remaining atomic.Int32
	run       *sourceRun
	batch     []plugin.Record
	krs       []kgo.Record
}

// done counts down one group or untracked record; the last releases the
// batch. A nil receiver does nothing.
func (b *batchRefs) done() {
	if b == nil || b.remaining.Add(-1) != 0 {
		return
	}
	b.run.release(b.krs)
	if b.run.recycler != nil {
		b.run.recycler.Recycle(b.batch)
	}
	// The tracker keeps the batch's groups, and them this, until their
	// offsets are stored: let go of the records now.
	b.batch, b.krs = nil, nil
}

// onUntracked is the produce callback of a plain batch's records without a
// source position.
func (b *batchRefs) onUntracked(kr *kgo.Record, err error) {
	b.run.onUntracked(kr, err)
	if err == nil {
		b.done()
	}
}

// maxSlabs bounds the producer record slabs kept for reuse.
const maxSlabs = 8

// slab returns n zeroed producer records, reused when one is free.
func (r *sourceRun) slab(n int) []kgo.Record {
	r.slabMu.Lock()
	for i := len(r.slabs) - 1; i >= 0; i-- {
		if s := r.slabs[i]; cap(s) >= n {
			r.slabs = append(r.slabs[:i], r.slabs[i+1:]...)
			r.slabMu.Unlock()
			return s[:n]
		}
	}
	r.slabMu.Unlock()
	return make([]kgo.Record, n)
}

// release takes back a slab whose records the producer is done with.
func (r *sourceRun) release(krs []kgo.Record) {
	clear(krs)
	r.slabMu.Lock()
	if len(r.slabs) < maxSlabs {
		r.slabs = append(r.slabs, krs[:0])
	}
	r.slabMu.Unlock()
}

// onUntrackedDLQ is the dead letter queue callback of failed records
// without a source position.
func (r *sourceRun) onUntrackedDLQ(kr *kgo.Record, err error) {
	if err != nil {
		r.produceFailed(kr, err)
	}
}

// onUntracked is the produce callback of records without a source position.
func (r *sourceRun) onUntracked(kr *kgo.Record, err error) {
	if err != nil {
		r.produceFailed(kr, err)
		return
	}
	r.m.write.Inc()
}

func (r *sourceRun) produceFailed(kr *kgo.Record, err error) {
	select {
	case <-r.hardStop:
		// Failed by our own hard stop: not the record's fault.
	default:
		if r.eos {
			r.fail(r.txnError("produce to "+kr.Topic+" in the", err))
			return
		}
		r.fail(fmt.Errorf("produce to %s: %w", kr.Topic, err))
	}
}

// drain waits (bounded) for records in flight, commits what they cover and
// stops the task.
func (r *sourceRun) drain() error {
	t := r.t
	timeout := t.w.Config.ShutdownTimeout
	fctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := r.producer.Flush(fctx); err != nil {
		t.logger.Warn("records still in flight at shutdown; their offsets are not committed", "outstanding", r.tracker.outstanding(), "error", err)
	}
	return r.stopTask(r.commit(), "final offset commit failed")
}

// stopTask stops the plugin's task after the run's final commit, whose
// error (commitErr) is only logged: the run's own failure, or the plugin
// process's end, is what the run returns.
func (r *sourceRun) stopTask(commitErr error, what string) error {
	sctx, scancel := context.WithTimeout(context.Background(), r.t.w.Config.ShutdownTimeout)
	defer scancel()
	stopErr := r.client.SourceStop(sctx)
	select {
	case <-r.failed:
		return r.failErr
	default:
	}
	if errors.Is(stopErr, plugin.ErrPluginExited) {
		return stopErr
	}
	if commitErr != nil {
		r.t.logger.Warn(what, "error", commitErr)
	}
	return nil
}

// commit stores the offsets of every acknowledged prefix and tells the task.
func (r *sourceRun) commit() error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	entries := r.tracker.committable()
	if len(entries) == 0 {
		return nil
	}
	t := r.t
	ctx, cancel := context.WithTimeout(context.Background(), t.w.Config.OffsetFlushTimeout)
	defer cancel()
	start := time.Now()
	err := r.stores.primary.Commit(ctx, t.spec.ID.Connector, entries)
	r.m.g.commitTime.record(float64(time.Since(start)) / 1e6)
	if err != nil {
		r.m.commitFailed.Inc()
		return fmt.Errorf("store offsets: %w", err)
	}
	r.m.commitOK.Inc()
	r.tracker.stored(entries)
	r.committed(ctx, entries)
	return nil
}

// committed tells the task which offsets are stored, and copies them to
// the worker's offsets topic when the connector has its own (as Kafka
// Connect does, so tools that read the worker's topic see them; a copy
// that fails is only logged: the connector's topic is the one read).
func (r *sourceRun) committed(ctx context.Context, entries []offsets.Entry) {
	t := r.t
	if r.stores.secondary != nil {
		if err := r.stores.secondary.Commit(ctx, t.spec.ID.Connector, entries); err != nil {
			t.logger.Warn("copying offsets to the worker's offsets topic failed; the connector's own offsets topic has them", "error", err)
		}
	}
	offs := make([]connect.SourceOffset, 0, len(entries))
	for _, e := range entries {
		p, _ := plugin.DecodeMap(e.Partition)
		o, _ := plugin.DecodeMap(e.Offset)
		offs = append(offs, connect.SourceOffset{Partition: p, Offset: o})
	}
	if err := r.client.SourceCommit(ctx, offs); err != nil {
		t.logger.Warn("task commit callback failed", "error", err)
	}
}

// connectPartitioner honours a record's explicit partition (as Kafka
// Connect's SourceRecord does) and otherwise partitions like Kafka's
// default: murmur2 of the key, sticky for null keys.
type connectPartitioner struct{ base kgo.Partitioner }

func (p connectPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &connectTopicPartitioner{base: p.base.ForTopic(topic)}
}

type connectTopicPartitioner struct{ base kgo.TopicPartitioner }

// OnNewBatch lets a sticky base partitioner pick a new partition for
// null-keyed records when a batch fills.
func (p *connectTopicPartitioner) OnNewBatch() {
	if nb, ok := p.base.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
func (p *connectTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.base.RequiresConsistency(r)
}
func (p *connectTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 && int(r.Partition) < n {
		return int(r.Partition)
	}
	return p.base.Partition(r, n)
}
