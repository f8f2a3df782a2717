package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// configTopic stands in for the config topic: an offset and the task
// counts at it.
type configTopic struct {
	mu     sync.Mutex
	offset int64
	tasks  map[string]int
}

func (c *configTopic) set(tasks map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset++
	c.tasks = maps.Clone(tasks)
}

func (c *configTopic) read() (int64, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, maps.Clone(c.tasks)
}

// fakeHandler is a herder that records what it is told and "runs" what it
// is assigned.
type fakeHandler struct {
	t     *testing.T
	topic *configTopic

	mu          sync.Mutex
	offset      int64 // what this worker has read of the topic
	running     workSet
	everRevoked workSet
	assignments []Assignment // since the last snapshot
	lastA       Assignment
	leaderAt    []int64 // atLeast of every LeaderConfig call
	failLeader  int     // fail this many LeaderConfig calls
	onAssigned  func(Assignment)
}

func newFakeHandler(t *testing.T, topic *configTopic) *fakeHandler {
	h := &fakeHandler{t: t, topic: topic, running: newSet(), everRevoked: newSet()}
	h.offset, _ = topic.read()
	return h
}

func (h *fakeHandler) ConfigOffset() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offset
}

func (h *fakeHandler) catchUp() {
	o, _ := h.topic.read()
	h.mu.Lock()
	h.offset = o
	h.mu.Unlock()
}

func (h *fakeHandler) LeaderConfig(ctx context.Context, atLeast int64) (ClusterConfig, error) {
	h.mu.Lock()
	h.leaderAt = append(h.leaderAt, atLeast)
	if h.failLeader > 0 {
		h.failLeader--
		h.mu.Unlock()
		return ClusterConfig{}, errors.New("config topic unreadable (test)")
	}
	h.mu.Unlock()
	o, tasks := h.topic.read()
	h.mu.Lock()
	h.offset = o
	h.mu.Unlock()
	return ClusterConfig{Offset: o, Tasks: tasks}, nil
}

func (h *fakeHandler) Revoked(ctx context.Context, connectors []string, tasks []TaskID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := setOf(work{Connectors: connectors, Tasks: tasks})
	h.running.remove(w)
	h.everRevoked.add(w)
}

func (h *fakeHandler) Assigned(ctx context.Context, a Assignment) {
	h.mu.Lock()
	if a.Error == ErrNone {
		full := setOf(work{Connectors: a.Connectors, Tasks: a.Tasks})
		if missing := h.running.minus(full); !missing.empty() {
			h.t.Errorf("assignment of generation %d drops %v without revoking it", a.Generation, missing.work())
		}
		h.running = full
	}
	if h.offset < a.ConfigOffset {
		h.offset = a.ConfigOffset
	}
	h.assignments = append(h.assignments, a)
	h.lastA = a
	hook := h.onAssigned
	h.mu.Unlock()
	if hook != nil {
		hook(a)
	}
}

func (h *fakeHandler) runs() workSet {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running.clone()
}

func (h *fakeHandler) revoked() workSet {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.everRevoked.clone()
}

func (h *fakeHandler) history() []Assignment {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.assignments)
}

func (h *fakeHandler) last() Assignment {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastA
}

// env is a fresh kfake cluster and a group of test members on it.
type env struct {
	t       *testing.T
	cluster *kfake.Cluster // nil on a real cluster
	seeds   []string
	topic   *configTopic
	group   string
	cfg     Config // template: timings
	kgoOpts []kgo.Opt

	mu      sync.Mutex
	members map[string]*testMember
}

type testMember struct {
	name   string
	m      *Member
	h      *fakeHandler
	client *kgo.Client
	cancel context.CancelFunc
	done   chan error
	gone   bool
}

// newEnv returns a test group on a fresh in-process kfake cluster, or on
// the Kafka cluster KAFKA_BOOTSTRAP names (comma-separated host:port), in
// a group of its own. Tests that need kfake's fault hooks use newFakeEnv.
func newEnv(t *testing.T, maxDelay time.Duration, tasks map[string]int) *env {
	t.Helper()
	bootstrap := os.Getenv("KAFKA_BOOTSTRAP")
	if bootstrap == "" {
		return newFakeEnv(t, maxDelay, tasks)
	}
	e := baseEnv(t, maxDelay, tasks, strings.Split(bootstrap, ","))
	// Kafka's group.min.session.timeout.ms is 6 s by default.
	e.cfg.SessionTimeout = 6 * time.Second
	e.cfg.HeartbeatInterval = 500 * time.Millisecond
	return e
}

// newFakeEnv returns a test group on a fresh in-process kfake cluster.
func newFakeEnv(t *testing.T, maxDelay time.Duration, tasks map[string]int, opts ...kfake.Opt) *env {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(3), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // runs after baseEnv's cleanup has stopped the members
	e := baseEnv(t, maxDelay, tasks, c.ListenAddrs())
	e.cluster = c
	return e
}

func baseEnv(t *testing.T, maxDelay time.Duration, tasks map[string]int, seeds []string) *env {
	b := make([]byte, 4)
	rand.Read(b)
	e := &env{
		t:     t,
		seeds: seeds,
		topic: &configTopic{},
		group: "connect-cluster-" + hex.EncodeToString(b),
		cfg: Config{
			SessionTimeout:    1500 * time.Millisecond,
			RebalanceTimeout:  5 * time.Second,
			HeartbeatInterval: 150 * time.Millisecond,
			MaxDelay:          maxDelay,
		},
		members: map[string]*testMember{},
	}
	e.topic.set(tasks)
	t.Cleanup(func() {
		e.mu.Lock()
		ms := slices.Collect(maps.Values(e.members))
		e.mu.Unlock()
		for _, tm := range ms {
			tm.kill()
		}
	})
	return e
}

func (e *env) start(name string) *testMember {
	e.t.Helper()
	opts := append([]kgo.Opt{kgo.SeedBrokers(e.seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}, e.kgoOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	h := newFakeHandler(e.t, e.topic)
	cfg := e.cfg
	cfg.Client = cl
	cfg.GroupID = e.group
	cfg.URL = "http://" + name + ":8083"
	if os.Getenv("GROUP_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("member", name)
	}
	m := NewMember(cfg, h)
	ctx, cancel := context.WithCancel(context.Background())
	tm := &testMember{name: name, m: m, h: h, client: cl, cancel: cancel, done: make(chan error, 1)}
	go func() { tm.done <- m.Run(ctx) }()
	e.mu.Lock()
	e.members[name] = tm
	e.mu.Unlock()
	return tm
}

// kill stops Run without leaving the group: the worker died.
func (tm *testMember) kill() {
	if tm.gone {
		return
	}
	tm.gone = true
	tm.cancel()
	<-tm.done
	tm.client.Close()
}

func (e *env) live() []*testMember {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*testMember
	for _, name := range slices.Sorted(maps.Keys(e.members)) {
		if tm := e.members[name]; !tm.gone {
			out = append(out, tm)
		}
	}
	return out
}

func (e *env) forget(tm *testMember) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.members, tm.name)
}

// changeConfig writes the config topic; every live worker reads it and asks
// for a rebalance, as the herder does.
func (e *env) changeConfig(tasks map[string]int) {
	e.topic.set(tasks)
	for _, tm := range e.live() {
		tm.h.catchUp()
		tm.m.Rejoin()
	}
}

// settled reports whether the live members agree on one generation, are
// not rebalancing, and together run every configured connector and task
// exactly once, balanced; it says what is off otherwise.
func (e *env) settled() (bool, string) {
	live := e.live()
	_, tasks := e.topic.read()
	gen := int32(-2)
	owners := map[any]int{}
	var conns, totals []int
	for _, tm := range live {
		if tm.m.Rebalancing() {
			return false, tm.name + " is rebalancing"
		}
		g := tm.m.Generation()
		if gen != -2 && g != gen {
			return false, fmt.Sprintf("generations differ: %d and %d", gen, g)
		}
		gen = g
		r := tm.h.runs()
		for c := range r.c {
			owners[c]++
		}
		for t := range r.t {
			owners[t]++
		}
		conns = append(conns, len(r.c))
		totals = append(totals, len(r.t))
	}
	n := 0
	for c, k := range tasks {
		if owners[c] != 1 {
			return false, fmt.Sprintf("connector %s runs %d times", c, owners[c])
		}
		for i := range k {
			if owners[TaskID{c, i}] != 1 {
				return false, fmt.Sprintf("task %s-%d runs %d times", c, i, owners[TaskID{c, i}])
			}
		}
		n += 1 + k
	}
	if len(owners) != n {
		return false, "unconfigured work runs"
	}
	if spreadOf(conns) > 1 || spreadOf(totals) > 1 {
		return false, fmt.Sprintf("unbalanced: connectors %v tasks %v", conns, totals)
	}
	return true, ""
}

// waitSettled waits for the group to settle; the bound only keeps a broken
// test from hanging.
func (e *env) waitSettled() {
	e.t.Helper()
	e.waitFor("the group to settle", e.settled)
}

func (e *env) waitFor(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("waiting for %s: %s", what, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// snapshot returns what every live member runs, and starts the records of
// revocations and assignments afresh: the rounds that formed the group
// (members joining one by one) are not what a test looks at.
func (e *env) snapshot() map[string]workSet {
	out := map[string]workSet{}
	for _, tm := range e.live() {
		tm.h.mu.Lock()
		out[tm.name] = tm.h.running.clone()
		tm.h.everRevoked = newSet()
		tm.h.assignments = nil
		tm.h.mu.Unlock()
	}
	e.t.Logf("settled: %v", out)
	return out
}

func (s workSet) String() string { return format(s.work()) }

var cfg3 = map[string]int{"a": 4, "b": 2, "c": 1}

func TestMemberFirstJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Second, cfg3)
	for _, n := range []string{"w1", "w2", "w3"} {
		e.start(n)
	}
	e.waitSettled()

	// One leader, named alike everywhere; every member knows every URL.
	var leader string
	urls := map[string]string{}
	for _, tm := range e.live() {
		a := tm.h.last()
		urls[a.MemberID] = "http://" + tm.name + ":8083"
		id, url, ok := tm.m.Leader()
		if !ok || id != a.Leader || url != a.LeaderURL {
			t.Fatalf("%s: Leader() = %q %q %v, assignment names %q %q", tm.name, id, url, ok, a.Leader, a.LeaderURL)
		}
		if leader != "" && a.Leader != leader {
			t.Fatalf("members disagree on the leader: %s and %s", leader, a.Leader)
		}
		leader = a.Leader
	}
	for _, tm := range e.live() {
		e.waitFor(tm.name+" to know every member", func() (bool, string) {
			a := tm.h.last()
			return maps.Equal(a.Members, urls), fmt.Sprintf("members %v, want %v", a.Members, urls)
		})
		a := tm.h.last()
		if a.LeaderURL != urls[a.Leader] {
			t.Errorf("%s: leader URL %q, the leader's is %q", tm.name, a.LeaderURL, urls[a.Leader])
		}
		if off, _ := e.topic.read(); a.ConfigOffset != off {
			t.Errorf("%s: assignment at config offset %d, topic at %d", tm.name, a.ConfigOffset, off)
		}
	}
}

// A worker joins: work spreads to it; only what moves is revoked, and what
// the others keep is never stopped.
func TestMemberJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Second, map[string]int{"a": 6, "b": 3, "c": 2, "d": 1})
	for _, n := range []string{"w1", "w2", "w3"} {
		e.start(n)
	}
	e.waitSettled()
	before := e.snapshot()

	w4 := e.start("w4")
	e.waitSettled()
	got := w4.h.runs()
	if got.empty() {
		t.Fatal("w4 got no work")
	}
	moved := newSet()
	for name, was := range before {
		tm := e.members[name]
		now := tm.h.runs()
		rev := tm.h.revoked()
		// Whatever it still runs was never stopped.
		if kept := now.intersect(rev); !kept.empty() {
			t.Errorf("%s: %v was revoked although it stayed", name, kept.work())
		}
		// It only lost what moved to w4, and what it lost was revoked.
		lost := was.minus(now)
		if d := lost.minus(rev); !d.empty() {
			t.Errorf("%s: %v stopped running without a revocation", name, d.work())
		}
		if !now.minus(was).empty() {
			t.Errorf("%s: gained %v when a worker joined", name, now.minus(was).work())
		}
		moved.add(lost)
	}
	if d := moved.minus(got); !d.empty() || !got.minus(moved).empty() {
		t.Errorf("moved %v, w4 runs %v", moved.work(), got.work())
	}
}

// A graceful Leave hands the work over at once: no member is told to wait
// for a delay, although MaxDelay is long. Whether the leaver leads or not.
func TestMemberLeaveGracefully(t *testing.T) {
	t.Parallel()
	for _, leaderLeaves := range []bool{false, true} {
		t.Run(fmt.Sprintf("leader=%v", leaderLeaves), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 5*time.Minute, cfg3)
			for _, n := range []string{"w1", "w2", "w3"} {
				e.start(n)
			}
			e.waitSettled()
			before := e.snapshot()
			leaver := e.follower()
			if leaderLeaves {
				leaver = e.leader()
			}
			if leaver.h.runs().empty() {
				t.Fatal("the leaver runs nothing")
			}

			// The herder stops its work first, then leaves.
			if err := leaver.m.Leave(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-leaver.done; err != nil {
				t.Fatalf("Run after Leave: %v", err)
			}
			leaver.done <- nil
			if _, _, ok := leaver.m.Leader(); ok {
				t.Error("Leader() still ok after Leave")
			}
			leaver.kill()
			e.waitSettled()

			for _, tm := range e.live() {
				for _, a := range tm.h.history() {
					if a.Delay > 0 {
						t.Errorf("%s: told to wait %v after a graceful leave", tm.name, a.Delay)
					}
				}
				if rev := tm.h.revoked().intersect(before[tm.name]); !rev.empty() {
					t.Errorf("%s: its own work %v was revoked", tm.name, rev.work())
				}
			}
			if err := leaver.m.Leave(context.Background()); err != nil {
				t.Errorf("second Leave: %v", err)
			}
		})
	}
}

// A worker dies (no LeaveGroup): after the session timeout the leader holds
// its work for the delay, then hands it to the survivors, whose own work
// keeps running.
func TestMemberDeathWorkMovesAfterDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1500*time.Millisecond, cfg3)
	var ms []*testMember
	for _, n := range []string{"w1", "w2", "w3"} {
		ms = append(ms, e.start(n))
	}
	e.waitSettled()
	before := e.snapshot()
	victim := e.follower()
	if victim.h.runs().empty() {
		t.Fatal("the victim runs nothing")
	}
	victimWork := before[victim.name]
	victim.kill()
	e.forget(victim)
	e.waitSettled()

	held := false
	for _, tm := range e.live() {
		for _, a := range tm.h.history() {
			if a.Delay > 0 {
				held = true
			}
		}
		if rev := tm.h.revoked().intersect(before[tm.name]); !rev.empty() {
			t.Errorf("%s: its own work %v was revoked", tm.name, rev.work())
		}
	}
	if !held {
		t.Error("no survivor was told of a scheduled delay: the work was not held")
	}
	survivors := newSet()
	for _, r := range e.snapshot() {
		survivors.add(r)
	}
	if d := victimWork.minus(survivors); !d.empty() {
		t.Errorf("the dead worker's %v runs nowhere", d.work())
	}
}

// leader returns the member that leads; follower one that does not.
func (e *env) leader() *testMember {
	e.t.Helper()
	for _, tm := range e.live() {
		if id, _, _ := tm.m.Leader(); id == lastOf(tm.h).MemberID {
			return tm
		}
	}
	e.t.Fatal("no member leads")
	return nil
}

func (e *env) follower() *testMember {
	e.t.Helper()
	for _, tm := range e.live() {
		if id, _, _ := tm.m.Leader(); id != lastOf(tm.h).MemberID {
			return tm
		}
	}
	e.t.Fatal("every member leads")
	return nil
}

func describeGroup(ctx context.Context, cl *kgo.Client, group string) (string, error) {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return "", err
	}
	if len(resp.Groups) != 1 {
		return "", fmt.Errorf("%d groups described", len(resp.Groups))
	}
	return resp.Groups[0].State, kerr.ErrorForCode(resp.Groups[0].ErrorCode)
}

func lastOf(h *fakeHandler) Assignment { return h.last() }

// The dead worker comes back (a new process: new member id, nothing
// running) within the delay: when it elapses it gets its own work back, and
// nobody else ran it in between.
func TestMemberReturnsWithinDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 6*time.Second, cfg3)
	var ms []*testMember
	for _, n := range []string{"w1", "w2", "w3"} {
		ms = append(ms, e.start(n))
	}
	e.waitSettled()
	before := e.snapshot()
	victim := e.follower()
	victim.kill()
	e.forget(victim)
	e.waitFor("a scheduled delay", func() (bool, string) {
		for _, tm := range e.live() {
			if lastOf(tm.h).Delay > 0 {
				return true, ""
			}
		}
		return false, "no assignment with a delay yet"
	})

	back := e.start(victim.name) // same URL, new member
	e.waitSettled()
	if d := cmpSets(back.h.runs(), before[victim.name]); d != "" {
		t.Errorf("the returning worker runs other work than before: %s", d)
	}
	for _, tm := range e.live() {
		if tm == back {
			continue
		}
		if d := cmpSets(tm.h.runs(), before[tm.name]); d != "" {
			t.Errorf("%s: %s", tm.name, d)
		}
		if !tm.h.revoked().empty() {
			t.Errorf("%s: revoked %v", tm.name, tm.h.revoked().work())
		}
	}
}

func cmpSets(got, want workSet) string {
	if extra, missing := got.minus(want), want.minus(got); !extra.empty() || !missing.empty() {
		return fmt.Sprintf("runs %v more and %v less than %v", extra.work(), missing.work(), want.work())
	}
	return ""
}

// The leader dies. The coordinator (kfake) may then tell every member it
// leads; only the one the assignment names acts as leader. The new leader
// has no state: it takes what members run as the starting point, so the
// survivors keep their work, and the old leader's work, which nobody
// reports, is assigned at once.
func TestMemberLeaderDeath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 5*time.Minute, cfg3)
	for _, n := range []string{"w1", "w2", "w3"} {
		e.start(n)
	}
	e.waitSettled()
	before := e.snapshot()
	leader := e.leader()
	oldLeaderID := lastOf(leader.h).MemberID
	leader.kill()
	e.forget(leader)
	e.waitSettled()

	var leaders []string
	for _, tm := range e.live() {
		a := lastOf(tm.h)
		id, _, _ := tm.m.Leader()
		if id == oldLeaderID {
			t.Fatalf("%s still follows the dead leader", tm.name)
		}
		if a.Leader == a.MemberID {
			leaders = append(leaders, tm.name)
		}
		if rev := tm.h.revoked().intersect(before[tm.name]); !rev.empty() {
			t.Errorf("%s: its own work %v was revoked", tm.name, rev.work())
		}
	}
	if len(leaders) != 1 {
		t.Errorf("members acting as leader: %v, want exactly one", leaders)
	}
}

// Config changes reach the group through Rejoin: new work is assigned,
// deleted work revoked from whoever ran it, and nothing else moves.
func TestMemberConfigChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Second, map[string]int{"a": 3, "b": 3})
	for _, n := range []string{"w1", "w2", "w3"} {
		e.start(n)
	}
	e.waitSettled()
	before := e.snapshot()

	e.changeConfig(map[string]int{"a": 3, "c": 3})
	e.waitSettled()
	for _, tm := range e.live() {
		now := tm.h.runs()
		rev := tm.h.revoked()
		wasB := newSet()
		for c := range before[tm.name].c {
			if c == "b" {
				wasB.c[c] = struct{}{}
			}
		}
		for tk := range before[tm.name].t {
			if tk.Connector == "b" {
				wasB.t[tk] = struct{}{}
			}
		}
		if d := cmpSets(rev, wasB); d != "" {
			t.Errorf("%s revoked: %s", tm.name, d)
		}
		if lost := before[tm.name].minus(now, wasB); !lost.empty() {
			t.Errorf("%s: lost %v", tm.name, lost.work())
		}
		a := lastOf(tm.h)
		if off, _ := e.topic.read(); a.ConfigOffset != off {
			t.Errorf("%s: assignment at offset %d, config at %d", tm.name, a.ConfigOffset, off)
		}
	}
}

// The leader catches up to the newest offset any member reports before it
// assigns: here a follower has read a config change the leader has not.
func TestMemberLeaderCatchesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Second, map[string]int{"a": 2})
	for _, n := range []string{"w1", "w2"} {
		e.start(n)
	}
	e.waitSettled()
	leader, follower := e.leader(), e.follower()
	e.topic.set(map[string]int{"a": 2, "b": 2})
	follower.h.catchUp() // only the follower has read it
	want, _ := e.topic.read()
	follower.m.Rejoin()
	e.waitSettled()

	leader.h.mu.Lock()
	calls := slices.Clone(leader.h.leaderAt)
	leader.h.mu.Unlock()
	if !slices.Contains(calls, want) {
		t.Errorf("LeaderConfig was asked for offsets %v, want one of %d (the follower's)", calls, want)
	}
	for _, tm := range e.live() {
		if a := lastOf(tm.h); a.ConfigOffset != want {
			t.Errorf("%s: assignment at offset %d, want %d", tm.name, a.ConfigOffset, want)
		}
	}
}

// A leader that cannot read the config fails the round with
// CONFIG_MISMATCH; members keep their work, rejoin, and the next round
// succeeds.
func TestMemberConfigMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Second, map[string]int{"a": 2})
	for _, n := range []string{"w1", "w2"} {
		e.start(n)
	}
	e.waitSettled()
	before := e.snapshot()
	for _, tm := range e.live() {
		tm.h.mu.Lock()
		tm.h.failLeader = 1
		tm.h.mu.Unlock()
	}
	e.changeConfig(map[string]int{"a": 2, "b": 1})
	e.waitSettled()
	// The leader always gets the failed round's assignment; a follower
	// that syncs late may find the next rebalance already begun.
	mismatch := false
	for _, tm := range e.live() {
		for _, a := range tm.h.history() {
			if a.Error == ErrConfigMismatch {
				mismatch = true
				if len(a.Connectors)+len(a.Tasks) == 0 {
					t.Errorf("%s: a failed round reports no work; it should report what the member keeps running", tm.name)
				}
			}
		}
	}
	if !mismatch {
		t.Error("no member saw CONFIG_MISMATCH")
	}
	for _, tm := range e.live() {
		if rev := tm.h.revoked(); !rev.empty() {
			t.Errorf("%s: revoked %v", tm.name, rev.work())
		}
		if lost := before[tm.name].minus(tm.h.runs()); !lost.empty() {
			t.Errorf("%s: lost %v", tm.name, lost.work())
		}
	}
}

// A member stuck in its Handler past the rebalance timeout is dropped by
// the coordinator while its heartbeats go on; the next heartbeat says
// UNKNOWN_MEMBER_ID and it rejoins under a new id reporting what it runs,
// so it keeps its work and nobody else gets it.
func TestMemberUnknownMemberKeepsWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Minute, map[string]int{"a": 4})
	e.cfg.RebalanceTimeout = time.Second
	e.start("w1")
	e.start("w2")
	e.waitSettled()
	before := e.snapshot()
	// The stuck member is a follower: a new leader would know nothing of
	// the dropped member's work and hand it out at once (as Kafka's does).
	w1, w2 := e.leader(), e.follower()
	firstID := lastOf(w2.h).MemberID

	// w2's next Assigned blocks until w1 has completed a rebalance without
	// it (the coordinator drops w2 after the rebalance timeout).
	stuck := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	w2.h.mu.Lock()
	w2.h.onAssigned = func(Assignment) {
		once.Do(func() {
			close(stuck)
			<-release
		})
	}
	w2.h.mu.Unlock()
	gen := w1.m.Generation()
	e.changeConfig(map[string]int{"a": 4}) // same work, new offset: a rebalance
	<-stuck
	gen = max(gen, w1.m.Generation())
	e.topic.set(map[string]int{"a": 4})
	w1.h.catchUp()
	w1.m.Rejoin()
	e.waitFor("a generation without w2", func() (bool, string) {
		a := lastOf(w1.h)
		return a.Generation > gen && len(a.Members) == 1, fmt.Sprintf("w1 at generation %d with %d members", a.Generation, len(a.Members))
	})
	close(release)
	w2.h.catchUp()
	e.waitSettled()

	if id := lastOf(w2.h).MemberID; id == firstID {
		t.Errorf("w2 kept member id %s; expected it to rejoin under a new one", id)
	}
	for _, tm := range []*testMember{w1, w2} {
		if d := cmpSets(tm.h.runs(), before[tm.name]); d != "" {
			t.Errorf("%s: %s", tm.name, d)
		}
		if !tm.h.revoked().empty() {
			t.Errorf("%s: revoked %v", tm.name, tm.h.revoked().work())
		}
	}
}

// The broker goes away: the member stops all its work once it has heard
// nothing for the session timeout and the coordinator does not answer a
// heartbeat interval later either; when a broker is back
// on the same address, the group forms again by itself.
func TestMemberLosesCoordinator(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	e := newFakeEnv(t, 10*time.Second, cfg3, kfake.NumBrokers(1), kfake.Ports(port))
	w1, w2 := e.start("w1"), e.start("w2")
	e.waitSettled()
	if w1.h.runs().empty() || w2.h.runs().empty() {
		t.Fatal("a member runs nothing")
	}

	e.cluster.Close()
	e.waitFor("every member to stop its work", func() (bool, string) {
		for _, tm := range e.live() {
			if !tm.h.runs().empty() {
				return false, tm.name + " still runs work"
			}
			if _, _, ok := tm.m.Leader(); ok {
				return false, tm.name + " still has a leader"
			}
			if !tm.m.Rebalancing() {
				return false, tm.name + " does not say it is rebalancing"
			}
		}
		return true, ""
	})

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e.waitSettled()
}

// The coordinator answers one member's heartbeats late, each after two
// thirds of the session timeout, for several sessions: slow under load but
// alive. No heartbeat is answered within the session timeout of the time it
// was sent, yet the member keeps its work, as Kafka's workers do: the
// session counts from the last answer, and the assignment is given up only
// when the coordinator cannot be reached at all. Revoking everything on a slow
// answer would restart every task at once, load the broker further, and
// feed a rebalance storm.
func TestMemberSlowCoordinatorKeepsWork(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, time.Minute, map[string]int{"a": 4})
	e.start("w1")
	e.start("w2")
	e.waitSettled()
	before := e.snapshot()
	// The slow one is a follower: were the coordinator to drop it after
	// all, its rejoin keeps its work (TestMemberUnknownMemberKeepsWork),
	// so only a revocation of its own making shows.
	w1, w2 := e.leader(), e.follower()
	slowID := lastOf(w2.h).MemberID
	delay := e.cfg.SessionTimeout * 2 / 3

	var slow atomic.Bool
	slow.Store(true)
	var delayed atomic.Int32
	e.cluster.ControlKey(kmsg.Heartbeat.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		if slow.Load() && req.(*kmsg.HeartbeatRequest).MemberID == slowID {
			delayed.Add(1)
			e.cluster.SleepControl(func() { time.Sleep(delay) })
		}
		return nil, nil, false
	})
	time.Sleep(6 * e.cfg.SessionTimeout)
	slow.Store(false)
	if delayed.Load() < 4 {
		t.Fatalf("only %d heartbeats were delayed", delayed.Load())
	}
	e.waitSettled()
	for _, tm := range []*testMember{w1, w2} {
		if !tm.h.revoked().empty() {
			t.Errorf("%s: revoked %v", tm.name, tm.h.revoked().work())
		}
		if d := cmpSets(tm.h.runs(), before[tm.name]); d != "" {
			t.Errorf("%s: %s", tm.name, d)
		}
	}
}

// The coordinator stops answering while a member that runs work waits in
// JoinGroup (the group waits for a member stuck in its Handler). No
// heartbeats go out during a join, and the JoinGroup itself would only
// time out after the rebalance timeout (here two minutes); the member
// still notices that nothing answers and stops its work.
func TestMemberLosesCoordinatorDuringRebalance(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Second, map[string]int{"a": 4})
	e.cfg.RebalanceTimeout = 2 * time.Minute
	e.start("w1")
	e.start("w2")
	e.waitSettled()
	e.snapshot()
	w1, w2 := e.leader(), e.follower()

	stuck := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	w2.h.mu.Lock()
	w2.h.onAssigned = func(Assignment) {
		once.Do(func() {
			close(stuck)
			<-release
		})
	}
	w2.h.mu.Unlock()
	t.Cleanup(func() { close(release) })
	e.changeConfig(map[string]int{"a": 4})
	<-stuck
	if w1.h.runs().empty() {
		t.Fatal("w1 runs nothing")
	}

	// From now on the coordinator swallows w1's JoinGroup and every
	// DescribeGroups without answering.
	w1ID := lastOf(w1.h).MemberID
	joined := make(chan struct{})
	var joinOnce sync.Once
	e.cluster.ControlKey(kmsg.JoinGroup.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if req.(*kmsg.JoinGroupRequest).MemberID != w1ID {
			return nil, nil, false
		}
		e.cluster.KeepControl()
		joinOnce.Do(func() { close(joined) })
		return nil, nil, true
	})
	e.cluster.ControlKey(kmsg.DescribeGroups.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		return nil, nil, true
	})
	e.topic.set(map[string]int{"a": 4})
	w1.h.catchUp()
	w1.m.Rejoin()
	<-joined
	e.waitFor("w1 to stop its work", func() (bool, string) {
		return w1.h.runs().empty(), "w1 runs " + w1.h.runs().String()
	})
	if !w1.m.Rebalancing() {
		t.Error("w1 does not say it is rebalancing")
	}
	if _, _, ok := w1.m.Leader(); ok {
		t.Error("w1 still names a leader")
	}
}

// The group coordinator moves to another broker: the old one answers
// NOT_COORDINATOR, kgo finds the new one, and the group carries on; a
// rebalance afterwards works and nothing is revoked but what must move.
func TestMemberCoordinatorMoves(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 10*time.Second, map[string]int{"a": 3})
	for _, n := range []string{"w1", "w2", "w3"} {
		e.start(n)
	}
	e.waitSettled()
	before := e.snapshot()

	old := e.cluster.CoordinatorFor(e.group)
	var mu sync.Mutex
	hitOld := 0
	e.cluster.ControlKey(kmsg.Heartbeat.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		if e.cluster.CurrentNode() == old {
			mu.Lock()
			hitOld++
			mu.Unlock()
		}
		return nil, nil, false
	})
	for e.cluster.CoordinatorFor(e.group) == old {
		e.cluster.RehashCoordinators()
	}
	e.waitFor("a heartbeat to reach the old coordinator", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return hitOld > 0, "none yet"
	})
	e.changeConfig(map[string]int{"a": 3, "b": 3})
	e.waitSettled()
	for _, tm := range e.live() {
		if rev := tm.h.revoked().intersect(before[tm.name]); !rev.empty() {
			t.Errorf("%s: its own work %v was revoked", tm.name, rev.work())
		}
		if lost := before[tm.name].minus(tm.h.runs()); !lost.empty() {
			t.Errorf("%s: lost %v", tm.name, lost.work())
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	addr := c.ListenAddrs()[0]
	c.Close()
	var port int
	if _, err := fmt.Sscanf(addr[len("127.0.0.1:"):], "%d", &port); err != nil {
		t.Fatal(err)
	}
	return port
}

func TestMemberRunTwiceAndBadConfig(t *testing.T) {
	t.Parallel()
	m := NewMember(Config{GroupID: "g"}, newFakeHandler(t, &configTopic{}))
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("Run without a client: no error")
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrRunTwice) {
		t.Fatalf("second Run: %v, want ErrRunTwice", err)
	}
	if m.Generation() != -1 || !m.Rebalancing() {
		t.Errorf("fresh member: generation %d rebalancing %v", m.Generation(), m.Rebalancing())
	}
	m2 := NewMember(Config{GroupID: "g"}, newFakeHandler(t, &configTopic{}))
	if err := m2.Leave(context.Background()); err != nil {
		t.Fatalf("Leave before Run: %v", err)
	}
	if err := m2.Run(context.Background()); err != nil {
		t.Fatalf("Run after Leave: %v, want nil", err)
	}
}

// A group used by consumers refuses Connect workers: Run says so.
func TestMemberInconsistentProtocol(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, 0, map[string]int{}, kfake.SeedTopics(1, "t"))
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.seeds...), kgo.ConsumerGroup(e.group), kgo.ConsumeTopics("t"),
		kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cl.PollFetches(ctx)
	e.waitFor("the consumer to join", func() (bool, string) {
		gs, err := describeGroup(ctx, cl, e.group)
		return err == nil && gs == "Stable", fmt.Sprint(gs, err)
	})
	tm := e.start("w1")
	select {
	case err := <-tm.done:
		if err == nil {
			t.Fatal("Run returned nil")
		}
		tm.done <- err
		t.Logf("Run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not fail")
	}
}
