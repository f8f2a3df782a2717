package storage

import (
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

// rec is a config record for the state machine tests; value "null" is a
// tombstone.
type rec struct{ key, value string }

func applyAll(recs []rec) (*configState, []Change) {
	s := newConfigState(slog.New(slog.DiscardHandler))
	var changes []Change
	for i, r := range recs {
		var v []byte
		if r.value != "null" {
			v = []byte(r.value)
		}
		if ch := s.apply(r.key, v, int64(i)); ch != nil {
			changes = append(changes, *ch)
		}
	}
	return s, changes
}

func tid(c string, n int) herder.TaskID { return herder.TaskID{Connector: c, Task: n} }

func props(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestConfigStateTaskCommits covers Kafka Connect's deferred task config
// rules: task configs apply only with their commit, and a commit that
// finds configs missing (compaction after a failed write) marks the
// connector inconsistent until a complete commit.
func TestConfigStateTaskCommits(t *testing.T) {
	t.Parallel()
	conn := rec{"connector-foo", `{"properties":{"k":"v"}}`}
	task := func(n int, v string) rec {
		return rec{"task-foo-" + string(rune('0'+n)), `{"properties":{"t":"` + v + `"}}`}
	}
	commit := func(n int) rec { return rec{"commit-foo", `{"tasks":` + string(rune('0'+n)) + `}`} }
	tests := map[string]struct {
		recs         []rec
		tasks        []map[string]string // nil: no Tasks entry
		count        int
		inconsistent bool
		committed    [][]herder.TaskID // Tasks of each TaskConfigsCommitted change
	}{
		"not applied before the commit": {
			recs: []rec{conn, task(0, "a"), task(1, "b")},
		},
		"applied at the commit": {
			recs:      []rec{conn, task(0, "a"), task(1, "b"), commit(2)},
			tasks:     []map[string]string{props("t", "a"), props("t", "b")},
			count:     2,
			committed: [][]herder.TaskID{{tid("foo", 0), tid("foo", 1)}},
		},
		"pending configs after a commit wait for the next": {
			recs:      []rec{conn, task(0, "a"), commit(1), task(0, "new")},
			tasks:     []map[string]string{props("t", "a")},
			count:     1,
			committed: [][]herder.TaskID{{tid("foo", 0)}},
		},
		"zero tasks": {
			recs:      []rec{conn, commit(0)},
			tasks:     []map[string]string{},
			committed: [][]herder.TaskID{nil},
		},
		// Kafka Connect's example: 2 tasks then 1; compaction removed the
		// first task-0, so the first commit is incomplete, the second fine.
		"compacted, then complete": {
			recs:         []rec{conn, task(1, "b"), commit(2), task(0, "a2"), commit(1)},
			tasks:        []map[string]string{props("t", "a2")},
			count:        1,
			inconsistent: false,
			committed:    [][]herder.TaskID{nil, {tid("foo", 0)}},
		},
		// A writer died after rewriting task-0; compaction removed the old
		// task-0. Nothing completes the set.
		"compacted after a failed write": {
			recs:         []rec{conn, task(1, "b"), commit(2), task(0, "a2")},
			count:        2,
			inconsistent: true,
			committed:    [][]herder.TaskID{nil},
		},
		// An old task-1 left over from a larger set does not matter.
		"more configs than tasks": {
			recs:      []rec{conn, task(1, "old"), task(0, "a"), commit(1)},
			tasks:     []map[string]string{props("t", "a")},
			count:     1,
			committed: [][]herder.TaskID{{tid("foo", 0), tid("foo", 1)}},
		},
		"an inconsistent commit drops its pending configs": {
			recs:         []rec{conn, task(1, "b"), commit(2), task(1, "b2"), task(0, "a2"), commit(2)},
			tasks:        []map[string]string{props("t", "a2"), props("t", "b2")},
			count:        2,
			inconsistent: false,
			committed:    [][]herder.TaskID{nil, {tid("foo", 0), tid("foo", 1)}},
		},
		"commit of a deleted connector": {
			recs: []rec{task(0, "a"), commit(1)},
		},
		"connector deleted": {
			recs:      []rec{conn, task(0, "a"), commit(1), {"connector-foo", "null"}},
			committed: [][]herder.TaskID{{tid("foo", 0)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, changes := applyAll(tc.recs)
			snap := s.snapshot()
			if d := cmp.Diff(tc.tasks, snap.Tasks["foo"]); d != "" {
				t.Errorf("Tasks (-want +got):\n%s", d)
			}
			if got := snap.TaskCounts["foo"]; got != tc.count {
				t.Errorf("TaskCounts = %d, want %d", got, tc.count)
			}
			if got := snap.Inconsistent["foo"]; got != tc.inconsistent {
				t.Errorf("Inconsistent = %v, want %v", got, tc.inconsistent)
			}
			var committed [][]herder.TaskID
			for _, ch := range changes {
				if ch.Kind == TaskConfigsCommitted {
					committed = append(committed, ch.Tasks)
				}
			}
			if d := cmp.Diff(tc.committed, committed); d != "" {
				t.Errorf("committed tasks per change (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfigStateTargetStates(t *testing.T) {
	t.Parallel()
	conn := rec{"connector-c", `{"properties":{}}`}
	tests := map[string]struct {
		recs    []rec
		want    herder.TargetState // "" when none
		changes []herder.TargetState
	}{
		"default STARTED":           {recs: []rec{conn}, want: herder.TargetStarted},
		"v2 wins":                   {recs: []rec{conn, {"target-state-c", `{"state":"PAUSED","state.v2":"STOPPED"}`}}, want: herder.TargetStopped, changes: []herder.TargetState{herder.TargetStopped}},
		"older writer, state only":  {recs: []rec{conn, {"target-state-c", `{"state":"PAUSED"}`}}, want: herder.TargetPaused, changes: []herder.TargetState{herder.TargetPaused}},
		"v2 not a string":           {recs: []rec{conn, {"target-state-c", `{"state":"PAUSED","state.v2":3}`}}, want: herder.TargetPaused, changes: []herder.TargetState{herder.TargetPaused}},
		"unknown state skipped":     {recs: []rec{conn, {"target-state-c", `{"state":"RUNNING"}`}}, want: herder.TargetStarted},
		"same state is no change":   {recs: []rec{conn, {"target-state-c", `{"state":"STARTED","state.v2":"STARTED"}`}}, want: herder.TargetStarted},
		"initial state before conn": {recs: []rec{{"target-state-c", `{"state":"PAUSED","state.v2":"PAUSED"}`}, conn}, want: herder.TargetPaused},
		"tombstone, connector left": {recs: []rec{conn, {"target-state-c", `{"state":"PAUSED"}`}, {"target-state-c", "null"}}, want: herder.TargetStarted, changes: []herder.TargetState{herder.TargetPaused}},
		"deleted":                   {recs: []rec{conn, {"connector-c", "null"}, {"target-state-c", "null"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, changes := applyAll(tc.recs)
			if got := s.snapshot().TargetStates["c"]; got != tc.want {
				t.Errorf("target state = %q, want %q", got, tc.want)
			}
			var got []herder.TargetState
			for _, ch := range changes {
				if ch.Kind == TargetStateChanged {
					got = append(got, ch.TargetState)
				}
			}
			if d := cmp.Diff(tc.changes, got); d != "" {
				t.Errorf("TargetStateChanged (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfigStateRecords(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		recs    []rec
		offset  int64
		conns   map[string]map[string]string
		changes []Change
	}{
		"connector put and removed": {
			recs:   []rec{{"connector-a-b", `{"properties":{"x":"1","gone":null}}`}, {"connector-a-b", "null"}},
			offset: 2,
			conns:  map[string]map[string]string{},
			changes: []Change{
				{Kind: ConnectorConfigUpdated, Connector: "a-b", Offset: 0},
				{Kind: ConnectorConfigRemoved, Connector: "a-b", Offset: 1},
			},
		},
		"restart request": {
			recs:    []rec{{"restart-connector-c", `{"include-tasks":true,"only-failed":true}`}},
			offset:  1,
			conns:   map[string]map[string]string{},
			changes: []Change{{Kind: RestartRequested, Connector: "c", Offset: 0, Restart: RestartRequest{IncludeTasks: true, OnlyFailed: true}}},
		},
		"restart request defaults": {
			recs:    []rec{{"restart-connector-c", `{"include-tasks":"yes"}`}},
			offset:  1,
			conns:   map[string]map[string]string{},
			changes: []Change{{Kind: RestartRequested, Connector: "c", Offset: 0}},
		},
		// Records of Kafka Connect features connectd lacks, and unknown or
		// malformed ones, are skipped; only JSON that does not parse leaves
		// the offset where it was, as in Kafka Connect.
		"skipped records": {
			recs: []rec{
				{"something-else", `{}`},
				{"connector-c", `["not","an","object"]`},
				{"connector-d", `{"properties":{"n":5}}`},
				{"task-x", `{"properties":{}}`},
				{"connector-e", `{"properties":`},
			},
			offset: 4,
			conns:  map[string]map[string]string{},
		},
		// KIP-976's cluster log levels: reported as read (the level as the
		// record has it); malformed ones skipped, as Kafka Connect does.
		"cluster logger levels": {
			recs: []rec{
				{"logger-cluster-org.apache.kafka", `{"level":"DEBUG"}`},
				{"logger-cluster-connector.a-b", `{"level":"warn","extra":1}`},
				{"logger-cluster-root", "null"},
				{"logger-cluster-root", `["DEBUG"]`},
				{"logger-cluster-root", `{"level":5}`},
				{"logger-cluster-root", `{}`},
				{"logger-cluster-", `{"level":"ERROR"}`},
			},
			offset: 7,
			conns:  map[string]map[string]string{},
			changes: []Change{
				{Kind: LoggerLevelChanged, Offset: 0, Namespace: "org.apache.kafka", Level: "DEBUG"},
				{Kind: LoggerLevelChanged, Offset: 1, Namespace: "connector.a-b", Level: "warn"},
				{Kind: LoggerLevelChanged, Offset: 6, Namespace: "", Level: "ERROR"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, changes := applyAll(tc.recs)
			snap := s.snapshot()
			if snap.Offset != tc.offset {
				t.Errorf("Offset = %d, want %d", snap.Offset, tc.offset)
			}
			if d := cmp.Diff(tc.conns, snap.Connectors); d != "" {
				t.Errorf("Connectors (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.changes, changes); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseTaskKey(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		key  string
		want herder.TaskID
		ok   bool
	}{
		"simple":        {"task-c-3", tid("c", 3), true},
		"dashed name":   {"task-my-conn-12", tid("my-conn", 12), true},
		"double dash":   {"task-a--b-0", tid("a--b", 0), true},
		"no number":     {"task-c-x", herder.TaskID{}, false},
		"no dash":       {"task-3", herder.TaskID{}, false},
		"trailing dash": {"task-c-", herder.TaskID{}, false},
		"too big":       {"task-c-99999999999", herder.TaskID{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseTaskKey(tc.key, taskPrefix)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("parseTaskKey(%q) = %v, %v; want %v, %v", tc.key, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzConfigRecord: no record, however malformed, stops the reader.
func FuzzConfigRecord(f *testing.F) {
	for _, r := range []rec{
		{"connector-c", `{"properties":{"a":"b"}}`}, {"task-c-0", `{"properties":{}}`}, {"commit-c", `{"tasks":-1}`},
		{"commit-c", `{"tasks":1e3}`}, {"target-state-c", `{"state":null}`}, {"restart-connector-c", `null`},
		{"task-c-0", "null"}, {"commit-c", `{"tasks":99999999999}`},
	} {
		f.Add(r.key, []byte(r.value))
	}
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		s := newConfigState(slog.New(slog.DiscardHandler))
		s.apply("connector-c", []byte(`{"properties":{}}`), 0)
		s.apply(key, value, 1)
		s.apply(key, nil, 2)
		s.snapshot()
	})
}

// Zombie fencing state (KIP-618): task configs committed after the last
// task count record leave their connector pending fencing; a task count
// record after them clears it. Session keys (KIP-507) are read as Kafka
// Connect writes them.
func TestConfigStateFencingAndSessionKey(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		recs    []rec
		counts  map[string]int
		pending map[string]bool
		key     *SessionKey
	}{
		"commit then count": {
			recs: []rec{{"connector-c", `{"properties":{}}`}, {"task-c-0", `{"properties":{}}`}, {"commit-c", `{"tasks":1}`},
				{"tasks-fencing-c", `{"task-count":1}`}},
			counts: map[string]int{"c": 1}, pending: map[string]bool{},
		},
		"count then new commit": {
			recs: []rec{{"connector-c", `{"properties":{}}`}, {"tasks-fencing-c", `{"task-count":3}`},
				{"task-c-0", `{"properties":{}}`}, {"commit-c", `{"tasks":1}`}},
			counts: map[string]int{"c": 3}, pending: map[string]bool{"c": true},
		},
		"malformed count ignored": {
			recs: []rec{{"connector-c", `{"properties":{}}`}, {"commit-c", `{"tasks":0}`},
				{"tasks-fencing-c", `{"task-count":"x"}`}, {"tasks-fencing-c", `[1]`}},
			counts: map[string]int{}, pending: map[string]bool{"c": true},
		},
		"session key": {
			recs:   []rec{{"session-key", `{"key":"c2VjcmV0","algorithm":"HmacSHA512","creation-timestamp":42}`}, {"session-key", `{"key":"!!","algorithm":"x","creation-timestamp":1}`}},
			counts: map[string]int{}, pending: map[string]bool{},
			key: &SessionKey{Key: []byte("secret"), Algorithm: "HmacSHA512", Created: 42},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := applyAll(tc.recs)
			snap := s.snapshot()
			if d := cmp.Diff(tc.counts, snap.TaskCountRecords); d != "" {
				t.Errorf("TaskCountRecords (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.pending, snap.PendingFencing); d != "" {
				t.Errorf("PendingFencing (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.key, snap.SessionKey); d != "" {
				t.Errorf("SessionKey (-want +got):\n%s", d)
			}
		})
	}
}

func TestSessionKeyValueRoundTrip(t *testing.T) {
	t.Parallel()
	k := SessionKey{Key: []byte{0, 1, 2, 250}, Algorithm: "HmacSHA256", Created: 1700000000123}
	got := string(sessionKeyValue(k))
	if want := `{"key":"AAEC+g==","algorithm":"HmacSHA256","creation-timestamp":1700000000123}`; got != want {
		t.Fatalf("sessionKeyValue = %s, want %s", got, want)
	}
	s, _ := applyAll([]rec{{"session-key", got}})
	if d := cmp.Diff(&k, s.snapshot().SessionKey); d != "" {
		t.Fatalf("read back (-want +got):\n%s", d)
	}
}
