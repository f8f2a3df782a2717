package datagen

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Offset and partition field names.
const (
	PartitionTask = "task"
	OffsetSeq     = "seq"
)

// SimpleSchema is the value schema of schema=simple.
var SimpleSchema = connect.StructSchema().Name("connectd.datagen.Simple").Version(1).
	Field("id", connect.Int64Schema).
	Field("seq", connect.Int64Schema).
	Field("task", connect.Int32Schema).
	Field("ts", connect.TimestampSchema().Build()).
	Field("payload", connect.StringSchema).
	Build()

// Field indexes of SimpleSchema, so the hot loop skips name lookups.
const (
	fieldID = iota
	fieldSeq
	fieldTask
	fieldTS
	fieldPayload
)

const (
	// idleWait is how long Poll waits at most before returning (nil, nil)
	// when the rate limit holds records back: the SDK asks for about a second.
	idleWait = time.Second
	// doneWait is how long Poll sleeps once a bounded task has produced its
	// share, so a runtime that keeps polling does not spin.
	doneWait = 100 * time.Millisecond
	// maxLatency bounds how long the rate limiter makes a record wait for
	// others to fill a batch; see newLimiter.
	maxLatency = 100 * time.Millisecond
)

// SourceTask is a datagen source task; NewSource().NewTask() returns one,
// and so does new(SourceTask). Besides connect.SourceTask it has Done, for
// runtimes and tests that want to know when a bounded task is finished.
type SourceTask struct {
	cfg       config
	partition map[string]any
	next      int64 // seq of the next record
	limit     *limiter
	done      atomic.Bool
	stopped   bool
	txn       connect.TransactionContext // set with transaction.boundary=connector

	// payload is record.size filler characters, built once per task; the
	// simple schema shares payloadValue (already boxed) between records.
	payload      []byte
	payloadValue any

	// Injected by tests; nil means the real clock and timers.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func (t *SourceTask) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

func (t *SourceTask) wait(ctx context.Context, d time.Duration) error {
	if t.sleep != nil {
		return t.sleep(ctx, d)
	}
	return sleepCtx(ctx, d)
}

var _ connect.SourceTask = (*SourceTask)(nil)

func newSourceTask() *SourceTask { return &SourceTask{} }

// Start parses the task configuration and resumes after the offset stored
// for this task's partition, if any. offsets may be nil.
func (t *SourceTask) Start(_ context.Context, raw map[string]string, offsets connect.OffsetReader) error {
	cfg, err := parseConfig(taskConfigDef(), raw)
	if err != nil {
		return err
	}
	if cfg.task >= cfg.tasks {
		return fmt.Errorf("datagen: task %d of %d does not exist", cfg.task, cfg.tasks)
	}
	t.cfg = cfg
	t.partition = map[string]any{PartitionTask: strconv.FormatInt(cfg.task, 10)}
	t.next = 0
	if offsets != nil {
		if off := offsets.Offset(t.partition); off != nil {
			seq, err := connect.OffsetInt64(off[OffsetSeq])
			if err == nil && seq < 0 {
				err = fmt.Errorf("%d is negative", seq)
			}
			if err != nil {
				return fmt.Errorf("datagen: stored offset of task %d: %s: %w", cfg.task, OffsetSeq, err)
			}
			t.next = seq + 1
		}
	}
	t.done.Store(cfg.records > 0 && t.next >= cfg.records)
	t.payload = filler(cfg.recordSize)
	t.payloadValue = string(t.payload)
	t.limit = nil
	if cfg.rate > 0 {
		t.limit = newLimiter(cfg.rate, cfg.batchSize, t.clock())
	}
	t.stopped = false
	return nil
}

// Poll returns up to batch.size records, fewer when the rate limit or count
// says so. When the rate holds every record back for about a second, or once
// a bounded task has produced its share, it returns (nil, nil). It also
// returns (nil, nil) when ctx is done: the framework cancelled it and needs
// no error to know.
func (t *SourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.stopped {
		return nil, connect.ErrStopped
	}
	want := int64(t.cfg.batchSize)
	if t.cfg.records > 0 {
		left := t.cfg.records - t.next
		if left <= 0 {
			t.done.Store(true)
			_ = t.wait(ctx, doneWait)
			return nil, nil
		}
		want = min(want, left)
	}
	if t.limit != nil {
		start := t.clock()
		for {
			now := t.clock()
			n, wait := t.limit.take(now, int(want))
			if n > 0 {
				want = int64(n)
				break
			}
			idle := idleWait - now.Sub(start)
			if idle <= 0 {
				return nil, nil
			}
			if err := t.wait(ctx, min(wait, idle)); err != nil {
				return nil, nil
			}
		}
	}
	recs := t.generate(int(want))
	t.markBoundaries(recs, t.next)
	t.next += want
	if t.cfg.records > 0 && t.next >= t.cfg.records {
		t.done.Store(true)
	}
	return recs, nil
}

// Done reports whether a bounded task has produced its whole share. It is
// safe to call from any goroutine.
func (t *SourceTask) Done() bool { return t.done.Load() }

// Stop ends the task; later Polls return connect.ErrStopped.
func (t *SourceTask) Stop(context.Context) error {
	t.stopped = true
	return nil
}

// generate builds records next .. next+n-1. The records, their pointers and
// the bytes/string values each take one allocation per batch; the timestamp
// and the simple payload are boxed once and shared, as values are immutable.
func (t *SourceTask) generate(n int) []*connect.Record {
	ts := time.UnixMilli(t.clock().UnixMilli()).UTC()
	var tsValue any = ts
	var taskValue any = int32(t.cfg.task)

	recs := make([]connect.Record, n)
	out := make([]*connect.Record, n)

	// Bytes values are rendered into one slab as the records are built
	// (should it grow, earlier values keep the bytes they point at). String
	// values are rendered first and converted once; ends[i] is where record
	// i's value ends.
	var slab []byte
	var text string
	var ends []int
	switch t.cfg.schema {
	case SchemaBytes:
		slab = make([]byte, 0, n*max(t.cfg.recordSize, 96))
	case SchemaString:
		slab = make([]byte, 0, n*max(t.cfg.recordSize, 96))
		ends = make([]int, n)
		for i := range n {
			seq := t.next + int64(i)
			slab = t.appendText(slab, t.id(seq), seq)
			ends[i] = len(slab)
		}
		text = string(slab)
	}
	// The id is boxed only where a record holds it.
	boxID := t.cfg.schema == SchemaSimple || t.cfg.keyMode == KeyModeSequence && t.cfg.keyCardinality <= 0

	for i := range n {
		seq := t.next + int64(i)
		id := t.id(seq)
		var idValue any
		if boxID {
			idValue = id
		}
		seqValue := any(seq)
		r := &recs[i]
		r.Topic = t.cfg.topic
		r.Partition = -1
		r.Timestamp = ts
		r.SourcePartition = t.partition
		r.SourceOffset = map[string]any{OffsetSeq: seqValue}
		switch t.cfg.keyMode {
		case KeyModeSequence:
			r.KeySchema, r.Key = connect.Int64Schema, idValue
			if t.cfg.keyCardinality > 0 {
				r.Key = id % t.cfg.keyCardinality
			}
		case KeyModeRandom:
			k := int64(mix(uint64(id)) >> 1)
			if t.cfg.keyCardinality > 0 {
				k %= t.cfg.keyCardinality
			}
			r.KeySchema, r.Key = connect.Int64Schema, k
		}
		switch t.cfg.schema {
		case SchemaSimple:
			v := connect.NewStruct(SimpleSchema)
			v.SetIndex(fieldID, idValue)
			v.SetIndex(fieldSeq, seqValue)
			v.SetIndex(fieldTask, taskValue)
			v.SetIndex(fieldTS, tsValue)
			v.SetIndex(fieldPayload, t.payloadValue)
			r.ValueSchema, r.Value = SimpleSchema, v
		case SchemaBytes:
			start := len(slab)
			slab = t.appendText(slab, id, seq)
			// The full slice expression keeps an append by a later stage
			// from writing into the next record's bytes.
			r.ValueSchema, r.Value = connect.BytesSchema, slab[start:len(slab):len(slab)]
		case SchemaString:
			r.ValueSchema, r.Value = connect.StringSchema, text[valueStart(ends, i):ends[i]]
		}
		out[i] = r
	}
	return out
}

func valueStart(ends []int, i int) int {
	if i == 0 {
		return 0
	}
	return ends[i-1]
}

// id numbers records densely across tasks: with count records split as
// TaskConfigs splits them, the ids are exactly 0 .. count-1.
func (t *SourceTask) id(seq int64) int64 { return seq*t.cfg.tasks + t.cfg.task }

// appendText appends the bytes/string value of one record: a JSON object
// whose payload pads it to record.size bytes when that is long enough.
func (t *SourceTask) appendText(b []byte, id, seq int64) []byte {
	start := len(b)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"task":`...)
	b = strconv.AppendInt(b, t.cfg.task, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"payload":"`...)
	pad := t.cfg.recordSize - (len(b) - start) - len(`"}`)
	if pad > 0 {
		b = append(b, t.payload[:pad]...)
	}
	return append(b, `"}`...)
}

// filler returns n lowercase letters from a fixed pseudo-random sequence:
// the same for every run, and not a single repeated byte, so compression
// does not make benchmarks look better than real data would.
func filler(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x = mix(x)
		b[i] = 'a' + byte(x%26)
	}
	return b
}

// mix is splitmix64's finaliser: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limiter is a token bucket that Poll consults once per batch, so high
// rates cost no per-record sleeps.
//
// The bucket holds at most burst tokens: enough for maxLatency worth of
// records, capped at a batch and at least one. Poll waits until the bucket
// holds a full burst (or what is left of count), then takes every whole
// token. So at low rates records leave one by one at the rate, at high rates
// in batches of batch.size, and no record waits much longer than maxLatency
// for company. Over any span T a task emits at most burst + rate*T records.
type limiter struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, batch int, now time.Time) *limiter {
	burst := math.Min(float64(batch), math.Ceil(rate*maxLatency.Seconds()))
	burst = math.Max(burst, 1)
	return &limiter{rate: rate, burst: burst, tokens: burst, last: now}
}

// take returns how many records may go now (at most want), or 0 and how
// long to wait before asking again.
func (l *limiter) take(now time.Time, want int) (int, time.Duration) {
	if dt := now.Sub(l.last); dt > 0 {
		l.tokens = math.Min(l.burst, l.tokens+dt.Seconds()*l.rate)
		l.last = now
	}
	target := math.Min(float64(want), l.burst)
	// The epsilon absorbs float rounding after waiting exactly long enough.
	if l.tokens+1e-9 < target {
		wait := time.Duration((target - l.tokens) / l.rate * float64(time.Second))
		return 0, max(wait, time.Microsecond)
	}
	n := int(math.Min(float64(want), math.Floor(l.tokens+1e-9)))
	l.tokens = math.Max(0, l.tokens-float64(n))
	return n, 0
}
