package ftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// stage is where a file is in its life in the task.
type stage uint8

const (
	stageStored  stage = iota // known from the stored offsets, not read to the end; not listed yet
	stageQueued               // complete, waiting its turn
	stageReading              // being read
	stageCommit               // every record returned (or it failed): waiting for their offsets to be committed
	stageCleanup              // committed; to be moved or deleted
	stageDone                 // finished and left in place (cleanup.policy=none)
	stageFailed               // failed and left in place (no error.path)
)

// fileState is one file the task knows: listed and complete, being read,
// finished, failed, or known from a stored offset.
type fileState struct {
	id   fileID
	root string // the input directory it was found under
	name string // the base of id.path (no copy)
	// stored is what the offsets held at start; emitted the position
	// after the last record returned from Poll.
	stored, emitted position
	stage           stage
	failed          string // why it failed
	// listTime is the last inexact LIST time that matched this file.
	listTime time.Time
	seen     uint64 // the listing round that last saw it
	attempts int    // transfers in a row that failed without progress
	inStore  bool   // the offsets held it at start
	// A cleanup the server refused waits before it is tried again.
	cleanupFails int
	cleanupAt    time.Time
	fetch        *fetch // handed to the prefetcher
}

// cleanupTarget says where a file goes once its records are committed.
func (f *fileState) rel() string {
	if rel, ok := strings.CutPrefix(f.id.path, f.root+"/"); ok && f.root != "/" {
		return rel
	}
	return strings.TrimPrefix(f.id.path, "/")
}

// sourceTask reads the files of its share. Poll does all the work on one
// connection, one file at a time: list the input directories, read the
// complete files in order, move or delete those whose offsets are
// committed. Commit (another goroutine) only hands over which files'
// offsets are committed.
type sourceTask struct {
	cfg  *config
	log  *slog.Logger
	opts formatOpts

	files  map[fileID]*fileState
	byPath map[string][]*fileState // the same, by path
	// done holds the compact record of files finished and left in place
	// (cleanup.policy=none), one a path; a second finished identity of a
	// path while the first is still known stays in files (stageDone).
	done   map[string]doneFile
	lookup connect.OffsetReader // set when the offsets could not be listed

	rem       remote
	pre       *prefetcher // nil with ftp.prefetch.files=0
	dialed    bool        // rem was ever connected
	connects  int         // connections made
	downSince time.Time   // zero while connected
	lastErr   error
	nextDial  time.Time
	backoff   time.Duration
	lastUse   time.Time // for keepalive

	round    uint64
	queue    []*fileState
	cur      *openFile
	cleanups []*fileState
	observed map[string]observation // completeness, by path
	nextList time.Time
	more     bool // the last listing found more files than it kept
	forget   []map[string]any
	stopped  bool

	// Shared with Commit.
	mu sync.Mutex
	// inFlight holds, by key, the files with records returned and not
	// all committed yet: how many are committed, and, once the file is
	// read to its end or failed, how many there are (want).
	inFlight map[fileID]*flight
	wake     chan struct{}

	prog progress
	slab slab // the records Poll returns

	idle time.Duration // zero means idleWait; tests shorten it
}

var (
	_ connect.SourceTask       = (*sourceTask)(nil)
	_ connect.Committer        = (*sourceTask)(nil)
	_ connect.OffsetForgetter  = (*sourceTask)(nil)
	_ connect.ProgressReporter = (*sourceTask)(nil)
)

// doneFile is what the task keeps of a finished file left in place: about
// 60 bytes and its path, against a fileState's 250 and more.
type doneFile struct {
	size, modified int64
	listTime       int64  // UnixNano of the last inexact LIST time that matched it; 0: none
	seen           uint64 // the listing round that last saw it
	hasOffset      bool   // its offset may be stored: forget it once it is gone
}

// observation is a file seen by a listing but not yet known complete.
type observation struct {
	size  int64
	mtime time.Time
	first time.Time // when it was first seen with this size and time
}

const (
	// idleWait is how long Poll waits with nothing to return before it
	// returns (nil, nil), as the SDK asks.
	idleWait    = time.Second
	readBuffer  = 256 << 10
	maxAttempts = 5
	// maxCleanupWait bounds the wait before a refused cleanup is tried
	// again; waits start at a second and double.
	maxCleanupWait = 10 * time.Minute
	firstBackoff   = 200 * time.Millisecond
)

func (t *sourceTask) Start(_ context.Context, raw map[string]string, offsets connect.OffsetReader) error {
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	t.cfg = cfg
	t.log = slog.Default().With("connector", raw["name"], "task", cfg.taskIndex, "plugin", Name)
	t.opts = formatOpts{format: cfg.format, delim: cfg.csvDelim, quote: cfg.csvQuote, header: cfg.csvHeader,
		types: cfg.csvTypes, max: cfg.maxRecord, dec: newDecoder(cfg.charset), schemas: &schemaCache{}}
	if cfg.keyMode == KeyField {
		t.opts.keyField = cfg.keyField
	}
	t.files, t.byPath, t.done = map[fileID]*fileState{}, map[string][]*fileState{}, map[string]doneFile{}
	t.observed = map[string]observation{}
	t.inFlight = map[fileID]*flight{}
	t.wake = make(chan struct{}, 1)
	t.queue, t.cleanups, t.forget, t.cur, t.rem, t.lookup = nil, nil, nil, nil, nil, nil
	t.stopped, t.round, t.nextList = false, 0, time.Time{}
	t.prog = progress{}
	if t.pre != nil {
		t.pre.close()
	}
	t.pre = nil
	if cfg.prefetch > 0 {
		t.pre = newPrefetcher(cfg, t.log)
	}
	// Every stored offset of this task's files: finished files (so they
	// are not read again) and files read in part (to resume them).
	if lister, ok := offsets.(connect.OffsetLister); ok {
		for _, o := range lister.Offsets() {
			id, ok := idOf(o.Partition)
			if !ok || o.Offset == nil || owner(id.path, cfg.taskCount) != cfg.taskIndex {
				continue
			}
			pos, err := positionOf(o.Offset)
			if err != nil {
				t.log.Warn("ftp: ignoring a stored offset that does not parse", "file", id.path, "error", err)
				continue
			}
			t.addStored(id, pos)
		}
	} else {
		// A reader that cannot list: each listed file's offset is looked
		// up when it is listed, and offsets of files that are gone stay.
		t.lookup = offsets
	}
	t.log.Info("ftp: task started", "inputs", cfg.inputs, "stored files", len(t.files)+len(t.done), "share", fmt.Sprintf("%d/%d", cfg.taskIndex, cfg.taskCount))
	return nil
}

// addStored records a file known from a stored offset; a finished one
// left in place becomes a done record (and f is nil).
func (t *sourceTask) addStored(id fileID, pos position) *fileState {
	if pos.eof && t.cfg.cleanup == CleanupNone {
		if _, taken := t.done[id.path]; !taken {
			t.done[id.path] = doneFile{size: id.size, modified: id.modified, seen: t.round, hasOffset: true}
			return nil
		}
	}
	f := t.add(id, "", pos)
	f.inStore = true
	if pos.eof {
		f.stage = stageCleanup
		if t.cfg.cleanup == CleanupNone {
			f.stage = stageDone
		}
	}
	return f
}

// known reports whether the task knows the file of identity id, looking
// its offset up when the offsets could not be listed at start; f is nil
// for a finished file left in place, which it marks seen.
func (t *sourceTask) known(id fileID) (f *fileState, ok bool) {
	if d, ok := t.done[id.path]; ok && d.size == id.size && d.modified == id.modified {
		d.seen = t.round
		t.done[id.path] = d
		return nil, true
	}
	if f := t.files[id]; f != nil || t.lookup == nil {
		return f, f != nil
	}
	off := t.lookup.Offset(id.partition())
	if off == nil {
		return nil, false
	}
	pos, err := positionOf(off)
	if err != nil {
		t.log.Warn("ftp: ignoring a stored offset that does not parse", "file", id.path, "error", err)
		return nil, false
	}
	return t.addStored(id, pos), true
}

// add records a file the task knows.
func (t *sourceTask) add(id fileID, root string, pos position) *fileState {
	f := &fileState{id: id, root: root, name: path.Base(id.path), stored: pos, emitted: pos}
	t.files[id] = f
	t.byPath[id.path] = append(t.byPath[id.path], f)
	return f
}

// finish keeps the compact record of f, finished and left in place, in
// place of f; f stays whole (stageDone) when its path has one already.
func (t *sourceTask) finish(f *fileState) {
	f.stage = stageDone
	if _, taken := t.done[f.id.path]; taken {
		return
	}
	d := doneFile{size: f.id.size, modified: f.id.modified, seen: f.seen, hasOffset: f.inStore || f.emitted.records > 0}
	if !f.listTime.IsZero() {
		d.listTime = f.listTime.UnixNano()
	}
	t.unlink(f)
	t.done[f.id.path] = d
}

// drop forgets a file, and its stored offset, if it may have one, once
// Poll returns.
func (t *sourceTask) drop(f *fileState) {
	t.unlink(f)
	delete(t.observed, f.id.path)
	if f.inStore || f.emitted.records > 0 {
		t.forget = append(t.forget, f.id.partition())
	}
}

// unlink removes f from the files the task knows.
func (t *sourceTask) unlink(f *fileState) {
	delete(t.files, f.id)
	fs := t.byPath[f.id.path]
	for i, g := range fs {
		if g == f {
			fs = append(fs[:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(t.byPath, f.id.path)
	} else {
		t.byPath[f.id.path] = fs
	}
	if len(t.files) == 0 {
		// A map keeps the room of its most entries: let it go.
		t.files, t.byPath = map[fileID]*fileState{}, map[string][]*fileState{}
	}
}

// ForgetOffsets hands the framework the partitions of files that are gone.
func (t *sourceTask) ForgetOffsets() []map[string]any {
	f := t.forget
	t.forget = nil
	return f
}

// flight is what Commit and Poll share about one file's records.
type flight struct {
	f         *fileState
	committed int64
	want      int64 // 0 until the file is read to its end or failed
}

// track notes that records of f are on their way.
func (t *sourceTask) track(f *fileState) {
	t.mu.Lock()
	if t.inFlight[f.id] == nil {
		t.inFlight[f.id] = &flight{f: f, committed: f.stored.records}
	}
	t.mu.Unlock()
}

// Commit learns which records are durable. Files waiting for it move on
// to their cleanup, which Poll does.
func (t *sourceTask) Commit(_ context.Context, offsets []connect.SourceOffset) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	woke := false
	for _, o := range offsets {
		if o.Offset == nil {
			continue
		}
		id, ok := idOf(o.Partition)
		if !ok {
			continue
		}
		fl := t.inFlight[id]
		if fl == nil {
			continue
		}
		if n, err := connect.OffsetInt64(o.Offset[OffsetRecords]); err == nil && n > fl.committed {
			fl.committed = n
		}
		if fl.want > 0 && fl.committed >= fl.want {
			woke = true
		}
	}
	if woke {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Poll returns the next records. It lists, reads, and cleans up as the
// files' states ask, and returns (nil, nil) after about a second without
// records.
func (t *sourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.stopped {
		return nil, connect.ErrStopped
	}
	idle := t.idle
	if idle == 0 {
		idle = idleWait
	}
	deadline := time.Now().Add(idle)
	var out []*connect.Record
	for ctx.Err() == nil {
		if err := t.connect(ctx); err != nil {
			if errors.Is(err, errWaiting) {
				if len(out) > 0 || !t.sleep(ctx, min(time.Until(deadline), time.Until(t.nextDial))) {
					return out, nil
				}
				continue
			}
			return out, err
		}
		stop := context.AfterFunc(ctx, t.rem.interrupt)
		recs, err := t.step(ctx, t.cfg.batchSize-len(out), len(out) > 0)
		stop()
		out = append(out, recs...)
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted by the end of the poll: the connection is
				// of no more use, through no fault of the server's.
				t.disconnect(err, false)
				return out, nil
			}
			t.disconnect(err, true)
		}
		switch {
		case len(out) >= t.cfg.batchSize:
			return out, nil
		case len(out) > 0 && (err != nil || t.cur == nil && len(t.queue) == 0):
			return out, nil // nothing more to read at once
		case err == nil && (len(out) > 0 || !t.nothingToDo()):
			continue
		}
		if time.Now().After(deadline) {
			return nil, nil
		}
		wait := time.Until(deadline)
		if err == nil && t.mayList() {
			wait = min(wait, time.Until(t.nextList))
		}
		if !t.sleep(ctx, wait) {
			return nil, nil
		}
	}
	return out, nil
}

// nothingToDo reports whether there is nothing to do until the next
// listing, or until a commit lets the task list again.
func (t *sourceTask) nothingToDo() bool {
	return t.cur == nil && len(t.queue) == 0 && len(t.cleanups) == 0 && !t.commitsArrived() &&
		(time.Now().Before(t.nextList) || !t.mayList())
}

// mayList reports whether the task may list for more files: not while
// input.max.candidates files it read wait for their commit or cleanup.
// This bounds the files the task holds to twice input.max.candidates
// (those and one listing's), however slowly commits or cleanups follow.
func (t *sourceTask) mayList() bool {
	t.mu.Lock()
	n := len(t.inFlight)
	t.mu.Unlock()
	return n+len(t.cleanups) < t.cfg.maxCandidates
}

func (t *sourceTask) commitsArrived() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, fl := range t.inFlight {
		if fl.want > 0 && fl.committed >= fl.want {
			return true
		}
	}
	return false
}

// sleep waits d, or until a commit arrives; false when ctx ended.
func (t *sourceTask) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-t.wake:
	}
	return true
}

// step does the next piece of work on a connected server: read up to
// room records, clean up committed files, open the next file, or list.
// While a batch fills (filling), it only reads and opens files.
func (t *sourceTask) step(ctx context.Context, room int, filling bool) ([]*connect.Record, error) {
	if !filling {
		t.takeCommitted()
		if len(t.cleanups) > 0 {
			return nil, t.cleanup(ctx)
		}
	}
	if len(t.queue) > 0 {
		t.handOver() // the files next in line, while one is read or opened
	}
	if t.cur != nil {
		return t.readBatch(ctx, room)
	}
	if len(t.queue) > 0 {
		f := t.queue[0]
		t.queue = popFront(t.queue)
		return nil, t.openFile(ctx, f)
	}
	if filling {
		return nil, nil
	}
	if !time.Now().Before(t.nextList) && t.mayList() {
		return nil, t.listRound(ctx)
	}
	if time.Since(t.lastUse) >= t.cfg.keepalive {
		t.lastUse = time.Now()
		if err := t.rem.keepalive(ctx); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// takeCommitted moves files whose records are all committed to cleanup.
func (t *sourceTask) takeCommitted() {
	t.mu.Lock()
	var done []*fileState
	for k, fl := range t.inFlight {
		if fl.want > 0 && fl.committed >= fl.want {
			delete(t.inFlight, k)
			done = append(done, fl.f)
		}
	}
	if len(done) > 0 && len(t.inFlight) == 0 {
		t.inFlight = map[fileID]*flight{} // let the room of a full map go
	}
	t.mu.Unlock()
	for _, f := range done {
		t.toCleanup(f)
	}
}

// await holds f, read to its end or failed, until its records are
// committed, or sends it to cleanup when none awaits a commit.
func (t *sourceTask) await(f *fileState) {
	t.mu.Lock()
	fl := t.inFlight[f.id]
	if fl == nil || fl.committed >= f.emitted.records {
		delete(t.inFlight, f.id)
		t.mu.Unlock()
		t.toCleanup(f)
		return
	}
	fl.want = f.emitted.records
	t.mu.Unlock()
	f.stage = stageCommit
}

// toCleanup decides what happens to a file whose records are committed.
func (t *sourceTask) toCleanup(f *fileState) {
	f.stored = f.emitted
	switch {
	case f.failed != "" && t.cfg.errorPath == "":
		f.stage = stageFailed
	case f.failed == "" && t.cfg.cleanup == CleanupNone:
		t.finish(f)
	default:
		f.stage = stageCleanup
		t.cleanups = append(t.cleanups, f)
	}
}

// cleanup moves or deletes the files whose records are committed. A file
// whose cleanup the server refuses stays, finished, and is tried again
// after the next listing.
func (t *sourceTask) cleanup(ctx context.Context) error {
	for len(t.cleanups) > 0 {
		f := t.cleanups[0]
		var err error
		var did string
		switch {
		case f.failed != "":
			did, err = t.move(ctx, f, t.cfg.errorPath)
		case t.cfg.cleanup == CleanupDelete:
			did, err = "deleted", t.rem.remove(ctx, f.id.path)
			if err == nil && t.cfg.doneSuffix != "" {
				if merr := t.rem.remove(ctx, f.id.path+t.cfg.doneSuffix); merr != nil && !isFileError(merr) {
					return merr
				}
			}
		default:
			did, err = t.move(ctx, f, t.cfg.finishedPath)
		}
		if err != nil && !isFileError(err) {
			return err // the connection's: try again once reconnected
		}
		t.cleanups = popFront(t.cleanups)
		if err != nil {
			f.cleanupFails++
			wait := min(time.Second<<min(f.cleanupFails-1, 10), maxCleanupWait)
			f.cleanupAt = time.Now().Add(wait)
			t.log.Warn("ftp: cannot clean up a finished file; it stays and is not read again; trying again later",
				"file", f.id.path, "policy", t.cfg.cleanup, "in", wait, "error", err)
			t.prog.cleanupFailed(f.id.path, err)
			continue
		}
		t.log.Info("ftp: "+did, "file", f.id.path, "records", f.emitted.records)
		t.drop(f)
	}
	return nil
}

// move moves f (and its marker) below dir, keeping its path below the
// input directory; a name already taken there gets a time suffix.
func (t *sourceTask) move(ctx context.Context, f *fileState, dir string) (string, error) {
	to := path.Join(dir, f.rel())
	if err := t.rem.mkdirAll(ctx, path.Dir(to)); err != nil {
		return "", err
	}
	taken, err := t.rem.exists(ctx, to)
	if err != nil {
		return "", err
	}
	if taken {
		to += "." + time.Now().UTC().Format("20060102T150405.000Z")
	}
	if err := t.rem.rename(ctx, f.id.path, to); err != nil {
		return "", err
	}
	if t.cfg.doneSuffix != "" {
		if err := t.rem.rename(ctx, f.id.path+t.cfg.doneSuffix, to+t.cfg.doneSuffix); err != nil && !isFileError(err) {
			return "", err
		}
	}
	return "moved to " + to, nil
}

// Stop ends the transfer and the connection. Records returned but not yet
// committed are read again by the next run, from the stored offsets.
func (t *sourceTask) Stop(context.Context) error {
	t.stopped = true
	if t.rem != nil {
		t.rem.interrupt()
	}
	if t.cur != nil && t.cur.rc != nil {
		t.cur.rc.Close()
	}
	t.cur = nil
	if t.rem != nil {
		t.rem.close()
		t.rem = nil
	}
	if t.pre != nil {
		t.pre.close()
	}
	return nil
}

// errWaiting says the task waits before it connects again.
var errWaiting = errors.New("ftp: waiting to reconnect")

// permanentError is a failure connecting again will not cure: refused
// credentials, an unknown or changed host key.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// connect makes sure the task has a connection: it dials with backoff
// after a failure, and fails the task when the server stayed unreachable
// longer than ftp.reconnect.timeout.ms or refuses the login.
func (t *sourceTask) connect(ctx context.Context) error {
	if t.rem != nil {
		return nil
	}
	if time.Now().Before(t.nextDial) {
		return errWaiting
	}
	dctx, cancel := context.WithTimeout(ctx, t.cfg.connectTimeout)
	defer cancel()
	rem, err := dial(dctx, t.cfg, t.log)
	if err != nil {
		if ctx.Err() != nil {
			return errWaiting
		}
		if t.downSince.IsZero() {
			t.downSince = time.Now()
		}
		t.lastErr = err
		t.prog.setConn(false, err, t.downSince)
		var pe *permanentError
		var ke *keyError
		if errors.As(err, &pe) || errors.As(err, &ke) {
			return fmt.Errorf("ftp: %w", err)
		}
		if t.cfg.reconnectTimeout >= 0 && time.Since(t.downSince) > t.cfg.reconnectTimeout {
			return fmt.Errorf("ftp: the server has been unreachable for %s (%s): %w", time.Since(t.downSince).Round(time.Second), ReconnectTimeoutKey, err)
		}
		t.backoff = min(max(2*t.backoff, firstBackoff), t.cfg.backoffMax)
		t.nextDial = time.Now().Add(t.backoff)
		t.log.Warn("ftp: cannot connect; trying again", "in", t.backoff, "error", err)
		return errWaiting
	}
	if !t.downSince.IsZero() {
		t.log.Info("ftp: connected again", "server", rem.describe(), "down for", time.Since(t.downSince).Round(time.Millisecond))
	} else if !t.dialed {
		t.log.Info("ftp: connected", "server", rem.describe())
	}
	t.rem, t.dialed, t.downSince, t.backoff, t.lastUse = rem, true, time.Time{}, 0, time.Now()
	t.connects++
	if t.pre != nil {
		t.pre.setConnected(true)
	}
	t.prog.setConn(true, nil, time.Time{})
	return nil
}

// disconnect drops a connection that failed. The file being read is read
// again from after its last returned record once connected again.
func (t *sourceTask) disconnect(err error, lost bool) {
	if lost {
		t.log.Warn("ftp: connection lost; connecting again", "error", err)
		t.lastErr = err
	}
	if t.rem != nil {
		t.rem.interrupt() // what the transfer's close waits for fails at once
	}
	if t.cur != nil {
		f := t.cur.f
		if t.cur.rc != nil {
			t.cur.rc.Close()
			t.cur.rc = nil
		}
		t.cur = nil
		if lost {
			f.attempts++
		}
		if f.attempts >= maxAttempts {
			t.fail(f, fmt.Errorf("download failed %d times in a row: %w", f.attempts, err))
		} else {
			f.stage = stageQueued
			t.queue = append([]*fileState{f}, t.queue...)
		}
	}
	if t.rem != nil {
		t.rem.interrupt()
		t.rem.close()
		t.rem = nil
	}
	if t.pre != nil {
		t.pre.setConnected(false)
	}
	if !lost {
		return
	}
	t.downSince = time.Now()
	t.prog.setConn(false, err, t.downSince)
	t.backoff = firstBackoff
	t.nextDial = time.Now().Add(t.backoff)
}

// fail records that f cannot be read: the reason goes to the log and the
// progress, and the file to error.path (or it is remembered as failed)
// once the records read before the failure are committed.
func (t *sourceTask) fail(f *fileState, err error) {
	if f.fetch != nil {
		t.pre.drop(f.fetch)
		f.fetch = nil
	}
	f.failed = err.Error()
	where := "it stays where it is and is not read again until the task restarts"
	if t.cfg.errorPath != "" {
		where = "it moves to " + t.cfg.errorPath + " once the records read before the failure are committed"
	}
	t.log.Error("ftp: file failed; "+where, "file", f.id.path, "records", f.emitted.records, "error", err)
	t.prog.fileFailed(f.id.path, err)
	t.await(f)
}

// popFront drops the first file of q. Its slot is cleared, as the array
// behind q, reused by later appends, would keep the file otherwise.
func popFront(q []*fileState) []*fileState {
	q[0] = nil
	if len(q) == 1 {
		return nil
	}
	return q[1:]
}
