package storage

import (
	"context"
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

func newFake(t *testing.T) *kfake.Cluster { return kafkatest.NewFake(t) }

func clientOpts(seeds []string) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}
}

func topicName(t *testing.T, seeds []string, base string) string {
	return kafkatest.TopicName(t, seeds, base)
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
	out := map[int32][]rawRecord{}
	for _, r := range kafkatest.ReadToEnd(t, seeds, topic) {
		v := "null"
		if r.Value != nil {
			v = string(r.Value)
		}
		out[r.Partition] = append(out[r.Partition], rawRecord{Key: string(r.Key), Value: v})
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
