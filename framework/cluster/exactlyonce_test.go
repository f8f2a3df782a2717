package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/kafkatest"
)

var eosProps = map[string]string{"exactly.once.source.support": "enabled"}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startNodes starts n workers with extra properties on a fresh broker and
// waits until they have settled on a leader.
func startNodes(t *testing.T, n int, extra map[string]string) ([]string, []*node) {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close) // after the workers' cleanups
	seeds := kc.ListenAddrs()
	var nodes []*node
	for range n {
		nodes = append(nodes, startNodeWith(t, seeds, quiet(), extra))
	}
	waitFor(t, "the workers to settle", func() (bool, string) {
		for _, nd := range nodes {
			if nd.h.Ready() != nil || nd.h.member.Rebalancing() {
				return false, ""
			}
		}
		return true, ""
	})
	return seeds, nodes
}

// A reconfiguration to fewer tasks fences out every task of the older
// generation before the new one starts, the one without a successor too:
// producers that still use those transactional ids (zombies) can commit
// nothing more. The task count record then holds the new count, and what
// the tasks wrote is seen once by a read_committed consumer.
func TestExactlyOnceReconfigureFencesOlderTasks(t *testing.T) {
	t.Parallel()
	seeds, nodes := startNodes(t, 2, eosProps)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	cfg := map[string]string{"connector.class": "seq", "topic": "t", "count": "1000000", "tasks.max": "3"}
	if _, err := b.client.CreateConnector(ctx, "c", cfg); err != nil {
		t.Fatal(err)
	}
	st := running(t, a, "c", 3)
	if st.ExactlyOnce == nil || !st.ExactlyOnce.Enabled || st.ExactlyOnce.TransactionBoundary != "poll" {
		t.Fatalf("status does not say the connector runs exactly once: %+v", st.ExactlyOnce)
	}
	waitFor(t, "the task count record", func() (bool, string) {
		s := a.h.configs.Snapshot()
		return s.TaskCountRecords["c"] == 3 && !s.PendingFencing["c"], fmt.Sprint(s.TaskCountRecords, s.PendingFencing)
	})

	// Stand-ins for zombies of the three tasks: producers with their
	// transactional ids, initialised after the tasks (which fences the
	// tasks themselves: they fail, as zombies' successors would).
	var zombies []*kgo.Client
	for i := range 3 {
		z, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID(runtime.TransactionalID("g", "c", i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(z.Close)
		if _, _, err := z.ProducerID(ctx); err != nil {
			t.Fatal(err)
		}
		zombies = append(zombies, z)
	}
	cfg["tasks.max"] = "2"
	if _, _, err := a.client.PutConnectorConfig(ctx, "c", cfg); err != nil {
		t.Fatal(err)
	}
	running(t, a, "c", 2)
	waitFor(t, "the new task count record", func() (bool, string) {
		s := a.h.configs.Snapshot()
		return s.TaskCountRecords["c"] == 2 && !s.PendingFencing["c"], fmt.Sprint(s.TaskCountRecords, s.PendingFencing)
	})
	for i, z := range zombies {
		if err := z.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		err := z.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("zombie")}).FirstErr()
		if err == nil {
			err = z.EndTransaction(ctx, kgo.TryCommit)
		}
		if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
			t.Errorf("zombie of task %d: %v; want it fenced", i, err)
		}
	}
	waitFor(t, "the new generation to commit", func() (bool, string) {
		n := len(kafkatest.ReadCommitted(t, seeds, "t"))
		return n > 300, fmt.Sprint(n)
	})
	seen := map[string]int{}
	for _, r := range kafkatest.ReadCommitted(t, seeds, "t") {
		if string(r.Value) == "zombie" {
			t.Fatal("a zombie's record was committed")
		}
		seen[string(r.Value)]++
		if seen[string(r.Value)] > 1 {
			t.Fatalf("%s seen twice", r.Value)
		}
	}
}

// Internal requests need the session key's signature: unsigned ones are
// refused with 400, wrongly signed ones with 403, as Kafka Connect
// answers; the workers' own (signed) requests go through.
func TestInternalRequestsAreSigned(t *testing.T) {
	t.Parallel()
	_, nodes := startNodes(t, 2, eosProps)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	if _, err := a.client.CreateConnector(ctx, "c", map[string]string{"connector.class": "seq", "topic": "t", "tasks.max": "2"}); err != nil {
		t.Fatal(err)
	}
	running(t, b, "c", 2) // task configs reached the leader, signed
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		msg                      string
	}{
		{"tasks unsigned", "POST", "/connectors/c/tasks", "[]", nil, 400, "Internal request missing required signature"},
		{"tasks forged", "POST", "/connectors/c/tasks", "[]", http.Header{herder.SignatureHeader: {"AAAA"}, herder.SignatureAlgorithmHeader: {"HmacSHA256"}}, 403, "Internal request contained invalid signature."},
		{"tasks unknown algorithm", "POST", "/connectors/c/tasks", "[]", http.Header{herder.SignatureHeader: {"AAAA"}, herder.SignatureAlgorithmHeader: {"HmacMD5"}}, 400, "does not support the 'HmacMD5' key signing algorithm"},
		{"fence unsigned", "PUT", "/connectors/c/fence", "", nil, 400, "Internal request missing required signature"},
	} {
		for _, n := range []*node{a, b} {
			req, err := http.NewRequest(tc.method, n.client.BaseURL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.msg)) {
				t.Errorf("%s: %d %s; want %d with %q", tc.name, resp.StatusCode, body, tc.status, tc.msg)
			}
		}
	}
	// A correctly signed fencing request, as a worker sends it, is served
	// (forwarded to the leader if need be).
	signed := &api.Client{BaseURL: b.client.BaseURL, Sign: a.h.signer()}
	if err := signed.FenceZombies(ctx, "c"); err != nil {
		t.Fatalf("signed fence: %v", err)
	}
}

// exactly.once.support=required is refused at validation and create
// where it cannot be met: on a worker without exactly-once source support,
// and for a connector that does not say it supports it; so is
// transaction.boundary=connector for a connector that cannot define
// boundaries.
func TestExactlyOnceRequiredRefused(t *testing.T) {
	t.Parallel()
	_, nodes := startNodes(t, 1, nil)
	off := nodes[0]
	ctx := context.Background()
	base := map[string]string{"connector.class": "seq", "topic": "t"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		key  string
		msg  string
	}{
		{"worker disabled", with("exactly.once.support", "required"), "exactly.once.support", "exactly.once.source.support=disabled"},
		{"connector does not say", with("exactly.once.support", "required"), "exactly.once.support", "does not implement the API required for preflight validation of exactly-once source support"},
		{"connector boundaries", with("transaction.boundary", "connector"), "transaction.boundary", "does not support connector-defined transaction boundaries"},
		{"bad boundary", with("transaction.boundary", "sometimes"), "transaction.boundary", "String must be one of (case insensitive): poll, interval, connector"},
		{"bad support", with("exactly.once.support", "always"), "exactly.once.support", "String must be one of (case insensitive): requested, required"},
	} {
		infos, err := off.client.ValidateConfig(ctx, "seq", tc.cfg)
		if err != nil {
			t.Fatalf("%s: validate: %v", tc.name, err)
		}
		if !hasMessage(infos, tc.key, tc.msg) {
			t.Errorf("%s: validate does not say %q on %s: %+v", tc.name, tc.msg, tc.key, infos)
		}
		_, err = off.client.CreateConnector(ctx, "c", tc.cfg)
		var ae *api.APIError
		if !errors.As(err, &ae) || ae.Code != 400 || !strings.Contains(ae.Message, tc.msg) {
			t.Errorf("%s: create: %v; want 400 saying %q", tc.name, err, tc.msg)
		}
	}
	// requested (the default) runs at least once on a worker without
	// exactly-once support, and the status says so.
	if _, err := off.client.CreateConnector(ctx, "c", with("exactly.once.support", "requested")); err != nil {
		t.Fatal(err)
	}
	st := running(t, off, "c", 1)
	if st.ExactlyOnce == nil || st.ExactlyOnce.Enabled {
		t.Fatalf("status: %+v; want exactly_once.enabled false", st.ExactlyOnce)
	}
}

func hasMessage(infos herder.ConfigInfos, key, msg string) bool {
	for _, c := range infos.Configs {
		if c.Value.Name != key {
			continue
		}
		for _, e := range c.Value.Errors {
			if strings.Contains(e, msg) {
				return true
			}
		}
	}
	return false
}

// Offsets altered through the REST API are fenced like a new generation of
// tasks: a task of the stopped connector still alive somewhere (a zombie)
// can commit nothing after the offsets are written.
func TestExactlyOnceOffsetsAlterFencesTasks(t *testing.T) {
	t.Parallel()
	seeds, nodes := startNodes(t, 2, eosProps)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	if _, err := a.client.CreateConnector(ctx, "c", map[string]string{"connector.class": "seq", "topic": "t", "count": "1000000", "tasks.max": "1"}); err != nil {
		t.Fatal(err)
	}
	running(t, b, "c", 1)
	if err := b.client.StopConnector(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connector stopped", func() (bool, string) {
		st, err := a.h.ConnectorStatus(ctx, "c")
		return err == nil && st.Connector.State == herder.Stopped && len(st.Tasks) == 0, fmt.Sprintf("%+v %v", st, err)
	})
	zombie, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID(runtime.TransactionalID("g", "c", 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	msg, err := b.client.AlterConnectorOffsets(ctx, "c", []herder.ConnectorOffset{{Partition: []byte(`{"task":"0"}`), Offset: []byte(`{"i":41}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Message != herder.MsgOffsetsAltered {
		t.Fatalf("alter: %q", msg.Message)
	}
	if err := zombie.EndTransaction(ctx, kgo.TryCommit); !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) && !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("the zombie committed after the offsets were altered: %v", err)
	}
	for _, r := range kafkatest.ReadCommitted(t, seeds, "t") {
		if string(r.Value) == "zombie" {
			t.Fatal("the zombie's record is visible")
		}
	}
	offs, err := a.client.ConnectorOffsets(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(offs.Offsets) != 1 || string(offs.Offsets[0].Offset) != `{"i":41}` {
		t.Fatalf("offsets after alter: %s", offs.Offsets)
	}
}
