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

// ReadValues reads topic from the start until it has seen at least want
// records and then nothing new for a second (so duplicates beyond want are
// seen too), or a minute has passed. It returns the values in the order
// read.
func ReadValues(t testing.TB, seeds []string, topic string, want int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	deadline := time.Now().Add(time.Minute)
	quiet := time.Now()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := len(out)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
		if len(out) > n {
			quiet = time.Now()
		}
		if len(out) >= want && time.Since(quiet) > time.Second {
			break
		}
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
