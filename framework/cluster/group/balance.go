package group

import (
	"cmp"
	"slices"
)

// Balance targets. For W workers:
//
//   - Connectors: every worker runs floor(N/W) or ceil(N/W) of the N
//     connectors. The workers that run the most keep the extra ones.
//   - Tasks, per connector: of a connector's n tasks, every worker runs
//     floor(n/W) or ceil(n/W).
//   - Tasks, in total: every worker runs floor(T/W) or ceil(T/W) of all T
//     tasks. The workers that run the most keep the extra ones.
//
// Both task targets hold at once: which workers get a connector's extra
// task (one of the n mod W) is a 0/1 matrix with given row sums (each
// connector's n mod W) and column sums (each worker's total quota minus the
// sum of the floors), and such a matrix exists (deal the extras round robin).
// Among the matrices we prefer, connector by connector, the workers that
// already run more than the floor of that connector: each such choice saves
// a revocation. A preferred choice is taken only if the rest can still be
// completed (the Gale-Ryser condition); otherwise the connector's extras go
// to the workers with the most room left (Ryser's construction, which
// always completes).
//
// Revocations take a worker down to its quotas; new and revoked work fills
// the workers below them. Quotas depend only on the workers and what they
// run, so the round after a revoking one computes the same quotas and puts
// the revoked work where the first round intended.

type quotas struct {
	connectors map[string]int            // worker -> number of connectors
	tasks      map[string]map[string]int // worker -> connector -> number of its tasks
	total      map[string]int            // worker -> number of tasks
	order      []string                  // connectors, sorted
}

func computeQuotas(workers []*load, cfg ClusterConfig) quotas {
	nw := len(workers)
	q := quotas{
		connectors: map[string]int{},
		tasks:      map[string]map[string]int{},
		total:      map[string]int{},
	}
	for c := range cfg.Tasks {
		q.order = append(q.order, c)
	}
	slices.Sort(q.order)

	// held[w][c]: tasks of c that worker w runs.
	held := map[string]map[string]int{}
	heldTotal := map[string]int{}
	for _, w := range workers {
		held[w.id] = map[string]int{}
		for t := range w.running.t {
			held[w.id][t.Connector]++
			heldTotal[w.id]++
		}
		q.tasks[w.id] = map[string]int{}
	}

	// Connectors.
	spread(workers, len(q.order), func(w *load) int { return len(w.running.c) }, nil, q.connectors)

	// Tasks in total. Among workers that would keep the same number of
	// tasks, the ceil goes to those already running an extra task of more
	// connectors: the per-connector step can then leave those in place.
	total := 0
	for _, n := range cfg.Tasks {
		total += n
	}
	extras := func(w *load) int {
		n := 0
		for c, h := range held[w.id] {
			if t := cfg.Tasks[c]; t%nw > 0 && h > t/nw {
				n++
			}
		}
		return n
	}
	spread(workers, total, func(w *load) int { return heldTotal[w.id] }, extras, q.total)

	// Per connector: floors first, then the extras as a 0/1 matrix.
	room := map[string]int{} // extras each worker can still take
	for _, w := range workers {
		room[w.id] = q.total[w.id]
	}
	type demand struct {
		connector string
		floor     int
		extra     int
	}
	var demands []demand
	for _, c := range q.order {
		n := cfg.Tasks[c]
		d := demand{connector: c, floor: n / nw, extra: n % nw}
		for _, w := range workers {
			q.tasks[w.id][c] = d.floor
			room[w.id] -= d.floor
		}
		if d.extra > 0 {
			demands = append(demands, d)
		}
	}
	// Most constrained first; then by name.
	slices.SortStableFunc(demands, func(a, b demand) int { return cmp.Compare(b.extra, a.extra) })

	ids := make([]string, nw)
	for i, w := range workers {
		ids[i] = w.id
	}
	for i, d := range demands {
		rest := make([]int, 0, len(demands)-i-1)
		for _, e := range demands[i+1:] {
			rest = append(rest, e.extra)
		}
		prefers := func(id string) bool { return held[id][d.connector] > d.floor }
		byPreference := slices.Clone(ids)
		slices.SortStableFunc(byPreference, func(a, b string) int {
			if pa, pb := prefers(a), prefers(b); pa != pb {
				if pa {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(room[b], room[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		chosen := pick(byPreference, room, d.extra)
		if chosen == nil || !completable(rest, room, chosen) {
			byRoom := slices.Clone(ids)
			slices.SortStableFunc(byRoom, func(a, b string) int {
				if c := cmp.Compare(room[b], room[a]); c != 0 {
					return c
				}
				if pa, pb := prefers(a), prefers(b); pa != pb {
					if pa {
						return -1
					}
					return 1
				}
				return cmp.Compare(a, b)
			})
			chosen = pick(byRoom, room, d.extra)
		}
		for _, id := range chosen {
			q.tasks[id][d.connector]++
			room[id]--
		}
	}
	return q
}

// spread sets quota[w] to floor(n/W) or ceil(n/W). The ceil goes to the
// workers that run the most (counting up to the ceil: more is revoked
// anyway), then to those with the higher tiebreak, then to the lower id.
func spread(workers []*load, n int, current, tiebreak func(*load) int, quota map[string]int) {
	nw := len(workers)
	ceil := n / nw
	if n%nw > 0 {
		ceil++
	}
	byCount := slices.Clone(workers)
	slices.SortStableFunc(byCount, func(a, b *load) int {
		if c := cmp.Compare(min(current(b), ceil), min(current(a), ceil)); c != 0 {
			return c
		}
		if tiebreak != nil {
			if c := cmp.Compare(tiebreak(b), tiebreak(a)); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.id, b.id)
	})
	for i, w := range byCount {
		quota[w.id] = n / nw
		if i < n%nw {
			quota[w.id]++
		}
	}
}

// pick takes the first n ids with room left, or nil if there are fewer.
func pick(ids []string, room map[string]int, n int) []string {
	var out []string
	for _, id := range ids {
		if len(out) == n {
			break
		}
		if room[id] > 0 {
			out = append(out, id)
		}
	}
	if len(out) < n {
		return nil
	}
	return out
}

// completable reports whether the demands can still be met, each by
// distinct workers, once chosen has taken one unit of room each: the
// Gale-Ryser condition. Sum of demands equals sum of room by construction.
func completable(demands []int, room map[string]int, chosen []string) bool {
	r := make([]int, 0, len(room))
	for id, v := range room {
		if slices.Contains(chosen, id) {
			v--
		}
		r = append(r, v)
	}
	d := slices.Clone(demands)
	slices.SortFunc(d, func(a, b int) int { return cmp.Compare(b, a) })
	sum := 0
	for k, dk := range d {
		sum += dk
		capacity := 0
		for _, v := range r {
			capacity += min(v, k+1)
		}
		if sum > capacity {
			return false
		}
	}
	return true
}

// revocations returns, per worker, what it must stop to come down to its
// quotas: the connectors last in name order, the tasks with the highest
// numbers.
func (q quotas) revocations(workers []*load) map[string]workSet {
	out := map[string]workSet{}
	for _, w := range workers {
		r := newSet()
		if extra := len(w.running.c) - q.connectors[w.id]; extra > 0 {
			cs := w.running.work().Connectors
			for _, c := range cs[len(cs)-extra:] {
				r.c[c] = struct{}{}
			}
		}
		byConnector := map[string][]TaskID{}
		for _, t := range w.running.work().Tasks {
			byConnector[t.Connector] = append(byConnector[t.Connector], t)
		}
		for c, ts := range byConnector {
			if extra := len(ts) - q.tasks[w.id][c]; extra > 0 {
				for _, t := range ts[len(ts)-extra:] {
					r.t[t] = struct{}{}
				}
			}
		}
		if !r.empty() {
			out[w.id] = r
		}
	}
	return out
}

// fill gives every connector and task in toAssign to a worker below its
// quota: the one furthest below it, ties to the lower id. When revocations
// were held back (a delay is running) a worker may be above its quotas;
// there is then still room enough below them elsewhere, because quotas add
// up to everything configured. Only if no worker has room (which the
// arithmetic rules out) does the least loaded take it.
func (q quotas) fill(workers []*load, toAssign workSet, cfg ClusterConfig) {
	a := toAssign.work()
	for _, c := range a.Connectors {
		best := workers[0]
		bestRoom := q.connectors[best.id] - len(best.running.c)
		for _, w := range workers[1:] {
			r := q.connectors[w.id] - len(w.running.c)
			if r > bestRoom || (r == bestRoom && w.id < best.id) {
				best, bestRoom = w, r
			}
		}
		best.running.c[c] = struct{}{}
	}
	held := map[string]map[string]int{}
	heldTotal := map[string]int{}
	for _, w := range workers {
		held[w.id] = map[string]int{}
		for t := range w.running.t {
			held[w.id][t.Connector]++
			heldTotal[w.id]++
		}
	}
	for _, t := range a.Tasks {
		if _, ok := cfg.Tasks[t.Connector]; !ok {
			continue
		}
		var best *load
		var bestRoom, bestTotal int
		for _, w := range workers {
			r := q.tasks[w.id][t.Connector] - held[w.id][t.Connector]
			tr := q.total[w.id] - heldTotal[w.id]
			if best == nil || r > bestRoom || (r == bestRoom && tr > bestTotal) {
				best, bestRoom, bestTotal = w, r, tr
			}
		}
		best.running.t[t] = struct{}{}
		held[best.id][t.Connector]++
		heldTotal[best.id]++
	}
}
