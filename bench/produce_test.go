package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/connectors/datagen"
	"github.com/connectd/connectd/framework/connect"
)

// BenchmarkProducePath measures datagen → Kafka through connectd (task in
// process, batch 1000) divided by a raw franz-go producer writing the same
// records to the same broker: a loop that polls a datagen task directly and
// produces each value, with none of the framework in between. Goal ≥ 0.8.
// For context it also reports a producer writing one constant value, which
// leaves out the cost of generating records at all.
func BenchmarkProducePath(b *testing.B) {
	const count, size = 3_000_000, 100
	var connectd, raw, constant float64
	for i := 0; i < b.N; i++ {
		p := newPipeline(b, false)
		connectd = p.runDatagen(b, fmt.Sprintf("gen%d", i), count, 1000, size)
		raw = rawDatagen(b, p, fmt.Sprintf("raw%d", i), count, size)
		constant = rawConstant(b, p, fmt.Sprintf("const%d", i), count, size)
		p.close()
	}
	b.ReportMetric(connectd, "connectd-rec/s")
	b.ReportMetric(raw, "franz-go-rec/s")
	b.ReportMetric(constant, "constant-rec/s")
	b.ReportMetric(connectd/raw, "ratio")
	b.Logf("produce path: connectd %.0f rec/s / raw franz-go %.0f rec/s = %.3f (goal >= 0.8); constant-value producer %.0f rec/s", connectd, raw, connectd/raw, constant)
}

// rawClient is the peer's producer, set up as the worker's: batches up to
// 1 MiB, no compression (Kafka's default, and the worker's).
func rawClient(b *testing.B, p *pipeline, topic string) *kgo.Client {
	p.createTopic(b, topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cluster.ListenAddrs()...), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

// rawDatagen polls a datagen task with the benchmark's settings and
// produces every value with a plain franz-go producer.
func rawDatagen(b *testing.B, p *pipeline, topic string, count, size int) float64 {
	cl := rawClient(b, p, topic)
	defer cl.Close()
	ctx := context.Background()
	cfg := map[string]string{"name": topic, "topic": topic, "count": fmt.Sprint(count), "batch.size": "1000", "record.size": fmt.Sprint(size), "schema": "bytes"}
	conn := datagen.NewSource()
	if err := conn.Start(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	tcs, err := conn.TaskConfigs(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range cfg {
		if _, ok := tcs[0][k]; !ok {
			tcs[0][k] = v
		}
	}
	task := conn.NewTask()
	if err := task.Start(ctx, tcs[0], noOffsets{}); err != nil {
		b.Fatal(err)
	}
	defer task.Stop(ctx)
	start := time.Now()
	var wg sync.WaitGroup
	for n := 0; n < count; {
		recs, err := task.Poll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: topic, Value: r.Value.([]byte)}, func(_ *kgo.Record, err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			})
		}
		n += len(recs)
	}
	wg.Wait()
	return float64(count) / time.Since(start).Seconds()
}

type noOffsets struct{}

func (noOffsets) Offset(map[string]any) map[string]any { return nil }

var _ connect.OffsetReader = noOffsets{}

// rawConstant produces count copies of one value.
func rawConstant(b *testing.B, p *pipeline, topic string, count, size int) float64 {
	cl := rawClient(b, p, topic)
	defer cl.Close()
	value := make([]byte, size)
	for i := range value {
		value[i] = 'x'
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(count)
	for i := 0; i < count; i++ {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	return float64(count) / time.Since(start).Seconds()
}
