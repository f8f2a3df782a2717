package postgrescdc

import (
	"math"
	"sync"
	"time"
)

// Phases of the task, as Progress reports them.
const (
	phaseStarting     = "starting"      // connecting, or before the snapshot or stream begins
	phaseSnapshot     = "snapshot"      // reading the tables
	phaseSnapshotDone = "snapshot_done" // snapshot.mode=initial_only: done, nothing streamed
	phaseStreaming    = "streaming"     // streaming changes from the slot
)

// taskProgress is what the task shows of its progress in its status: the
// capture goroutine writes it, Progress reads it from the worker's
// goroutine. It holds the snapshot's counters as the progress log line
// does, and the newest position streamed. Its methods do nothing on a nil
// *taskProgress (a capture run without Start, as in unit tests).
type taskProgress struct {
	mu    sync.Mutex
	phase string
	// The snapshot of this task's life, if one ran: its counters stay
	// once it is done.
	snap     bool
	snapDone bool
	snapshotCounts
	snapStart time.Time
	snapEnd   time.Time
	// lsn is the position of the newest change handed to Poll while
	// streaming; 0 before the first.
	lsn uint64
	// incr reports the incremental snapshot; set before the capture
	// goroutine starts.
	incr *incremental
}

// snapshotCounts are a snapshot's counters.
type snapshotCounts struct {
	table                   string // the table being read
	tables, tablesDone      int
	rowsDone, rowsEstimated int64
}

func (p *taskProgress) setPhase(phase string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

// snapshotUpdate records the snapshot's counters; start is when it began.
func (p *taskProgress) snapshotUpdate(start time.Time, c snapshotCounts) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.phase, p.snap, p.snapDone, p.snapStart, p.snapshotCounts = phaseSnapshot, true, false, start, c
	p.mu.Unlock()
}

// snapshotFinished marks the snapshot done at end.
func (p *taskProgress) snapshotFinished(end time.Time, c snapshotCounts) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.snapDone, p.snapEnd, p.snapshotCounts = true, end, c
	p.mu.Unlock()
}

func (p *taskProgress) streamed(pos position) {
	if p == nil {
		return
	}
	lsn := pos.lsn
	if lsn == 0 {
		lsn = pos.commit
	}
	p.mu.Lock()
	if lsn > p.lsn {
		p.lsn = lsn
	}
	p.mu.Unlock()
}

// report builds the task's progress at now; confirmed is the newest LSN
// the framework stored an offset for.
func (p *taskProgress) report(now time.Time, confirmed uint64) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	phase := p.phase
	if phase == "" {
		phase = phaseStarting
	}
	out := map[string]any{"phase": phase}
	if p.snap {
		out["snapshot_completed"] = p.snapDone
		out["tables_done"] = p.tablesDone
		out["tables_total"] = p.tables
		out["rows_done"] = p.rowsDone
		out["rows_estimated"] = p.rowsEstimated
		end := now
		if p.snapDone {
			end = p.snapEnd
		} else if p.table != "" {
			out["table"] = p.table
		}
		elapsed := end.Sub(p.snapStart)
		out["elapsed_seconds"] = math.Round(elapsed.Seconds()*10) / 10
		if p.snapDone {
			out["eta_seconds"] = 0
		} else if eta, ok := snapshotETA(elapsed, p.rowsDone, p.rowsEstimated); ok {
			out["eta_seconds"] = math.Round(eta.Seconds())
		}
	}
	if p.incr != nil {
		if ip := p.incr.snapshotProgress(); ip != nil {
			out["incremental_snapshot"] = ip
		}
	}
	if phase == phaseStreaming {
		if p.lsn != 0 {
			out["lsn"] = lsnString(p.lsn)
		}
		if confirmed != 0 {
			out["confirmed_lsn"] = lsnString(confirmed)
		}
	}
	return out
}

// snapshotETA estimates the snapshot's remaining time from its rate so
// far; unknown before the first rows, or once more rows were read than
// the statistics estimated.
func snapshotETA(elapsed time.Duration, done, estimated int64) (time.Duration, bool) {
	if done <= 0 || estimated <= done {
		return 0, false
	}
	return time.Duration(float64(elapsed) * float64(estimated-done) / float64(done)), true
}

// Progress implements connect.ProgressReporter: the phase; for a snapshot
// taken in this task's life, tables done of total, rows done of estimated
// (from the tables' statistics), the elapsed time and an ETA in seconds;
// while streaming, the LSN of the newest change handed on and the newest
// one stored. It is safe to call concurrently with Poll and Commit.
func (t *SourceTask) Progress() map[string]any {
	if t.prog == nil {
		return nil
	}
	return t.prog.report(t.now(), t.confirmed.Load())
}
