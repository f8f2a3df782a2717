package elasticsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/testserver"
)

// These tests run the task against the in-project server that answers as
// Elasticsearch documents (testserver.ESFake): the per-item statuses,
// ordering, versions and faults they need are what ZincSearch lacks. The
// task's behaviour against ZincSearch itself is in zinc_test.go.

func TestWritesDocuments(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL, BehaviorOnNullKey, NullDelete), nil)
	put(t, task,
		rec("t", 0, 0, "a", doc("n", int64(1))),
		rec("t", 0, 1, "b", doc("n", int64(2))),
		rec("t", 0, 2, "a", doc("n", int64(3))),
		rec("t", 0, 3, "b", nil),
	)
	flushed(t, task)
	if d := cmp.Diff(map[string]string{"a": `{"n":3}`}, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	if got := committable(t, task, tp("t", 0), 4); got != 4 {
		t.Fatalf("committable offset %d, want 4", got)
	}
	if o := es.Overlaps(); len(o) > 0 {
		t.Fatalf("overlapping requests: %v", o)
	}
}

// TestPerDocumentOrder: under the most concurrency and requests that take
// random times, the writes of each document reach the server one at a
// time and in the order of their records, and every document ends at its
// key's last record.
func TestPerDocumentOrder(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	es.SetHold(func([]testserver.FakeAction) <-chan struct{} {
		ch := make(chan struct{})
		time.AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, func() { close(ch) })
		return ch
	})
	cfg := baseConfig(es.URL, ExternalVersionSrcKey, VersionNone, BatchSizeKey, "7", MaxInFlightRequestsKey, "5",
		MaxBufferedRecordsKey, "200", LingerMsKey, "0", BehaviorOnNullKey, NullDelete)
	task := startTask(t, cfg, nil, tp("t", 0), tp("t", 1))
	const n, keys = 3000, 23
	last := map[string]int{}
	var batch []*connect.Record
	offsets := [2]int64{}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("k%d", rand.IntN(keys))
		p := int32(0)
		if key > "k15" {
			p = 1 // some keys in each partition; each key in one
		}
		var v any = doc("key", key, "seq", int64(i))
		if i%17 == 0 {
			v = nil
		}
		batch = append(batch, rec("t", p, offsets[p], key, v))
		offsets[p]++
		if v == nil {
			delete(last, key)
		} else {
			last[key] = i
		}
		if len(batch) == 50 {
			put(t, task, batch...)
			batch = nil
		}
	}
	put(t, task, batch...)
	flushed(t, task)
	want := map[string]string{}
	for k, i := range last {
		want[k] = fmt.Sprintf(`{"key":%q,"seq":%d}`, k, i)
	}
	if d := cmp.Diff(want, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	if o := es.Overlaps(); len(o) > 0 {
		t.Fatalf("two requests in flight held one document: %v", o[:min(len(o), 5)])
	}
	// In the order the server applied them, each document's writes carry
	// increasing record numbers.
	seen := map[string]int{}
	for _, r := range es.Requests() {
		ids := map[string]bool{}
		for _, a := range r.Actions {
			if ids[a.ID] {
				t.Fatalf("one request holds two writes of %s", a.ID)
			}
			ids[a.ID] = true
			if a.Op == "delete" {
				continue
			}
			var d struct{ Seq int }
			json.Unmarshal(a.Source, &d)
			if prev, ok := seen[a.ID]; ok && d.Seq <= prev {
				t.Fatalf("document %s got record %d after record %d", a.ID, d.Seq, prev)
			}
			seen[a.ID] = d.Seq
		}
	}
	got, err := task.PreCommit(context.Background(), map[connect.TopicPartition]int64{tp("t", 0): offsets[0], tp("t", 1): offsets[1]})
	if err != nil || got[tp("t", 0)] != offsets[0] || got[tp("t", 1)] != offsets[1] {
		t.Fatalf("PreCommit = %v, %v; want every offset", got, err)
	}
}

// TestOffsetsStopAtFirstUnacknowledged: while one request is held, the
// committable offset stays at its first record, however many later
// requests completed; once it completes, the offset moves to the end.
func TestOffsetsStopAtFirstUnacknowledged(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	release := make(chan struct{})
	es.SetHold(func(as []testserver.FakeAction) <-chan struct{} {
		for _, a := range as {
			if a.ID == "t+0+3" {
				return release
			}
		}
		return nil
	})
	task := startTask(t, baseConfig(es.URL, KeyIgnoreKey, "true", BatchSizeKey, "2", MaxBufferedRecordsKey, "100", LingerMsKey, "0"), nil)
	var recs []*connect.Record
	for i := range 10 {
		recs = append(recs, rec("t", 0, int64(i), nil, doc("i", int64(i))))
	}
	put(t, task, recs...)
	testserver.WaitFor(t, 30*time.Second, "the other requests answered", func() (bool, string) {
		n := len(es.Requests())
		return n == 4, fmt.Sprint(n)
	})
	for range 3 {
		if got := committable(t, task, tp("t", 0), 10); got != 2 {
			t.Fatalf("committable offset %d while offsets 2 and 3 are in flight, want 2", got)
		}
	}
	close(release)
	settled(t, task, es, "t", 10, tp("t", 0), 10)
}

// TestItemFailuresAreRetried: items refused with 429, 503 and rejected
// execution, and a request refused as a whole, are sent again until they
// pass; every document is written once in the end.
func TestItemFailuresAreRetried(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	var mu sync.Mutex
	tries := map[string]int{}
	es.SetItemFault(func(a testserver.FakeAction) *testserver.FakeError {
		mu.Lock()
		defer mu.Unlock()
		tries[a.ID]++
		switch {
		case a.ID == "a" && tries[a.ID] <= 3:
			return &testserver.FakeError{Status: 429, Type: "es_rejected_execution_exception", Reason: "rejected execution of coordinating operation"}
		case a.ID == "b" && tries[a.ID] <= 2:
			return &testserver.FakeError{Status: 503, Type: "unavailable_shards_exception", Reason: "primary shard is not active"}
		case a.ID == "c" && tries[a.ID] <= 1:
			return &testserver.FakeError{Status: 500, Type: "illegal_state_exception", Reason: "boom"}
		}
		return nil
	})
	es.SetRequestFault(func(n int, _ []testserver.FakeAction) *testserver.FakeRequestFault {
		if n == 1 {
			return &testserver.FakeRequestFault{Status: 503, Type: "master_not_discovered_exception", Reason: "no master"}
		}
		return nil
	})
	task := startTask(t, baseConfig(es.URL), nil)
	put(t, task, rec("t", 0, 0, "a", doc("v", "a")), rec("t", 0, 1, "b", doc("v", "b")), rec("t", 0, 2, "c", doc("v", "c")), rec("t", 0, 3, "d", doc("v", "d")))
	flushed(t, task)
	want := map[string]string{"a": `{"v":"a"}`, "b": `{"v":"b"}`, "c": `{"v":"c"}`, "d": `{"v":"d"}`}
	if d := cmp.Diff(want, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	mu.Lock()
	if d := cmp.Diff(map[string]int{"a": 4, "b": 3, "c": 2, "d": 1}, tries); d != "" {
		t.Errorf("attempts per document after the failed request (-want +got):\n%s", d)
	}
	mu.Unlock()
	if got := committable(t, task, tp("t", 0), 4); got != 4 {
		t.Fatalf("committable %d, want 4", got)
	}
	p := task.Progress()
	if p["retries"].(int64) != 4+6 || p["documents_written"].(int64) != 4 || p["state"] != "idle" {
		t.Fatalf("progress %v: want 10 retries (4 of the failed request, 6 of items), 4 written, idle", p)
	}
}

// TestRetryAfterIsHonoured: a 429 answer with Retry-After is retried no
// sooner than it asks, though retry.backoff.ms is far shorter.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	var mu sync.Mutex
	var at []time.Time
	es.SetRequestFault(func(n int, _ []testserver.FakeAction) *testserver.FakeRequestFault {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if n == 1 {
			return &testserver.FakeRequestFault{Status: 429, Type: "es_rejected_execution_exception", Reason: "too many requests", RetryAfter: "1"}
		}
		return nil
	})
	task := startTask(t, baseConfig(es.URL, RetryBackoffMsKey, "1"), nil)
	put(t, task, rec("t", 0, 0, "a", doc("v", int64(1))))
	flushed(t, task)
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 2 {
		t.Fatalf("%d requests, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < time.Second {
		t.Fatalf("retried after %s, before the Retry-After of 1 s", gap)
	}
}

// TestVersionConflictOfReplayIsWritten: a replayed record older than the
// document's external version is refused by the server, counted as
// written (and shown), and its offset committed; the document keeps the
// newer state.
func TestVersionConflictOfReplayIsWritten(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL, BehaviorOnNullKey, NullDelete), nil)
	put(t, task, rec("t", 0, 100, "a", doc("v", "new")))
	flushed(t, task)
	put(t, task, rec("t", 0, 40, "a", doc("v", "old")), rec("t", 0, 41, "a", nil))
	flushed(t, task)
	if d := cmp.Diff(map[string]string{"a": `{"v":"new"}`}, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	if _, v, _ := es.Doc("t", "a"); v != 100 {
		t.Fatalf("version %d, want 100", v)
	}
	if got := committable(t, task, tp("t", 0), 101); got != 101 {
		t.Fatalf("committable %d, want 101", got)
	}
	if p := task.Progress(); p["version_conflicts"].(int64) != 1 {
		t.Fatalf("progress %v: want 1 version conflict", p)
	}
}

// TestMalformedDocuments: a document the server refuses for its content is
// handled per behavior.on.malformed.documents and errors.tolerance, and
// the others of its request are written.
func TestMalformedDocuments(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		behavior  string
		tolerance string
		reporter  bool
		reported  bool // the bad record reaches the reporter
		fails     bool // the task fails, committing nothing past it
	}{
		"fail, reporter":         {MalformedFail, "none", true, true, false},
		"fail, tolerance all":    {MalformedFail, "all", true, true, false},
		"fail, no reporter":      {MalformedFail, "none", false, false, true},
		"warn, tolerance none":   {MalformedWarn, "none", true, false, false},
		"warn, tolerance all":    {MalformedWarn, "all", true, true, false},
		"ignore, tolerance all":  {MalformedIgnore, "all", true, true, false},
		"ignore, no reporter":    {MalformedIgnore, "all", false, false, false},
		"ignore, tolerance none": {MalformedIgnore, "none", true, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := testserver.StartESFake(t)
			rep := &reporter{}
			var r connect.ErrantRecordReporter
			if tc.reporter {
				r = rep
			}
			task := startTask(t, baseConfig(es.URL, BehaviorOnMalformedKey, tc.behavior, "errors.tolerance", tc.tolerance), r)
			put(t, task, rec("t", 0, 0, "a", doc("n", int64(1))))
			flushed(t, task)
			bad := rec("t", 0, 2, "c", doc("n", "not a number"))
			put(t, task, rec("t", 0, 1, "b", doc("n", int64(2))), bad, rec("t", 0, 3, "d", doc("n", int64(4))))
			if tc.fails {
				testserver.WaitFor(t, 30*time.Second, "the task to fail", func() (bool, string) {
					err := task.Put(context.Background(), nil)
					return err != nil, fmt.Sprint(err)
				})
				_, err := task.PreCommit(context.Background(), map[connect.TopicPartition]int64{tp("t", 0): 4})
				for _, want := range []string{"offset=2", "document_parsing_exception", BehaviorOnMalformedKey} {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("PreCommit error %v, want one naming %q", err, want)
					}
				}
				return
			}
			flushed(t, task)
			if d := cmp.Diff(map[string]string{"a": `{"n":1}`, "b": `{"n":2}`, "d": `{"n":4}`}, es.Docs("t")); d != "" {
				t.Fatalf("documents (-want +got):\n%s", d)
			}
			recs, errs := rep.reported()
			if tc.reported {
				if len(recs) != 1 || recs[0] != bad || !strings.Contains(errs[0].Error(), "document_parsing_exception") {
					t.Fatalf("reported %v %v, want the bad record with the server's reason", recs, errs)
				}
			} else if len(recs) != 0 {
				t.Fatalf("reported %d records, want none", len(recs))
			}
			if got := committable(t, task, tp("t", 0), 4); got != 4 {
				t.Fatalf("committable %d, want 4", got)
			}
			if p := task.Progress(); p["malformed_documents"].(int64) != 1 {
				t.Fatalf("progress %v, want 1 malformed document", p)
			}
		})
	}
}

// TestBlockedCluster: while the cluster refuses writes, the task's
// progress says it is blocked and why, nothing is committed past the
// refused records, and once writes pass again everything is written.
func TestBlockedCluster(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		block, unblock func(es *testserver.ESFake)
		reason         string
	}{
		"read-only index": {
			block:   func(es *testserver.ESFake) { es.SetWriteBlock("t", true) },
			unblock: func(es *testserver.ESFake) { es.SetWriteBlock("t", false) },
			reason:  "FORBIDDEN/8/index write",
		},
		"cluster read-only": {
			block:   func(es *testserver.ESFake) { es.SetClusterBlock("FORBIDDEN/6/cluster read-only (api)") },
			unblock: func(es *testserver.ESFake) { es.SetClusterBlock("") },
			reason:  "cluster read-only",
		},
		"unavailable": {
			block: func(es *testserver.ESFake) {
				es.SetRequestFault(func(int, []testserver.FakeAction) *testserver.FakeRequestFault {
					return &testserver.FakeRequestFault{Status: 503, Type: "cluster_block_exception", Reason: "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"}
				})
			},
			unblock: func(es *testserver.ESFake) { es.SetRequestFault(nil) },
			reason:  "state not recovered",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := testserver.StartESFake(t)
			task := startTask(t, baseConfig(es.URL, MaxRetriesKey, "1"), nil)
			put(t, task, rec("t", 0, 0, "a", doc("v", int64(1))))
			flushed(t, task)
			tc.block(es)
			put(t, task, rec("t", 0, 1, "b", doc("v", int64(2))), rec("t", 0, 2, "c", doc("v", int64(3))))
			p := waitProgress(t, task, "a blocked state", func(p map[string]any) bool { return p["state"] == "blocked" })
			if r, _ := p["blocked_reason"].(string); !strings.Contains(r, tc.reason) {
				t.Fatalf("blocked reason %q lacks %q", r, tc.reason)
			}
			if got := committable(t, task, tp("t", 0), 3); got != 1 {
				t.Fatalf("committable %d while blocked, want 1", got)
			}
			tc.unblock(es)
			settled(t, task, es, "t", 3, tp("t", 0), 3)
			if p := task.Progress(); p["state"] != "idle" || p["blocked_reason"] != nil {
				t.Fatalf("progress after the block %v, want idle", p)
			}
		})
	}
}

// TestUnreachableCluster: a cluster that stops answering blocks the task,
// which says so and commits nothing more; Stop still returns.
func TestUnreachableCluster(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL, MaxRetriesKey, "1", ConnectionTimeoutMsKey, "200"), nil)
	put(t, task, rec("t", 0, 0, "a", doc("v", int64(1))))
	flushed(t, task)
	es.Close()
	put(t, task, rec("t", 0, 1, "b", doc("v", int64(2))))
	p := waitProgress(t, task, "a blocked state", func(p map[string]any) bool { return p["state"] == "blocked" })
	if r, _ := p["blocked_reason"].(string); !strings.Contains(r, "cannot reach Elasticsearch") {
		t.Fatalf("blocked reason %q", r)
	}
	if got := committable(t, task, tp("t", 0), 2); got != 1 {
		t.Fatalf("committable %d, want 1", got)
	}
	// A new index cannot even be checked: the batch is handed again.
	err := task.Put(context.Background(), []*connect.Record{rec("u", 0, 0, "a", doc())})
	if !connect.IsRetriable(err) {
		t.Fatalf("Put to a new index of an unreachable cluster: %v, want a retriable error", err)
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBackpressure: once max.buffered.records are held, Put takes nothing
// more; it waits up to flush.timeout.ms and then hands the batch back
// (retriable), and takes it once requests complete.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	release := make(chan struct{})
	es.SetHold(func([]testserver.FakeAction) <-chan struct{} { return release })
	task := startTask(t, baseConfig(es.URL, MaxBufferedRecordsKey, "4", BatchSizeKey, "2", MaxInFlightRequestsKey, "2",
		FlushTimeoutMsKey, "300", LingerMsKey, "0"), nil)
	put(t, task, rec("t", 0, 0, "a", doc()), rec("t", 0, 1, "b", doc()), rec("t", 0, 2, "c", doc()), rec("t", 0, 3, "d", doc()))
	more := []*connect.Record{rec("t", 0, 4, "e", doc()), rec("t", 0, 5, "f", doc())}
	err := task.Put(context.Background(), more)
	if !connect.IsRetriable(err) || !strings.Contains(err.Error(), MaxBufferedRecordsKey) {
		t.Fatalf("Put with a full buffer: %v, want a retriable error naming %s", err, MaxBufferedRecordsKey)
	}
	if p := task.Progress(); p["buffered_records"] != 4 {
		t.Fatalf("progress %v: the refused batch was taken", p)
	}
	close(release)
	put(t, task, more...)
	flushed(t, task)
	if n := len(es.Docs("t")); n != 6 {
		t.Fatalf("%d documents, want 6", n)
	}
}

// TestCoalescing: writes of a document queued behind one in flight are
// folded into the newest; with header versions the highest version stays,
// as the server would decide.
func TestCoalescing(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg       []string
		versions  []string // header per record
		wantDoc   string
		wantSent  []int // record numbers the server saw for "a"
		conflicts int64
	}{
		"no versions":     {[]string{ExternalVersionSrcKey, VersionNone}, nil, `{"n":3}`, []int{0, 3}, 0},
		"offset versions": {nil, nil, `{"n":3}`, []int{0, 3}, 0},
		"header versions": {[]string{ExternalVersionHeadKey, "v"}, []string{"1", "5", "3", "4"}, `{"n":1}`, []int{0, 1}, 2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := testserver.StartESFake(t)
			release := holdFirst(es)
			task := startTask(t, baseConfig(es.URL, tc.cfg...), nil)
			mk := func(i int) *connect.Record {
				r := rec("t", 0, int64(i), "a", doc("n", int64(i)))
				if tc.versions != nil {
					r.Headers = []connect.Header{{Key: "v", Value: tc.versions[i]}}
				}
				return r
			}
			put(t, task, mk(0))
			waitInFlight(t, task, 1)
			put(t, task, mk(1))
			put(t, task, mk(2), mk(3))
			close(release)
			flushed(t, task)
			if got := es.Docs("t")["a"]; got != tc.wantDoc {
				t.Fatalf("document %s, want %s", got, tc.wantDoc)
			}
			var sent []int
			for _, r := range es.Requests() {
				for _, a := range r.Actions {
					var d struct{ N int }
					json.Unmarshal(a.Source, &d)
					sent = append(sent, d.N)
				}
			}
			if d := cmp.Diff(tc.wantSent, sent); d != "" {
				t.Fatalf("writes sent (-want +got):\n%s", d)
			}
			p := task.Progress()
			if p["coalesced_writes"].(int64) != 2 || p["version_conflicts"].(int64) != tc.conflicts {
				t.Fatalf("progress %v: want 2 coalesced writes, %d conflicts", p, tc.conflicts)
			}
			if got := committable(t, task, tp("t", 0), 4); got != 4 {
				t.Fatalf("committable %d, want 4", got)
			}
		})
	}
}

// TestMalformedAfterCoalescing: when the write that replaced queued ones
// is refused as malformed, the replaced writes are sent after all, so the
// document ends as the server would have left it applying them in order.
func TestMalformedAfterCoalescing(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	release := holdFirst(es)
	rep := &reporter{}
	task := startTask(t, baseConfig(es.URL, ExternalVersionSrcKey, VersionNone), rep)
	put(t, task, rec("t", 0, 0, "a", doc("n", int64(0))))
	waitInFlight(t, task, 1)
	bad := rec("t", 0, 2, "a", doc("n", "bad"))
	put(t, task, rec("t", 0, 1, "a", doc("n", int64(1))), bad)
	close(release)
	flushed(t, task)
	if got := es.Docs("t")["a"]; got != `{"n":1}` {
		t.Fatalf("document %s, want {\"n\":1}", got)
	}
	if recs, _ := rep.reported(); len(recs) != 1 || recs[0] != bad {
		t.Fatalf("reported %v, want the malformed record", recs)
	}
	if got := committable(t, task, tp("t", 0), 3); got != 3 {
		t.Fatalf("committable %d, want 3", got)
	}
}

// TestUpsertMerges: write.method=upsert merges fields into the document
// (doc_as_upsert), creating it when missing.
func TestUpsertMerges(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL, WriteMethodKey, "UPSERT", BehaviorOnNullKey, NullDelete), nil)
	put(t, task, rec("t", 0, 0, "a", doc("x", int64(1))), rec("t", 0, 1, "a", doc("y", int64(2))), rec("t", 0, 2, "b", doc("z", int64(3))))
	put(t, task, rec("t", 0, 3, "a", doc("x", int64(9))), rec("t", 0, 4, "b", nil))
	flushed(t, task)
	if d := cmp.Diff(map[string]string{"a": `{"x":9,"y":2}`}, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	if p := task.Progress(); p["coalesced_writes"].(int64) != 0 {
		t.Fatalf("progress %v: upserts must not be coalesced", p)
	}
}

// TestDataStreams: records go to the data stream <type>-<dataset>-<topic>,
// created by name, with @timestamp; a replayed create counts as written.
func TestDataStreams(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL, DataStreamTypeKey, "LOGS", DataStreamDatasetKey, "app", DataStreamTimestampKey, "when"), nil, tp("Web", 0))
	put(t, task, rec("Web", 0, 0, "a", doc("when", "2024-01-02T03:04:05Z", "msg", "hi")))
	put(t, task, rec("Web", 0, 0, "a", doc("when", "2024-01-02T03:04:05Z", "msg", "hi")))
	flushed(t, task)
	if !es.IsDataStream("logs-app-web") {
		t.Fatal("data stream logs-app-web not created")
	}
	if d := cmp.Diff(map[string]string{"a": `{"@timestamp":"2024-01-02T03:04:05Z","msg":"hi","when":"2024-01-02T03:04:05Z"}`}, es.Docs("logs-app-web")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	if p := task.Progress(); p["version_conflicts"].(int64) != 1 {
		t.Fatalf("progress %v: want the replayed create counted", p)
	}
}

// TestMappingFromSchema: with schema.ignore=false a missing index gets the
// mapping derived from the record schema before the first write; a record
// without a schema is refused naming schema.ignore.
func TestMappingFromSchema(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	cfg := baseConfig(es.URL, SchemaIgnoreKey, "false")
	task := startTask(t, cfg, nil, tp("rich", 0), tp("t", 0))
	r := &connect.Record{Topic: "rich", Offset: 0, KeySchema: connect.NewSchema(connect.Int32).Build(), Key: int32(1), ValueSchema: richSchema, Value: richValue()}
	put(t, task, r)
	flushed(t, task)
	want, _ := buildMapping(richSchema)
	if got := es.Mapping("rich"); string(got) != string(want) {
		t.Fatalf("mapping %s, want %s", got, want)
	}
	if n := len(es.Docs("rich")); n != 1 {
		t.Fatalf("%d documents, want 1", n)
	}
	err := task.Put(context.Background(), []*connect.Record{rec("t", 0, 0, "a", doc("x", int64(1)))})
	var be *connect.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 1 || !strings.Contains(be.Errs[0].Error(), SchemaIgnoreKey) {
		t.Fatalf("Put of a schemaless record: %v, want a BatchError naming %s", err, SchemaIgnoreKey)
	}
}

// TestInvalidRecords: records that cannot be made into requests come back
// in a BatchError (for the framework's errors.tolerance and dead letter
// queue), or are dropped with drop.invalid.message; the others are written.
func TestInvalidRecords(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg        []string
		wantFailed []int
	}{
		"handed to the framework":                {nil, []int{1, 2}},
		"dropped":                                {[]string{DropInvalidMessageKey, "true"}, nil},
		"dropped, tolerance all: still reported": {[]string{DropInvalidMessageKey, "true", "errors.tolerance", "all"}, []int{1, 2}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := testserver.StartESFake(t)
			task := startTask(t, baseConfig(es.URL, tc.cfg...), nil)
			err := task.Put(context.Background(), []*connect.Record{
				rec("t", 0, 0, "a", doc()), rec("t", 0, 1, nil, doc()), rec("t", 0, 2, "b", nil), rec("t", 0, 3, "c", doc()),
			})
			var failed []int
			var be *connect.BatchError
			if errors.As(err, &be) {
				for i := range be.Errs {
					failed = append(failed, i)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			slices.Sort(failed)
			if d := cmp.Diff(tc.wantFailed, failed); d != "" {
				t.Fatalf("failed records (-want +got):\n%s", d)
			}
			settled(t, task, es, "t", 2, tp("t", 0), 4)
		})
	}
}

// TestMissingIndexIsCreatedAgain: an index deleted under the task (with
// automatic creation off) is created again and the write retried.
func TestMissingIndexIsCreatedAgain(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	es.SetAutoCreate(false)
	task := startTask(t, baseConfig(es.URL), nil)
	put(t, task, rec("t", 0, 0, "a", doc()))
	flushed(t, task)
	es.DeleteIndex("t")
	put(t, task, rec("t", 0, 1, "b", doc()))
	flushed(t, task)
	if d := cmp.Diff(map[string]string{"b": `{}`}, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
}

// TestRenamedTopicCommitsWhenAllWritten: records under a topic the task was
// not handed (a RegexRouter renamed it) make commits wait for everything,
// as flush.synchronously does, and the offsets given are then committed.
func TestRenamedTopicCommitsWhenAllWritten(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL), nil, tp("orig", 0))
	put(t, task, rec("renamed", 0, 0, "a", doc()), rec("renamed", 0, 1, "b", doc()))
	if got := committable(t, task, tp("orig", 0), 2); got != 2 {
		t.Fatalf("committable %d, want 2", got)
	}
	if n := len(es.Docs("renamed")); n != 2 {
		t.Fatalf("%d documents when PreCommit returned, want 2", n)
	}
}

// TestCloseWaitsForItsPartitions: Close returns only once the records of
// the closed partitions in flight are answered, so the partitions' next
// owner never races this task's writes.
func TestCloseWaitsForItsPartitions(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	release := make(chan struct{})
	es.SetHold(func([]testserver.FakeAction) <-chan struct{} { return release })
	task := startTask(t, baseConfig(es.URL), nil)
	put(t, task, rec("t", 0, 0, "a", doc()))
	waitInFlight(t, task, 1)
	closed := make(chan error, 1)
	go func() { closed <- task.Close(context.Background(), []connect.TopicPartition{tp("t", 0)}) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with the partition's request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if n := len(es.Docs("t")); n != 1 {
		t.Fatalf("%d documents, want 1", n)
	}
}

// TestTLSAndAuthentication: HTTPS with a PEM trust store and basic
// authentication.
func TestTLSAndAuthentication(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFakeTLS(t)
	es.User, es.Password = "elastic", "s3cret"
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, es.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(es.URL, SecurityProtocolKey, "SSL", SSLTruststoreLocKey, ca, SSLEndpointIdentKey, "",
		ConnectionUsernameKey, "elastic", ConnectionPasswordKey, "s3cret")
	task := startTask(t, cfg, nil)
	put(t, task, rec("t", 0, 0, "a", doc("v", int64(1))))
	flushed(t, task)
	if n := len(es.Docs("t")); n != 1 {
		t.Fatalf("%d documents, want 1", n)
	}
}

// TestCloseDropsItsQueuedWrites: closing a partition drops its queued
// writes (retried or not: its next owner writes them again) instead of
// waiting for them; a write of a closed partition that had superseded one
// of a partition still held gives that one back its place; and Close
// returns once the requests in flight are answered.
func TestCloseDropsItsQueuedWrites(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	es.SetItemFault(func(a testserver.FakeAction) *testserver.FakeError {
		if a.ID == "stuck" {
			return &testserver.FakeError{Status: 503, Type: "unavailable_shards_exception", Reason: "primary shard is not active"}
		}
		return nil
	})
	release := holdFirst(es)
	task := startTask(t, baseConfig(es.URL, ExternalVersionSrcKey, VersionNone), nil, tp("t", 0), tp("t", 1))
	put(t, task, rec("t", 0, 0, "a", doc("from", "p0 first")))
	waitInFlight(t, task, 1)
	// a@p1 waits behind a@p0 in flight; a@p0's next write replaces it in
	// the queue; "stuck" retries without end.
	put(t, task, rec("t", 1, 0, "a", doc("from", "p1")), rec("t", 0, 1, "a", doc("from", "p0 second")), rec("t", 0, 2, "stuck", doc()))
	closed := make(chan error, 1)
	go func() { closed <- task.Close(context.Background(), []connect.TopicPartition{tp("t", 0)}) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with the partition's request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	settled(t, task, es, "t", 1, tp("t", 1), 1)
	if got := es.Docs("t")["a"]; got != `{"from":"p1"}` {
		t.Fatalf("document a = %s, want the write of partition 1 written after the first one", got)
	}
	if p := task.Progress(); p["buffered_records"] != 0 {
		t.Fatalf("progress %v: the closed partition's records are still held", p)
	}
}
