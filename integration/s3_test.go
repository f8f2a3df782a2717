package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/testserver"
)

// s3Bucket is a bucket of a versitygw started for one test.
type s3Bucket struct {
	gw     *testserver.VersityGW
	name   string
	client *s3.Client
}

func newS3Bucket(t *testing.T) *s3Bucket {
	t.Helper()
	gw := testserver.StartVersityGW(t)
	gw.CreateBucket(t, "sink")
	return &s3Bucket{gw: gw, name: "sink", client: gw.Client()}
}

// sinkConfig is an S3 sink config for the bucket, with overrides.
func (b *s3Bucket) sinkConfig(topic string, kv ...string) map[string]string {
	cfg := map[string]string{
		"connector.class": "io.confluent.connect.s3.S3SinkConnector", "topics": topic,
		"s3.bucket.name": b.name, "store.url": b.gw.URL, "aws.access.key.id": b.gw.AccessKey, "aws.secret.access.key": b.gw.SecretKey,
		"format.class":    "io.confluent.connect.s3.format.json.JsonFormat",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return cfg
}

// objects returns every object of the bucket by key.
func (b *s3Bucket) objects(t *testing.T) map[string][]byte {
	t.Helper()
	return b.gw.Objects(t, b.name)
}

// jsonIDs returns how often each "id" appears in the JSON-lines objects.
func jsonIDs(t *testing.T, objs map[string][]byte) (map[int64]int, int) {
	t.Helper()
	ids := map[int64]int{}
	n := 0
	for key, body := range objs {
		for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			var v struct {
				ID int64 `json:"id"`
			}
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("%s: line %q: %v", key, line, err)
			}
			ids[v.ID]++
			n++
		}
	}
	return ids, n
}

// produceIDs writes records {"id":i} for i in [from, to) to topic, record
// i to partition i mod partitions.
func produceIDs(t *testing.T, bootstrap, topic string, partitions, from, to int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	var firstErr error
	var mu sync.Mutex
	for i := from; i < to; i++ {
		r := &kgo.Record{Partition: int32(i % partitions), Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf(`{"id":%d,"pad":"%s"}`, i, strings.Repeat("p", 100)))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func createTopic(t *testing.T, bootstrap, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

// waitIDs waits until the sink's consumer group has committed all n
// records of topic (so the task reported them in uploaded objects), then
// returns the ids the bucket holds and its objects.
func (b *s3Bucket) waitIDs(t *testing.T, p *devProcess, name, topic string, n int) (map[int64]int, map[string][]byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	waitFor(t, 3*time.Minute, fmt.Sprintf("%d records of %s committed", n, topic), func() (bool, string) {
		if st, err := p.client.TaskStatus(context.Background(), name, 0); err == nil && st.State == herder.Failed {
			t.Fatalf("task failed: %s", st.Trace)
		}
		offs, err := adm.FetchOffsets(context.Background(), "connect-"+name)
		if err != nil {
			return false, err.Error()
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic {
				sum += o.At
			}
		})
		return sum == int64(n), fmt.Sprint(sum)
	})
	objs := b.objects(t)
	ids, _ := jsonIDs(t, objs)
	return ids, objs
}

// checkExactlyOnce fails unless ids holds each of 0..n-1 exactly once.
func checkExactlyOnce(t *testing.T, ids map[int64]int, n int) {
	t.Helper()
	var missing, dup []int64
	for i := int64(0); i < int64(n); i++ {
		switch ids[i] {
		case 0:
			missing = append(missing, i)
		case 1:
		default:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(ids) != n {
		t.Fatalf("%d distinct ids for %d records: %d missing (%v…), %d repeated (%v…)", len(ids), n, len(missing), head(missing), len(dup), head(dup))
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 5)] }

// TestS3SinkKillExactlyOnce kills the worker (-9) while the sink is
// mid-stream, then starts it again: under a deterministic config (default
// partitioner, size rotation) the bucket ends with every record exactly
// once, and no object written before the kill changed — with conditional
// writes (the restarted task continues after the objects it finds) and
// without (it writes the same objects again, byte for byte).
func TestS3SinkKillExactlyOnce(t *testing.T) {
	for _, conditional := range []string{"true", "false"} {
		t.Run("conditional="+conditional, func(t *testing.T) {
			b := newS3Bucket(t)
			opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
			p := startDev(t, opts)
			const n = 60000
			createTopic(t, p.bootstrap, "orders", 3)
			produceIDs(t, p.bootstrap, "orders", 3, 0, n)
			ctx := context.Background()
			cfg := b.sinkConfig("orders", "flush.size", "500", "s3.upload.concurrency", "2", "enable.conditional.writes", conditional)
			if _, err := p.client.CreateConnector(ctx, "s3", cfg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 2*time.Minute, "the first objects", func() (bool, string) {
				objs := b.objects(t)
				return len(objs) >= 10, fmt.Sprint(len(objs))
			})
			before := b.objects(t)
			p.KillNow()
			p = startDev(t, opts)
			p.waitTask("s3", 0, herder.Running, "")
			ids, objs := b.waitIDs(t, p, "s3", "orders", n)
			checkExactlyOnce(t, ids, n)
			for k, v := range before {
				if !bytes.Equal(objs[k], v) {
					t.Fatalf("object %s changed after the restart", k)
				}
			}
			if len(before) == len(objs) {
				t.Fatal("the kill came after the last object: not mid-stream")
			}
			p.stop()
		})
	}
}

// TestS3SinkKillScheduledRotation kills the worker mid-stream under
// scheduled (wall-clock) rotation, whose cuts a replay cannot repeat: no
// record is lost, no object written before the kill is replaced, and —
// as the restarted task continues after the objects it finds — no record
// lands twice. The schedule also closes the last files once the topic
// goes idle.
func TestS3SinkKillScheduledRotation(t *testing.T) {
	b := newS3Bucket(t)
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	createTopic(t, p.bootstrap, "events", 3)
	ctx := context.Background()
	cfg := b.sinkConfig("events", "flush.size", "100000", "rotate.schedule.interval.ms", "1000", "timezone", "Europe/Berlin")
	if _, err := p.client.CreateConnector(ctx, "s3", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("s3", 0, herder.Running, "")
	const n = 30000
	for i := 0; i < n/2; i += 1000 {
		produceIDs(t, p.bootstrap, "events", 3, i, i+1000)
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, time.Minute, "objects of the first half", func() (bool, string) {
		objs := b.objects(t)
		return len(objs) >= 6, fmt.Sprint(len(objs))
	})
	before := b.objects(t)
	p.KillNow()
	p = startDev(t, opts)
	p.waitTask("s3", 0, herder.Running, "")
	produceIDs(t, p.bootstrap, "events", 3, n/2, n)
	ids, objs := b.waitIDs(t, p, "s3", "events", n)
	for k, v := range before {
		if !bytes.Equal(objs[k], v) {
			t.Fatalf("object %s was replaced after the restart", k)
		}
	}
	checkExactlyOnce(t, ids, n)
	p.stop()
}

// TestS3SinkDeadLetterQueue: with errors.tolerance=all, records the format
// cannot hold (a string value for Parquet) and tombstones under
// behavior.on.null.values=fail go to the dead letter queue; the task keeps
// running and the bucket holds every other record.
func TestS3SinkDeadLetterQueue(t *testing.T) {
	b := newS3Bucket(t)
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	createTopic(t, p.bootstrap, "mixed", 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.bootstrap, ",")...), kgo.DefaultProduceTopic("mixed"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const good = 30
	var recs []*kgo.Record
	for i := 0; i < good; i++ {
		recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprintf(`{"schema":{"type":"struct","fields":[{"field":"id","type":"int64"}]},"payload":{"id":%d}}`, i))})
		if i%10 == 3 {
			recs = append(recs, &kgo.Record{Value: []byte(`{"schema":{"type":"string"},"payload":"not a row"}`)}, &kgo.Record{Key: []byte("k")})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := b.sinkConfig("mixed", "format.class", "io.confluent.connect.s3.format.parquet.ParquetFormat", "flush.size", "10",
		"value.converter.schemas.enable", "true", "errors.tolerance", "all", "errors.deadletterqueue.topic.name", "mixed-dlq", "errors.deadletterqueue.topic.replication.factor", "1")
	if _, err := p.client.CreateConnector(context.Background(), "s3", cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the dead letter queue", func() (bool, string) {
		if st, err := p.client.TaskStatus(context.Background(), "s3", 0); err == nil && st.State == herder.Failed {
			t.Fatalf("task failed: %s", st.Trace)
		}
		n := topicCount(t, p.bootstrap, "mixed-dlq")
		return n == 6, fmt.Sprint(n)
	})
	waitFor(t, time.Minute, "three objects", func() (bool, string) {
		objs := b.objects(t)
		return len(objs) == 3, fmt.Sprint(len(objs))
	})
	st, err := p.client.TaskStatus(context.Background(), "s3", 0)
	if err != nil || st.State != herder.Running {
		t.Fatalf("task after bad records: %+v %v", st, err)
	}
	p.stop()
}
