package elasticsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// The writer turns queued document writes into bulk requests, up to
// max.in.flight.requests at once, and acts on every item of every answer.
// The batching is its own rather than go-elasticsearch's BulkIndexer (see
// docs/adr/0008-elastic-sink-bulk-batching.md): that one spreads
// items over workers with no regard to document ids, so two writes of one
// document can be in flight at once and land in either order, and it
// neither classifies items nor tells which records may be committed.
//
// Order per document. A document's writes are identified by its key
// (index and id). A request never holds two writes of one document, and
// while a write of a document is in flight no other write of it is sent:
// the later ones wait in the queue (other documents pass them). So the
// writes of a document reach Elasticsearch one at a time, in the order of
// the records, whatever the concurrency. A write retried after a failure
// goes back to the front of the queue, ahead of the later writes of its
// document.
//
// Coalescing. A write that replaces a whole document (index, delete) and
// finds the previous write of its document still queued takes that one's
// place, and the earlier one is acknowledged with it: Elasticsearch,
// applying both in order, would end in the same state. With external
// versions the one with the higher version stays (Elasticsearch would
// refuse the other). Upserts merge, so they are never coalesced. If the
// write that stayed turns out malformed, the ones it replaced are queued
// again, in their order, so the outcome is still the one Elasticsearch
// would have given.

// item is one document write, queued or in flight, with its record.
type item struct {
	rec      *connect.Record
	tp       connect.TopicPartition
	offset   int64
	seq      uint64 // order of arrival
	key      string // index + "\x00" + id; "" when Elasticsearch chooses the id
	op       opKind
	external bool
	version  int64
	index    string
	data     []byte
	// superseded are earlier (or outranked) writes of the same document
	// acknowledged with this one.
	superseded []*item
	// lost marks a write superseded because its external version was not
	// newer: Elasticsearch would have refused it as a conflict.
	lost bool
	// forgotten marks a write of a partition taken from the task while it
	// was in flight: its outcome no longer counts (the partition's next
	// owner writes it again from the committed offset).
	forgotten bool

	enqueued  time.Time
	attempts  int
	notBefore time.Time
	alone     bool // send in a request of its own: the server refused a larger one
	lastErr   string
}

// batch is one bulk request's writes.
type batch struct {
	items []*item
	bytes int
}

// writerHooks are what the writer asks of its task.
type writerHooks struct {
	// malformed handles a document Elasticsearch refused for itself, per
	// behavior.on.malformed.documents; it returns false when the record
	// must stay unacknowledged (the task is failing). Called without the
	// writer's lock.
	malformed func(it *item, reason string) bool
	// ensureIndex creates a missing index (or data stream) again.
	ensureIndex func(ctx context.Context, index string) error
}

// counters are what Progress shows.
type counters struct {
	written, conflicts, coalesced, retries, malformed, requests int64
}

// blockState says why the cluster refuses writes, while it does.
type blockState struct {
	reason   string
	since    time.Time
	failures int
}

// writer owns the queue, the requests in flight and their goroutines.
type writer struct {
	cfg     *config
	cl      *client
	logger  *slog.Logger
	pending *connect.PendingOffsets
	hooks   writerHooks
	now     func() time.Time

	ctx    context.Context // ends requests in flight when the writer closes
	cancel context.CancelFunc
	kick   chan struct{}
	wg     sync.WaitGroup

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced when records are acknowledged or the writer fails
	queue      []*item
	last       map[string]*item // newest queued write of each document
	busy       map[string]bool  // documents with a write in flight
	held       int              // records not acknowledged yet, superseded ones included
	heldByTP   map[connect.TopicPartition]int
	bytes      int64 // queued bytes
	inFlight   int
	flying     map[*batch]bool // requests in flight
	seq        uint64
	lingerFrom time.Time
	nextRetry  time.Time
	flushNow   bool
	failed     error
	closing    bool
	blocked    blockState
	st         counters
}

func newWriter(cfg *config, cl *client, pending *connect.PendingOffsets, hooks writerHooks, logger *slog.Logger) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{
		cfg: cfg, cl: cl, logger: logger, pending: pending, hooks: hooks, now: time.Now,
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1),
		changed: make(chan struct{}),
		last:    map[string]*item{}, busy: map[string]bool{}, flying: map[*batch]bool{},
		heldByTP: map[connect.TopicPartition]int{},
	}
	w.wg.Add(1)
	go w.run()
	return w
}

func (w *writer) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// notifyLocked wakes everyone waiting for a change. Callers hold w.mu.
func (w *writer) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// add queues writes; their records become pending. Called from Put.
func (w *writer) add(items []*item) {
	now := w.now()
	for _, it := range items {
		w.pending.Add(it.tp, it.offset)
	}
	w.mu.Lock()
	for _, it := range items {
		w.seq++
		it.seq, it.enqueued = w.seq, now
		w.held++
		w.heldByTP[it.tp]++
		w.enqueueLocked(it)
	}
	w.mu.Unlock()
	w.poke()
}

// enqueueLocked queues it, coalescing it with the queued write of its
// document when both replace the whole document.
func (w *writer) enqueueLocked(it *item) {
	if it.key != "" {
		if p := w.last[it.key]; p != nil && p.op != opUpdate && it.op != opUpdate {
			w.st.coalesced++
			if newerWins(p, it) {
				// it takes p's place (and so keeps p's position, ahead of
				// nothing of its document); p joins the superseded.
				old := *p
				old.superseded = nil
				sup := append(p.superseded, &old)
				w.bytes += int64(len(it.data) - len(p.data))
				enq, nb, att, alone := p.enqueued, p.notBefore, p.attempts, p.alone
				*p = *it
				p.superseded, p.enqueued, p.notBefore, p.attempts, p.alone = sup, enq, nb, att, alone
				return
			}
			it.lost = true
			p.superseded = append(p.superseded, it)
			return
		}
		w.last[it.key] = it
	}
	if len(w.queue) == 0 {
		w.lingerFrom = it.enqueued
	}
	w.queue = append(w.queue, it)
	w.bytes += int64(len(it.data))
}

// newerWins reports whether a write arriving after p replaces it, as
// Elasticsearch would decide between the two applied in order.
func newerWins(p, it *item) bool {
	switch {
	case p.op == opCreate && it.op == opCreate:
		return false // the second create of a document fails
	case p.external && it.external:
		return it.version > p.version
	}
	return true
}

// run is the dispatcher: it sends batches while slots are free and a batch
// is due, and sleeps until the next linger deadline or retry time.
func (w *writer) run() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if w.closing {
			w.mu.Unlock()
			return
		}
		wake := w.dispatchLocked(w.now())
		w.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !wake.IsZero() {
			timer.Reset(max(time.Until(wake), 0))
		}
		select {
		case <-w.ctx.Done():
			return
		case <-w.kick:
		case <-timer.C:
		}
	}
}

// dispatchLocked starts requests while it may, and returns when it should
// look again (zero: when kicked).
func (w *writer) dispatchLocked(now time.Time) time.Time {
	for w.inFlight < w.cfg.maxInFlight && len(w.queue) > 0 && w.failed == nil {
		if !w.readyLocked(now) {
			return w.lingerFrom.Add(w.cfg.linger)
		}
		b := w.takeLocked(now)
		if b == nil {
			break
		}
		w.inFlight++
		w.flying[b] = true
		w.st.requests++
		w.wg.Add(1)
		go w.send(b)
	}
	if len(w.queue) == 0 {
		w.flushNow = false
		return time.Time{}
	}
	if w.nextRetry.After(now) {
		return w.nextRetry
	}
	return time.Time{}
}

// readyLocked reports whether a request should go now rather than linger.
func (w *writer) readyLocked(now time.Time) bool {
	return w.flushNow || len(w.queue) >= w.cfg.batchSize ||
		(w.cfg.bulkBytes > 0 && w.bytes >= w.cfg.bulkBytes) ||
		!now.Before(w.lingerFrom.Add(w.cfg.linger))
}

// takeLocked takes the next request's writes from the queue, in order,
// passing over writes of documents in flight (or already in this request)
// and writes waiting to be retried, with every later write of their
// documents. It returns nil when nothing can go now.
func (w *writer) takeLocked(now time.Time) *batch {
	b := &batch{}
	var skip map[string]bool
	w.nextRetry = time.Time{}
	kept := w.queue[:0]
	full := false
	for i, it := range w.queue {
		if full {
			kept = append(kept, w.queue[i:]...)
			break
		}
		switch {
		case it.key != "" && (w.busy[it.key] || skip[it.key]):
			kept = append(kept, it)
			continue
		case it.notBefore.After(now):
			if w.nextRetry.IsZero() || it.notBefore.Before(w.nextRetry) {
				w.nextRetry = it.notBefore
			}
			if it.key != "" {
				if skip == nil {
					skip = map[string]bool{}
				}
				skip[it.key] = true
			}
			kept = append(kept, it)
			continue
		case len(b.items) > 0 && (it.alone ||
			(w.cfg.bulkBytes > 0 && int64(b.bytes+len(it.data)) > w.cfg.bulkBytes)):
			// This write does not fit: the request is full, and the
			// write keeps its place.
			full = true
			kept = append(kept, it)
			continue
		}
		b.items = append(b.items, it)
		b.bytes += len(it.data)
		w.bytes -= int64(len(it.data))
		if it.key != "" {
			w.busy[it.key] = true
			if w.last[it.key] == it {
				delete(w.last, it.key)
			}
		}
		if len(b.items) >= w.cfg.batchSize || it.alone {
			full = true
		}
	}
	clear(w.queue[len(kept):])
	w.queue = kept
	if len(w.queue) > 0 {
		w.lingerFrom = now
	}
	if len(b.items) == 0 {
		return nil
	}
	return b
}

// bodyPool holds request bodies between requests.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// send sends one request and acts on its answer.
func (w *writer) send(b *batch) {
	defer w.wg.Done()
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.Grow(b.bytes)
	for _, it := range b.items {
		buf.Write(it.data)
	}
	status, h, body, err := w.cl.bulk(w.ctx, buf.Bytes())
	if buf.Cap() <= 64<<20 {
		bodyPool.Put(buf)
	}
	res := w.judge(b, status, h, body, err)
	w.finish(b, res)
}

// verdict is what a request's answer means for each of its writes.
type verdict struct {
	outcomes   []outcome
	reasons    []string
	retryAfter time.Duration
	// whole is set when the request failed as a whole: the reason the
	// cluster refused it (the items then share their outcome).
	whole string
	// splitUp: the server refused the request as too large; its writes
	// go again one per request.
	splitUp bool
	fatal   error
	closing bool
}

// judge reads a request's answer.
func (w *writer) judge(b *batch, status int, h map[string][]string, body []byte, err error) verdict {
	n := len(b.items)
	v := verdict{outcomes: make([]outcome, n), reasons: make([]string, n)}
	all := func(o outcome, reason string) {
		for i := range v.outcomes {
			v.outcomes[i], v.reasons[i] = o, reason
		}
	}
	switch {
	case err != nil && w.ctx.Err() != nil:
		v.closing = true
		all(outRetry, "the task is stopping")
	case err != nil:
		v.whole = "cannot reach Elasticsearch: " + err.Error()
		all(outBlocked, v.whole)
	case status/100 == 2:
		ans, perr := parseBulk(body)
		if perr != nil {
			all(outRetry, perr.Error())
			break
		}
		// A server that stops half-way says why beside the items it
		// answered (ZincSearch does; Elasticsearch never stops): the last
		// item answered is the document it stopped at, refused for the
		// reason given, whatever its own status says. The rest is retried.
		stoppedAt := -1
		if ans.Error != "" && len(ans.Items) < n && len(ans.Items) > 0 {
			stoppedAt = len(ans.Items) - 1
		}
		for i, it := range b.items {
			if i == stoppedAt {
				v.outcomes[i], v.reasons[i] = outMalformed, "the server stopped at this document: "+ans.Error
				continue
			}
			if i >= len(ans.Items) {
				reason := "the answer has no item for this document"
				if ans.Error != "" {
					reason += "; the server said: " + ans.Error
				}
				v.outcomes[i], v.reasons[i] = outRetry, reason
				continue
			}
			ir := ans.Items[i]
			v.outcomes[i] = classify(it.op, ir, it.external)
			if ir.Error != nil {
				v.reasons[i] = fmt.Sprintf("HTTP %d %s", ir.Status, ir.Error.describe())
			} else if v.outcomes[i] != outOK {
				v.reasons[i] = fmt.Sprintf("HTTP %d %s", ir.Status, ir.Result)
			}
		}
	default:
		he := errorFor("POST /_bulk", status, h, body)
		v.retryAfter = he.retryAfter
		switch {
		case status == 413:
			if n > 1 {
				v.splitUp = true
				all(outRetry, he.Error())
			} else {
				all(outMalformed, "the document is larger than the server accepts in one request: "+he.Error())
			}
		case status == 429 || status == 408:
			all(outRetry, he.Error())
		case status >= 500 || status == 401 || status == 403:
			v.whole = he.Error()
			all(outBlocked, v.whole)
		default:
			v.fatal = fmt.Errorf("%w: %v (check %s)", errUnexpectedAnswer, he, ConnectionURLKey)
		}
	}
	return v
}

// finish applies a verdict: acknowledges what is written, queues again
// what is retried, hands malformed documents to the task.
func (w *writer) finish(b *batch, v verdict) {
	now := w.now()
	var done, bad []*item
	missing := map[string]bool{}
	for i, it := range b.items {
		if v.outcomes[i] == outMissingIndex {
			missing[it.index] = true
		}
	}
	for index := range missing {
		if err := w.hooks.ensureIndex(w.ctx, index); err != nil {
			w.logger.Warn("cannot create the missing index again; its documents are retried", "index", index, "error", err)
		}
	}

	w.mu.Lock()
	w.inFlight--
	delete(w.flying, b)
	var retry []*item
	var gone []*item // forgotten writes: released, not acknowledged
	okSeen, blockSeen := false, false
	for i, it := range b.items {
		if it.key != "" {
			delete(w.busy, it.key)
		}
		if it.forgotten {
			// Its partition was taken away; the writes it superseded of
			// partitions still held count as written if it was, and go
			// again if not.
			var open []*item
			for _, x := range it.superseded {
				if !x.forgotten {
					open = append(open, x)
				}
			}
			if o := v.outcomes[i]; v.fatal == nil && (o == outOK || o == outConflict) && len(open) > 0 {
				done = append(done, &item{tp: it.tp, forgotten: true, superseded: open})
			} else if len(open) > 0 && !v.closing {
				slices.SortFunc(open, func(a, b *item) int { return cmpUint(a.seq, b.seq) })
				for _, x := range open {
					x.lost, x.notBefore = false, time.Time{}
				}
				retry = append(retry, open...)
			}
			it.superseded = nil
			gone = append(gone, it)
			continue
		}
		if v.fatal != nil {
			retry = append(retry, it)
			continue
		}
		switch o := v.outcomes[i]; o {
		case outOK, outConflict:
			okSeen = true
			if o == outConflict {
				w.st.conflicts++
			} else {
				w.st.written++
			}
			done = append(done, it)
		case outMalformed:
			okSeen = true // the cluster answered for the document itself
			w.st.malformed++
			it.lastErr = v.reasons[i]
			bad = append(bad, it)
		default:
			it.lastErr = v.reasons[i]
			if o == outBlocked {
				blockSeen = true
			}
			if !v.splitUp && o != outMissingIndex {
				it.attempts++
			}
			if v.splitUp {
				it.alone = true
			}
			d := w.backoff(it.attempts)
			if v.retryAfter > d {
				d = v.retryAfter
			}
			it.notBefore = now.Add(d)
			if it.attempts > w.cfg.maxRetries {
				blockSeen = true
			}
			w.st.retries++
			retry = append(retry, it)
		}
	}
	if v.fatal != nil && w.failed == nil {
		w.failed = fmt.Errorf("elastic-sink: %w", v.fatal)
	}
	switch {
	case blockSeen:
		reason := v.whole
		if reason == "" {
			for i, it := range b.items {
				if o := v.outcomes[i]; o == outBlocked || (o == outRetry && it.attempts > w.cfg.maxRetries) {
					reason = fmt.Sprintf("index %s: %s", it.index, v.reasons[i])
					if it.attempts > w.cfg.maxRetries {
						reason = fmt.Sprintf("%s (retried %d times, goes on retrying)", reason, it.attempts)
					}
					break
				}
			}
		}
		if w.blocked.reason == "" {
			w.blocked.since = now
			w.logger.Warn("Elasticsearch refuses writes; retrying, and offsets stay at the first document not written", "reason", reason)
		}
		w.blocked.reason = reason
		w.blocked.failures++
	case okSeen && w.blocked.reason != "":
		w.logger.Info("Elasticsearch takes writes again", "blocked_for", now.Sub(w.blocked.since).Round(time.Millisecond).String())
		w.blocked = blockState{}
	}
	if !v.closing {
		w.requeueLocked(retry, now)
	}
	w.mu.Unlock()

	// Malformed documents: the task reports or logs them before their
	// records count as acknowledged, so no offset is committed past a
	// record before the framework has it.
	var keepHeld []*item
	for _, it := range bad {
		if len(it.superseded) > 0 {
			// The writes it replaced would have applied in its stead:
			// queue them again, in their order.
			sup := it.superseded
			it.superseded = nil
			slices.SortFunc(sup, func(a, b *item) int { return cmpUint(a.seq, b.seq) })
			w.mu.Lock()
			var again []*item
			for _, s := range sup {
				if s.forgotten {
					w.releaseLocked(s)
					continue
				}
				s.lost, s.notBefore = false, time.Time{}
				again = append(again, s)
			}
			w.requeueLocked(again, now)
			w.mu.Unlock()
		}
		if w.hooks.malformed(it, it.lastErr) {
			done = append(done, it)
		} else {
			keepHeld = append(keepHeld, it)
		}
	}
	_ = keepHeld // stay held: the task fails, and they are delivered again to the next one
	acked := 0
	var lost, sup int64
	byTP := map[connect.TopicPartition]int{}
	for _, it := range done {
		if !it.forgotten {
			w.pending.Done(it.tp, it.offset)
			acked++
			byTP[it.tp]++
		}
		for _, s := range it.superseded {
			if !s.forgotten {
				w.pending.Done(s.tp, s.offset)
			}
			acked++
			sup++
			byTP[s.tp]++
			if s.lost {
				lost++
			}
		}
	}
	w.mu.Lock()
	for _, it := range gone {
		w.releaseLocked(it)
	}
	// Writes a newer one replaced count as written; those the server
	// would have refused for their version, as conflicts.
	w.st.conflicts += lost
	w.st.written += sup - lost
	w.held -= acked
	for tp, n := range byTP {
		if w.heldByTP[tp] -= n; w.heldByTP[tp] <= 0 {
			delete(w.heldByTP, tp)
		}
	}
	w.notifyLocked()
	w.mu.Unlock()
	w.poke()
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// requeueLocked puts writes back at the front of the queue, in their
// order, ahead of the later writes of their documents.
func (w *writer) requeueLocked(items []*item, now time.Time) {
	if len(items) == 0 {
		return
	}
	for _, it := range items {
		w.bytes += int64(len(it.data))
		if it.key != "" && w.last[it.key] == nil {
			w.last[it.key] = it
		}
		if !it.notBefore.IsZero() && (w.nextRetry.IsZero() || it.notBefore.Before(w.nextRetry)) {
			w.nextRetry = it.notBefore
		}
	}
	if len(w.queue) == 0 {
		w.lingerFrom = now
	}
	w.queue = append(items[:len(items):len(items)], w.queue...)
}

// backoff is the wait before retry number attempt: retry.backoff.ms
// doubled per attempt up to max.retries doublings (at least a second once
// those are used up), between half and all of that at random.
func (w *writer) backoff(attempt int) time.Duration {
	base := w.cfg.retryBackoff
	if attempt <= 0 {
		return 0
	}
	shift := min(attempt-1, w.cfg.maxRetries, 20)
	d := base << shift
	if attempt > w.cfg.maxRetries {
		d = max(d, time.Second)
	}
	d = min(d, 5*time.Minute)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// noteBlocked records that the cluster refused a request the task made
// itself (an index check): the task says it is blocked until a write
// passes.
func (w *writer) noteBlocked(reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.blocked.reason == "" {
		w.blocked.since = w.now()
	}
	w.blocked.reason = reason
	w.blocked.failures++
}

// requestFlush makes lingering writes go now.
func (w *writer) requestFlush() {
	w.mu.Lock()
	if len(w.queue) > 0 {
		w.flushNow = true
	}
	w.mu.Unlock()
	w.poke()
}

// err returns the error that fails the task, if any.
func (w *writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// fail makes every next call of the task return err.
func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.failed == nil {
		w.failed = err
	}
	w.notifyLocked()
	w.mu.Unlock()
}

// errTimeout is a wait that ran out of time.
var errTimeout = errors.New("timed out")

// waitFor waits until cond (called with w.mu held) holds, the writer
// fails, ctx ends or timeout passes.
func (w *writer) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if w.failed != nil {
			err := w.failed
			w.mu.Unlock()
			return err
		}
		if cond() {
			w.mu.Unlock()
			return nil
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return errTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// flush sends everything queued and waits until every record is
// acknowledged.
func (w *writer) flush(ctx context.Context, timeout time.Duration) error {
	w.requestFlush()
	return w.waitFor(ctx, timeout, func() bool { return w.held == 0 })
}

// releaseLocked lets go of a write (and what it superseded) without
// acknowledging it: its partition was taken away. Callers hold w.mu.
func (w *writer) releaseLocked(it *item) {
	for _, x := range append([]*item{it}, it.superseded...) {
		w.held--
		if w.heldByTP[x.tp]--; w.heldByTP[x.tp] <= 0 {
			delete(w.heldByTP, x.tp)
		}
	}
	it.superseded = nil
}

// dropPartitions forgets the writes of partitions taken from the task,
// and waits until their requests in flight are answered, so none of this
// task's writes lands after the partitions' next owner wrote the same
// documents. Queued writes of tps are dropped (the next owner writes them
// again from the committed offset); a dropped write's superseded writes of
// other partitions take its place in the queue.
func (w *writer) dropPartitions(ctx context.Context, timeout time.Duration, tps []connect.TopicPartition) error {
	closing := make(map[connect.TopicPartition]bool, len(tps))
	for _, tp := range tps {
		closing[tp] = true
	}
	w.mu.Lock()
	// openOnly strips the superseded writes of closing partitions from
	// it, and returns those of open partitions when it is itself dropped.
	openOnly := func(it *item, dropping bool) []*item {
		var open, keep []*item
		for _, x := range it.superseded {
			switch {
			case closing[x.tp]:
				w.held--
				if w.heldByTP[x.tp]--; w.heldByTP[x.tp] <= 0 {
					delete(w.heldByTP, x.tp)
				}
			case dropping:
				x.lost = false
				open = append(open, x)
			default:
				keep = append(keep, x)
			}
		}
		it.superseded = keep
		slices.SortFunc(open, func(a, b *item) int { return cmpUint(a.seq, b.seq) })
		return open
	}
	var kept []*item
	for _, it := range w.queue {
		if !closing[it.tp] {
			openOnly(it, false)
			kept = append(kept, it)
			continue
		}
		open := openOnly(it, true)
		w.bytes -= int64(len(it.data))
		w.releaseLocked(it)
		if it.key != "" && w.last[it.key] == it {
			delete(w.last, it.key)
			if len(open) > 0 {
				w.last[it.key] = open[len(open)-1]
			}
		}
		for _, x := range open {
			w.bytes += int64(len(x.data))
		}
		kept = append(kept, open...)
	}
	w.queue = kept
	for b := range w.flying {
		for _, it := range b.items {
			if closing[it.tp] {
				it.forgotten = true
			}
			for _, x := range it.superseded {
				if closing[x.tp] {
					x.forgotten = true
				}
			}
		}
	}
	w.notifyLocked()
	w.mu.Unlock()
	w.poke()
	return w.waitFor(ctx, timeout, func() bool {
		for _, tp := range tps {
			if w.heldByTP[tp] > 0 {
				return false
			}
		}
		return true
	})
}

// waitSpace waits until fewer than max.buffered.records are held.
func (w *writer) waitSpace(ctx context.Context, timeout time.Duration) error {
	return w.waitFor(ctx, timeout, func() bool { return w.held < w.cfg.maxBuffered })
}

// close stops sending: requests in flight may finish until ctx ends, then
// they are cancelled. Queued writes are dropped: their records were not
// acknowledged, so they are delivered again to the next task.
func (w *writer) close(ctx context.Context) {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.poke()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		w.cancel()
		<-done
	}
	w.cancel()
}

// snapshot is the writer's state for Progress.
type snapshot struct {
	counters
	held, queued, inFlight int
	blocked                blockState
}

func (w *writer) snapshot() snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return snapshot{counters: w.st, held: w.held, queued: len(w.queue), inFlight: w.inFlight, blocked: w.blocked}
}

// docKey is the key a document's writes are ordered by.
func docKey(index, id string) string {
	if id == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(index) + 1 + len(id))
	b.WriteString(index)
	b.WriteByte(0)
	b.WriteString(id)
	return b.String()
}
