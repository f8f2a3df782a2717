package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newKafka returns the seed brokers of the cluster a test runs against: a
// fresh in-process kfake broker, or the cluster KAFKA_BOOTSTRAP names
// (comma-separated host:port), for the tests that need nothing
// kfake-specific.
func newKafka(t *testing.T) []string {
	t.Helper()
	if env := os.Getenv("KAFKA_BOOTSTRAP"); env != "" {
		return strings.Split(env, ",")
	}
	return newFake(t).ListenAddrs()
}

// newFake starts a fresh single-broker kfake cluster, for tests that use
// kfake's own controls (compaction on demand).
func newFake(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func clientOpts(seeds []string) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}
}

// topicName returns a topic name no other test (or earlier run against a
// real cluster) uses, and deletes the topic when the test ends.
func topicName(t *testing.T, seeds []string, base string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := base + "-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
		if err != nil {
			return
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kadm.NewClient(cl).DeleteTopics(ctx, name)
	})
	return name
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rawRecord is a record as a plain consumer sees it.
type rawRecord struct {
	Key   string
	Value string // "null" for a tombstone
}

// readRaw reads every record of topic with a plain consumer: what is
// really on the topic, in order within each partition.
func readRaw(t *testing.T, seeds []string, topic string) map[int32][]rawRecord {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(t, err)
	defer cl.Close()
	ctx := ctxT(t)
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	must(t, err)
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	out := map[int32][]rawRecord{}
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: still waiting for %v", topic, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := "null"
			if r.Value != nil {
				v = string(r.Value)
			}
			out[r.Partition] = append(out[r.Partition], rawRecord{Key: string(r.Key), Value: v})
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	return out
}

// produceRaw writes records as another writer would, each in its own
// batch (so compaction can remove them one by one). A value "null" is a
// tombstone.
func produceRaw(t *testing.T, seeds []string, topic string, recs ...rawRecord) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic))
	must(t, err)
	defer cl.Close()
	for _, r := range recs {
		rec := &kgo.Record{Key: []byte(r.Key)}
		if r.Value != "null" {
			rec.Value = []byte(r.Value)
		}
		must(t, cl.ProduceSync(ctxT(t), rec).FirstErr())
	}
}

// createTopic creates a compacted topic, as another cluster would have.
func createTopic(t *testing.T, seeds []string, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	must(t, err)
	defer cl.Close()
	compact := "compact"
	_, err = kadm.NewClient(cl).CreateTopic(ctxT(t), partitions, -1, map[string]*string{"cleanup.policy": &compact}, topic)
	must(t, err)
}
