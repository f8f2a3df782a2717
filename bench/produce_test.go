package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProducePath measures datagen → Kafka through connectd (task in
// process, batch 1000) divided by a raw franz-go producer writing as many
// records of the same size to the same broker. Goal ≥ 0.8.
func BenchmarkProducePath(b *testing.B) {
	const count, size = 1_000_000, 100
	var connectd, raw float64
	for i := 0; i < b.N; i++ {
		p := newPipeline(b, false)
		connectd = p.runDatagen(b, fmt.Sprintf("gen%d", i), count, 1000, size)
		raw = rawProduce(b, p, fmt.Sprintf("raw%d", i), count, size)
		p.close()
	}
	b.ReportMetric(connectd, "connectd-rec/s")
	b.ReportMetric(raw, "franz-go-rec/s")
	b.ReportMetric(connectd/raw, "ratio")
	b.Logf("produce path: connectd %.0f rec/s / raw franz-go %.0f rec/s = %.3f (goal >= 0.8)", connectd, raw, connectd/raw)
}

func rawProduce(b *testing.B, p *pipeline, topic string, count, size int) float64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cluster.ListenAddrs()...), kgo.AllowAutoTopicCreation(), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	p.createTopic(b, topic)
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
