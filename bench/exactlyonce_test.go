package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/offsets"
)

// BenchmarkExactlyOnce measures datagen → Kafka with exactly-once source
// support (records and offsets in Kafka transactions, KIP-618) divided by
// the same pipeline at least once, both on one broker in the same run
// (task in process, batch 1000, 100-byte values), at
// transaction.boundary=poll (a transaction per batch) and interval (one
// per second, offset.flush.interval.ms as at least once). Exactly once, a
// run ends when the offset of the last record is committed (what a
// read_committed consumer sees); at least once, when the topic holds every
// record. Goal: interval ≥ 0.7. It also reports the mean time one
// transaction commit takes (flush, offsets, EndTxn), which is what exactly
// once adds to each boundary.
func BenchmarkExactlyOnce(b *testing.B) {
	const count, size = 2_000_000, 100
	var alos, poll, interval, pollMs, intervalMs float64
	for i := 0; i < b.N; i++ {
		// At least once runs before and after the exactly-once runs, and
		// the ratio uses the mean of the two: the machine is shared, and
		// its load drifts within a run.
		p := newPipeline(b, false)
		before := p.runDatagen(b, fmt.Sprintf("alos%d", i), count, 1000, size)
		e := newEOSWorker(b, p)
		poll, pollMs = e.run(b, p, fmt.Sprintf("poll%d", i), count, size, map[string]string{"transaction.boundary": "poll"})
		interval, intervalMs = e.run(b, p, fmt.Sprintf("interval%d", i), count, size, map[string]string{"transaction.boundary": "interval"})
		after := p.runDatagen(b, fmt.Sprintf("alos-after%d", i), count, 1000, size)
		alos = (before + after) / 2
		e.close()
		p.close()
	}
	b.ReportMetric(alos, "alos-rec/s")
	b.ReportMetric(poll, "eos-poll-rec/s")
	b.ReportMetric(interval, "eos-interval-rec/s")
	b.ReportMetric(poll/alos, "poll-ratio")
	b.ReportMetric(interval/alos, "interval-ratio")
	b.ReportMetric(pollMs, "poll-commit-ms")
	b.ReportMetric(intervalMs, "interval-commit-ms")
	b.Logf("exactly once / at least once: poll %.0f / %.0f rec/s = %.3f (commit %.2f ms); interval %.0f / %.0f rec/s = %.3f (goal >= 0.7; commit %.2f ms)",
		poll, alos, poll/alos, pollMs, interval, alos, interval/alos, intervalMs)
}

// eosWorker is a worker with exactly.once.source.support=enabled on a
// pipeline's broker, its offsets in a topic read read_committed.
type eosWorker struct {
	w     *runtime.Worker
	h     *runtime.Standalone
	store *offsets.Kafka
}

func newEOSWorker(b *testing.B, p *pipeline) *eosWorker {
	b.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := runtime.ParseWorkerConfig(map[string]string{
		runtime.KeyBootstrapServers:    strings.Join(p.cluster.ListenAddrs(), ","),
		runtime.KeyPluginIsolation:     "none",
		runtime.KeyOffsetFlushInterval: "1000",
	}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := runtime.NewRegistry(context.Background(), map[string]plugin.Plugin{"datagen": datagenPlugin}, false, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	store, err := offsets.NewKafka(context.Background(), offsets.KafkaOptions{
		ClientOpts: runtime.BaseKafkaOpts(cfg), Topic: "connect-offsets", Partitions: 1, ReadCommitted: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	w := runtime.NewWorker("bench-eos:0", cfg, reg, store, quiet)
	w.ExactlyOnce = runtime.ExactlyOnce{Mode: runtime.ExactlyOnceEnabled, GroupID: "bench"}
	h, err := runtime.NewStandalone(context.Background(), w, &runtime.MemoryConfigStore{})
	if err != nil {
		b.Fatal(err)
	}
	return &eosWorker{w: w, h: h, store: store}
}

func (e *eosWorker) close() {
	e.h.Close()
	e.store.Close()
}

// run runs a bounded datagen connector exactly once and returns records
// per second from creation until the last record's offset is committed,
// and the mean transaction commit time in ms.
func (e *eosWorker) run(b *testing.B, p *pipeline, name string, count, size int, extra map[string]string) (float64, float64) {
	b.Helper()
	cfg := map[string]string{
		"name": name, "connector.class": "datagen", "topic": name, "count": fmt.Sprint(count),
		"batch.size": "1000", "record.size": fmt.Sprint(size), "schema": "bytes",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
		"key.converter":   "org.apache.kafka.connect.converters.ByteArrayConverter",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	p.createTopic(b, name)
	ctx := context.Background()
	want := fmt.Sprintf(`{"seq":%d}`, count-1)
	start := time.Now()
	if _, _, err := e.h.PutConnectorConfig(ctx, name, cfg, false); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(5 * time.Minute)
	for {
		es, err := e.store.Load(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		if len(es) == 1 && string(es[0].Offset) == want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: last record not committed after 5 minutes: %v", name, es)
		}
		st, _ := e.h.TaskStatus(ctx, herder.TaskID{Connector: name, Task: 0})
		if st.State == herder.Failed {
			b.Fatalf("%s failed: %s", name, st.Trace)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if err := e.h.DeleteConnector(ctx, name); err != nil {
		b.Fatal(err)
	}
	return float64(count) / elapsed.Seconds(), e.meanCommitMs(b, name)
}

// meanCommitMs reads the connector's transaction commit histogram.
func (e *eosWorker) meanCommitMs(b *testing.B, connector string) float64 {
	mfs, err := e.w.Metrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "connectd_source_task_transaction_commit_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, "connector", connector) {
				h := m.GetHistogram()
				if h.GetSampleCount() == 0 {
					return 0
				}
				return h.GetSampleSum() / float64(h.GetSampleCount()) * 1000
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
