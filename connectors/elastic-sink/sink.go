package elasticsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// SinkTask writes records to Elasticsearch as documents.
//
// Put converts each record into a bulk action and queues it; a writer
// sends the bulk requests in the background (writer.go). PreCommit returns,
// per partition, the offset of the first record not yet acknowledged, so
// the framework commits nothing past a document that is not written.
type SinkTask struct {
	cfg      *config
	cl       *client
	conv     converter
	w        *writer
	pending  *connect.PendingOffsets
	log      *slog.Logger
	reporter connect.ErrantRecordReporter

	// Owned by the goroutine that calls Put, PreCommit, Open and Close.
	assigned map[connect.TopicPartition]bool
	// renamed is set once a record's topic is not one of the partitions
	// handed to the task (a topic-renaming transform such as RegexRouter):
	// its offsets are then tracked under a partition the framework does
	// not commit, so commits wait until everything is acknowledged, as
	// with flush.synchronously.
	renamed    bool
	topicIndex map[string]string
	trap       trapDetector
	// dropped counts records skipped by behavior.on.null.values or
	// drop.invalid.message.
	dropped atomic.Int64

	// indexes are what is known of the indexes (or data streams) written
	// to; the writer's goroutines use it too.
	idxMu   sync.Mutex
	indexes map[string]*indexState
}

// indexState is what the task learnt of one index.
type indexState struct {
	exists bool
	// mapped: it has a mapping (or needs none); checked: whether it has
	// one was asked (so a record whose schema yields no mapping does not
	// ask again).
	mapped, checked bool
}

var (
	_ connect.SinkTask              = (*SinkTask)(nil)
	_ connect.PreCommitter          = (*SinkTask)(nil)
	_ connect.PartitionAware        = (*SinkTask)(nil)
	_ connect.ProgressReporter      = (*SinkTask)(nil)
	_ connect.ErrantRecordReporting = (*SinkTask)(nil)
)

// SetErrantRecordReporter gives the task the framework's reporter, through
// which documents Elasticsearch refuses after Put returned reach the
// framework's error handling (log, dead letter queue, errors.tolerance).
func (t *SinkTask) SetErrantRecordReporter(r connect.ErrantRecordReporter) { t.reporter = r }

// Start parses the configuration and connects; the cluster need not be
// reachable yet (writes are retried until it is).
func (t *SinkTask) Start(ctx context.Context, raw map[string]string) error {
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	cl, err := newClient(cfg)
	if err != nil {
		return err
	}
	t.cfg, t.cl = cfg, cl
	t.log = slog.Default().With("connector", raw["name"], "plugin", Name)
	t.conv = converter{cfg: cfg}
	t.pending = &connect.PendingOffsets{}
	t.assigned = map[connect.TopicPartition]bool{}
	t.topicIndex = map[string]string{}
	t.indexes = map[string]*indexState{}
	t.trap = trapDetector{max: 50_000}
	t.w = newWriter(cfg, cl, t.pending, writerHooks{malformed: t.malformed, ensureIndex: t.recreateIndex}, t.log)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if si, err := cl.info(sctx); err != nil {
		t.log.Warn("cannot reach Elasticsearch yet; writes are retried until it answers", "error", err)
	} else {
		t.log.Info("elastic-sink task started", "server_version", si.Version.Number, "distribution", si.Version.Distribution)
	}
	return nil
}

// Open notes the partitions handed to the task.
func (t *SinkTask) Open(_ context.Context, tps []connect.TopicPartition) error {
	for _, tp := range tps {
		t.assigned[tp] = true
	}
	return nil
}

// Close drops the queued writes of tps (the framework committed up to the
// first record not acknowledged, and the partitions' next owner writes the
// rest again) and waits, up to flush.timeout.ms, until their requests in
// flight are answered, so no write of this task lands after the next
// owner wrote the same documents; then it forgets them.
func (t *SinkTask) Close(ctx context.Context, tps []connect.TopicPartition) error {
	if t.w == nil {
		return nil
	}
	if err := t.w.dropPartitions(ctx, t.cfg.flushTimeout, tps); err != nil && !errors.Is(err, t.w.err()) {
		t.log.Warn("closing partitions before their writes were acknowledged; the next owner writes them again", "partitions", fmt.Sprint(tps), "error", err)
	}
	t.pending.Forget(tps)
	for _, tp := range tps {
		delete(t.assigned, tp)
	}
	return nil
}

// Put converts the records and queues their writes. While the task holds
// max.buffered.records unacknowledged records it takes no more: Put waits
// for room up to flush.timeout.ms, then returns a retriable error so the
// framework hands the same batch again (Confluent's connector fails the
// task there). Records that cannot be made into requests come back in a
// *connect.BatchError (or are dropped, per drop.invalid.message).
func (t *SinkTask) Put(ctx context.Context, records []*connect.Record) error {
	if err := t.w.err(); err != nil {
		return err
	}
	if len(records) == 0 {
		return nil // the writer's own timer sends lingering writes
	}
	if err := t.w.waitSpace(ctx, t.cfg.flushTimeout); err != nil {
		switch {
		case errors.Is(err, errTimeout):
			return connect.Retriable(fmt.Errorf("elastic-sink: %d records wait for Elasticsearch (%s=%d) after %s; the batch is handed again",
				t.w.snapshot().held, MaxBufferedRecordsKey, t.cfg.maxBuffered, t.cfg.flushTimeout))
		case ctx.Err() != nil:
			// The framework gave up waiting (it is stopping): nothing of
			// the batch was taken.
			return connect.Retriable(fmt.Errorf("elastic-sink: waiting for buffer space: %w", ctx.Err()))
		}
		return err
	}
	items := make([]*item, 0, len(records))
	var bad map[int]error
	dropped := 0
	for i, r := range records {
		tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		if !t.assigned[tp] && !t.renamed {
			t.renamed = true
			t.log.Info("records arrive under a topic the task was not handed (a topic-renaming transform): offset commits now wait until every record is acknowledged", "topic", r.Topic)
		}
		index := t.indexName(r.Topic)
		var err error
		if r.Value != nil {
			if err = t.ensureIndex(ctx, index, r); err != nil && retriable(err) {
				// Nothing of the batch is taken: it is handed again.
				t.w.noteBlocked(err.Error())
				return connect.Retriable(err)
			}
		}
		var it *item
		if err == nil {
			it, err = t.makeItem(r, index, tp)
		}
		if err != nil {
			if t.cfg.dropInvalid && !t.cfg.tolerateAll {
				t.log.Error("dropping a record that cannot be written ("+DropInvalidMessageKey+"=true)", "record", recordString(r), "error", err)
				dropped++
				continue
			}
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
			continue
		}
		if it == nil {
			dropped++
			continue
		}
		items = append(items, it)
	}
	t.dropped.Add(int64(dropped))
	t.w.add(items)
	if bad != nil {
		return &connect.BatchError{Errs: bad}
	}
	return nil
}

// makeItem makes r's queued write, or nil when r writes nothing.
func (t *SinkTask) makeItem(r *connect.Record, index string, tp connect.TopicPartition) (*item, error) {
	a, err := t.conv.convert(r, index)
	if err != nil || a == nil {
		return nil, err
	}
	it := &item{rec: r, tp: tp, offset: r.Offset, key: docKey(a.index, a.id), op: a.op,
		external: a.external, version: a.version, index: a.index, data: a.data}
	// The write holds all it sends; of the record it needs only the
	// identity (the errant record reporter knows a record by its pointer,
	// and the framework keeps what the dead letter queue needs), so the
	// converted payload is let go rather than held until Elasticsearch
	// answers: most of a held record's memory.
	r.Key, r.Value, r.Headers = nil, nil, nil
	if a.external && t.cfg.versionSource == VersionOffset && it.key != "" {
		if other, ok := t.trap.see(it.key, tp); ok {
			t.log.Warn("documents are written from several partitions while their external version is the Kafka offset: "+
				"Elasticsearch refuses a write whose offset is lower than the document's version, so some updates of these documents are dropped. "+
				"Set "+ExternalVersionSrcKey+"=none (writes apply in order per key) or "+VersionHeader+", or key the topic so one key stays in one partition",
				"index", a.index, "id", a.id, "partition", tp.Partition, "other_partition", other.Partition, "other_topic", other.Topic)
		}
	}
	return it, nil
}

// PreCommit returns, per partition, the offset of the first record not
// yet acknowledged (the offset given when all are), after asking the
// writer to send lingering writes. With flush.synchronously, or once a
// topic-renaming transform was seen, it first waits for everything, up to
// flush.timeout.ms; a timeout commits nothing this time (a retriable
// error), and never fails the task.
func (t *SinkTask) PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.w.err(); err != nil {
		return nil, err
	}
	if t.cfg.flushSync || t.renamed {
		if err := t.flushAll(ctx); err != nil {
			return nil, err
		}
		return offsets, nil
	}
	t.w.requestFlush()
	return t.pending.Committable(offsets), nil
}

// Flush waits until everything put is acknowledged, up to
// flush.timeout.ms (a retriable error then: the offsets are not
// committed this time). The framework calls it when it does not call
// PreCommit.
func (t *SinkTask) Flush(ctx context.Context, _ map[connect.TopicPartition]int64) error {
	return t.flushAll(ctx)
}

func (t *SinkTask) flushAll(ctx context.Context) error {
	err := t.w.flush(ctx, t.cfg.flushTimeout)
	if errors.Is(err, errTimeout) || (err != nil && ctx.Err() != nil) {
		s := t.w.snapshot()
		reason := ""
		if s.blocked.reason != "" {
			reason = "; Elasticsearch refuses writes: " + s.blocked.reason
		}
		return connect.Retriable(fmt.Errorf("elastic-sink: %d records not acknowledged after %s (%s)%s; offsets are committed later",
			s.held, t.cfg.flushTimeout, FlushTimeoutMsKey, reason))
	}
	return err
}

// Stop stops sending: requests in flight may end until ctx does. Records
// not acknowledged are delivered again to the next task.
func (t *SinkTask) Stop(ctx context.Context) error {
	if t.w == nil {
		return nil
	}
	grace, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t.w.close(grace)
	t.cl.close()
	return nil
}

// malformed handles a document Elasticsearch refused for itself.
func (t *SinkTask) malformed(it *item, reason string) bool {
	err := fmt.Errorf("Indexing failed: %s", reason)
	rec := recordString(it.rec)
	switch t.cfg.onMalformed {
	case MalformedIgnore, MalformedWarn:
		msg := "skipping a document Elasticsearch refuses (" + BehaviorOnMalformedKey + "=" + t.cfg.onMalformed + ")"
		if t.cfg.onMalformed == MalformedWarn {
			t.log.Warn(msg, "record", rec, "index", it.index, "reason", reason)
		} else {
			t.log.Debug(msg, "record", rec, "index", it.index, "reason", reason)
		}
		if t.cfg.tolerateAll && t.reporter != nil {
			t.reporter.Report(it.rec, err)
		}
		return true
	}
	if t.reporter != nil {
		t.reporter.Report(it.rec, err)
		return true
	}
	t.w.fail(fmt.Errorf("elastic-sink: %s: %w (set %s=warn or ignore to skip such documents)", rec, err, BehaviorOnMalformedKey))
	return false
}

// indexName is the index (or data stream) records of topic go to: the
// topic lower-cased as Elasticsearch requires, as Confluent's connector
// names it.
func (t *SinkTask) indexName(topic string) string {
	if n, ok := t.topicIndex[topic]; ok {
		return n
	}
	n := indexName(t.cfg, topic)
	if n != topic && t.cfg.dataStream == "" {
		t.log.Debug("topic written to an index of another name", "topic", topic, "index", n)
	}
	t.topicIndex[topic] = n
	return n
}

// indexName names topic's index: lower case, at most 255 bytes, no
// leading - or _, and not . or ..; or its data stream
// <type>-<dataset>-<namespace>.
func indexName(cfg *config, topic string) string {
	if cfg.dataStream != "" {
		ns := strings.ReplaceAll(cfg.namespace, "${topic}", strings.ToLower(topic))
		if len(ns) > 100 {
			ns = ns[:100]
		}
		return cfg.dataStream + "-" + cfg.dataset + "-" + ns
	}
	n := strings.ToLower(topic)
	if len(n) > 255 {
		n = n[:255]
	}
	if strings.HasPrefix(n, "-") || strings.HasPrefix(n, "_") {
		n = n[1:]
	}
	if n == "." || n == ".." {
		n = strings.ReplaceAll(n, ".", "dot")
	}
	return n
}

// ensureIndex makes sure index exists (creating it, or its data stream,
// when missing) and, unless schema.ignore, that it has a mapping (derived
// from r's value schema when it has none). What it learns is kept, so an
// index costs requests only until it is ready.
func (t *SinkTask) ensureIndex(ctx context.Context, index string, r *connect.Record) error {
	needMapping := !t.cfg.ignoreSchema(r.Topic)
	t.idxMu.Lock()
	st := t.indexes[index]
	if st == nil {
		st = &indexState{}
		t.indexes[index] = st
	}
	s := *st
	t.idxMu.Unlock()
	if s.exists && (s.mapped || !needMapping) {
		return nil
	}
	if !s.exists {
		if err := t.createIndex(ctx, index); err != nil {
			return err
		}
		s.exists = true
	}
	if needMapping && !s.mapped {
		if !s.checked {
			has, err := t.cl.hasMapping(ctx, index)
			if err != nil {
				return err
			}
			s.checked, s.mapped = true, has
		}
		if !s.mapped {
			mapping, err := buildMapping(r.ValueSchema)
			if err != nil {
				t.store(index, s)
				return dataErrorf("%s: %s=false: %v", recordString(r), SchemaIgnoreKey, err)
			}
			if err := t.cl.putMapping(ctx, index, mapping); err != nil {
				return err
			}
			s.mapped = true
			t.log.Info("created the mapping of an index from the record schema", "index", index)
		}
	}
	t.store(index, s)
	return nil
}

func (t *SinkTask) store(index string, s indexState) {
	t.idxMu.Lock()
	*t.indexes[index] = s
	t.idxMu.Unlock()
}

func (t *SinkTask) createIndex(ctx context.Context, index string) error {
	exists, err := t.cl.exists(ctx, index)
	if err != nil || exists {
		return err
	}
	if t.cfg.dataStream != "" {
		err = t.cl.createDataStream(ctx, index)
	} else {
		err = t.cl.createIndex(ctx, index)
	}
	if err == nil {
		t.log.Info("created a missing index", "index", index, "data_stream", t.cfg.dataStream != "")
	}
	return err
}

// recreateIndex is the writer's hook for an index that vanished: created
// again, and its mapping checked again at the next record.
func (t *SinkTask) recreateIndex(ctx context.Context, index string) error {
	t.idxMu.Lock()
	t.indexes[index] = &indexState{}
	t.idxMu.Unlock()
	if err := t.createIndex(ctx, index); err != nil {
		return err
	}
	t.idxMu.Lock()
	t.indexes[index].exists = true
	t.idxMu.Unlock()
	return nil
}

// Progress implements connect.ProgressReporter: whether the task is
// writing, idle or blocked (the cluster refuses writes: a read-only index,
// a cluster block, unreachable, refused credentials; with the reason and
// since when), the records held and the requests in flight, and counters
// of documents written, replayed writes Elasticsearch refused as version
// conflicts (counted as written), writes coalesced, retries, malformed
// documents and skipped records.
func (t *SinkTask) Progress() map[string]any {
	if t.w == nil {
		return nil
	}
	s := t.w.snapshot()
	state := "idle"
	switch {
	case s.blocked.reason != "":
		state = "blocked"
	case s.held > 0:
		state = "writing"
	}
	p := map[string]any{
		"state":               state,
		"buffered_records":    s.held,
		"queued_writes":       s.queued,
		"in_flight_requests":  s.inFlight,
		"bulk_requests":       s.requests,
		"documents_written":   s.written,
		"version_conflicts":   s.conflicts,
		"coalesced_writes":    s.coalesced,
		"retries":             s.retries,
		"malformed_documents": s.malformed,
		"skipped_records":     t.dropped.Load(),
	}
	if s.blocked.reason != "" {
		p["blocked_reason"] = s.blocked.reason
		p["blocked_since"] = s.blocked.since.UTC().Format(time.RFC3339)
		p["blocked_seconds"] = math.Round(time.Since(s.blocked.since).Seconds())
		p["failed_requests"] = s.blocked.failures
	}
	if n := t.trap.count(); n > 0 {
		p["keys_from_several_partitions"] = n
	}
	return p
}

// trapDetector spots the trap of offset versions: one document written
// from several partitions. It remembers the partition that last wrote each
// of up to max recent documents (forgetting all when full).
type trapDetector struct {
	mu    sync.Mutex
	max   int
	last  map[string]connect.TopicPartition
	hits  int64
	warns map[string]time.Time
}

// see records that key is written from tp, and returns the other
// partition when another one wrote it before; it returns ok only for the
// first hit of an index in ten minutes, so the warning is not repeated
// per record.
func (d *trapDetector) see(key string, tp connect.TopicPartition) (connect.TopicPartition, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || len(d.last) >= d.max {
		d.last = make(map[string]connect.TopicPartition, 1024)
	}
	prev, seen := d.last[key]
	d.last[key] = tp
	if !seen || prev == tp {
		return connect.TopicPartition{}, false
	}
	d.hits++
	index, _, _ := strings.Cut(key, "\x00")
	if d.warns == nil {
		d.warns = map[string]time.Time{}
	}
	if at, ok := d.warns[index]; ok && time.Since(at) < 10*time.Minute {
		return connect.TopicPartition{}, false
	}
	d.warns[index] = time.Now()
	return prev, true
}

func (d *trapDetector) count() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits
}
