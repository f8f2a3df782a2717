package group

import (
	"cmp"
	"math"
	"slices"
)

// Balance targets. For W workers:
//
//   - Connectors: every worker runs floor(N/W) or ceil(N/W) of the N
//     connectors. The workers that run the most keep the extra ones.
//   - Tasks, per connector: of a connector's n tasks, every worker runs
//     floor(n/W) or ceil(n/W).
//   - Tasks, in total: every worker runs floor(T/W) or ceil(T/W) of all T
//     tasks.
//
// Both task targets hold at once. Which workers get one of a connector's
// n mod W extra tasks is a 0/1 matrix, connectors by workers, with given
// row sums (each connector's n mod W) and column sums (each worker's total
// quota minus the sum of the floors, the total quota being floor(T/W) for
// some workers and ceil(T/W) for T mod W of them). Such a matrix always
// exists (deal the extras round robin). A worker that runs more tasks of a
// connector than its quota allows must stop the difference, so we choose
// the matrix, and which workers get the ceil of the total, that revoke the
// fewest tasks: giving a connector's extra task to a worker already running
// more than the floor of that connector saves one revocation. That is a
// min-cost flow; we start from a greedy matrix and improve it by moving
// extras along negative-cost cycles and paths between workers until none
// is left, which makes it optimal (see optimize).
//
// Revocations take a worker down to its quotas; new and revoked work fills
// the workers below them. In the round after a revoking one, the quotas of
// the first round need no revocation at all, so the optimum revokes
// nothing: work moves in exactly two rounds.

type quotas struct {
	connectors map[string]int            // worker -> number of connectors
	tasks      map[string]map[string]int // worker -> connector -> number of its tasks
	total      map[string]int            // worker -> number of tasks
}

func computeQuotas(workers []*load, cfg ClusterConfig) quotas {
	nw := len(workers)
	q := quotas{
		connectors: map[string]int{},
		tasks:      map[string]map[string]int{},
		total:      map[string]int{},
	}
	order := make([]string, 0, len(cfg.Tasks))
	for c := range cfg.Tasks {
		order = append(order, c)
	}
	slices.Sort(order)

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
	spread(workers, len(order), func(w *load) int { return len(w.running.c) }, nil, q.connectors)

	// Tasks in total: a first choice of who gets the ceil; optimize may
	// change it. Among workers that would keep the same number of tasks,
	// the ceil goes to those already running an extra task of more
	// connectors.
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
	ids := make([]string, nw)
	room := map[string]int{} // extras each worker can still take
	for i, w := range workers {
		ids[i] = w.id
		room[w.id] = q.total[w.id]
	}
	p := &plan{workers: ids, plusOne: make([]bool, nw), hasPlusOne: total%nw > 0}
	for i, id := range ids {
		p.plusOne[i] = q.total[id] > total/nw
	}
	type demand struct {
		connector string
		floor     int
		extra     int
	}
	var demands []demand
	for _, c := range order {
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
			// Ryser's construction: the workers with the most room. It
			// always completes.
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
		row := make([]bool, nw)
		pref := make([]bool, nw)
		for j, id := range ids {
			row[j] = slices.Contains(chosen, id)
			pref[j] = prefers(id)
		}
		for _, id := range chosen {
			room[id]--
		}
		p.connectors = append(p.connectors, d.connector)
		p.pick = append(p.pick, row)
		p.pref = append(p.pref, pref)
	}

	p.optimize()
	for j, id := range ids {
		q.total[id] = total / nw
		if p.plusOne[j] {
			q.total[id]++
		}
	}
	for ci, c := range p.connectors {
		for j, id := range ids {
			if p.pick[ci][j] {
				q.tasks[id][c]++
			}
		}
	}
	return q
}

// plan is the matrix of extra tasks: pick[c][w] says connector c's worker w
// runs one more than the floor; pref[c][w] that w already does (so the
// pick saves a revocation); plusOne[w] that w's total quota is the ceil.
type plan struct {
	workers    []string
	connectors []string
	pick, pref [][]bool
	plusOne    []bool
	hasPlusOne bool
}

// maxImprovements bounds optimize's work on huge clusters; each step saves
// at least one revocation, and a greedy start leaves few to save.
const maxImprovements = 10000

// optimize makes the plan revoke as little as possible. Moving connector
// c's extra from worker i to worker j costs pref[c][i] - pref[c][j] (-1:
// one revocation saved). Moves along a cycle of workers keep every
// worker's count; moves along a path take one extra away from a worker
// with the ceil of the total and give one to a worker with the floor,
// which then swap roles. The plan is a min-cost flow, and it is optimal
// when no cycle or path of negative cost is left (the residual graph has
// no negative cycle), so we apply negative ones until there are none.
func (p *plan) optimize() {
	for range maxImprovements {
		w, via := p.moveGraph()
		if cyc := negativeCycle(w); cyc != nil {
			p.apply(cyc, via)
			continue
		}
		if p.hasPlusOne {
			if path := p.negativePath(w); path != nil {
				p.apply(path, via)
				p.plusOne[path[0]] = false
				p.plusOne[path[len(path)-1]] = true
				continue
			}
		}
		return
	}
}

const noEdge = math.MaxInt32

// moveGraph returns, for every pair of workers, the cheapest move of an
// extra from i to j (noEdge if none) and the connector that makes it.
func (p *plan) moveGraph() (w [][]int, via [][]int) {
	n := len(p.workers)
	w = make([][]int, n)
	via = make([][]int, n)
	for i := range n {
		w[i] = make([]int, n)
		via[i] = make([]int, n)
		for j := range n {
			w[i][j] = noEdge
		}
	}
	cost := func(c, j int) int {
		if p.pref[c][j] {
			return 0
		}
		return 1
	}
	for c := range p.connectors {
		for i := range n {
			if !p.pick[c][i] {
				continue
			}
			for j := range n {
				if p.pick[c][j] {
					continue
				}
				if d := cost(c, j) - cost(c, i); d < w[i][j] {
					w[i][j], via[i][j] = d, c
				}
			}
		}
	}
	return w, via
}

// apply moves, for each step i -> j of the walk, connector via[i][j]'s
// extra from i to j.
func (p *plan) apply(walk []int, via [][]int) {
	type move struct{ c, from, to int }
	var moves []move
	for k := 0; k+1 < len(walk); k++ {
		i, j := walk[k], walk[k+1]
		moves = append(moves, move{via[i][j], i, j})
	}
	for _, m := range moves {
		p.pick[m.c][m.from] = false
	}
	for _, m := range moves {
		p.pick[m.c][m.to] = true
	}
}

// negativeCycle returns a cycle of negative total weight as a closed walk
// (first node repeated last), or nil: Bellman-Ford from a virtual source
// next to every node.
func negativeCycle(w [][]int) []int {
	n := len(w)
	dist := make([]int, n)
	pred := make([]int, n)
	for i := range pred {
		pred[i] = -1
	}
	last := -1
	for range n {
		last = -1
		for i := range n {
			for j := range n {
				if w[i][j] != noEdge && dist[i]+w[i][j] < dist[j] {
					dist[j] = dist[i] + w[i][j]
					pred[j] = i
					last = j
				}
			}
		}
		if last == -1 {
			return nil
		}
	}
	// last was relaxed in the n-th pass: walking back n steps lands on a
	// cycle.
	x := last
	for range n {
		x = pred[x]
	}
	cyc := []int{x}
	for y := pred[x]; y != x; y = pred[y] {
		cyc = append(cyc, y)
	}
	cyc = append(cyc, x)
	slices.Reverse(cyc)
	return cyc
}

// negativePath returns the cheapest path of negative weight from a worker
// with the ceil to one with the floor, or nil. The graph has no negative
// cycle when it is called.
func (p *plan) negativePath(w [][]int) []int {
	n := len(w)
	const inf = math.MaxInt32 / 2
	dist := make([]int, n)
	pred := make([]int, n)
	for i := range n {
		dist[i] = inf
		pred[i] = -1
		if p.plusOne[i] {
			dist[i] = 0
		}
	}
	for range n {
		changed := false
		for i := range n {
			if dist[i] == inf {
				continue
			}
			for j := range n {
				if w[i][j] != noEdge && dist[i]+w[i][j] < dist[j] {
					dist[j] = dist[i] + w[i][j]
					pred[j] = i
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	best := -1
	for j := range n {
		if !p.plusOne[j] && dist[j] < 0 && (best == -1 || dist[j] < dist[best]) {
			best = j
		}
	}
	if best == -1 {
		return nil
	}
	path := []int{best}
	for x := pred[best]; x != -1; x = pred[x] {
		path = append(path, x)
		if p.plusOne[x] && dist[x] == 0 {
			break
		}
	}
	slices.Reverse(path)
	return path
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
