package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSourceReusedBatchesStayIntact runs a source task in a plugin process,
// whose batches the worker hands back for reuse once Kafka acknowledged
// them, over many frames: every record must arrive exactly once with its
// own key, value and header (a frame reused too early would mix records
// up), and the committed offset must be the last record's (the tracker
// must not keep pointers into reused frames).
func TestSourceReusedBatchesStayIntact(t *testing.T) {
	const count = 20000
	e := newEnv(t, "connector")
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": fmt.Sprint(count), "batch": "100",
		"key.converter": "org.apache.kafka.connect.storage.StringConverter"})

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.ConsumeTopics("t1"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := make(map[int64]int, count)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for n := 0; n < count; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%d of %d records after a minute", n, count)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			var key int64
			if _, err := fmt.Sscan(string(r.Key), &key); err != nil {
				t.Fatalf("key %q: %v", r.Key, err)
			}
			seen[key]++
			if want := fmt.Sprintf("0-%d", key); string(r.Value) != want {
				t.Errorf("record with key %d has value %q, want %q", key, r.Value, want)
			}
			if len(r.Headers) != 1 || r.Headers[0].Key != "n" || string(r.Headers[0].Value) != fmt.Sprint(key) {
				t.Errorf("record with key %d has headers %v", key, r.Headers)
			}
		})
	}
	for k := int64(0); k < count; k++ {
		if seen[k] != 1 {
			t.Fatalf("key %d arrived %d times", k, seen[k])
		}
	}
	waitFor(t, "the last offset committed", func() (bool, string) {
		c := e.committedN("c1")
		return c[`{"task":"0"}`] == count-1, fmt.Sprint(c)
	})
}
