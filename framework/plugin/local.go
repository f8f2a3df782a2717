package plugin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/transforms"
)

// local runs a plugin in this process. It is both the in-process Client and
// what a plugin process serves over gRPC.
type local struct {
	p Plugin

	mu        sync.Mutex
	connector connect.Connector
	source    connect.SourceTask
	sink      connect.SinkTask
	conv      *converters.Set
	chain     *transforms.Chain // nil: the task has no transforms
	// scratch is the chain's memory for source records: each is
	// converted before the next is transformed (see Chain.ApplyReusing).
	scratch   transforms.Scratch
	policy    ErrorPolicy
	convNames [3]string // key, value, header converter, as configured
	className string
	never     chan struct{}
	// errant takes the reports of a sink task that is a
	// connect.ErrantRecordReporting; nil for others.
	errant *errantReporter

	// The encoding of the source partition map seen last: tasks nearly
	// always hand the same map with every record of a partition, and the
	// SDK asks them not to change a map once handed over.
	lastPart    map[string]any
	lastPartEnc []byte

	// txn is the transaction context of a source task that defines its
	// own transaction boundaries; nil otherwise.
	txn *txnContext
}

// NewLocal returns a Client that runs p in this process.
func NewLocal(p Plugin) Client {
	return &local{p: p, className: p.Name, never: make(chan struct{})}
}

func (l *local) Info(context.Context) (Info, error) {
	return Info{Name: l.p.Name, Kind: l.p.Kind(), Version: l.p.Version, Aliases: l.p.Aliases, Config: l.p.connector().Config()}, nil
}

func (l *local) Validate(ctx context.Context, config map[string]string) ([]connect.ConfigValue, map[string][]string, error) {
	c := l.p.connector()
	values := c.Config().Validate(config)
	var extra map[string][]string
	if v, ok := c.(connect.Validator); ok {
		extra = v.Validate(ctx, config)
	}
	return values, extra, nil
}

func (l *local) ConnectorStart(ctx context.Context, config map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.connector != nil {
		return errors.New("plugin: connector already started")
	}
	c := l.p.connector()
	if err := c.Start(ctx, config); err != nil {
		return err
	}
	l.connector = c
	return nil
}

func (l *local) TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error) {
	l.mu.Lock()
	c := l.connector
	l.mu.Unlock()
	if c == nil {
		return nil, errors.New("plugin: connector not started")
	}
	return c.TaskConfigs(ctx, maxTasks)
}

func (l *local) ConnectorStop(ctx context.Context) error {
	l.mu.Lock()
	c := l.connector
	l.connector = nil
	l.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Stop(ctx)
}

// startTask builds what every record of a task passes through: the
// converters, the transform chain and the error policy.
func (l *local) startTask(config map[string]string, sink bool) error {
	conv, err := converters.FromConfig(config, nil)
	if err != nil {
		return err
	}
	chain, err := transforms.NewChain(config, transforms.Env{Sink: sink})
	if err != nil {
		return fmt.Errorf("plugin: %s: %w", transforms.KeyTransforms, err)
	}
	policy, err := ParseErrorPolicy(config)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.conv, l.chain, l.policy, l.convNames = conv, chain, policy, converterNames(config)
	l.mu.Unlock()
	return nil
}

func (l *local) SourceStart(ctx context.Context, config map[string]string, offsets []connect.SourceOffset) error {
	if l.p.NewSource == nil {
		return fmt.Errorf("plugin: %s is not a source connector", l.p.Name)
	}
	if err := l.startTask(config, false); err != nil {
		return err
	}
	om, err := newOffsetMap(offsets)
	if err != nil {
		return err
	}
	task := l.p.NewSource().NewTask()
	if tb, ok := task.(connect.TransactionBoundaryTask); ok && config[connect.KeyTransactionBoundary] == connect.BoundaryConnector {
		l.txn = newTxnContext()
		tb.SetTransactionContext(l.txn)
	}
	if err := task.Start(ctx, config, om); err != nil {
		return err
	}
	l.mu.Lock()
	l.source = task
	l.mu.Unlock()
	return nil
}

// SourcePoll polls the task, then transforms and converts each record. A
// record that fails comes back with its Err set, one that a transform
// dropped with Dropped set: either way its source position crosses the
// boundary, so the worker commits past it.
func (l *local) SourcePoll(ctx context.Context) ([]Record, error) {
	return l.sourcePollInto(ctx, nil)
}

// sourcePollInto is SourcePoll writing into out's storage when it has room:
// the plugin process packs each batch before it polls the next, so it
// reuses one slice.
func (l *local) sourcePollInto(ctx context.Context, out []Record) ([]Record, error) {
	recs, err := l.source.Poll(ctx)
	if err != nil {
		return nil, err
	}
	var txns []TxnRequest
	batchTxn := TxnNone
	if l.txn != nil {
		txns, batchTxn = l.txn.take(recs)
	}
	if len(recs) == 0 {
		if batchTxn != TxnNone {
			// Nothing to carry the request: a marker record does.
			return append(out[:0], Record{Partition: -1, Dropped: true, Txn: batchTxn}), nil
		}
		return nil, nil
	}
	if cap(out) >= len(recs) {
		out = out[:len(recs)]
		clear(out)
	} else {
		out = make([]Record, len(recs))
	}
	for i, r := range recs {
		l.processSource(ctx, r, &out[i])
		if txns != nil {
			out[i].Txn = txns[i]
		}
		if batchTxn != TxnNone && i == len(recs)-1 {
			out[i].Txn = batchTxn
		}
		if out[i].Err != nil && !l.policy.TolerateAll {
			// errors.tolerance=none: the task fails at this record. The
			// records before it go on (their offsets are committed, as in
			// Kafka Connect); what the task returned after it is not sent:
			// the task starts again from the committed offsets.
			l.encodeOffsets(recs[:i], out[:i])
			return out[:i+1], nil
		}
	}
	l.encodeOffsets(recs, out)
	return out, nil
}

// encodeOffsets sets the source offset of the newest record of each source
// partition in each stretch of the batch that ends with a transaction
// request (the whole batch, nearly always), so a transaction commits the
// offsets of exactly its records.
func (l *local) encodeOffsets(recs []*connect.Record, out []Record) {
	start := 0
	for i := range out {
		if out[i].Txn != TxnNone {
			l.encodeStretchOffsets(recs[start:i+1], out[start:i+1])
			start = i + 1
		}
	}
	l.encodeStretchOffsets(recs[start:], out[start:])
}

// encodeStretchOffsets sets the source offset of the newest record of each source
// partition in the batch. The worker commits a batch's records of one
// partition together, once all are acknowledged, at the newest offset
// among them: encoding the older offsets would be wasted work.
func (l *local) encodeStretchOffsets(recs []*connect.Record, out []Record) {
	var seen [][]byte
	for i := len(out) - 1; i >= 0; i-- {
		part := out[i].SourcePartition
		if part == nil {
			continue
		}
		done := false
		for _, p := range seen {
			if string(p) == string(part) {
				done = true
				break
			}
		}
		if done {
			continue
		}
		seen = append(seen, part)
		off, err := EncodeMap(recs[i].SourceOffset)
		if err != nil && out[i].Err == nil {
			out[i].Err = NewRecordError(StagePoll, l.className, err)
		}
		out[i].SourceOffset = off
	}
}

// processSource transforms and converts one polled record into w.
func (l *local) processSource(ctx context.Context, r *connect.Record, w *Record) {
	var err error
	if w.SourcePartition, err = l.encodePartition(r.SourcePartition); err != nil {
		l.sourceFailed(r, w, NewRecordError(StagePoll, l.className, err))
		return
	}
	t := r
	if l.chain != nil {
		t, err = l.chain.ApplyReusing(r, &l.scratch)
		if err != nil && connect.IsRetriable(err) {
			err = l.policy.retry(ctx, err, func() (e error) {
				t, e = l.chain.ApplyReusing(r, &l.scratch)
				return e
			})
		}
		if err != nil {
			l.sourceFailed(r, w, transformError(err))
			return
		}
		if t == nil {
			w.Dropped = true
			return
		}
	}
	if rerr := l.fromConnect(ctx, t, w); rerr != nil {
		l.sourceFailed(r, w, rerr)
	}
}

// sourceFailed turns w into the failed record r: its position, its error,
// and, when the connector has a dead letter queue, r as the task returned
// it, converted (see dlqPayload).
func (l *local) sourceFailed(r *connect.Record, w *Record, rerr *RecordError) {
	part := w.SourcePartition
	*w = Record{Topic: r.Topic, Partition: -1, SourcePartition: part, Err: rerr}
	if part != nil && r.SourceOffset != nil {
		// The dead letter queue's headers name the failed record's own
		// offset; a newer record of the batch still carries the newest.
		w.SourceOffset, _ = EncodeMap(r.SourceOffset)
	}
	if l.policy.LogIncludeMessages {
		rerr.Record = describeSource(r)
	}
	if l.policy.DLQTopic != "" {
		l.dlqPayload(r, w)
	}
}

// fromConnect converts one transformed source record into w.
func (l *local) fromConnect(ctx context.Context, r *connect.Record, w *Record) *RecordError {
	w.Topic, w.Partition = r.Topic, r.Partition
	if !r.Timestamp.IsZero() {
		w.TimestampMs = r.Timestamp.UnixMilli()
	}
	if r.Topic == "" {
		return NewRecordError(StagePoll, l.className, errors.New("record has no topic"))
	}
	var err error
	if w.Key, err = l.conv.Key.FromConnect(r.Topic, r.KeySchema, r.Key); err != nil {
		if w.Key, err = retried(ctx, l.policy, err, func() ([]byte, error) { return l.conv.Key.FromConnect(r.Topic, r.KeySchema, r.Key) }); err != nil {
			return NewRecordError(StageKeyConverter, l.convNames[0], err)
		}
	}
	if w.Value, err = l.conv.Value.FromConnect(r.Topic, r.ValueSchema, r.Value); err != nil {
		if w.Value, err = retried(ctx, l.policy, err, func() ([]byte, error) { return l.conv.Value.FromConnect(r.Topic, r.ValueSchema, r.Value) }); err != nil {
			return NewRecordError(StageValueConverter, l.convNames[1], err)
		}
	}
	if len(r.Headers) > 0 {
		w.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			b, err := l.conv.Header.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
			if err != nil {
				if b, err = retried(ctx, l.policy, err, func() ([]byte, error) { return l.conv.Header.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value) }); err != nil {
					return NewRecordError(StageHeaderConverter, l.convNames[2], err)
				}
			}
			w.Headers[i] = Header{Key: h.Key, Value: b}
		}
	}
	return nil
}

// retried tries op again per the policy after it failed with err; a
// failure that is not retriable stands at once.
func retried[T any](ctx context.Context, p ErrorPolicy, err error, op func() (T, error)) (T, error) {
	var v T
	err = p.retry(ctx, err, func() (e error) {
		v, e = op()
		return e
	})
	return v, err
}

// transformError describes a failure of the transform chain, naming the
// transform's class (its alias is in the message and the trace).
func transformError(err error) *RecordError {
	var te *transforms.TransformError
	if errors.As(err, &te) {
		return NewRecordError(StageTransformation, te.Class, err)
	}
	return NewRecordError(StageTransformation, "transforms", err)
}

// converterNames returns how the task's config names its key, value and
// header converters, for __connect.errors.class.name; Kafka Connect's
// defaults when it names none.
func converterNames(config map[string]string) [3]string {
	out := [3]string{"org.apache.kafka.connect.json.JsonConverter", "org.apache.kafka.connect.json.JsonConverter", "org.apache.kafka.connect.storage.SimpleHeaderConverter"}
	for i, k := range []string{"key.converter", "value.converter", "header.converter"} {
		if v := strings.TrimSpace(config[k]); v != "" {
			out[i] = v
		}
	}
	return out
}

// encodePartition encodes m, reusing the last encoding when m is the very
// map encoded last time.
func (l *local) encodePartition(m map[string]any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	if l.lastPart != nil && reflect.ValueOf(m).UnsafePointer() == reflect.ValueOf(l.lastPart).UnsafePointer() && len(m) == len(l.lastPart) {
		return l.lastPartEnc, nil
	}
	b, err := EncodeMap(m)
	if err != nil {
		return nil, err
	}
	l.lastPart, l.lastPartEnc = m, b
	return b, nil
}

func (l *local) SourceCommit(ctx context.Context, offsets []connect.SourceOffset) error {
	l.mu.Lock()
	t := l.source
	l.mu.Unlock()
	if c, ok := t.(connect.Committer); ok {
		return c.Commit(ctx, offsets)
	}
	return nil
}

func (l *local) SourceStop(ctx context.Context) error {
	l.mu.Lock()
	t := l.source
	l.source = nil
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.Stop(ctx)
}

func (l *local) SinkStart(ctx context.Context, config map[string]string) error {
	if l.p.NewSink == nil {
		return fmt.Errorf("plugin: %s is not a sink connector", l.p.Name)
	}
	if err := l.startTask(config, true); err != nil {
		return err
	}
	task := l.p.NewSink().NewTask()
	if er, ok := task.(connect.ErrantRecordReporting); ok {
		l.errant = newErrantReporter(l)
		er.SetErrantRecordReporter(l.errant)
	}
	if err := task.Start(ctx, config); err != nil {
		return err
	}
	l.mu.Lock()
	l.sink = task
	l.mu.Unlock()
	return nil
}

func (l *local) SinkOpen(ctx context.Context, partitions []connect.TopicPartition) error {
	if pa, ok := l.sink.(connect.PartitionAware); ok {
		return pa.Open(ctx, partitions)
	}
	return nil
}

func (l *local) SinkClose(ctx context.Context, partitions []connect.TopicPartition) error {
	if pa, ok := l.sink.(connect.PartitionAware); ok {
		return pa.Close(ctx, partitions)
	}
	return nil
}

// SinkPut converts and transforms the batch and puts what is left to the
// task. With errors.tolerance=none it stops at the first record that fails
// conversion or a transform and puts nothing: the worker fails the task at
// that record (or, for a retriable failure, hands the batch again). With
// all, failed records are left out and the rest is put.
//
// The answer also carries the records the task reported since the last
// put (connect.ErrantRecordReporter), with Index -1.
func (l *local) SinkPut(ctx context.Context, records []Record) ([]FailedRecord, error) {
	failed, err := l.sinkPut(ctx, records)
	if err == nil && l.errant != nil {
		failed = append(failed, l.errant.drain()...)
	}
	return failed, err
}

func (l *local) sinkPut(ctx context.Context, records []Record) ([]FailedRecord, error) {
	var failed []FailedRecord
	recs := make([]*connect.Record, 0, len(records))
	index := make([]int, 0, len(records)) // recs[i] came from records[index[i]]
	for i := range records {
		r, rerr := l.toConnect(ctx, &records[i])
		if rerr == nil && l.chain != nil {
			// The converter made r for this record alone and nothing
			// reads it after the chain (a failed record's dead letter
			// queue entry and log line come from records[i]), so the
			// chain may change it in place. A retriable error comes only
			// from a plugin's transform, under which ApplyOwned leaves r
			// as it was, so the retry starts from the converted record.
			t, err := l.chain.ApplyOwned(r)
			if err != nil && connect.IsRetriable(err) {
				t, err = retried(ctx, l.policy, err, func() (*connect.Record, error) { return l.chain.Apply(r) })
			}
			switch {
			case err != nil:
				rerr = transformError(err)
			case t == nil:
				continue // dropped by a transform
			default:
				r = t
			}
		}
		if rerr != nil {
			failed = append(failed, FailedRecord{Index: i, Err: rerr})
			if !l.policy.TolerateAll {
				return failed, nil
			}
			continue
		}
		if l.errant != nil {
			l.errant.remember(r, &records[i])
		}
		recs = append(recs, r)
		index = append(index, i)
	}
	// Put runs even when nothing is left: an empty batch is the task's
	// tick while no records arrive (see connect.SinkTask.Put).
	err := l.sink.Put(ctx, recs)
	var be *connect.BatchError
	if errors.As(err, &be) {
		for j, e := range be.Errs {
			if j < 0 || j >= len(index) {
				return nil, fmt.Errorf("plugin: %s: batch error names record %d of %d", l.className, j, len(index))
			}
			if e == nil {
				e = errRejectedSilently
			}
			failed = append(failed, FailedRecord{Index: index[j], Err: NewRecordError(StagePut, l.className, e)})
		}
		slices.SortFunc(failed, func(a, b FailedRecord) int { return a.Index - b.Index })
		return failed, nil
	}
	if err != nil {
		return nil, err
	}
	return failed, nil
}

func (l *local) toConnect(ctx context.Context, w *Record) (*connect.Record, *RecordError) {
	r := &connect.Record{Topic: w.Topic, Partition: w.Partition, Offset: w.Offset}
	if w.TimestampMs != 0 {
		r.Timestamp = time.UnixMilli(w.TimestampMs)
	}
	var err error
	if r.KeySchema, r.Key, err = l.conv.Key.ToConnect(w.Topic, w.Key); err != nil {
		if r.KeySchema, r.Key, err = retried2(ctx, l.policy, err, func() (*connect.Schema, any, error) { return l.conv.Key.ToConnect(w.Topic, w.Key) }); err != nil {
			return nil, NewRecordError(StageKeyConverter, l.convNames[0], err)
		}
	}
	if r.ValueSchema, r.Value, err = l.conv.Value.ToConnect(w.Topic, w.Value); err != nil {
		if r.ValueSchema, r.Value, err = retried2(ctx, l.policy, err, func() (*connect.Schema, any, error) { return l.conv.Value.ToConnect(w.Topic, w.Value) }); err != nil {
			return nil, NewRecordError(StageValueConverter, l.convNames[1], err)
		}
	}
	if len(w.Headers) > 0 {
		r.Headers = make([]connect.Header, len(w.Headers))
		for i, h := range w.Headers {
			s, v, err := l.conv.Header.ToConnectHeader(w.Topic, h.Key, h.Value)
			if err != nil {
				if s, v, err = retried2(ctx, l.policy, err, func() (*connect.Schema, any, error) { return l.conv.Header.ToConnectHeader(w.Topic, h.Key, h.Value) }); err != nil {
					return nil, NewRecordError(StageHeaderConverter, l.convNames[2], err)
				}
			}
			r.Headers[i] = connect.Header{Key: h.Key, Schema: s, Value: v}
		}
	}
	return r, nil
}

// retried2 is retried for an operation with two results.
func retried2(ctx context.Context, p ErrorPolicy, err error, op func() (*connect.Schema, any, error)) (*connect.Schema, any, error) {
	var s *connect.Schema
	var v any
	err = p.retry(ctx, err, func() (e error) {
		s, v, e = op()
		return e
	})
	return s, v, err
}

// SinkFlush asks a connect.PreCommitter which offsets are durable, and
// flushes any other task, whose every record put is then durable.
// Offsets never pass a record the task reported that the worker has not
// had yet (see errantReporter).
func (l *local) SinkFlush(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	var durable map[connect.TopicPartition]int64
	if pc, ok := l.sink.(connect.PreCommitter); ok {
		var err error
		if durable, err = pc.PreCommit(ctx, offsets); err != nil {
			return nil, err
		}
	} else {
		if err := l.sink.Flush(ctx, offsets); err != nil {
			return nil, err
		}
		durable = offsets
	}
	if l.errant != nil {
		durable = maps.Clone(durable)
		l.errant.holdBack(durable)
	}
	return durable, nil
}

func (l *local) SinkStop(ctx context.Context) error {
	l.mu.Lock()
	t := l.sink
	l.sink = nil
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.Stop(ctx)
}

func (l *local) Close() error            { return nil }
func (l *local) Exited() <-chan struct{} { return l.never }
func (l *local) ExitErr() error          { return nil }
