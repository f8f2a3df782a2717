package runtime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// maxPollRecords is Kafka Connect's consumer default max.poll.records.
const maxPollRecords = 500

// sinkRun is one run of a sink task: one plugin process and one consumer in
// the connector's group. The task's calls (Put, Flush, Open, Close) are
// serialised by mu: the poll loop and the group's rebalance callbacks both
// make them.
type sinkRun struct {
	t        *Task
	client   plugin.Client
	consumer *kgo.Client

	mu        sync.Mutex
	consumed  map[connect.TopicPartition]int64 // next offset after the last record put
	committed map[connect.TopicPartition]int64
	assigned  map[connect.TopicPartition]bool
	fatal     error
	m         taskMetrics
	errs      *errorHandler
	dlq       *kgo.Client // the dead letter queue's producer, or nil
	// putCtx bounds the calls that hand records to the task: it ends the
	// shutdown timeout after the task is told to stop, so a put that
	// retries without end cannot hold a stop forever.
	putCtx context.Context
}

// SinkGroup is the consumer group of a sink connector, as Kafka Connect names it.
func SinkGroup(connector string) string { return "connect-" + connector }

func (t *Task) runSink(stop context.Context) error {
	w := t.w
	sctx, cancel := startCtx(stop)
	defer cancel()
	client, err := w.launchTask(sctx, t.spec.Entry, t.spec.ID, t.spec.Config, t.logger)
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
	if err := client.SinkStart(sctx, config); err != nil {
		return fmt.Errorf("start: %w", w.redactErr(err))
	}
	r := &sinkRun{t: t, client: client, m: w.Metrics.task(t.spec.ID.Connector, t.spec.ID.Task), consumed: map[connect.TopicPartition]int64{}, committed: map[connect.TopicPartition]int64{}, assigned: map[connect.TopicPartition]bool{}}
	r.errs = newErrorHandler(policy, t.spec.ID, t.logger, r.m.errs)
	putCtx, putCancel := context.WithCancel(context.Background())
	defer putCancel()
	stopPuts := context.AfterFunc(stop, func() { time.AfterFunc(w.Config.ShutdownTimeout, putCancel) })
	defer stopPuts()
	r.putCtx = putCtx
	if policy.DLQTopic != "" {
		popts, psec, err := w.connectorProducerOpts(config)
		if err != nil {
			client.SinkStop(context.Background())
			return err
		}
		dlq, err := kgo.NewClient(w.kafkaOpts(append(popts, kgo.ClientID(w.clientID("dlq-producer", t.spec.ID)), w.Metrics.ClientHooks("producer", w.clientID("dlq-producer", t.spec.ID)))...)...)
		if err != nil {
			client.SinkStop(context.Background())
			return fmt.Errorf("dead letter queue producer: %w", err)
		}
		defer dlq.Close()
		if err := psec.check(sctx, dlq, "dead letter queue producer"); err != nil {
			client.SinkStop(context.Background())
			return err
		}
		admin, err := w.newLazyAdmin(config, w.clientID("admin", t.spec.ID))
		if err != nil {
			client.SinkStop(context.Background())
			return err
		}
		defer admin.close()
		if r.errs.dlq, err = newDLQWriter(sctx, w, t.spec.ID, policy, dlq, admin, r.m.errs); err != nil {
			client.SinkStop(context.Background())
			return err
		}
		r.dlq = dlq
	}
	opts := w.kafkaOpts(
		kgo.ClientID(w.clientID("consumer", t.spec.ID)),
		w.Metrics.ClientHooks("consumer", w.clientID("consumer", t.spec.ID)),
		kgo.ConsumerGroup(SinkGroup(t.spec.ID.Connector)),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(r.onAssigned),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onLost),
	)
	opts = append(opts, w.Config.ConsumerOpts...)
	csec, err := w.connectorConsumerOpts(config)
	if err != nil {
		client.SinkStop(context.Background())
		return err
	}
	opts = append(opts, csec.opts...)
	if re := config[KeyTopicsRegex]; re != "" {
		if _, err := regexp.Compile(re); err != nil {
			client.SinkStop(context.Background())
			return fmt.Errorf("%s: %w", KeyTopicsRegex, err)
		}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(re))
	} else {
		opts = append(opts, kgo.ConsumeTopics(connect.SplitList(config[KeyTopics])...))
	}
	consumer, err := kgo.NewClient(opts...)
	if err != nil {
		client.SinkStop(context.Background())
		return fmt.Errorf("consumer: %w", err)
	}
	if err := csec.check(sctx, consumer, "consumer"); err != nil {
		consumer.Close()
		client.SinkStop(context.Background())
		return err
	}
	r.consumer = consumer
	t.spec.Report(herder.Running, "")
	t.logger.Info("sink task started")
	stopProgress := t.watchProgress(stop, client)
	err = r.loop(stop)
	stopProgress()
	return r.shutdown(err)
}

func (r *sinkRun) loop(stop context.Context) error {
	t := r.t
	lastFlush := time.Now()
	paused := false
	for stop.Err() == nil {
		if p := t.paused.Load(); p != paused {
			paused = p
			r.setPaused(paused)
		}
		pctx, cancel := context.WithTimeout(stop, time.Second)
		fetches := r.consumer.PollRecords(pctx, maxPollRecords)
		cancel()
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && fetchErr == nil {
				fetchErr = fmt.Errorf("consume %s[%d]: %w", topic, p, err)
			}
		})
		if errors.Is(fetchErr, kgo.ErrClientClosed) {
			return fetchErr
		}
		if fetchErr != nil {
			t.logger.Warn("fetch error; the client retries", "error", fetchErr)
		}
		recs := fetches.Records()
		if len(recs) > 0 {
			r.m.read.Add(float64(len(recs)))
			r.m.g.sinkActiveW.record(float64(r.m.g.sinkActive.Add(int64(len(recs)))))
			r.reportTopics(fetches)
			lag := int64(-1)
			fetches.EachPartition(func(p kgo.FetchTopicPartition) {
				if n := len(p.Records); n > 0 {
					lag = max(lag, p.HighWatermark-p.Records[n-1].Offset-1)
				}
			})
			if lag >= 0 {
				r.m.g.lagMax.record(float64(lag))
			}
		}
		// An empty batch too, as Kafka Connect does: it is the task's tick
		// while nothing arrives, to close idle files or send a lingering
		// batch (connect.SinkTask.Put).
		if err := r.put(stop, recs); err != nil {
			r.consumer.AllowRebalance()
			return err
		}
		if time.Since(lastFlush) >= t.w.Config.OffsetFlushInterval {
			if err := r.flushAndCommit(nil); err != nil {
				r.consumer.AllowRebalance()
				return err
			}
			lastFlush = time.Now()
		}
		r.consumer.AllowRebalance()
		r.mu.Lock()
		err := r.fatal
		r.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *sinkRun) setPaused(paused bool) {
	r.mu.Lock()
	parts := map[string][]int32{}
	for tp := range r.assigned {
		parts[tp.Topic] = append(parts[tp.Topic], tp.Partition)
	}
	r.mu.Unlock()
	if paused {
		r.consumer.PauseFetchPartitions(parts)
		r.t.spec.Report(herder.Paused, "")
	} else {
		r.consumer.ResumeFetchPartitions(parts)
		r.t.spec.Report(herder.Running, "")
	}
}

// put hands records to the task. A retriable error of the whole call is
// retried with backoff until it passes (as Kafka Connect redelivers a batch
// after a RetriableException). Records that fail one by one (conversion,
// a transform, or rejected by the task's put) are retried, when their
// failure is retriable, within errors.retry.timeout; then each is reported
// and skipped, or fails the task, per errors.tolerance.
func (r *sinkRun) put(stop context.Context, recs []*kgo.Record) error {
	batch := make([]plugin.Record, len(recs))
	for i, kr := range recs {
		b := &batch[i]
		b.Topic, b.Partition, b.Offset = kr.Topic, kr.Partition, kr.Offset
		b.Key, b.Value = kr.Key, kr.Value
		b.TimestampMs = kr.Timestamp.UnixMilli()
		if len(kr.Headers) > 0 {
			b.Headers = make([]plugin.Header, len(kr.Headers))
			for j, h := range kr.Headers {
				b.Headers[j] = plugin.Header{Key: h.Key, Value: h.Value}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var delay time.Duration
	var retrier *plugin.Retrier
	sub, index := batch, []int(nil) // index[i]: sub[i]'s place in batch; nil while sub is batch
	if len(recs) > 0 {
		r.m.g.batchSize.record(float64(len(recs)))
	}
	for {
		putStart := time.Now()
		failed, err := r.client.SinkPut(r.putCtx, sub)
		r.m.g.putTime.record(float64(time.Since(putStart)) / 1e6)
		if err != nil {
			if !connect.IsRetriable(err) || stop.Err() != nil {
				return fmt.Errorf("put: %w", err)
			}
			r.t.logger.Warn("put failed; retrying the batch", "error", err)
			r.m.errs.retries.Inc()
			if !pause(stop, &delay) {
				return fmt.Errorf("put: %w", err)
			}
			continue
		}
		var again []plugin.FailedRecord
		for _, f := range failed {
			if f.Record != nil {
				// A record of an earlier put that the task could not
				// write after all (connect.ErrantRecordReporter).
				r.m.errs.failures.Inc()
				if err := r.skipOrFail(consumedRecord(f.Record), f.Err); err != nil {
					return err
				}
				continue
			}
			if index != nil {
				f.Index = index[f.Index]
			}
			r.m.errs.failures.Inc()
			if f.Err.Retriable {
				again = append(again, f)
			} else if err := r.skipOrFail(recs[f.Index], f.Err); err != nil {
				return err
			}
		}
		if len(again) == 0 {
			break
		}
		if retrier == nil {
			retrier = r.errs.policy.Retrier()
		}
		if !retrier.Wait(stop) {
			for _, f := range again {
				if err := r.skipOrFail(recs[f.Index], f.Err); err != nil {
					return err
				}
			}
			break
		}
		r.m.errs.retries.Inc()
		if !r.errs.policy.TolerateAll && again[0].Err.Stage != plugin.StagePut {
			// With errors.tolerance=none the plugin puts nothing of a
			// batch in which a record fails before the put: hand it all.
			continue
		}
		sub, index = make([]plugin.Record, len(again)), make([]int, len(again))
		for i, f := range again {
			sub[i], index[i] = batch[f.Index], f.Index
		}
	}
	// Records come grouped by partition, in offset order: the map is
	// written once per partition's run, not for every record.
	for i, kr := range recs {
		if i+1 == len(recs) || recs[i+1].Partition != kr.Partition || recs[i+1].Topic != kr.Topic {
			r.consumed[connect.TopicPartition{Topic: kr.Topic, Partition: kr.Partition}] = kr.Offset + 1
		}
	}
	r.m.send.Add(float64(len(recs)))
	return nil
}

// consumedRecord rebuilds the consumed record a plugin sent back.
func consumedRecord(w *plugin.Record) *kgo.Record {
	kr := &kgo.Record{Topic: w.Topic, Partition: w.Partition, Offset: w.Offset, Key: w.Key, Value: w.Value}
	if w.TimestampMs != 0 {
		kr.Timestamp = time.UnixMilli(w.TimestampMs)
	}
	for _, h := range w.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kr
}

// skipOrFail reports a record that failed for good: it is skipped with
// errors.tolerance=all, and fails the task with none.
func (r *sinkRun) skipOrFail(kr *kgo.Record, rerr *plugin.RecordError) error {
	err := r.errs.handle(r.putCtx, failure{err: rerr, consumed: kr}, nil)
	return err
}

// flushAndCommit makes the task flush, then commits the flushed offsets of
// the given partitions (all when nil). Callers hold no lock.
func (r *sinkRun) flushAndCommit(only map[connect.TopicPartition]bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushAndCommitLocked(only)
}

func (r *sinkRun) flushAndCommitLocked(only map[connect.TopicPartition]bool) error {
	offsets := map[connect.TopicPartition]int64{}
	for tp, o := range r.consumed {
		if only == nil || only[tp] {
			offsets[tp] = o
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.t.w.Config.OffsetFlushTimeout+r.t.w.Config.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	defer func() { r.m.g.commitTime.record(float64(time.Since(start)) / 1e6) }()
	durable, err := r.client.SinkFlush(ctx, offsets)
	if err != nil {
		if connect.IsRetriable(err) {
			r.t.logger.Warn("flush failed; offsets not committed, retried at the next interval", "error", err)
			return nil
		}
		return fmt.Errorf("flush: %w", err)
	}
	if err := r.flushDLQ(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			r.t.logger.Warn("dead letter queue writes still pending; offsets not committed, retried at the next interval", "error", err)
			return nil
		}
		return err
	}
	// What the task says is durable: every offset given after a Flush, or
	// its own choice (connect.PreCommitter), which may lag behind.
	commit := map[connect.TopicPartition]int64{}
	for tp, o := range durable {
		switch given, ok := offsets[tp]; {
		case !ok:
			r.t.logger.Warn("the task reported an offset for a partition it was not asked about; ignored", "topic", tp.Topic, "partition", tp.Partition, "offset", o)
		case o > given:
			r.t.logger.Warn("the task reported an offset beyond the last record it was handed; ignored", "topic", tp.Topic, "partition", tp.Partition, "offset", o, "consumed", given)
		default:
			commit[tp] = o
		}
	}
	toCommit := map[string]map[int32]kgo.EpochOffset{}
	for tp, o := range commit {
		if c, ok := r.committed[tp]; ok && c == o {
			continue
		}
		if toCommit[tp.Topic] == nil {
			toCommit[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		toCommit[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	if len(toCommit) == 0 {
		return nil
	}
	var commitErr error
	r.consumer.CommitOffsetsSync(ctx, toCommit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 && commitErr == nil {
					commitErr = fmt.Errorf("commit %s[%d]: error code %d", t.Topic, p.Partition, p.ErrorCode)
				}
			}
		}
	})
	if commitErr != nil {
		r.m.commitFailed.Inc()
		// The data is durable; a later commit covers it. Redelivery after
		// a crash is the worst case.
		r.t.logger.Warn("offset commit failed", "error", commitErr)
		return nil
	}
	for tp, o := range commit {
		r.committed[tp] = o
	}
	r.m.commitOK.Inc()
	// Records read but not committed yet: what lies between the committed
	// and the consumed position of each partition.
	active := int64(0)
	for tp, o := range r.consumed {
		if c, ok := r.committed[tp]; ok && o > c {
			active += o - c
		}
	}
	r.m.g.sinkActive.Store(active)
	return nil
}

// flushDLQ waits until the dead letter queue holds every record written to
// it: offsets are committed past a skipped record only then. A write that
// failed fails the task rather than lose the record.
func (r *sinkRun) flushDLQ(ctx context.Context) error {
	if r.dlq == nil {
		return nil
	}
	if err := r.dlq.Flush(ctx); err != nil {
		return fmt.Errorf("flush dead letter queue: %w", err)
	}
	return r.errs.dlq.failed()
}

func toTPs(m map[string][]int32) []connect.TopicPartition {
	var out []connect.TopicPartition
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, connect.TopicPartition{Topic: t, Partition: p})
		}
	}
	return out
}

func (r *sinkRun) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	tps := toTPs(m)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tp := range tps {
		r.assigned[tp] = true
		r.m.g.partitions.Store(int64(len(r.assigned)))
	}
	if r.t.paused.Load() {
		r.consumer.PauseFetchPartitions(m)
	}
	if err := r.client.SinkOpen(context.Background(), tps); err != nil && r.fatal == nil {
		r.fatal = fmt.Errorf("open partitions: %w", err)
	}
}

func (r *sinkRun) onRevoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	tps := toTPs(m)
	only := map[connect.TopicPartition]bool{}
	for _, tp := range tps {
		only[tp] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fatal == nil {
		if err := r.flushAndCommitLocked(only); err != nil {
			r.fatal = err
		}
	}
	r.release(tps)
}

func (r *sinkRun) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Another member may own these already: their uncommitted data is
	// delivered to it again, so nothing is committed here.
	r.release(toTPs(m))
}

func (r *sinkRun) release(tps []connect.TopicPartition) {
	for _, tp := range tps {
		delete(r.assigned, tp)
		r.m.g.partitions.Store(int64(len(r.assigned)))
		delete(r.consumed, tp)
		delete(r.committed, tp)
	}
	if len(tps) > 0 {
		if err := r.client.SinkClose(context.Background(), tps); err != nil && r.fatal == nil {
			r.fatal = fmt.Errorf("close partitions: %w", err)
		}
	}
}

// shutdown flushes and commits what was put (unless the run failed), leaves
// the group and stops the task.
func (r *sinkRun) shutdown(runErr error) error {
	if runErr == nil {
		if err := r.flushAndCommit(nil); err != nil {
			runErr = err
		}
	}
	r.mu.Lock()
	var tps []connect.TopicPartition
	for tp := range r.assigned {
		tps = append(tps, tp)
	}
	r.assigned = map[connect.TopicPartition]bool{}
	r.mu.Unlock()
	if runErr == nil && len(tps) > 0 {
		r.client.SinkClose(context.Background(), tps)
	}
	// Closing leaves the group; the revoke callback must not commit again
	// for a failed run, so mark the run fatal first.
	r.mu.Lock()
	if r.fatal == nil && runErr != nil {
		r.fatal = runErr
	}
	r.consumed = map[connect.TopicPartition]int64{}
	r.mu.Unlock()
	r.consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), r.t.w.Config.ShutdownTimeout)
	defer cancel()
	if runErr != nil {
		// A record reported before the task failed (errors.tolerance=none)
		// still reaches the dead letter queue.
		if err := r.flushDLQ(ctx); err != nil {
			r.t.logger.Warn("dead letter queue writes still pending at shutdown", "error", err)
		}
	}
	if err := r.client.SinkStop(ctx); err != nil && runErr == nil && errors.Is(err, plugin.ErrPluginExited) {
		runErr = err
	}
	return runErr
}
