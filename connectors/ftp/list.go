package ftp

import (
	"container/heap"
	"context"
	"errors"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// candidate is a listed file not yet known to the task.
type candidate struct {
	root, path string
	e          entry
}

// candidates keeps the first n candidates in read order as a max-heap, so
// a listing of any length holds at most n of them.
type candidates struct {
	items  []candidate
	n      int
	byTime bool
	more   bool // some were left out
}

func (c *candidates) less(a, b candidate) bool {
	if c.byTime && !a.e.mtime.Equal(b.e.mtime) {
		return a.e.mtime.Before(b.e.mtime)
	}
	return a.path < b.path
}

func (c *candidates) Len() int           { return len(c.items) }
func (c *candidates) Less(i, j int) bool { return c.less(c.items[j], c.items[i]) } // largest on top
func (c *candidates) Swap(i, j int)      { c.items[i], c.items[j] = c.items[j], c.items[i] }
func (c *candidates) Push(x any)         { c.items = append(c.items, x.(candidate)) }
func (c *candidates) Pop() any {
	x := c.items[len(c.items)-1]
	c.items = c.items[:len(c.items)-1]
	return x
}

func (c *candidates) offer(x candidate) {
	if len(c.items) < c.n {
		heap.Push(c, x)
		return
	}
	c.more = true
	if c.less(x, c.items[0]) {
		c.items[0] = x
		heap.Fix(c, 0)
	}
}

// sorted returns the candidates in read order.
func (c *candidates) sorted() []candidate {
	sort.Slice(c.items, func(i, j int) bool { return c.less(c.items[i], c.items[j]) })
	return c.items
}

// ambiguous is a listed file whose LIST time does not tell whether it is a
// file the task knows: its exact time (MDTM) decides.
type ambiguous struct {
	root, path string
	e          entry
}

// listRound lists the input directories once, streaming: it marks the
// known files it sees, keeps the first input.max.candidates new ones,
// queues those that are complete, and forgets known files that are gone.
func (t *sourceTask) listRound(ctx context.Context) error {
	t.round++
	round := t.round
	started := time.Now()
	cands := &candidates{n: t.cfg.maxCandidates, byTime: t.cfg.sortModified}
	var markers map[uint64]struct{}
	if t.cfg.doneSuffix != "" {
		markers = map[uint64]struct{}{}
	}
	listed := map[string]bool{} // directories listed in full
	var amb []ambiguous
	type dir struct{ root, path string }
	stack := make([]dir, 0, len(t.cfg.inputs))
	for i := len(t.cfg.inputs) - 1; i >= 0; i-- {
		stack = append(stack, dir{t.cfg.inputs[i], t.cfg.inputs[i]})
	}
	files := 0
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		err := t.rem.list(ctx, d.path, func(e entry) error {
			if strings.HasPrefix(e.name, ".") {
				return nil
			}
			p := path.Join(d.path, e.name)
			switch e.kind {
			case kindDir:
				if t.cfg.recursive && p != t.cfg.finishedPath && p != t.cfg.errorPath {
					stack = append(stack, dir{d.root, p})
				}
				return nil
			case kindFile:
			default:
				return nil
			}
			if markers != nil && strings.HasSuffix(e.name, t.cfg.doneSuffix) {
				markers[hash64(strings.TrimSuffix(p, t.cfg.doneSuffix))] = struct{}{}
				return nil
			}
			if !t.cfg.pattern.MatchString(e.name) || owner(p, t.cfg.taskCount) != t.cfg.taskIndex {
				return nil
			}
			files++
			f, ok, unsure := t.match(p, e)
			if ok {
				if f != nil {
					t.saw(f, d.root, round)
				}
				return nil
			}
			if unsure && len(amb) < t.cfg.maxCandidates {
				amb = append(amb, ambiguous{d.root, p, e})
				return nil
			}
			cands.offer(candidate{d.root, p, e})
			return nil
		})
		switch {
		case err == nil:
			listed[d.path] = true
		case isFileError(err):
			t.log.Warn("ftp: cannot list a directory; its files wait", "directory", d.path, "error", err)
		default:
			return err
		}
	}
	// Files whose LIST time leaves open whether the task knows them: the
	// exact time tells.
	for _, a := range amb {
		mt, err := t.rem.modTime(ctx, a.path)
		if err != nil {
			if !isFileError(err) && !errors.Is(err, errors.ErrUnsupported) {
				return err
			}
			cands.offer(candidate{a.root, a.path, a.e})
			continue
		}
		if f, ok := t.known(newFileID(a.path, a.e.size, mt)); ok {
			t.sawAt(f, a.path, a.e.mtime, a.root, round)
			continue
		}
		a.e.mtime, a.e.exact = mt, true
		cands.offer(candidate{a.root, a.path, a.e})
	}
	// Known files a full listing of their directory did not show are
	// gone (cleaned up, removed, or changed into another file): forget
	// them, and their stored offsets.
	for _, f := range t.files {
		if f.seen == round || !listed[path.Dir(f.id.path)] {
			continue
		}
		switch f.stage {
		case stageQueued, stageReading, stageCommit:
			continue
		case stageStored:
			if f.stored.records > 0 || f.stored.pos > 0 {
				t.log.Warn("ftp: a file read in part has changed or is gone; a file of its name that changed is read anew, from its start",
					"file", f.id.String(), "records read", f.stored.records)
			}
		case stageCleanup:
			t.dropCleanup(f)
		}
		t.drop(f)
	}
	for p, d := range t.done {
		if d.seen == round || !listed[path.Dir(p)] {
			continue
		}
		delete(t.done, p)
		if d.hasOffset {
			t.forget = append(t.forget, fileID{path: p, size: d.size, modified: d.modified}.partition())
		}
	}
	if err := t.queueComplete(ctx, cands, markers); err != nil {
		return err
	}
	t.more = cands.more
	t.prog.listed(files, time.Since(started))
	return nil
}

// match finds the known file a listed entry is: ok, with f nil for a
// finished file left in place (marked seen). With an inexact LIST time, a
// known file of the same path and size whose exact time the LIST time
// cannot rule out matches; unsure says one of the same path and size
// exists whose exact time the LIST time seems to rule out (a wrong
// ftp.server.timezone, a server clock change): MDTM must tell.
func (t *sourceTask) match(p string, e entry) (f *fileState, ok, unsure bool) {
	if e.exact && t.lookup != nil {
		if g, ok := t.known(newFileID(p, e.size, e.mtime)); ok {
			return g, true, false
		}
	}
	if d, found := t.done[p]; found && d.size == e.size {
		switch m, lt := listMatch(fileID{path: p, size: d.size, modified: d.modified}, d.listTime, e); {
		case m:
			d.seen, d.listTime = t.round, lt
			t.done[p] = d
			return nil, true, false
		case !e.exact:
			unsure = true
		}
	}
	for _, g := range t.byPath[p] {
		if g.id.size != e.size {
			continue
		}
		var lt0 int64
		if !g.listTime.IsZero() {
			lt0 = g.listTime.UnixNano()
		}
		switch m, lt := listMatch(g.id, lt0, e); {
		case m:
			if lt != lt0 {
				g.listTime = e.mtime
			}
			return g, true, false
		case !e.exact:
			unsure = true
		}
	}
	return nil, false, unsure
}

// listMatch reports whether the listed entry e (of id's path and size) is
// the file id whose last matching inexact LIST time is listTime (UnixNano,
// 0: none), and the LIST time to keep.
func listMatch(id fileID, listTime int64, e entry) (bool, int64) {
	if e.exact {
		return id.modified == e.mtime.Truncate(time.Second).UnixMilli(), listTime
	}
	if listTime != 0 && listTime == e.mtime.UnixNano() {
		return true, listTime
	}
	if m := id.mtime(); !m.Before(e.mtime) && m.Before(e.mtime.Add(e.res)) {
		return true, e.mtime.UnixNano()
	}
	return false, listTime
}

// sawAt notes that a listing showed the known file of path p (f; nil for
// a finished one left in place) with the inexact LIST time lt.
func (t *sourceTask) sawAt(f *fileState, p string, lt time.Time, root string, round uint64) {
	if f == nil {
		if d, ok := t.done[p]; ok {
			d.listTime = lt.UnixNano()
			t.done[p] = d
		}
		return
	}
	f.listTime = lt
	t.saw(f, root, round)
}

// saw notes that a listing showed f; a finished file still to be cleaned
// up is cleaned up (again).
func (t *sourceTask) saw(f *fileState, root string, round uint64) {
	f.seen = round
	if f.root == "" {
		f.root = root
	}
	switch f.stage {
	case stageCleanup:
		if time.Now().Before(f.cleanupAt) {
			return
		}
		for _, g := range t.cleanups {
			if g == f {
				return
			}
		}
		t.cleanups = append(t.cleanups, f)
	case stageStored:
		// Read in part by an earlier run, and unchanged: resume it.
		f.stage = stageQueued
		t.queue = append(t.queue, f)
	}
}

func (t *sourceTask) dropCleanup(f *fileState) {
	for i, g := range t.cleanups {
		if g == f {
			t.cleanups = slices.Delete(t.cleanups, i, i+1) // clears the freed slot
			return
		}
	}
}

// queueComplete queues the candidates that are complete, in read order:
// with input.done.suffix those with a marker, else those whose size and
// time stayed the same for file.minimum.age.ms. It sets when to list
// next: when the first waiting candidate may be complete, or after
// poll.interval.ms.
func (t *sourceTask) queueComplete(ctx context.Context, cands *candidates, markers map[uint64]struct{}) error {
	if t.cfg.sortModified {
		// LIST times order files to the minute (the day, for old ones):
		// the kept files are ordered by their exact times.
		var inexact []*candidate
		for i := range cands.items {
			if c := &cands.items[i]; !c.e.exact {
				inexact = append(inexact, c)
			}
		}
		if err := t.exactTimes(ctx, inexact); err != nil {
			return err
		}
	}
	now := time.Now()
	next := now.Add(t.cfg.pollInterval)
	observed := map[string]observation{} // as many as wait: none when files count as complete at once
	var complete []*candidate
	sorted := cands.sorted()
	for i := range sorted {
		c := &sorted[i]
		ready := false
		switch {
		case markers != nil:
			_, ready = markers[hash64(c.path)]
		case t.cfg.minAge <= 0:
			ready = true
		default:
			o, ok := t.observed[c.path]
			if !ok || o.size != c.e.size || !o.mtime.Equal(c.e.mtime) {
				o = observation{size: c.e.size, mtime: c.e.mtime, first: now}
			}
			observed[c.path] = o
			if ready = now.Sub(o.first) >= t.cfg.minAge; !ready {
				next = minTime(next, o.first.Add(t.cfg.minAge))
			}
		}
		if !ready {
			continue
		}
		delete(observed, c.path)
		complete = append(complete, c)
	}
	// The identity needs the exact time; servers without MDTM leave the
	// LIST time, true to the minute at best. The LIST times of those asked
	// for are kept for sawAt (zero: the listing's time was exact).
	listTimes := make([]time.Time, len(complete))
	var inexact []*candidate
	for i, c := range complete {
		if !c.e.exact {
			listTimes[i] = c.e.mtime
			inexact = append(inexact, c)
		}
	}
	if err := t.exactTimes(ctx, inexact); err != nil {
		return err
	}
	for i, c := range complete {
		id := newFileID(c.path, c.e.size, c.e.mtime)
		if f, ok := t.known(id); ok {
			if !listTimes[i].IsZero() {
				t.sawAt(f, c.path, listTimes[i], c.root, t.round)
			} else if f != nil {
				t.saw(f, c.root, t.round)
			}
			continue
		}
		f := t.add(id, c.root, position{})
		f.seen = t.round
		f.stage = stageQueued
		t.queue = append(t.queue, f)
	}
	t.observed = observed
	if cands.more {
		next = now // more files wait: list again once these are read
	}
	t.nextList = next
	t.prog.pending(len(t.queue), len(observed), cands.more)
	return nil
}

// exactTimes replaces the inexact LIST times of cs by their exact times
// where the server tells them, asking for all at once; a candidate whose
// time the server does not tell keeps its LIST time. The error is the
// connection's.
func (t *sourceTask) exactTimes(ctx context.Context, cs []*candidate) error {
	if len(cs) == 0 {
		return nil
	}
	ps := make([]string, len(cs))
	for i, c := range cs {
		ps[i] = c.path
	}
	ts, errs, err := t.rem.modTimes(ctx, ps)
	if err != nil {
		return err
	}
	for i, c := range cs {
		if errs[i] == nil {
			c.e.mtime, c.e.exact = ts[i], true
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
