package plugin

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSinkPut puts batches of 1000 records of 100 bytes to two sink
// tasks in one plugin process, in turns: one takes them over its data
// channel, the other over unary gRPC SinkPut (what a plugin built before
// sink data channels gets). It reports each path's time per record and
// gRPC ÷ data channel; an op is one batch to each:
//
//	go test ./framework/plugin -run '^$' -bench SinkPut -benchtime 2000x -count 5
func BenchmarkSinkPut(b *testing.B) {
	h := launchHost(b, "judge")
	ctx := context.Background()
	chanClient, grpcClient := open(b, h, "judge-chan"), open(b, h, "judge-grpc")
	grpcClient.(*remote).sink = nil
	for _, c := range []Client{chanClient, grpcClient} {
		if err := c.SinkStart(ctx, withRaw(nil)); err != nil {
			b.Fatal(err)
		}
	}
	batch := make([]Record, 1000)
	for j := range batch {
		batch[j] = Record{Topic: "in", Partition: 1, Offset: int64(j), Key: []byte("key"), Value: make([]byte, 100), TimestampMs: 1700000000000}
	}
	var spent [2]time.Duration
	b.ResetTimer()
	for range b.N {
		for i, c := range []Client{chanClient, grpcClient} {
			start := time.Now()
			if _, err := c.SinkPut(ctx, batch); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	records := float64(b.N * len(batch))
	b.ReportMetric(float64(spent[0].Nanoseconds())/records, "chan-ns/rec")
	b.ReportMetric(float64(spent[1].Nanoseconds())/records, "grpc-ns/rec")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "grpc/chan")
}
