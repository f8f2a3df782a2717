package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOpenCreatesCompactedTopic(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-status")
	l := open(t, seeds, Options{Topic: topic, Partitions: 5, TopicConfigs: map[string]string{"min.compaction.lag.ms": "0"}}, newRecorder().apply)
	if got := l.Partitions(); got != 5 {
		t.Fatalf("Partitions() = %d, want 5", got)
	}
	adm := newAdmin(t, seeds)
	details, err := adm.ListTopics(ctxT(t), topic)
	must(t, err)
	if n := len(details[topic].Partitions); n != 5 {
		t.Fatalf("topic has %d partitions, want 5", n)
	}
	configs, err := adm.DescribeTopicConfigs(ctxT(t), topic)
	must(t, err)
	rc, err := configs.On(topic, nil)
	must(t, err)
	got := map[string]string{}
	for _, cfg := range rc.Configs {
		if cfg.Value != nil && (cfg.Key == "cleanup.policy" || cfg.Key == "min.compaction.lag.ms") {
			got[cfg.Key] = *cfg.Value
		}
	}
	if d := cmp.Diff(map[string]string{"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}, got); d != "" {
		t.Fatalf("topic configs (-want +got):\n%s", d)
	}
}

// TestOpenChecksCleanupPolicy: an existing topic is used only when it is
// compacted and nothing else, as Kafka Connect requires.
func TestOpenChecksCleanupPolicy(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		policy  string
		wantErr string
		fake    bool // a policy only kfake accepts
	}{
		"compact":         {policy: "compact"},
		"compact spelled": {policy: " Compact ", fake: true},
		"delete":          {policy: "delete", wantErr: "cleanup.policy=delete"},
		"compact,delete":  {policy: "compact,delete", wantErr: "cleanup.policy=compact,delete"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seeds := newKafka(t)
			if tc.fake {
				seeds = newCluster(t).ListenAddrs()
			}
			topic := topicName(t, seeds, "existing")
			createTopic(t, seeds, topic, 2, map[string]string{"cleanup.policy": tc.policy})
			o := Options{Topic: topic, Setting: "offset.storage.topic", Purpose: "source connector offsets", ClientOpts: clientOpts(seeds)}
			l, err := Open(ctxT(t), o, newRecorder().apply)
			if tc.wantErr == "" {
				must(t, err)
				defer l.Close()
				if l.Partitions() != 2 {
					t.Fatalf("Partitions() = %d, want the existing topic's 2", l.Partitions())
				}
				return
			}
			if err == nil {
				l.Close()
				t.Fatalf("Open succeeded on a topic with cleanup.policy=%s", tc.policy)
			}
			for _, want := range []string{tc.wantErr, "offset.storage.topic", "source connector offsets"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestOpenWithoutTopic(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), Options{Setting: "config.storage.topic"}, newRecorder().apply)
	if err == nil || !strings.Contains(err.Error(), "config.storage.topic") {
		t.Fatalf("Open without a topic: %v", err)
	}
}

// TestOpenReadsWhatIsThere: records written before Open (by any producer)
// are all applied, in offset order, before Open returns.
func TestOpenReadsWhatIsThere(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "log")
	createTopic(t, seeds, topic, 3, map[string]string{"cleanup.policy": "compact"})
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic))
	must(t, err)
	defer cl.Close()
	want := map[string]string{}
	for i := range 30 {
		k, v := fmt.Sprintf("k%d", i%7), fmt.Sprintf("v%d", i)
		must(t, cl.ProduceSync(ctxT(t), &kgo.Record{Key: []byte(k), Value: []byte(v)}).FirstErr())
		want[k] = v
	}
	rec := newRecorder()
	open(t, seeds, Options{Topic: topic}, rec.apply)
	got, offsets := rec.snapshot()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("state after Open (-want +got):\n%s", d)
	}
	total := 0
	for p, offs := range offsets {
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				t.Fatalf("partition %d applied out of order: %v", p, offs)
			}
		}
		total += len(offs)
	}
	if total != 30 {
		t.Fatalf("applied %d records, want 30", total)
	}
}

// TestReadToEnd: two logs on one topic (two workers); what one sends, the
// other has applied once its ReadToEnd returns. Tombstones delete.
func TestReadToEnd(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "shared")
	ra, rb := newRecorder(), newRecorder()
	a := open(t, seeds, Options{Topic: topic, Partitions: 4}, ra.apply)
	b := open(t, seeds, Options{Topic: topic, Partitions: 4}, rb.apply)
	ctx := ctxT(t)
	want := map[string]string{}
	for round := range 5 {
		var msgs []Message
		for i := range 20 {
			k, v := fmt.Sprintf("key-%d", i), fmt.Sprintf("%d-%d", round, i)
			msgs = append(msgs, Message{Key: []byte(k), Value: []byte(v)})
			want[k] = v
		}
		must(t, a.SendAll(ctx, msgs...))
		must(t, b.Send(ctx, []byte("key-3"), nil)) // tombstone
		delete(want, "key-3")
		must(t, b.ReadToEnd(ctx))
		must(t, a.ReadToEnd(ctx))
		for name, r := range map[string]*recorder{"a": ra, "b": rb} {
			got, _ := r.snapshot()
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("round %d: log %s after ReadToEnd (-want +got):\n%s", round, name, d)
			}
		}
	}
}

// TestReadToEndSharesLookups: ReadToEnd calls that come while a look at
// the end offsets is under way share the next one, as Kafka Connect's
// KafkaBasedLog serves its pending readToEnd calls (a thousand tasks
// starting on a worker load their offsets with a few requests); and each
// still sees every record written before it was called.
func TestReadToEndSharesLookups(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	rec := newRecorder()
	l := open(t, c.ListenAddrs(), Options{Topic: "t", Partitions: 1}, rec.apply)
	ctx := ctxT(t)

	// The broker holds the first ListOffsets request until release and
	// counts them all.
	var mu sync.Mutex
	requests := 0
	release := make(chan struct{})
	c.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		mu.Lock()
		requests++
		first := requests == 1
		mu.Unlock()
		if first {
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	held := make(chan error, 1)
	go func() { held <- l.ReadToEnd(ctx) }()
	for {
		mu.Lock()
		n := requests
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}

	// Written after the held look started (by another client: the log's
	// own shares its connection with the held request), so the callers
	// below must see it.
	w, err := kgo.NewClient(clientOpts(c.ListenAddrs())...)
	must(t, err)
	defer w.Close()
	must(t, w.ProduceSync(ctx, &kgo.Record{Topic: "t", Key: []byte("x"), Value: []byte("written")}).FirstErr())
	const callers = 200
	var started, done sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			if err := l.ReadToEnd(ctx); err != nil {
				errs <- err
				return
			}
			if st, _ := rec.snapshot(); st["x"] != "written" {
				errs <- fmt.Errorf("ReadToEnd returned before the record written ahead of the call was applied: %v", st)
			}
		}()
	}
	started.Wait()
	close(release)
	must(t, <-held)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One look is a ListOffsets for the log starts and one for the ends.
	// Alone, each of the 201 calls would have sent two.
	mu.Lock()
	defer mu.Unlock()
	if requests > 8 {
		t.Fatalf("%d ListOffsets requests for %d concurrent ReadToEnd calls; want them to share a few looks", requests, callers+1)
	}
	t.Logf("%d ListOffsets requests for %d ReadToEnd calls", requests, callers+1)
}

// TestSendPartitionsByMurmur2: a keyed record lands where Kafka's own
// producer would put it, so Kafka Connect workers and connectd agree on
// where a key's records are.
func TestSendPartitionsByMurmur2(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "offsets")
	l := open(t, seeds, Options{Topic: topic, Partitions: 25}, newRecorder().apply)
	keys := []string{`["c",{"p":1}]`, `["c",{"p":2}]`, `["other",{"file":"/tmp/a"}]`, "21", "foobar", "abc"}
	for _, k := range keys {
		must(t, l.Send(ctxT(t), []byte(k), []byte("{}")))
	}
	got := map[string]int32{}
	for _, r := range readRaw(t, seeds, topic, len(keys)) {
		got[string(r.Key)] = r.Partition
	}
	want := map[string]int32{}
	for _, k := range keys {
		want[k] = int32(int32(murmur2([]byte(k))&0x7fffffff) % 25)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("partitions (-want +got):\n%s", d)
	}
}

// TestMurmur2Reference checks the test's own murmur2 against the values
// in Kafka's UtilsTest.
func TestMurmur2Reference(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := int32(murmur2([]byte(in))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// murmur2 is Kafka's Utils.murmur2, written from its definition
// (MurmurHash2, seed 0x9747b28c) for the test to compare against.
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

// TestReaderFallsBelowLogStart: the reader is behind, compaction removes
// the batches it was about to read and moves the log start past its
// position, and the broker answers OFFSET_OUT_OF_RANGE. The reader resumes
// at the log start and ends in the topic's final state.
func TestReaderFallsBelowLogStart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	logs := &captured{}
	rec := newRecorder()
	l := open(t, c.ListenAddrs(), Options{Topic: "t", Partitions: 1, Logger: slog.New(logs)}, rec.apply)
	ctx := ctxT(t)
	must(t, l.Send(ctx, []byte("a"), []byte("first")))
	must(t, l.ReadToEnd(ctx))

	// From here the broker holds every fetch until release.
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
	for i := 1; i <= 20; i++ {
		must(t, l.Send(ctx, []byte("k"), []byte(fmt.Sprint(i))))
	}
	must(t, l.Send(ctx, []byte("a"), []byte("last")))
	must(t, l.Send(ctx, []byte("k"), []byte("last")))
	c.Compact()
	starts, err := newAdmin(t, c.ListenAddrs()).ListStartOffsets(ctx, "t")
	must(t, err)
	logStart, _ := starts.Lookup("t", 0)
	if logStart.Offset <= 1 {
		t.Fatalf("log start after compaction = %d; the test needs it past the reader's position 1", logStart.Offset)
	}
	close(release)

	must(t, l.ReadToEnd(ctx))
	state, offsets := rec.snapshot()
	if d := cmp.Diff(map[string]string{"a": "last", "k": "last"}, state); d != "" {
		t.Fatalf("state (-want +got):\n%s", d)
	}
	got := offsets[0]
	if len(got) < 2 || got[0] != 0 || got[1] != logStart.Offset {
		t.Fatalf("applied offsets %v: want 0, then the log start %d", got, logStart.Offset)
	}
	if !logs.contains("OFFSET_OUT_OF_RANGE") {
		t.Fatalf("the client never reported OFFSET_OUT_OF_RANGE; logged: %v", logs.msgs)
	}
}

// TestOpenAfterCompaction: a new reader of a compacted topic (gaps in its
// offsets, a moved log start, expired tombstones gone) ends in the same
// state as the writer, and ReadToEnd returns.
func TestOpenAfterCompaction(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	must(t, c.CreateTopic("t", 2, map[string]string{"cleanup.policy": "compact", "delete.retention.ms": "0"}))
	wrec := newRecorder()
	w := open(t, c.ListenAddrs(), Options{Topic: "t"}, wrec.apply)
	ctx := ctxT(t)
	for i := range 60 {
		must(t, w.Send(ctx, []byte(fmt.Sprintf("k%d", i%5)), []byte(fmt.Sprint(i))))
	}
	must(t, w.Send(ctx, []byte("k1"), nil))
	must(t, w.Send(ctx, []byte("k0"), []byte("last")))
	must(t, w.Send(ctx, []byte("k2"), []byte("last")))
	must(t, w.ReadToEnd(ctx))
	c.Compact()
	rrec := newRecorder()
	r := open(t, c.ListenAddrs(), Options{Topic: "t"}, rrec.apply)
	must(t, r.ReadToEnd(ctx))
	want, _ := wrec.snapshot()
	got, offsets := rrec.snapshot()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("state read after compaction (-writer's +reader's):\n%s", d)
	}
	n := 0
	for _, o := range offsets {
		n += len(o)
	}
	if n >= 63 {
		t.Fatalf("the reader applied %d records; compaction removed none, so the test proves nothing", n)
	}
}

// TestBrokerRestart: the broker goes away and a new one starts on the same
// port with the same data. A send made while it was down completes, and
// the reader, never reopened, goes on reading.
func TestBrokerRestart(t *testing.T) {
	t.Parallel()
	dir, port := t.TempDir(), freePort(t)
	start := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.Ports(port), kfake.DataDir(dir))
		must(t, err)
		return c
	}
	c := start()
	seeds := c.ListenAddrs()
	rec := newRecorder()
	l := open(t, seeds, Options{Topic: "t", Partitions: 3}, rec.apply)
	ctx := ctxT(t)
	for i := range 10 {
		must(t, l.Send(ctx, []byte(fmt.Sprintf("k%d", i)), []byte("before")))
	}
	must(t, l.ReadToEnd(ctx))
	c.Close()

	sent := make(chan error, 1)
	go func() { sent <- l.Send(ctx, []byte("k0"), []byte("during")) }()
	c = start()
	defer c.Close()
	must(t, <-sent)
	for i := 1; i < 10; i++ {
		must(t, l.Send(ctx, []byte(fmt.Sprintf("k%d", i)), []byte("after")))
	}
	must(t, l.ReadToEnd(ctx))
	want := map[string]string{"k0": "during"}
	for i := 1; i < 10; i++ {
		want[fmt.Sprintf("k%d", i)] = "after"
	}
	got, _ := rec.snapshot()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("state after the restart (-want +got):\n%s", d)
	}
	// A reader opened now finds everything in the restarted broker's data.
	rec2 := newRecorder()
	l2 := open(t, seeds, Options{Topic: "t"}, rec2.apply)
	defer l2.Close()
	got2, _ := rec2.snapshot()
	if d := cmp.Diff(want, got2); d != "" {
		t.Fatalf("a new reader's state (-want +got):\n%s", d)
	}
}

// TestReadToEndGivesUp: with no broker, ReadToEnd returns when its ctx
// ends, saying so; after Close it returns ErrClosed.
func TestReadToEndGivesUp(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	l := open(t, c.ListenAddrs(), Options{Topic: "t"}, newRecorder().apply)
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := l.ReadToEnd(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadToEnd with the broker gone: %v", err)
	}
	must(t, l.Close())
	if err := l.ReadToEnd(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadToEnd after Close: %v", err)
	}
	if err := l.Send(context.Background(), []byte("k"), []byte("v")); err == nil {
		t.Fatal("Send after Close succeeded")
	}
}

func newAdmin(t *testing.T, seeds []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(clientOpts(seeds)...)
	must(t, err)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// readRaw reads n records of topic with a plain consumer.
func readRaw(t *testing.T, seeds []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(t, err)
	defer cl.Close()
	ctx := ctxT(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %s, want %d", len(out), topic, n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}
