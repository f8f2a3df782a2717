package group

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sim plays rounds of the assignor against members that apply what they
// are told, as the Member does.
type sim struct {
	t        *testing.T
	state    leaderState
	now      time.Time
	maxDelay time.Duration
	config   map[string]int
	offset   int64
	running  map[string]workSet // member -> what it runs
	leaving  map[string]bool
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newSim(t *testing.T, maxDelay time.Duration, config map[string]int, members ...string) *sim {
	s := &sim{t: t, now: t0, maxDelay: maxDelay, config: maps.Clone(config), running: map[string]workSet{}, leaving: map[string]bool{}}
	for _, m := range members {
		s.running[m] = newSet()
	}
	return s
}

// outcome is one round as the test states it: per member, "+" newly
// assigned and "-" revoked, written as "a a-0 a-1" (a connector alone, or
// connector-task).
type outcome struct {
	assigned map[string]string
	revoked  map[string]string
	delay    time.Duration
}

func (s *sim) round() outcome {
	s.t.Helper()
	var in assignInput
	for _, id := range slices.Sorted(maps.Keys(s.running)) {
		ms := memberState{ID: id, Running: s.running[id].work()}
		if s.leaving[id] {
			ms = memberState{ID: id, Leaving: true, Released: s.running[id].work()}
		}
		in.Members = append(in.Members, ms)
	}
	in.Config = ClusterConfig{Offset: s.offset, Tasks: maps.Clone(s.config)}
	in.Now = s.now
	in.MaxDelay = s.maxDelay
	before := s.state.copy()
	res := assign(s.state, in)
	if d := cmp.Diff(before, s.state, cmp.AllowUnexported(leaderState{}, workSet{})); d != "" {
		s.t.Fatalf("assign modified its input state:\n%s", d)
	}
	s.state = res.State
	out := outcome{assigned: map[string]string{}, revoked: map[string]string{}, delay: res.Delay}
	for id, w := range res.Revoked {
		if s.leaving[id] {
			continue
		}
		s.running[id].remove(setOf(w))
		out.revoked[id] = format(w)
	}
	for id, w := range res.Assigned {
		s.running[id].addWork(w)
		out.assigned[id] = format(w)
	}
	for id := range s.leaving {
		delete(s.running, id)
	}
	s.leaving = map[string]bool{}
	// Owners must be what the members now run.
	for id, w := range res.Owners {
		if d := cmp.Diff(format(s.running[id].work()), format(w)); d != "" {
			s.t.Fatalf("Owners[%s] differs from what it runs (-runs +owners):\n%s", id, d)
		}
	}
	return out
}

func format(w work) string {
	var parts []string
	parts = append(parts, w.Connectors...)
	for _, t := range w.Tasks {
		parts = append(parts, t.String())
	}
	return strings.Join(parts, " ")
}

// parse reads "a a-0 b-1" back into work.
func parse(s string) work {
	var w work
	for _, f := range strings.Fields(s) {
		i := strings.LastIndex(f, "-")
		if n, err := strconv.Atoi(f[i+1:]); i > 0 && err == nil {
			w.Tasks = append(w.Tasks, TaskID{f[:i], n})
		} else {
			w.Connectors = append(w.Connectors, f)
		}
	}
	return w.normalize()
}

func (s *sim) set(member, runs string) { s.running[member] = setOf(parse(runs)) }

func (s *sim) expectRound(want outcome) {
	s.t.Helper()
	got := s.round()
	if want.assigned == nil {
		want.assigned = map[string]string{}
	}
	if want.revoked == nil {
		want.revoked = map[string]string{}
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(outcome{})); d != "" {
		s.t.Fatalf("round at +%v (-want +got):\n%s", s.now.Sub(t0), d)
	}
}

func (s *sim) expectRunning(want map[string]string) {
	s.t.Helper()
	got := map[string]string{}
	for id, w := range s.running {
		got[id] = format(w.work())
	}
	if d := cmp.Diff(want, got); d != "" {
		s.t.Fatalf("running (-want +got):\n%s", d)
	}
}

// The cluster most cases start from: a (4 tasks), b (2), c (1) on w1..w3,
// as the first assignment spreads them (see "first assignment").
var base = map[string]int{"a": 4, "b": 2, "c": 1}

func balanced3(t *testing.T, maxDelay time.Duration) *sim {
	s := newSim(t, maxDelay, base, "w1", "w2", "w3")
	s.round()
	s.expectRunning(map[string]string{
		"w1": "a a-0 a-1 b-0",
		"w2": "b a-2 b-1",
		"w3": "c a-3 c-0",
	})
	return s
}

func TestAssignor(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T){
		// 3 connectors on 3 workers: one each. 7 tasks: 3+2+2, w1 takes
		// the extra; a's 4 tasks 2+1+1, b's 2 on two workers, c's 1.
		"first assignment": func(t *testing.T) {
			s := newSim(t, 10*time.Second, base, "w1", "w2", "w3")
			s.expectRound(outcome{assigned: map[string]string{
				"w1": "a a-0 a-1 b-0",
				"w2": "b a-2 b-1",
				"w3": "c a-3 c-0",
			}})
			s.expectRound(outcome{})
		},
		"nothing configured": func(t *testing.T) {
			s := newSim(t, 0, map[string]int{}, "w1", "w2")
			s.expectRound(outcome{})
		},
		"connector without tasks yet": func(t *testing.T) {
			s := newSim(t, 0, map[string]int{"a": 0, "b": 0}, "w1", "w2")
			s.expectRound(outcome{assigned: map[string]string{"w1": "a", "w2": "b"}})
			s.config["a"] = 2
			s.offset++
			s.expectRound(outcome{assigned: map[string]string{"w1": "a-0", "w2": "a-1"}})
		},
		// w4 joins: per connector a's 4 tasks go 1 each, so w1 gives a-1
		// up (revoked in round one, assigned to w4 in round two). Nothing
		// else moves; w4 runs no connector (3 connectors, 4 workers).
		"join: balanced revocation, then assignment": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.running["w4"] = newSet()
			s.expectRound(outcome{revoked: map[string]string{"w1": "a-1"}})
			s.expectRound(outcome{assigned: map[string]string{"w4": "a-1"}})
			s.expectRound(outcome{})
			s.expectRunning(map[string]string{
				"w1": "a a-0 b-0",
				"w2": "b a-2 b-1",
				"w3": "c a-3 c-0",
				"w4": "a-1",
			})
		},
		// Three join an idle worker at once: work spreads over all of them.
		"several join at once": func(t *testing.T) {
			s := newSim(t, 10*time.Second, map[string]int{"a": 6}, "w1")
			s.round()
			s.running["w2"], s.running["w3"] = newSet(), newSet()
			s.expectRound(outcome{revoked: map[string]string{"w1": "a-2 a-3 a-4 a-5"}})
			s.expectRound(outcome{assigned: map[string]string{"w2": "a-2 a-4", "w3": "a-3 a-5"}})
			s.expectRound(outcome{})
		},
		// w3 vanishes: its work is held for the delay, nothing moves; the
		// delay shrinks as time passes; at expiry it goes to the others.
		"lost: held for the delay, reassigned at expiry": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			delete(s.running, "w3")
			s.expectRound(outcome{delay: 10 * time.Second})
			s.now = s.now.Add(4 * time.Second)
			s.expectRound(outcome{delay: 6 * time.Second})
			s.now = s.now.Add(6 * time.Second)
			s.expectRound(outcome{assigned: map[string]string{"w1": "c c-0", "w2": "a-3"}})
			s.expectRound(outcome{})
		},
		"lost with no delay: reassigned at once": func(t *testing.T) {
			s := balanced3(t, 0)
			delete(s.running, "w3")
			s.expectRound(outcome{assigned: map[string]string{"w1": "c c-0", "w2": "a-3"}})
			s.expectRound(outcome{})
		},
		// w3 comes back (new member id w3b, empty) within the delay: at
		// expiry it gets exactly its old work, and nobody else is touched.
		"lost, then back within the delay": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			delete(s.running, "w3")
			s.expectRound(outcome{delay: 10 * time.Second})
			s.now = s.now.Add(3 * time.Second)
			s.running["w3b"] = newSet()
			s.expectRound(outcome{delay: 7 * time.Second})
			s.now = s.now.Add(7 * time.Second)
			s.expectRound(outcome{assigned: map[string]string{"w3b": "c a-3 c-0"}})
			s.expectRound(outcome{})
		},
		// The worker rejoins with its member id and its work still running
		// (a network blip shorter than the session): nothing is lost.
		"back within the delay, still running its work": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			w3 := s.running["w3"]
			delete(s.running, "w3")
			s.expectRound(outcome{delay: 10 * time.Second})
			s.now = s.now.Add(time.Second)
			s.running["w3"] = w3
			s.expectRound(outcome{})
			s.now = s.now.Add(time.Minute)
			s.expectRound(outcome{})
		},
		// A graceful leave releases the work: no delay.
		"graceful leave: reassigned at once": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.leaving["w3"] = true
			s.expectRound(outcome{assigned: map[string]string{"w1": "c c-0", "w2": "a-3"}})
			s.expectRound(outcome{}) // after its LeaveGroup
		},
		"the last member leaves": func(t *testing.T) {
			s := newSim(t, 10*time.Second, base, "w1")
			s.round()
			s.leaving["w1"] = true
			s.expectRound(outcome{})
		},
		// One leaves gracefully while another vanishes: only the vanished
		// worker's work waits.
		"graceful leave and a crash together": func(t *testing.T) {
			s := newSim(t, 10*time.Second, map[string]int{"a": 4}, "w1", "w2", "w3", "w4")
			s.round()
			s.expectRunning(map[string]string{"w1": "a a-0", "w2": "a-1", "w3": "a-2", "w4": "a-3"})
			s.leaving["w3"] = true
			delete(s.running, "w4")
			s.expectRound(outcome{assigned: map[string]string{"w1": "a-2"}, delay: 10 * time.Second})
			s.now = s.now.Add(10 * time.Second)
			s.expectRound(outcome{assigned: map[string]string{"w2": "a-3"}})
		},
		"add and remove connectors, change a task count": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.config = map[string]int{"a": 2, "c": 1, "d": 2}
			s.offset++
			// b and a-2, a-3 are deleted; d is new. a's two tasks must not
			// both stay on w1, so a-1 moves (to w2, next round).
			s.expectRound(outcome{
				revoked:  map[string]string{"w1": "a-1 b-0", "w2": "b a-2 b-1", "w3": "a-3"},
				assigned: map[string]string{"w1": "d-0", "w2": "d d-1"},
			})
			s.expectRound(outcome{assigned: map[string]string{"w2": "a-1"}})
			s.expectRound(outcome{})
			s.expectRunning(map[string]string{
				"w1": "a a-0 d-0",
				"w2": "d a-1 d-1",
				"w3": "c c-0",
			})
		},
		"task count grows": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.config["c"] = 3
			s.offset++
			// c's 3 tasks go one per worker, so w1 (already at 3 tasks) must
			// give one up: exactly one task moves.
			s.expectRound(outcome{revoked: map[string]string{"w1": "a-1"}, assigned: map[string]string{"w1": "c-1", "w2": "c-2"}})
			s.expectRound(outcome{assigned: map[string]string{"w3": "a-1"}})
			s.expectRound(outcome{})
		},
		// A new leader has no state: it takes what members run as the
		// previous assignment. The old leader's work is unaccounted for and
		// is assigned at once, like new work (as in Kafka).
		"leader change: state rebuilt from allocations": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			delete(s.running, "w1")
			s.state = leaderState{}
			s.expectRound(outcome{assigned: map[string]string{"w2": "a a-1", "w3": "a-0 b-0"}})
			s.expectRound(outcome{})
			s.expectRunning(map[string]string{
				"w2": "a b a-1 a-2 b-1",
				"w3": "c a-0 a-3 b-0 c-0",
			})
		},
		// With state rebuilt, a connector deleted during the leader change
		// is revoked in the first round.
		"leader change: deleted work revoked at once": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.state = leaderState{}
			delete(s.config, "b")
			s.offset++
			s.expectRound(outcome{revoked: map[string]string{"w1": "b-0", "w2": "b b-1"}, assigned: map[string]string{}})
		},
		// Two members run the same task (a worker came back from a
		// partition): both stop it, then it is assigned once.
		"duplicates are revoked from all": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.running["w2"].t[TaskID{"a", 3}] = struct{}{}
			s.expectRound(outcome{revoked: map[string]string{"w2": "a-3", "w3": "a-3"}})
			s.expectRound(outcome{assigned: map[string]string{"w3": "a-3"}})
		},
		// A revocation that did not happen (the member did not get it) is
		// detected and issued again.
		"revocation not applied": func(t *testing.T) {
			s := balanced3(t, 10*time.Second)
			s.running["w4"] = newSet()
			s.expectRound(outcome{revoked: map[string]string{"w1": "a-1"}})
			s.running["w1"].t[TaskID{"a", 1}] = struct{}{} // w1 missed it
			// A second revoking round in a row: backed off first.
			s.expectRound(outcome{delay: 40 * time.Millisecond})
			s.now = s.now.Add(40 * time.Millisecond)
			s.expectRound(outcome{revoked: map[string]string{"w1": "a-1"}})
			s.expectRound(outcome{assigned: map[string]string{"w4": "a-1"}})
			s.expectRound(outcome{})
		},
		// Four connectors of 6, 3, 2 and 1 tasks; a fourth worker joins.
		// Every old worker runs 4 tasks and must give one: exactly three
		// move, each keeping every connector spread evenly.
		"join: fewest revocations across connectors": func(t *testing.T) {
			s := newSim(t, 10*time.Second, map[string]int{"a": 6, "b": 3, "c": 2, "d": 1}, "w1", "w2", "w3")
			s.set("w1", "c a-2 a-4 b-1 c-1")
			s.set("w2", "a b a-0 a-1 b-0 c-0")
			s.set("w3", "d a-3 a-5 b-2 d-0")
			s.state = leaderState{}
			s.expectRound(outcome{})
			s.running["w4"] = newSet()
			// (Taking a-1 from w2 instead of c-0 would do as well.)
			s.expectRound(outcome{revoked: map[string]string{"w1": "a-4", "w2": "b c-0", "w3": "d-0"}})
			s.expectRound(outcome{assigned: map[string]string{"w4": "b a-4 c-0 d-0"}})
			s.expectRound(outcome{})
		},
		// After w1's work is reassigned, w3 rather than w2 gets the 4th
		// task: then nothing w3 runs has to move.
		"lost: reassignment moves nothing else": func(t *testing.T) {
			s := newSim(t, time.Second, base, "w2", "w3")
			s.set("w2", "a a-0 a-1 b-0")
			s.set("w3", "c a-3 c-0")
			s.state = leaderState{valid: true, previous: setOf(parse("a b c a-0 a-1 a-2 a-3 b-0 b-1 c-0")), revoking: newSet(), members: []string{"w1", "w2", "w3"}}
			s.expectRound(outcome{delay: time.Second})
			s.now = s.now.Add(time.Second)
			s.expectRound(outcome{assigned: map[string]string{"w2": "b", "w3": "a-2 b-1"}})
			s.expectRound(outcome{})
		},
		// Tasks of one connector spread evenly even when the totals would
		// already be balanced: here w1 ran all of x, w2 all of y.
		"even spread per connector": func(t *testing.T) {
			s := newSim(t, 0, map[string]int{"x": 4, "y": 4}, "w1", "w2")
			s.set("w1", "x x-0 x-1 x-2 x-3")
			s.set("w2", "y y-0 y-1 y-2 y-3")
			s.state = leaderState{}
			s.expectRound(outcome{revoked: map[string]string{"w1": "x-2 x-3", "w2": "y-2 y-3"}})
			s.expectRound(outcome{assigned: map[string]string{"w1": "y-2 y-3", "w2": "x-2 x-3"}})
			s.expectRound(outcome{})
		},
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t)
		})
	}
}

// Successive revoking rounds back off exponentially (Kafka's KAFKA-12495
// backoff: 1 ms x 40^n, capped at the max delay).
func TestRevocationBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		max  time.Duration
		want time.Duration
	}{
		{1, 5 * time.Minute, 40 * time.Millisecond},
		{2, 5 * time.Minute, 1600 * time.Millisecond},
		{3, 5 * time.Minute, 64 * time.Second},
		{4, 5 * time.Minute, 5 * time.Minute},
		{1, 0, 0},
		{3, 0, 0},
		{2, time.Second, time.Second},
	} {
		if got := revocationBackoff(tc.n, tc.max); got != tc.want {
			t.Errorf("revocationBackoff(%d, %v) = %v, want %v", tc.n, tc.max, got, tc.want)
		}
	}
}

// A second revoking round right after one is held back by the backoff
// delay; after it elapses, the revocation happens.
func TestSuccessiveRevocationsBackOff(t *testing.T) {
	t.Parallel()
	s := newSim(t, time.Minute, map[string]int{"a": 6}, "w1")
	s.round()
	s.running["w2"] = newSet()
	s.expectRound(outcome{revoked: map[string]string{"w1": "a-3 a-4 a-5"}})
	// Before the follow-up, w3 joins: the follow-up would revoke again.
	s.running["w3"] = newSet()
	s.expectRound(outcome{assigned: map[string]string{"w2": "a-3 a-5", "w3": "a-4"}, delay: 40 * time.Millisecond})
	s.now = s.now.Add(40 * time.Millisecond)
	s.expectRound(outcome{revoked: map[string]string{"w1": "a-2"}})
	s.expectRound(outcome{assigned: map[string]string{"w3": "a-2"}})
	s.expectRound(outcome{})
}

// Random clusters and churn: every configured item ends up on exactly one
// worker, balanced, nothing moves in the same round it is revoked, and a
// settled cluster stays put.
func TestAssignorConverges(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		s := newSim(t, 0, map[string]int{}, "w0")
		nextWorker := 1
		for range 1 + rng.IntN(6) {
			s.config[fmt.Sprintf("c%d", rng.IntN(20))] = rng.IntN(9)
		}
		for step := range 8 {
			switch rng.IntN(4) {
			case 0:
				s.running[fmt.Sprintf("w%d", nextWorker)] = newSet()
				nextWorker++
			case 1:
				if len(s.running) > 1 {
					ids := slices.Sorted(maps.Keys(s.running))
					id := ids[rng.IntN(len(ids))]
					if rng.IntN(2) == 0 {
						s.leaving[id] = true
					} else {
						delete(s.running, id)
					}
				}
			case 2:
				s.config[fmt.Sprintf("c%d", rng.IntN(20))] = rng.IntN(9)
				s.offset++
			case 3:
				for c := range s.config {
					if rng.IntN(3) == 0 {
						delete(s.config, c)
					}
				}
				s.offset++
			}
			settled := false
			for r := range 6 {
				before := s.snapshot()
				out := s.round()
				if r > 0 && len(out.revoked) > 0 {
					t.Fatalf("iter %d step %d: round %d after the change revoked %v: work should move in two rounds", iter, step, r, out.revoked)
				}
				for id, a := range out.assigned {
					for _, other := range out.revoked {
						for _, f := range strings.Fields(a) {
							if slices.Contains(strings.Fields(other), f) {
								t.Fatalf("iter %d step %d: %s assigned to %s in the round it was revoked", iter, step, f, id)
							}
						}
					}
				}
				if len(out.assigned) == 0 && len(out.revoked) == 0 && s.snapshot() == before {
					settled = true
					break
				}
			}
			if !settled {
				t.Fatalf("iter %d step %d: did not settle in 6 rounds: %v", iter, step, s.snapshot())
			}
			s.checkBalanced(fmt.Sprintf("iter %d step %d", iter, step))
		}
	}
}

func (s *sim) snapshot() string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(s.running)) {
		fmt.Fprintf(&b, "%s[%s] ", id, format(s.running[id].work()))
	}
	return b.String()
}

func (s *sim) checkBalanced(where string) {
	s.t.Helper()
	owners := map[string]int{}
	ownersT := map[TaskID]int{}
	nw := len(s.running)
	var conns, totals []int
	perConn := map[string][]int{}
	for _, w := range s.running {
		conns = append(conns, len(w.c))
		totals = append(totals, len(w.t))
		count := map[string]int{}
		for c := range w.c {
			owners[c]++
		}
		for t := range w.t {
			ownersT[t]++
			count[t.Connector]++
		}
		for c := range s.config {
			perConn[c] = append(perConn[c], count[c])
		}
	}
	for c, n := range s.config {
		if owners[c] != 1 {
			s.t.Fatalf("%s: connector %s runs on %d workers: %s", where, c, owners[c], s.snapshot())
		}
		for i := range n {
			if ownersT[TaskID{c, i}] != 1 {
				s.t.Fatalf("%s: task %s-%d runs on %d workers: %s", where, c, i, ownersT[TaskID{c, i}], s.snapshot())
			}
		}
		if spreadOf(perConn[c]) > 1 {
			s.t.Fatalf("%s: tasks of %s spread %v: %s", where, c, perConn[c], s.snapshot())
		}
	}
	if len(owners) != len(s.config) {
		s.t.Fatalf("%s: unconfigured connectors run: %s (config %v)", where, s.snapshot(), s.config)
	}
	total := 0
	for _, n := range s.config {
		total += n
	}
	if len(ownersT) != total {
		s.t.Fatalf("%s: unconfigured tasks run: %s (config %v)", where, s.snapshot(), s.config)
	}
	if nw > 0 && (spreadOf(conns) > 1 || spreadOf(totals) > 1) {
		s.t.Fatalf("%s: unbalanced: %s", where, s.snapshot())
	}
}

func spreadOf(v []int) int {
	if len(v) == 0 {
		return 0
	}
	return slices.Max(v) - slices.Min(v)
}
