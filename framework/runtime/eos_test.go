package runtime

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/offsets"
)

// newEOSEnv is newEnv with exactly-once source support enabled and
// offsets in a Kafka topic read read_committed, as a distributed worker
// with exactly.once.source.support=enabled keeps them.
func newEOSEnv(t *testing.T, iso string) *env {
	t.Helper()
	e := newEnvNoStart(t, iso)
	store, err := offsets.NewKafka(context.Background(), offsets.KafkaOptions{
		ClientOpts: BaseKafkaOpts(e.cfg), Topic: "connect-offsets", Partitions: 3, ReadCommitted: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.store = store
	e.eos = ExactlyOnce{Mode: ExactlyOnceEnabled, GroupID: "connect-test"}
	e.start()
	t.Cleanup(func() { e.h.Close() })
	return e
}

// committedValues reads topic as a read_committed consumer does.
func (e *env) committedValues(topic string) []string {
	e.t.Helper()
	var out []string
	for _, r := range kafkatest.ReadCommitted(e.t, e.cluster.ListenAddrs(), topic) {
		out = append(out, string(r.Value))
	}
	return out
}

// checkExactlyOnce fails the test unless vals hold every one of want exactly
// once and nothing else.
func checkExactlyOnce(t *testing.T, vals []string, want map[string]int) {
	t.Helper()
	got := counts(vals)
	var lost, dup, extra []string
	for v := range want {
		switch got[v] {
		case 0:
			lost = append(lost, v)
		case 1:
		default:
			dup = append(dup, fmt.Sprintf("%s×%d", v, got[v]))
		}
	}
	for v := range got {
		if want[v] == 0 {
			extra = append(extra, v)
		}
	}
	if len(lost)+len(dup)+len(extra) > 0 {
		t.Fatalf("read_committed saw %d records for %d wanted: lost %d %v, repeated %d %v, unexpected %d %v",
			len(vals), len(want), len(lost), first(lost), len(dup), first(dup), len(extra), first(extra))
	}
}

func first(s []string) []string { return s[:min(len(s), 10)] }

// A plugin process that dies mid-run leaves its open transaction to be
// aborted; the restarted task resumes at the committed offsets, and a
// read_committed consumer sees every record exactly once, whichever the
// transaction boundary.
func TestExactlyOnceSurvivesPluginCrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		extra map[string]string
	}{
		{"poll", map[string]string{"transaction.boundary": "poll"}},
		{"interval", map[string]string{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "150"}},
		{"connector", map[string]string{"transaction.boundary": "connector", "txn.every": "25"}},
	} {
		for _, iso := range []string{"connector", "task"} {
			t.Run(tc.name+"/"+iso, func(t *testing.T) {
				t.Parallel()
				e := newEOSEnv(t, iso)
				marker := filepath.Join(t.TempDir(), "crashed")
				cfg := map[string]string{"connector.class": "counter", "topic": "t1", "count": "400", "batch": "7", "tasks.max": "2",
					"exit.at": "230", "exit.marker": marker, "exactly.once.support": "required"}
				for k, v := range tc.extra {
					cfg[k] = v
				}
				e.put("c1", cfg)
				e.waitTaskState("c1", 0, herder.Running, "")
				waitFor(t, "every record committed", func() (bool, string) {
					n := len(e.committedValues("t1"))
					return n >= 800, fmt.Sprint(n)
				})
				want := wantValues(2, 400)
				checkExactlyOnce(t, e.committedValues("t1"), want)
				// The offsets topic holds the offsets of the last committed
				// transaction of each task.
				stored, err := e.store.Load(context.Background(), "c1")
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, s := range stored {
					got[string(s.Partition)] = string(s.Offset)
				}
				if diff := cmp.Diff(map[string]string{`{"task":"0"}`: `{"n":399}`, `{"task":"1"}`: `{"n":399}`}, got); diff != "" {
					t.Fatalf("stored offsets (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// A transaction the task aborts is dropped with its offsets: a
// read_committed consumer never sees its records, and the task goes on
// after them.
func TestExactlyOnceConnectorAbort(t *testing.T) {
	t.Parallel()
	e := newEOSEnv(t, "none")
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "100", "batch": "7",
		"transaction.boundary": "connector", "txn.every": "20", "abort.at": "57"})
	want := wantValues(1, 100)
	for n := 40; n <= 57; n++ { // the transaction from after 39 to 57
		delete(want, fmt.Sprintf("0-%d", n))
	}
	waitFor(t, "the last transaction committed", func() (bool, string) {
		vals := e.committedValues("t1")
		return counts(vals)["0-99"] == 1, fmt.Sprint(len(vals))
	})
	checkExactlyOnce(t, e.committedValues("t1"), want)
}

// A second instance of the same task (a zombie's successor) fences the
// first: the first commits nothing more and fails saying so, the second
// goes on from the first's last committed transaction, and no record is
// seen twice or skipped.
func TestExactlyOnceZombieIsFenced(t *testing.T) {
	t.Parallel()
	cfg := func() map[string]string {
		return map[string]string{"connector.class": "counter", "topic": "t1", "count": "100000000", "batch": "5",
			"transaction.boundary": "interval", "transaction.boundary.interval.ms": "50"}
	}
	a := newEOSEnv(t, "none")
	a.put("c1", cfg())
	a.waitTaskState("c1", 0, herder.Running, "")
	waitFor(t, "the first instance to commit", func() (bool, string) {
		n := len(a.committedValues("t1"))
		return n > 100, fmt.Sprint(n)
	})
	// A second worker on the same cluster, group and offsets topic starts
	// the same task: its producer's transactional id is the same.
	b := &env{t: t, cluster: a.cluster, cfg: a.cfg, reg: a.reg, store: a.store, configs: &MemoryConfigStore{}, eos: a.eos}
	b.start()
	t.Cleanup(func() { b.h.Close() })
	b.put("c1", cfg())
	st := a.waitTaskState("c1", 0, herder.Failed, "")
	switch {
	case strings.Contains(st.Trace, "fenced out") && strings.Contains(st.Trace, "a newer instance of the task took over"):
	case strings.Contains(st.Trace, "commit transaction") && strings.Contains(st.Trace, "INVALID_TXN_STATE"):
		// kfake, not Kafka: it bumps the producer epoch once when the
		// new instance initialises over the open transaction (a broker
		// bumps it twice), so a zombie's EndTxn that arrives just then
		// looks to it like a retry of that abort (KIP-890) and is
		// refused as a commit after an abort, not as fenced. Either way
		// the zombie commits nothing more, which the count below checks.
	default:
		t.Fatalf("the zombie's trace does not say why: %s", st.Trace)
	}
	fenced := len(a.committedValues("t1"))
	waitFor(t, "the second instance to commit more", func() (bool, string) {
		n := len(a.committedValues("t1"))
		return n > fenced+1000, fmt.Sprint(n)
	})
	// Pausing commits the open transaction and produces nothing more. A
	// read while the task still produced could see one partition's part
	// of a transaction before another's: the commit markers land partition
	// by partition, and read_committed reads each partition only up to its
	// own last stable offset.
	if err := b.h.SetTargetState(context.Background(), "c1", herder.TargetPaused); err != nil {
		t.Fatal(err)
	}
	b.waitTaskState("c1", 0, herder.Paused, "")
	var vals []string
	waitFor(t, "every partition's commit marker", func() (bool, string) {
		vals = a.committedValues("t1")
		n := len(vals)
		return n == len(a.committedValues("t1")), fmt.Sprint(n)
	})
	// What is committed is records 0..n-1, each once.
	checkExactlyOnce(t, vals, wantValues(1, len(vals)))
}

// Pausing a task commits its open transaction: an interval far longer
// than the test would otherwise leave everything uncommitted.
func TestExactlyOncePauseCommits(t *testing.T) {
	t.Parallel()
	e := newEOSEnv(t, "none")
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "100000000", "batch": "5",
		"transaction.boundary": "interval", "transaction.boundary.interval.ms": "600000"})
	e.waitTaskState("c1", 0, herder.Running, "")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waitFor(t, "records produced", func() (bool, string) {
		n := kafkatest.EndOffsets(kadm.NewClient(cl), "t1")
		return n > 100, fmt.Sprint(n)
	})
	if n := len(e.committedValues("t1")); n != 0 {
		t.Fatalf("%d records committed before the interval passed", n)
	}
	if err := e.h.SetTargetState(context.Background(), "c1", herder.TargetPaused); err != nil {
		t.Fatal(err)
	}
	e.waitTaskState("c1", 0, herder.Paused, "")
	var vals []string
	waitFor(t, "the open transaction committed on pause", func() (bool, string) {
		vals = e.committedValues("t1")
		return len(vals) > 100, fmt.Sprint(len(vals))
	})
	checkExactlyOnce(t, vals, wantValues(1, len(vals)))
	got := e.committedN("c1")[`{"task":"0"}`]
	if got != int64(len(vals)-1) {
		t.Fatalf("stored offset %d; the committed records end at %d", got, len(vals)-1)
	}
}

// A connector with its own offsets topic (offsets.storage.topic) commits
// its offsets there, in its transactions, and copies them to the worker's
// topic; the REST API reads them from its topic first.
func TestConnectorOffsetsTopic(t *testing.T) {
	t.Parallel()
	e := newEnvNoStart(t, "none")
	opts := offsets.KafkaOptions{ClientOpts: BaseKafkaOpts(e.cfg), Partitions: 3, ReadCommitted: true}
	global := opts
	global.Topic = "connect-offsets"
	store, err := offsets.NewKafka(context.Background(), global)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	topics := offsets.NewTopics(opts)
	t.Cleanup(func() { topics.Close() })
	e.store, e.eos = store, ExactlyOnce{Mode: ExactlyOnceEnabled, GroupID: "connect-test"}
	e.start()
	e.h.w.OpenOffsetsTopic = topics.Open
	t.Cleanup(func() { e.h.Close() })
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "200", "batch": "7", "offsets.storage.topic": "c1-offsets"})
	waitFor(t, "every record committed", func() (bool, string) {
		n := len(e.committedValues("t1"))
		return n >= 200, fmt.Sprint(n)
	})
	checkExactlyOnce(t, e.committedValues("t1"), wantValues(1, 200))
	own, err := topics.Open(context.Background(), "c1-offsets")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]offsets.Store{"c1-offsets": own, "connect-offsets": store} {
		waitFor(t, "the offsets in "+name, func() (bool, string) {
			es, err := s.Load(context.Background(), "c1")
			return err == nil && len(es) == 1 && string(es[0].Offset) == `{"n":199}`, fmt.Sprint(es, err)
		})
	}
	got, err := e.h.ConnectorOffsets(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Offsets) != 1 || string(got.Offsets[0].Offset) != `{"n":199}` {
		t.Fatalf("GET offsets: %+v", got)
	}
}

// With errors.tolerance=all, a record that fails goes to the dead letter
// queue in the same transaction as the records around it: read_committed
// consumers see it there once and every other record in the topic once.
func TestExactlyOnceDeadLetterQueue(t *testing.T) {
	t.Parallel()
	e := newEOSEnv(t, "none")
	cfg := poisonSource(60, 7, 23, dlqConfig)
	cfg["errors.tolerance"] = "all"
	e.put("c1", cfg)
	want := map[string]int{}
	for n := range 60 {
		if n != 23 {
			want[fmt.Sprint(n)] = 1
		}
	}
	waitFor(t, "every record committed", func() (bool, string) {
		n := len(e.committedValues("t1"))
		return n >= 59, fmt.Sprint(n)
	})
	checkExactlyOnce(t, e.committedValues("t1"), want)
	checkExactlyOnce(t, e.committedValues("dlq"), map[string]int{"poison-23": 1})
}
