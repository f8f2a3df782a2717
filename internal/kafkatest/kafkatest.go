// Package kafkatest holds helpers the project's tests and benchmarks use
// to look at what a Kafka cluster holds.
package kafkatest

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
)

// Until says when ReadRecords stops: once it has read at least Want
// records and then nothing new for Quiet (so that duplicates beyond Want
// are seen too), or when Timeout has passed. Quiet defaults to a second,
// Timeout to a minute.
type Until struct {
	Want           int
	Quiet, Timeout time.Duration
}

// ReadRecords reads topics from the start until u says stop and returns
// the records in the order read. It does not fail when fewer than u.Want
// arrive: callers say what that means.
func ReadRecords(t testing.TB, seeds []string, u Until, topics ...string) []*kgo.Record {
	t.Helper()
	if u.Quiet == 0 {
		u.Quiet = time.Second
	}
	if u.Timeout == 0 {
		u.Timeout = time.Minute
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(u.Timeout)
	quiet := time.Now()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := len(out)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if len(out) > n {
			quiet = time.Now()
		}
		if len(out) >= u.Want && time.Since(quiet) > u.Quiet {
			break
		}
	}
	return out
}

// ReadToEnd reads topic from the start up to the end offset each of its
// partitions had when it was called, and returns the records in the order
// read (in order within each partition). It fails the test if that takes
// more than a minute.
func ReadToEnd(t testing.TB, seeds []string, topic string) []*kgo.Record {
	t.Helper()
	return readUntil(t, seeds, topic, false)
}

// readUntil reads topic from the start up to the end offsets it has now:
// the high watermarks, or with committed the last stable offsets, reading
// read_committed. Control records count towards the end and are not
// returned.
func readUntil(t testing.TB, seeds []string, topic string, committed bool) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list := kadm.NewClient(cl).ListEndOffsets
	if committed {
		list = kadm.NewClient(cl).ListCommittedOffsets
	}
	ends, err := list(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: still waiting for partitions' ends %v", topic, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// ReadValues is ReadRecords of one topic with the defaults, returning the
// values.
func ReadValues(t testing.TB, seeds []string, topic string, want int) []string {
	t.Helper()
	var out []string
	for _, r := range ReadRecords(t, seeds, Until{Want: want}, topic) {
		out = append(out, string(r.Value))
	}
	return out
}

// EndOffsets returns how many records topic holds (the sum of its
// partitions' end offsets), 0 when it cannot tell.
func EndOffsets(adm *kadm.Client, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			n += o.Offset
		}
	})
	return n
}

// Seeds returns the seed brokers of the cluster a test runs against: the
// cluster KAFKA_BOOTSTRAP names (comma-separated host:port), or else a
// fresh in-process single-broker kfake cluster. Tests that use kfake's own
// controls call NewFake instead.
func Seeds(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv("KAFKA_BOOTSTRAP"); env != "" {
		return strings.Split(env, ",")
	}
	return NewFake(t).ListenAddrs()
}

// NewFake starts a fresh single-broker kfake cluster, closed when the test
// ends.
func NewFake(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TopicName returns a topic name no other test (or earlier run against a
// real cluster) uses, and deletes the topic when the test ends.
func TopicName(t testing.TB, seeds []string, base string) string {
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

// ReadCommitted reads topic from the start with isolation level
// read_committed, up to each partition's last stable offset as it was when
// called, and returns the records of committed transactions (and those
// written outside transactions) in the order read: what a read_committed
// consumer sees. It fails the test if that takes more than a minute.
func ReadCommitted(t testing.TB, seeds []string, topic string) []*kgo.Record {
	t.Helper()
	return readUntil(t, seeds, topic, true)
}
