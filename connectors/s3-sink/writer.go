package s3sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// writer holds a task's open files and uploads. Every method runs on the
// goroutine that calls Put, PreCommit, Open and Close; upload goroutines
// only do I/O and report back on results, which that goroutine handles.
//
// Files. Each topic partition has at most one open file per folder
// (encoded partition). A record goes to its folder's file; a file closes
// when it holds flush.size records, when a record's time is
// rotate.interval.ms past its first record's, when a record's schema
// needs a new file, at its scheduled time (rotate.schedule.interval.ms),
// or early when the memory budget needs it. A closed file is uploaded:
// one PUT, or, once it outgrew s3.part.size (or the budget took a part
// from it), a multipart upload completed with the last part.
//
// Offsets. A topic partition's committable offset is the start offset of
// its oldest file not yet uploaded (open or uploading), or the offset
// after the last record put when there is none — moved down further to the
// start of any uploaded file it would cut in two: a replay must begin where
// every folder's file began, or it would write the records after the cut
// into a new object beside the one holding them (see committable).
//
// Replays. With enable.conditional.writes, before a file opens the writer
// looks for an object of the name it would get: one left by an earlier run
// holds that folder's records from this offset on, so they are skipped
// (the object names its last offset, or its record count) and the file
// opens after them. Every upload is conditional, so an object is never
// replaced.
type writer struct {
	cfg   *config
	log   *slog.Logger
	st    *store
	part  *partitioner
	value *formatSpec
	keys  *formatSpec
	hdrs  *formatSpec
	pool  *chunkPool
	now   func() time.Time

	tps map[connect.TopicPartition]*tpState

	ctx     context.Context // uploads; canceled by stop
	cancel  context.CancelFunc
	results chan result
	wg      sync.WaitGroup
	running int   // upload goroutines not yet handled
	fatal   error // the first failed upload: the task must fail

	idle   bool  // the last put had no records: the worker's tick while idle
	fixed  int64 // fixed costs of open streams (gzip, Parquet writers)
	parqHe int64 // rows Parquet encoders hold in memory
	stats  stats
}

// stats are read by Progress from another goroutine.
type stats struct {
	openFiles   atomic.Int64
	inFlight    atomic.Int64
	buffered    atomic.Int64
	lastUpload  atomic.Int64 // unix ms
	uploaded    atomic.Int64 // objects
	uploadBytes atomic.Int64
	earlyCloses atomic.Int64
	skipped     atomic.Int64 // records found in objects of an earlier run
}

type tpState struct {
	tp       connect.TopicPartition
	next     int64 // offset expected next; -1: any
	consumed int64 // offset after the last record handled; -1: none
	files    map[string]*file
	spans    []*span // uploaded or uploading files (and skipped objects) the commit may not cut
	skip     map[string]*skipState
}

// span is the offsets of one closed file (or an earlier run's object).
type span struct {
	start, last int64
	done        bool // uploaded
}

// skipState skips a folder's records that an earlier run's object holds.
type skipState struct {
	through int64 // skip offsets up to here; -1 when counting
	count   int64 // records still to skip when counting
	span    *span
}

type file struct {
	ts        *tpState
	folder    string
	start     int64
	last      int64
	count     int
	firstTime int64 // ms, per timestamp.extractor (rotate.interval.ms)
	firstTS   int64 // the first record's Kafka timestamp, ms (0: none)
	deadline  time.Time
	schema    *connect.Schema // the value schema of its records
	streams   []*stream       // keys and headers first, the value last
	span      *span
}

// stream is one object of a file: its value, keys or headers.
type stream struct {
	f        *file
	v        view
	key      string
	enc      encoder
	buf      *chunkBuf // bytes not yet sent as a part
	fixed    int64
	parqHeld int64
	uploadID string
	etags    []string
	pending  int  // parts in flight
	closed   bool // the encoder is closed; the last bytes are in buf or sent
	final    bool // the PUT or the completion was sent
	done     bool
	size     int64
}

type jobKind int

const (
	jobPut jobKind = iota
	jobPart
	jobComplete
	jobAbort
)

type job struct {
	kind jobKind
	s    *stream
	n    int32
	body *chunkBuf
}

type result struct {
	job  job
	etag string
	err  error
}

func newWriter(cfg *config, st *store, log *slog.Logger) (*writer, error) {
	part, err := newPartitioner(cfg)
	if err != nil {
		return nil, err
	}
	w := &writer{cfg: cfg, log: log, st: st, part: part, pool: newChunkPool(8 << 20), now: time.Now,
		tps: map[connect.TopicPartition]*tpState{}, results: make(chan result, cfg.concurrency)}
	if w.value, err = newFormatSpec(cfg.format, cfg); err != nil {
		return nil, err
	}
	if cfg.storeKeys {
		if w.keys, err = newFormatSpec(cfg.keysFormat, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.storeHeaders {
		if w.hdrs, err = newFormatSpec(cfg.headersFormat, cfg); err != nil {
			return nil, err
		}
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w, nil
}

// recordError is a record that cannot be written: it goes to the dead
// letter queue or fails the task, per errors.tolerance.
type recordError struct{ err error }

func (e *recordError) Error() string { return e.err.Error() }
func (e *recordError) Unwrap() error { return e.err }

// misaligned fails the task: a file's objects no longer hold the same records.
type misaligned struct{ err error }

func (e *misaligned) Error() string { return e.err.Error() }

func recordErr(r *connect.Record, format string, args ...any) error {
	return &recordError{fmt.Errorf("s3-sink: record %s-%d@%d: %s", r.Topic, r.Partition, r.Offset, fmt.Sprintf(format, args...))}
}

func (w *writer) state(tp connect.TopicPartition) *tpState {
	ts := w.tps[tp]
	if ts == nil {
		ts = &tpState{tp: tp, next: -1, consumed: -1, files: map[string]*file{}, skip: map[string]*skipState{}}
		w.tps[tp] = ts
	}
	return ts
}

// put writes records; it returns a *connect.BatchError naming records that
// cannot be written, or an error that fails the task.
func (w *writer) put(ctx context.Context, records []*connect.Record) error {
	w.drain()
	if w.fatal != nil {
		return w.fatal
	}
	now := w.now()
	w.idle = len(records) == 0
	var failed map[int]error
	for i, r := range records {
		ts := w.state(connect.TopicPartition{Topic: r.Topic, Partition: r.Partition})
		if ts.next >= 0 && r.Offset < ts.next {
			continue // handed again after a retried put: already written
		}
		err := w.add(ctx, ts, r, now)
		ts.next, ts.consumed = r.Offset+1, r.Offset+1
		if err != nil {
			var re *recordError
			if !errors.As(err, &re) {
				return err
			}
			if failed == nil {
				failed = map[int]error{}
			}
			failed[i] = err
		}
		if w.fatal != nil {
			return w.fatal
		}
	}
	if err := w.rotateDue(now); err != nil {
		return err
	}
	w.publish()
	if failed != nil {
		return &connect.BatchError{Errs: failed}
	}
	return w.fatal
}

func (w *writer) add(ctx context.Context, ts *tpState, r *connect.Record, now time.Time) error {
	if r.Value == nil {
		switch w.cfg.nullValues {
		case "ignore":
			return nil
		case "fail":
			return recordErr(r, "null value (a tombstone): set %s=ignore to skip tombstones or =write to store them", NullValuesKey)
		}
	}
	if w.keys != nil && r.Key == nil {
		return recordErr(r, "null key cannot be stored with %s=true", StoreKeysKey)
	}
	if w.hdrs != nil && len(r.Headers) == 0 {
		return recordErr(r, "a record without headers cannot be stored with %s=true", StoreHeadersKey)
	}
	folder, err := w.part.encode(r, now)
	if err != nil {
		return recordErr(r, "%s: %v", PartitionerClassKey, err)
	}
	if sk := ts.skip[folder]; sk != nil {
		if sk.through >= 0 && r.Offset <= sk.through {
			w.stats.skipped.Add(1)
			return nil
		}
		if sk.through < 0 && sk.count > 0 {
			sk.count--
			sk.span.last = r.Offset
			if sk.count == 0 {
				sk.span.done = true
				delete(ts.skip, folder)
			}
			w.stats.skipped.Add(1)
			return nil
		}
		delete(ts.skip, folder)
	}
	var rt int64
	if w.cfg.rotateInterval > 0 {
		if rt, err = w.part.recordTime(r, now); err != nil {
			return recordErr(r, "%s: %v", TimestampExtractorKey, err)
		}
	}
	f := ts.files[folder]
	rec := r
	if f != nil {
		var rotate bool
		rec, rotate, err = w.fit(f, r)
		if err != nil {
			return recordErr(r, "%s: %v", SchemaCompatibilityKey, err)
		}
		if !rotate && w.cfg.rotateInterval > 0 && rt-f.firstTime >= w.cfg.rotateInterval.Milliseconds() {
			rotate = true
		}
		if rotate {
			if err := w.closeFile(f); err != nil {
				return err
			}
			f, rec = nil, r
		}
	}
	if f == nil {
		var skipped bool
		if f, skipped, err = w.openFile(ctx, ts, folder, r, rt, now); err != nil || skipped {
			return err
		}
	}
	if err := w.writeRecord(f, rec); err != nil {
		var m *misaligned
		if errors.As(err, &m) {
			return m.err
		}
		if f.count == 0 {
			w.discard(f)
		}
		return recordErr(r, "%v", err)
	}
	f.count++
	f.last = r.Offset
	if err := w.sendFullParts(f); err != nil {
		return err
	}
	if f.count >= w.cfg.flushSize {
		return w.closeFile(f)
	}
	return w.relieve()
}

// fit decides whether r can go to f: the same schema, or (BACKWARD,
// FORWARD, FULL) one that projects to f's; it returns the record to write.
func (w *writer) fit(f *file, r *connect.Record) (*connect.Record, bool, error) {
	cur, s := f.schema, r.ValueSchema
	if cur == s || (r.Value == nil && s == nil) {
		return r, false, nil
	}
	if cur == nil || s == nil {
		return r, true, nil // schemaless and schema'd records never share a file
	}
	if w.cfg.compatibility == "NONE" {
		return r, !s.Equal(cur), nil
	}
	if s.Equal(cur) {
		return r, false, nil
	}
	if s.Version == 0 || cur.Version == 0 {
		return nil, false, fmt.Errorf("schema version required for %s compatibility (schema %s has none)", w.cfg.compatibility, s)
	}
	if !sameShape(s, cur, 0) {
		return r, true, nil
	}
	newer := s.Version > cur.Version
	if w.cfg.compatibility == "FORWARD" {
		newer = s.Version < cur.Version
	}
	if newer {
		return r, true, nil
	}
	v, err := project(s, r.Value, cur)
	if err != nil {
		return nil, false, err
	}
	p := *r
	p.ValueSchema, p.Value = cur, v
	return &p, false, nil
}

func (w *writer) folderKey(ts *tpState, folder string, start int64, spec *formatSpec, v view) string {
	return w.part.objectKey(ts.tp, folder, start, v.extension()+spec.extension())
}

func (w *writer) openFile(ctx context.Context, ts *tpState, folder string, r *connect.Record, rt int64, now time.Time) (*file, bool, error) {
	f := &file{ts: ts, folder: folder, start: r.Offset, last: r.Offset, firstTime: rt, schema: r.ValueSchema}
	if !r.Timestamp.IsZero() {
		f.firstTS = r.Timestamp.UnixMilli()
	}
	if w.cfg.rotateSchedule > 0 {
		f.deadline = nextScheduled(now, w.cfg.rotateSchedule, w.cfg.tz)
	}
	tombstone := r.Value == nil && folder == w.cfg.tombstonePartition && w.cfg.nullValues == "write"
	if w.keys != nil {
		f.streams = append(f.streams, &stream{f: f, v: viewKey, key: w.folderKey(ts, folder, r.Offset, w.keys, viewKey)})
	}
	if w.hdrs != nil {
		f.streams = append(f.streams, &stream{f: f, v: viewHeaders, key: w.folderKey(ts, folder, r.Offset, w.hdrs, viewHeaders)})
	}
	if !tombstone {
		f.streams = append(f.streams, &stream{f: f, v: viewValue, key: w.folderKey(ts, folder, r.Offset, w.value, viewValue)})
	}
	primary := f.streams[len(f.streams)-1]
	if w.cfg.conditional {
		if skipped, err := w.resync(ctx, ts, folder, r, primary); err != nil || skipped {
			return nil, skipped, err
		}
	}
	for _, s := range f.streams {
		s.buf = &chunkBuf{pool: w.pool}
		spec := w.spec(s.v)
		enc, err := spec.newEncoder(s.buf, s.v, r)
		if err != nil {
			for _, o := range f.streams {
				if o.buf != nil {
					o.buf.release()
				}
			}
			return nil, false, recordErr(r, "%v", err)
		}
		s.enc, s.fixed = enc, spec.fixedCost()
		w.fixed += s.fixed
	}
	ts.files[folder] = f
	w.stats.openFiles.Add(1)
	return f, false, nil
}

func (w *writer) spec(v view) *formatSpec {
	switch v {
	case viewKey:
		return w.keys
	case viewHeaders:
		return w.hdrs
	}
	return w.value
}

// Object metadata the writer reads back when it finds an object of an
// earlier run.
const (
	metaTopic     = "kafka-topic"
	metaPartition = "kafka-partition"
	metaStart     = "kafka-start-offset"
	metaEnd       = "kafka-end-offset"
	metaCount     = "kafka-record-count"
	metaFirstTS   = "kafka-first-timestamp"
)

// resync looks for the object a file opening at r would become. If an
// earlier run wrote it, the records it holds are skipped.
func (w *writer) resync(ctx context.Context, ts *tpState, folder string, r *connect.Record, primary *stream) (bool, error) {
	meta, size, found, err := w.st.head(ctx, primary.key)
	if err != nil || !found {
		return false, err
	}
	if m, ok := meta[metaFirstTS]; ok && r.Timestamp.UnixMilli() != 0 {
		if first, err := strconv.ParseInt(m, 10, 64); err == nil && first != 0 && first != r.Timestamp.UnixMilli() {
			return false, fmt.Errorf("s3-sink: object %q exists but holds other records than %s-%d from offset %d (its first record's timestamp is %d, this one's %d): was the topic recreated? Move the old objects away or change %s",
				primary.key, r.Topic, r.Partition, r.Offset, first, r.Timestamp.UnixMilli(), TopicsDirKey)
		}
	}
	sp := &span{start: r.Offset, last: r.Offset}
	sk := &skipState{through: -1, span: sp}
	if end, err := strconv.ParseInt(meta[metaEnd], 10, 64); err == nil {
		sk.through, sp.last, sp.done = end, end, true
	} else {
		// A multipart upload starts before its end is known: count.
		n, err := w.countRecords(ctx, primary, size)
		if err != nil {
			return false, fmt.Errorf("s3-sink: object %q of an earlier run has no %s metadata and its records cannot be counted: %w", primary.key, metaEnd, err)
		}
		sk.count = n - 1 // r is the first
		if sk.count <= 0 {
			sp.done = true
		}
	}
	w.log.Info("found the object of an earlier run; skipping the records it holds", "object", primary.key, "through", sk.through, "records", sk.count+1)
	ts.spans = append(ts.spans, sp)
	w.stats.skipped.Add(1)
	if sk.through >= 0 || sk.count > 0 {
		ts.skip[folder] = sk
	}
	return true, nil
}

// writeRecord encodes r into the file's streams, the value first: a
// record whose value fails leaves no trace in the file. A key or headers
// object that cannot take a record whose value was written would no longer
// line up with its value object: that fails the task (*misaligned).
func (w *writer) writeRecord(f *file, r *connect.Record) error {
	for i := len(f.streams) - 1; i >= 0; i-- {
		s := f.streams[i]
		if err := s.enc.write(r); err != nil {
			if i < len(f.streams)-1 {
				return &misaligned{fmt.Errorf("s3-sink: record %s-%d@%d: its value is in %q but %q cannot take it (%w): fix %s/%s or the converters",
					r.Topic, r.Partition, r.Offset, f.streams[len(f.streams)-1].key, s.key, err, KeysFormatKey, HeadersFormatKey)}
			}
			return err
		}
		held := s.enc.buffered()
		w.parqHe += held - s.parqHeld
		s.parqHeld = held
	}
	return nil
}

// sendFullParts sends the streams of f that hold a part's worth.
func (w *writer) sendFullParts(f *file) error {
	for _, s := range f.streams {
		if s.buf.Len() >= int64(w.cfg.partSize) {
			if err := w.sendPart(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// usage is the memory the budget counts.
func (w *writer) usage() int64 { return w.pool.inUse.Load() + w.fixed + w.parqHe }

// relieve brings memory under the budget: the largest open stream goes up
// as a part when it holds a part's worth; else finished uploads free
// memory; else the largest file closes early.
func (w *writer) relieve() error {
	for w.usage() > w.cfg.memoryBudget && w.fatal == nil {
		s := w.largest()
		if s != nil && s.parqHeld >= minPartSize-s.buf.Len() && s.parqHeld > 0 {
			if err := s.enc.flush(); err != nil {
				return fmt.Errorf("s3-sink: write %q: %w", s.key, err)
			}
			w.parqHe -= s.parqHeld
			s.parqHeld = s.enc.buffered()
			w.parqHe += s.parqHeld
		}
		switch {
		case s != nil && s.buf.Len() >= minPartSize && w.running < w.cfg.concurrency:
			if err := w.sendPart(s); err != nil {
				return err
			}
		case w.running > 0:
			w.handle(<-w.results)
		case s != nil:
			w.stats.earlyCloses.Add(1)
			if err := w.closeFile(s.f); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return w.fatal
}

func (w *writer) largest() *stream {
	var best *stream
	var bestN int64
	for _, ts := range w.tps {
		for _, f := range ts.files {
			for _, s := range f.streams {
				if n := s.buf.Len() + s.parqHeld; best == nil || n > bestN {
					best, bestN = s, n
				}
			}
		}
	}
	return best
}

// rotateDue closes files whose scheduled time passed, and with the
// Wallclock extractor those rotate.interval.ms old: idle partitions too,
// as the worker puts an empty batch about once a second when idle.
func (w *writer) rotateDue(now time.Time) error {
	wall := w.cfg.rotateInterval > 0 && w.cfg.extractor == extractWallclock
	if w.cfg.rotateSchedule <= 0 && !wall {
		return nil
	}
	for _, ts := range w.tps {
		for _, f := range ts.files {
			if (!f.deadline.IsZero() && !now.Before(f.deadline)) || (wall && now.UnixMilli()-f.firstTime >= w.cfg.rotateInterval.Milliseconds()) {
				if err := w.closeFile(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *writer) meta(f *file) map[string]string {
	return map[string]string{
		metaTopic: f.ts.tp.Topic, metaPartition: strconv.Itoa(int(f.ts.tp.Partition)),
		metaStart: strconv.FormatInt(f.start, 10), metaFirstTS: strconv.FormatInt(f.firstTS, 10),
	}
}

// sendPart sends what s holds as the next part of its multipart upload,
// starting the upload first.
func (w *writer) sendPart(s *stream) error {
	if s.buf.Len() == 0 {
		return nil
	}
	if s.uploadID == "" {
		id, err := w.st.createMultipart(w.ctx, object{key: s.key, meta: w.meta(s.f)})
		if err != nil {
			return err
		}
		s.uploadID = id
	}
	s.etags = append(s.etags, "")
	s.pending++
	w.submit(job{kind: jobPart, s: s, n: int32(len(s.etags)), body: s.buf.take()})
	return nil
}

// closeFile finishes a file's objects and starts uploading them.
func (w *writer) closeFile(f *file) error {
	delete(f.ts.files, f.folder)
	w.stats.openFiles.Add(-1)
	f.span = &span{start: f.start, last: f.last}
	f.ts.spans = append(f.ts.spans, f.span)
	for _, s := range f.streams {
		if err := s.enc.close(); err != nil {
			return fmt.Errorf("s3-sink: finish %q: %w", s.key, err)
		}
		w.fixed -= s.fixed
		w.parqHe -= s.parqHeld
		s.fixed, s.parqHeld = 0, 0
		s.closed = true
		if s.uploadID != "" {
			if err := w.sendPart(s); err != nil {
				return err
			}
		}
	}
	w.advance(f)
	return nil
}

// advance sends the final request of a file's streams whose parts are all
// done, the value's only once the keys and headers objects exist, so an
// earlier run's value object implies its companions.
func (w *writer) advance(f *file) {
	for i, s := range f.streams {
		if !s.closed || s.final || s.pending > 0 {
			continue
		}
		if i == len(f.streams)-1 && len(f.streams) > 1 {
			ready := true
			for _, o := range f.streams[:i] {
				ready = ready && o.done
			}
			if !ready {
				continue
			}
		}
		s.final = true
		if s.uploadID == "" {
			w.submit(job{kind: jobPut, s: s, body: s.buf.take()})
		} else {
			w.submit(job{kind: jobComplete, s: s})
		}
	}
}

// discard drops an open file without uploading it (and aborts its
// multipart uploads): its records come again from Kafka.
func (w *writer) discard(f *file) {
	if f.ts.files[f.folder] == f {
		delete(f.ts.files, f.folder)
		w.stats.openFiles.Add(-1)
	}
	for _, s := range f.streams {
		w.fixed -= s.fixed
		w.parqHe -= s.parqHeld
		s.fixed, s.parqHeld = 0, 0
		if s.buf != nil {
			s.buf.release()
		}
		if s.uploadID != "" && !s.final {
			s.final = true
			w.submit(job{kind: jobAbort, s: s})
		}
	}
}

// submit starts a job, first waiting for a free slot.
func (w *writer) submit(j job) {
	for w.running >= w.cfg.concurrency {
		w.handle(<-w.results)
	}
	w.running++
	w.stats.inFlight.Store(int64(w.running))
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.results <- w.run(j)
	}()
}

func (w *writer) run(j job) result {
	s := j.s
	f := s.f
	switch j.kind {
	case jobPart:
		etag, err := w.st.uploadPart(w.ctx, s.key, s.uploadID, j.n, j.body.reader(), j.body.Len())
		return result{job: j, etag: etag, err: err}
	case jobPut:
		meta := w.meta(f)
		meta[metaEnd], meta[metaCount] = strconv.FormatInt(f.last, 10), strconv.Itoa(f.count)
		err := w.st.put(w.ctx, object{key: s.key, meta: meta, tags: w.tags(f)}, j.body.reader(), j.body.Len())
		return result{job: j, err: err}
	case jobComplete:
		return result{job: j, err: w.st.complete(w.ctx, s.key, s.uploadID, s.etags)}
	case jobAbort:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return result{job: j, err: w.st.abort(ctx, s.key, s.uploadID)}
	}
	return result{job: j}
}

func (w *writer) tags(f *file) map[string]string {
	return map[string]string{"startOffset": strconv.FormatInt(f.start, 10), "endOffset": strconv.FormatInt(f.last, 10), "recordCount": strconv.Itoa(f.count)}
}

// drain handles the results that arrived, without waiting.
func (w *writer) drain() {
	for {
		select {
		case r := <-w.results:
			w.handle(r)
		default:
			return
		}
	}
}

// handle applies one finished job.
func (w *writer) handle(r result) {
	w.running--
	w.stats.inFlight.Store(int64(w.running))
	j, s := r.job, r.job.s
	if j.body != nil {
		if r.err == nil {
			w.stats.uploadBytes.Add(j.body.Len())
		}
		j.body.release()
	}
	if j.kind == jobAbort {
		if r.err != nil {
			w.log.Warn("abort of a multipart upload failed; a bucket lifecycle rule for incomplete uploads removes it", "object", s.key, "error", r.err)
		}
		return
	}
	if r.err != nil {
		if w.fatal == nil {
			w.fatal = r.err
			if errors.Is(r.err, errExists) {
				w.fatal = fmt.Errorf("%w (another task writes the same partition, or an object appeared after this task looked for it: the task restarts from the committed offset and continues after it)", r.err)
			}
		}
		if s.uploadID != "" && !s.done {
			s.done, s.final = true, true
			w.submit(job{kind: jobAbort, s: s})
		}
		return
	}
	switch j.kind {
	case jobPart:
		s.etags[j.n-1] = r.etag
		s.pending--
		if s.closed {
			w.advance(s.f)
		}
	case jobPut, jobComplete:
		s.done = true
		w.stats.uploaded.Add(1)
		w.stats.lastUpload.Store(w.now().UnixMilli())
		f := s.f
		all := true
		for _, o := range f.streams {
			all = all && o.done
		}
		if all {
			f.span.done = true
		} else {
			w.advance(f)
		}
	}
}

// committable returns, for each partition of offsets, the offset up to
// which every record is in an uploaded object and from which a replay
// begins at a file start in every folder.
func (w *writer) committable(offsets map[connect.TopicPartition]int64) map[connect.TopicPartition]int64 {
	w.drain()
	out := make(map[connect.TopicPartition]int64, len(offsets))
	for tp, given := range offsets {
		ts := w.tps[tp]
		if ts == nil {
			out[tp] = given
			continue
		}
		c := given
		if ts.consumed >= 0 && ts.consumed < c {
			c = ts.consumed
		}
		for _, f := range ts.files {
			c = min(c, f.start)
		}
		for _, sp := range ts.spans {
			if !sp.done {
				c = min(c, sp.start)
			}
		}
		for _, sk := range ts.skip {
			if !sk.span.done {
				c = min(c, sk.span.start)
			}
		}
		// Never cut an uploaded file in two.
		for moved := true; moved; {
			moved = false
			for _, sp := range ts.spans {
				if sp.start < c && c <= sp.last {
					c, moved = sp.start, true
				}
			}
		}
		kept := ts.spans[:0]
		for _, sp := range ts.spans {
			if !sp.done || sp.last >= c {
				kept = append(kept, sp)
			}
		}
		ts.spans = kept
		out[tp] = c
	}
	return out
}

// flushAll closes every open file and waits until every upload is done:
// the flush path for a framework that does not ask PreCommit.
func (w *writer) flushAll() error {
	for _, ts := range w.tps {
		for _, f := range ts.files {
			if err := w.closeFile(f); err != nil {
				return err
			}
		}
	}
	w.wait()
	w.publish()
	return w.fatal
}

// wait handles results until no upload runs.
func (w *writer) wait() {
	for w.running > 0 {
		w.handle(<-w.results)
	}
}

// closePartitions drops the state of partitions taken away: open files are
// discarded (their records come again to the next owner), uploads under way
// finish first.
func (w *writer) closePartitions(tps []connect.TopicPartition) {
	w.wait()
	for _, tp := range tps {
		ts := w.tps[tp]
		if ts == nil {
			continue
		}
		for _, f := range ts.files {
			w.discard(f)
		}
		delete(w.tps, tp)
	}
	w.wait()
	w.publish()
}

// stop discards everything and waits for the upload goroutines.
func (w *writer) stop() {
	var all []connect.TopicPartition
	for tp := range w.tps {
		all = append(all, tp)
	}
	w.closePartitions(all)
	w.cancel()
	w.wg.Wait()
}

// publish updates the gauges Progress reads.
func (w *writer) publish() { w.stats.buffered.Store(w.usage()) }

// countRecords counts the records of an object of an earlier run that has
// no end offset in its metadata (a multipart upload).
func (w *writer) countRecords(ctx context.Context, s *stream, size int64) (int64, error) {
	spec := w.spec(s.v)
	return countObject(ctx, w.st, s.key, size, spec)
}
