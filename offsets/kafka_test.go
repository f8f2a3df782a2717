package offsets

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "100"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func openKafka(t *testing.T, c *kfake.Cluster, topic string) *Kafka {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := NewKafka(ctx, KafkaOptions{ClientOpts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.MetadataMinAge(50 * time.Millisecond)}, Topic: topic, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestKafkaStore(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := context.Background()
	s := openKafka(t, c, "connect-offsets")
	must(t, s.Commit(ctx, "a", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":10}`)}}))
	must(t, s.Commit(ctx, "a", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":11}`)}, {Partition: []byte(`{"p":2}`), Offset: []byte(`{"o":5}`)}}))
	must(t, s.Commit(ctx, "b", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":99}`)}}))
	must(t, s.Commit(ctx, "b", []Entry{{Partition: []byte(`{"p":1}`)}})) // tombstone

	// Another store on the same topic (another worker, or this one after a
	// restart) sees all of it.
	s2 := openKafka(t, c, "connect-offsets")
	got, err := s2.Load(ctx, "a")
	must(t, err)
	want := []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":11}`)}, {Partition: []byte(`{"p":2}`), Offset: []byte(`{"o":5}`)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Load(a) (-want +got):\n%s", d)
	}
	if got, _ := s2.Load(ctx, "b"); len(got) != 0 {
		t.Fatalf("Load(b) = %v after a tombstone", got)
	}
	// A commit made after the first Load is seen by the next one.
	must(t, s.Commit(ctx, "a", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":12}`)}}))
	got, err = s2.Load(ctx, "a")
	must(t, err)
	if string(got[0].Offset) != `{"o":12}` {
		t.Fatalf("Load after a later commit = %s", got[0].Offset)
	}
}

// TestKafkaStoreWireFormat checks the records are Kafka Connect's: key
// ["<connector>",{partition}], value the offset JSON, null for a delete,
// in a compacted topic.
func TestKafkaStoreWireFormat(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := context.Background()
	s := openKafka(t, c, "offsets")
	must(t, s.Commit(ctx, "my-conn", []Entry{{Partition: []byte(`{"filename":"/a"}`), Offset: []byte(`{"position":42}`)}}))
	must(t, s.Commit(ctx, "my-conn", []Entry{{Partition: []byte(`{"filename":"/a"}`)}}))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("offsets"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(t, err)
	defer cl.Close()
	var got []string
	for len(got) < 2 {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		fs := cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("read %d records of 2", len(got))
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := "null"
			if r.Value != nil {
				v = string(r.Value)
			}
			got = append(got, string(r.Key)+" => "+v)
		})
	}
	want := []string{`["my-conn",{"filename":"/a"}] => {"position":42}`, `["my-conn",{"filename":"/a"}] => null`}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("records (-want +got):\n%s", d)
	}
	configs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, "offsets")
	must(t, err)
	rc, _ := configs.On("offsets", nil)
	for _, cfg := range rc.Configs {
		if cfg.Key == "cleanup.policy" && (cfg.Value == nil || *cfg.Value != "compact") {
			t.Fatalf("cleanup.policy = %v", cfg.Value)
		}
	}
}

// TestKafkaStoreAfterCompaction: compaction removes old batches and moves
// the log start; a new reader still gets every newest offset.
func TestKafkaStoreAfterCompaction(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := context.Background()
	s := openKafka(t, c, "compacted")
	for i := 0; i < 50; i++ {
		must(t, s.Commit(ctx, "c", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":` + string(rune('0'+i%10)) + `}`)}}))
	}
	must(t, s.Commit(ctx, "c", []Entry{{Partition: []byte(`{"p":2}`), Offset: []byte(`{"o":"last"}`)}}))
	c.Compact()
	got, err := openKafka(t, c, "compacted").Load(ctx, "c")
	must(t, err)
	want := []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":9}`)}, {Partition: []byte(`{"p":2}`), Offset: []byte(`{"o":"last"}`)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Load after compaction (-want +got):\n%s", d)
	}
}

func TestKafkaStoreRefusesUncompactedTopic(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	if err := c.CreateTopic("deleting", 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatal(err)
	}
	_, err := NewKafka(context.Background(), KafkaOptions{ClientOpts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, Topic: "deleting"})
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy=compact") {
		t.Fatalf("NewKafka on a delete-policy topic: %v", err)
	}
}
