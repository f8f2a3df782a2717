package offsets

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	return openKafkaOpts(t, c.ListenAddrs(), KafkaOptions{Topic: topic, Partitions: 3})
}

func openKafkaOpts(t *testing.T, seeds []string, o KafkaOptions) *Kafka {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.ClientOpts = append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}, o.ClientOpts...)
	s, err := NewKafka(ctx, o)
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

// TestKafkaStorePartitioning: with Kafka Connect's default 25 partitions,
// each offset record lands in the partition Kafka's producer picks for its
// key (murmur2), so Kafka Connect and connectd agree where to find it.
func TestKafkaStorePartitioning(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := context.Background()
	s := openKafkaOpts(t, c.ListenAddrs(), KafkaOptions{Topic: "connect-offsets"})
	var es []Entry
	for i := range 40 {
		es = append(es, Entry{Partition: []byte(fmt.Sprintf(`{"file":"/data/%d.csv"}`, i)), Offset: []byte(fmt.Sprintf(`{"line":%d}`, i))})
	}
	must(t, s.Commit(ctx, "csv-source", es))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("connect-offsets"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(t, err)
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, "connect-offsets")
	must(t, err)
	if n := len(details["connect-offsets"].Partitions); n != 25 {
		t.Fatalf("the offsets topic has %d partitions, want Kafka Connect's default 25", n)
	}
	got, want := map[string]int32{}, map[string]int32{}
	for _, e := range es {
		k, _ := Key("csv-source", e.Partition)
		want[string(k)] = int32(murmur2(k)&0x7fffffff) % 25
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for len(got) < len(es) && pctx.Err() == nil {
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) { got[string(r.Key)] = r.Partition })
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("partition of each offset record (-want +got):\n%s", d)
	}
}

// murmur2 is Kafka's Utils.murmur2 (MurmurHash2, seed 0x9747b28c), written
// from its definition for the test to compare placements against.
func murmur2(data []byte) uint32 {
	const m, r = uint32(0x5bd1e995), 24
	h := uint32(0x9747b28c) ^ uint32(len(data))
	for len(data) >= 4 {
		k := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

func TestMurmur2Reference(t *testing.T) {
	t.Parallel()
	// Values from Kafka's UtilsTest.
	for in, want := range map[string]int32{"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536, "abc": 479470107} {
		if got := int32(murmur2([]byte(in))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestKafkaStoreReaderBelowLogStart: a worker's store falls behind while
// another worker commits many offsets and compaction moves the log start
// past its position (OFFSET_OUT_OF_RANGE at the broker). Its next Load
// still returns the newest offsets.
func TestKafkaStoreReaderBelowLogStart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := context.Background()
	opts := KafkaOptions{Topic: "offsets", Partitions: 1}
	reader := openKafkaOpts(t, c.ListenAddrs(), opts)
	writer := openKafkaOpts(t, c.ListenAddrs(), opts)
	p1, p2 := []byte(`{"p":1}`), []byte(`{"p":2}`)
	must(t, writer.Commit(ctx, "c", []Entry{{Partition: p1, Offset: []byte(`{"o":0}`)}}))
	if got, err := reader.Load(ctx, "c"); err != nil || len(got) != 1 {
		t.Fatalf("first Load = %v, %v", got, err)
	}

	// From here the broker holds every fetch until release: the reader
	// stays at offset 1.
	release := make(chan struct{})
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case <-release:
			c.DropControl()
			return nil, nil, false
		default:
		}
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	for i := 1; i <= 30; i++ {
		must(t, writer.Commit(ctx, "c", []Entry{{Partition: p1, Offset: []byte(fmt.Sprintf(`{"o":%d}`, i))}}))
	}
	must(t, writer.Commit(ctx, "c", []Entry{{Partition: p2, Offset: []byte(`{"o":"x"}`)}}))
	must(t, writer.Commit(ctx, "c", []Entry{{Partition: p1, Offset: []byte(`{"o":"last"}`)}}))
	c.Compact()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	must(t, err)
	defer cl.Close()
	starts, err := kadm.NewClient(cl).ListStartOffsets(ctx, "offsets")
	must(t, err)
	if start, _ := starts.Lookup("offsets", 0); start.Offset <= 1 {
		t.Fatalf("log start after compaction = %d; the test needs it past the reader's position 1", start.Offset)
	}
	close(release)

	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := reader.Load(lctx, "c")
	must(t, err)
	want := []Entry{{Partition: p1, Offset: []byte(`{"o":"last"}`)}, {Partition: p2, Offset: []byte(`{"o":"x"}`)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Load after falling below the log start (-want +got):\n%s", d)
	}
}

// TestKafkaStoreBrokerRestart: the broker stops and a new one starts on
// the same port and data. A commit made meanwhile completes, the store
// goes on reading, and a store opened afterwards finds every offset.
func TestKafkaStoreBrokerRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.Ports(port), kfake.DataDir(dir))
		must(t, err)
		return c
	}
	c := start()
	seeds := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := openKafkaOpts(t, seeds, KafkaOptions{Topic: "offsets"})
	p := []byte(`{"table":"t"}`)
	must(t, s.Commit(ctx, "pg", []Entry{{Partition: p, Offset: []byte(`{"lsn":1}`)}}))
	c.Close()

	committed := make(chan error, 1)
	go func() { committed <- s.Commit(ctx, "pg", []Entry{{Partition: p, Offset: []byte(`{"lsn":2}`)}}) }()
	c = start()
	defer c.Close()
	must(t, <-committed)
	want := []Entry{{Partition: p, Offset: []byte(`{"lsn":2}`)}}
	got, err := s.Load(ctx, "pg")
	must(t, err)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Load after the restart (-want +got):\n%s", d)
	}
	s2 := openKafkaOpts(t, seeds, KafkaOptions{Topic: "offsets"})
	got, err = s2.Load(ctx, "pg")
	must(t, err)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("a new store's Load (-want +got):\n%s", d)
	}
}
