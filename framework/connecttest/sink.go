package connecttest

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/plugin"
)

// SinkCase configures the sink suite for one connector.
type SinkCase struct {
	// Config is a valid connector config (with topics). It must make every
	// record put durable by the flush that follows: for a task that buffers
	// across flushes (connect.PreCommitter), e.g. a flush size equal to the
	// number of Records.
	Config map[string]string
	// Prepare runs before each mode and returns the Config to use (nil: as is).
	Prepare func(t *testing.T) map[string]string
	// Records are JSON values (schemas off) to put, on topic Config["topics"].
	Records []string
	// Check reads the external system after Flush and returns what it
	// holds, in order; it must equal Want.
	Check func(t *testing.T, cfg map[string]string) []string
	Want  []string
}

// Sink runs the sink contract suite in-process and over a plugin process:
// describe and validate; split into tasks; open partitions; put the records
// in two batches and an empty one (the worker's tick while idle); flush (or
// pre-commit), after which every offset must be reported durable and the
// external system hold exactly the records (Check); close and stop.
func Sink(t *testing.T, p plugin.Plugin, sc SinkCase) {
	for _, mode := range Modes {
		t.Run(string(mode), func(t *testing.T) {
			cfg := sc.Config
			if sc.Prepare != nil {
				if c := sc.Prepare(t); c != nil {
					cfg = c
				}
			}
			cfg = withConverters(cfg)
			checkInfo(t, Open(t, p, mode), p, plugin.Sink, cfg)
			tcs := taskConfigs(t, Open(t, p, mode), cfg, 1)
			taskCfg := merge(cfg, tcs[0])

			ctx := context.Background()
			c := Open(t, p, mode)
			if err := c.SinkStart(ctx, taskCfg); err != nil {
				t.Fatalf("SinkStart: %v", err)
			}
			topic := connect.SplitList(cfg["topics"])[0]
			tp := connect.TopicPartition{Topic: topic, Partition: 0}
			if err := c.SinkOpen(ctx, []connect.TopicPartition{tp}); err != nil {
				t.Fatalf("SinkOpen: %v", err)
			}
			recs := make([]plugin.Record, len(sc.Records))
			for i, v := range sc.Records {
				recs[i] = plugin.Record{Topic: topic, Partition: 0, Offset: int64(i), Value: []byte(v), TimestampMs: 1700000000000 + int64(i)}
			}
			half := len(recs) / 2
			for _, batch := range [][]plugin.Record{recs[:half], recs[half:], nil} {
				failed, err := c.SinkPut(ctx, batch)
				if err != nil {
					t.Fatalf("SinkPut: %v", err)
				}
				if len(failed) > 0 {
					t.Fatalf("SinkPut rejected records: %v", failed[0].Err)
				}
			}
			given := map[connect.TopicPartition]int64{tp: int64(len(recs))}
			durable, err := c.SinkFlush(ctx, given)
			if err != nil {
				t.Fatalf("SinkFlush: %v", err)
			}
			if !maps.Equal(durable, given) {
				t.Fatalf("after the flush the task reports offsets %v durable, want %v (a SinkCase's Config must make every record durable by then)", durable, given)
			}
			if sc.Check != nil {
				got := sc.Check(t, taskCfg)
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", sc.Want) {
					t.Fatalf("after Flush the sink holds %q, want %q", got, sc.Want)
				}
			}
			if err := c.SinkClose(ctx, []connect.TopicPartition{tp}); err != nil {
				t.Fatalf("SinkClose: %v", err)
			}
			if err := c.SinkStop(ctx); err != nil {
				t.Fatalf("SinkStop: %v", err)
			}
		})
	}
}
