package kafkalog

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/connectd/connectd/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newKafka(t *testing.T) []string { return kafkatest.Seeds(t) }

func topicName(t *testing.T, seeds []string, base string) string {
	return kafkatest.TopicName(t, seeds, base)
}

// createTopic creates topic as someone else would have, before the log.
func createTopic(t *testing.T, seeds []string, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	must(t, err)
	defer cl.Close()
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = &v
	}
	_, err = kadm.NewClient(cl).CreateTopic(ctxT(t), partitions, -1, cfg, topic)
	must(t, err)
}

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster { return kafkatest.NewFake(t, opts...) }

func clientOpts(seeds []string) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}
}

// recorder is an apply callback that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	state   map[string]string // key -> value; a tombstone removes the key
	offsets map[int32][]int64 // per partition, in the order applied
}

func newRecorder() *recorder {
	return &recorder{state: map[string]string{}, offsets: map[int32][]int64{}}
}

func (r *recorder) apply(rec *kgo.Record) {
	r.mu.Lock()
	if rec.Value == nil {
		delete(r.state, string(rec.Key))
	} else {
		r.state[string(rec.Key)] = string(rec.Value)
	}
	r.offsets[rec.Partition] = append(r.offsets[rec.Partition], rec.Offset)
	r.mu.Unlock()
}

func (r *recorder) snapshot() (map[string]string, map[int32][]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := make(map[string]string, len(r.state))
	for k, v := range r.state {
		st[k] = v
	}
	offs := make(map[int32][]int64, len(r.offsets))
	for p, o := range r.offsets {
		offs[p] = append([]int64(nil), o...)
	}
	return st, offs
}

func open(t *testing.T, seeds []string, o Options, apply func(*kgo.Record)) *Log {
	t.Helper()
	o.ClientOpts = append(clientOpts(seeds), o.ClientOpts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Open(ctx, o, apply)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// captured is a slog handler that keeps every message, for tests that
// check what the log reported.
type captured struct {
	mu   sync.Mutex
	msgs []string
}

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }
func (c *captured) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	c.mu.Lock()
	c.msgs = append(c.msgs, b.String())
	c.mu.Unlock()
	return nil
}
func (c *captured) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captured) WithGroup(string) slog.Handler      { return c }

func (c *captured) contains(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
