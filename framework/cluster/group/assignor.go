package group

import (
	"math"
	"slices"
	"strings"
	"time"
)

// The assignor is a port of the behaviour of Kafka Connect's
// IncrementalCooperativeAssignor (KIP-415, with the later fixes
// KAFKA-10413, KAFKA-12495, KAFKA-13764 and KAFKA-15693): deleted and
// duplicated work is revoked, lost work (previously assigned, now reported
// by nobody) waits for its worker up to scheduled.rebalance.max.delay.ms,
// new work goes where there is room, and load-balancing revocations happen
// only when no delay is running, with an exponential backoff between
// successive revoking rounds. Revoked work is assigned in the next round,
// which the members that lost work start by rejoining.
//
// It differs from Kafka in these ways, each a deliberate choice:
//   - Balance: Kafka balances each worker's total number of tasks; here the
//     tasks of every connector are spread evenly too (each worker runs
//     floor or ceil of n/workers of a connector's n tasks), while the totals
//     stay within one of each other. See balance.go.
//   - A leader with no state of its own (new leader, or a leader whose
//     previous assignment was not the one delivered) rebuilds it from the
//     members' reported allocations: the previous assignment is what they
//     run. Kafka starts from an empty previous assignment and so keeps a
//     deleted connector running on a worker for one more round.
//   - Deleted work is whatever runs or was assigned but is no longer
//     configured (Kafka only looks at the previous assignment).
//   - Members leaving gracefully report the work they stopped (see
//     allocationLeaving); that work is reassigned at once, not held.
//   - Every choice is deterministic: members, connectors and tasks are
//     visited in sorted order.

// leaderState is what a leader remembers from the round it led to the
// next, Kafka's assignor fields. The zero value is "no state": the next
// round rebuilds it from the members' allocations.
type leaderState struct {
	valid    bool
	previous workSet  // previousAssignment: assigned after the last round, plus lost work still held
	revoking workSet  // previousRevocation: revoked in the last round
	members  []string // previousMembers: the workers of the last round

	revokedInPrevious     bool
	successiveRevocations int

	candidates []string  // workers that were empty while a delay ran
	scheduled  time.Time // when the delayed reassignment is due; zero: none
	delay      time.Duration
}

// memberState is one member as the leader sees it in JoinGroup.
type memberState struct {
	ID      string
	URL     string
	Offset  int64
	Running work // its allocation: what it runs now
	// Leaving: the member is leaving the group gracefully; it gets no work
	// and Released (the work it stopped) is reassigned at once.
	Leaving  bool
	Released work
}

type assignInput struct {
	Members  []memberState
	Config   ClusterConfig
	Now      time.Time
	MaxDelay time.Duration
}

type assignResult struct {
	Assigned map[string]work // per member: newly assigned this round
	Revoked  map[string]work // per member: to stop this round
	Owners   map[string]work // per member: what it runs once this round is applied
	Delay    time.Duration   // when > 0, members rejoin after it
	State    leaderState     // keep it if this round's assignment is delivered
}

// load is one worker's work while the round is computed.
type load struct {
	id      string
	running workSet // what it reports, minus what it must stop for deletion or duplication
	base    workSet // what it reports, minus deleted work (the base of "newly assigned")
}

// assign computes one round. It does not modify prev.
func assign(prev leaderState, in assignInput) assignResult {
	st := prev.copy()

	members := slices.Clone(in.Members)
	slices.SortFunc(members, func(a, b memberState) int { return strings.Compare(a.ID, b.ID) })

	if len(in.Config.Tasks) > 0 {
		tasks := make(map[string]int, len(in.Config.Tasks))
		for c, n := range in.Config.Tasks {
			tasks[c] = max(n, 0)
		}
		in.Config.Tasks = tasks
	}
	configured := newSet()
	for c, n := range in.Config.Tasks {
		configured.c[c] = struct{}{}
		for i := range n {
			configured.t[TaskID{c, i}] = struct{}{}
		}
	}

	active := newSet()
	released := newSet()
	count := map[any]int{}
	var present []string
	for _, m := range members {
		present = append(present, m.ID)
		r := setOf(m.Running)
		active.add(r)
		for c := range r.c {
			count[c]++
		}
		for t := range r.t {
			count[t]++
		}
		if m.Leaving {
			released.addWork(m.Released)
		}
	}
	duplicated := newSet()
	for k, n := range count {
		if n < 2 {
			continue
		}
		switch k := k.(type) {
		case string:
			duplicated.c[k] = struct{}{}
		case TaskID:
			duplicated.t[k] = struct{}{}
		}
	}

	if !st.valid {
		// No state of our own: what the members run is what was assigned.
		st = leaderState{valid: true, previous: active.clone(), revoking: newSet()}
	}
	if !st.revoking.empty() {
		// A revocation of the last round did not take effect (a member
		// still runs what it was told to stop): start from what runs.
		if !st.revoking.intersect(active).empty() {
			st.previous = active.clone()
		}
		st.revoking = newSet()
	}

	deleted := st.previous.clone()
	deleted.add(active)
	deleted = deleted.minus(configured)
	lost := st.previous.minus(active, deleted)
	created := configured.minus(st.previous, active)

	// Graceful departures: their work is not waited for.
	releasedLost := lost.intersect(released)
	lost = lost.minus(releasedLost)

	toRevoke := map[string]workSet{}
	var workers []*load
	for _, m := range members {
		r := setOf(m.Running)
		rev := r.intersect(deleted)
		rev.add(r.intersect(duplicated))
		if m.Leaving {
			rev = r.clone() // it should run nothing; make sure
		}
		if !rev.empty() {
			toRevoke[m.ID] = rev
		}
		if m.Leaving {
			continue
		}
		workers = append(workers, &load{id: m.ID, running: r.minus(rev), base: r.minus(deleted)})
	}

	toAssign := newSet()
	toAssign.add(created)
	toAssign.add(releasedLost)
	st.handleLost(lost, toAssign, workers, present, in.Now, in.MaxDelay)

	if len(workers) > 0 {
		q := computeQuotas(workers, in.Config)
		if st.delay == 0 {
			lb := q.revocations(workers)
			switch {
			case st.revokedInPrevious && len(lb) > 0:
				// Successive revoking rounds: back off before revoking again.
				st.successiveRevocations++
				st.delay = revocationBackoff(st.successiveRevocations, in.MaxDelay)
				if st.delay != 0 {
					st.scheduled = in.Now.Add(st.delay)
				} else {
					applyRevocations(toRevoke, workers, lb)
				}
			case len(lb) > 0:
				applyRevocations(toRevoke, workers, lb)
				st.revokedInPrevious = true
			case st.revokedInPrevious:
				// Balanced again: reset the backoff.
				st.revokedInPrevious = false
				st.successiveRevocations = 0
			}
		} else {
			st.revokedInPrevious = false
		}
		q.fill(workers, toAssign, in.Config)
	}

	res := assignResult{
		Assigned: map[string]work{},
		Revoked:  map[string]work{},
		Owners:   map[string]work{},
		Delay:    st.delay,
	}
	next := newSet()
	for _, w := range workers {
		res.Owners[w.id] = w.running.work()
		if a := w.running.minus(w.base); !a.empty() {
			res.Assigned[w.id] = a.work()
		}
		next.add(w.running)
	}
	allRevoked := newSet()
	for id, r := range toRevoke {
		res.Revoked[id] = r.work()
		allRevoked.add(r)
	}
	next.remove(allRevoked)
	next.add(lost) // held for their worker: still "previously assigned"
	st.previous = next
	st.revoking = allRevoked
	st.members = nil
	for _, w := range workers {
		st.members = append(st.members, w.id)
	}
	res.State = st
	return res
}

// handleLost decides what happens to work whose worker disappeared: Kafka's
// handleLostAssignments. Work to reassign now goes into toAssign, or
// straight to the workers that came back empty while the delay ran.
func (st *leaderState) handleLost(lost, toAssign workSet, workers []*load, present []string, now time.Time, maxDelay time.Duration) {
	if lost.empty() && !st.revokedInPrevious {
		st.resetDelay()
		return
	}
	if st.scheduled.IsZero() && containsAll(present, st.members) {
		// Nobody left: the work is missing because a member did not get
		// the last assignment. Treat it as new.
		toAssign.add(lost)
		return
	}
	if maxDelay == 0 {
		toAssign.add(lost)
		return
	}
	if !st.scheduled.IsZero() && !now.Before(st.scheduled) {
		// The delay is over: give the work to the workers that were empty
		// during it (the departed ones, back under new member ids), else
		// to anyone.
		var cands []*load
		for _, id := range st.candidates {
			for _, w := range workers {
				if w.id == id {
					cands = append(cands, w)
				}
			}
		}
		if len(cands) > 0 {
			lw := lost.work()
			for i, c := range lw.Connectors {
				cands[i%len(cands)].running.c[c] = struct{}{}
			}
			for i, t := range lw.Tasks {
				cands[i%len(cands)].running.t[t] = struct{}{}
			}
		} else {
			toAssign.add(lost)
		}
		st.resetDelay()
		st.revokedInPrevious = false
		return
	}
	for _, w := range workers {
		if w.running.empty() && !slices.Contains(st.candidates, w.id) {
			st.candidates = append(st.candidates, w.id)
		}
	}
	if !st.scheduled.IsZero() && now.Before(st.scheduled) {
		st.delay = min(st.scheduled.Sub(now), maxDelay)
	} else {
		st.delay = maxDelay
	}
	st.scheduled = now.Add(st.delay)
}

func (st *leaderState) resetDelay() {
	st.candidates = nil
	st.scheduled = time.Time{}
	st.delay = 0
}

func (st leaderState) copy() leaderState {
	c := st
	if st.valid {
		c.previous = st.previous.clone()
		c.revoking = st.revoking.clone()
	}
	c.members = slices.Clone(st.members)
	c.candidates = slices.Clone(st.candidates)
	return c
}

// revocationBackoff is the delay before another revoking round after n
// successive ones: Kafka's ExponentialBackoff(1 ms, x40, maxDelay, no
// jitter), 0 when maxDelay is 0.
func revocationBackoff(n int, maxDelay time.Duration) time.Duration {
	maxMs := float64(maxDelay.Milliseconds())
	initial := math.Min(maxMs, 1)
	if maxMs <= initial {
		return time.Duration(initial) * time.Millisecond
	}
	expMax := math.Log(maxMs/math.Max(initial, 1)) / math.Log(40)
	term := initial * math.Pow(40, math.Min(float64(n), expMax))
	return time.Duration(math.Min(term, maxMs)) * time.Millisecond
}

func applyRevocations(toRevoke map[string]workSet, workers []*load, lb map[string]workSet) {
	for _, w := range workers {
		r, ok := lb[w.id]
		if !ok {
			continue
		}
		w.running.remove(r)
		if toRevoke[w.id].c == nil {
			toRevoke[w.id] = newSet()
		}
		toRevoke[w.id].add(r)
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
