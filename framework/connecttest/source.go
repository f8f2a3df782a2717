package connecttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/plugin"
)

// SourceCase configures the source suite for one connector.
type SourceCase struct {
	// Config is a valid connector config.
	Config map[string]string
	// MaxTasks is passed to TaskConfigs (default 1).
	MaxTasks int
	// MinRecords is how many records the first task must produce within
	// Timeout (default 10, and Timeout 30s).
	MinRecords int
	Timeout    time.Duration
	// Prepare runs before each mode, e.g. to write input files; it returns
	// the Config to use (nil: Config as is).
	Prepare func(t *testing.T) map[string]string
}

// Source runs the source contract suite in-process and over a plugin process:
//   - the plugin describes itself, documents every key, validates a good
//     config clean and names every missing required key;
//   - the connector splits work into at most tasks.max configs;
//   - a task produces records with a topic, JSON-encodable source positions,
//     and values the converter could write;
//   - a task restarted from the offset of the last record it produced does
//     not produce that record again;
//   - Stop returns promptly, also while Poll waits.
func Source(t *testing.T, p plugin.Plugin, sc SourceCase) {
	if sc.MaxTasks == 0 {
		sc.MaxTasks = 1
	}
	if sc.MinRecords == 0 {
		sc.MinRecords = 10
	}
	if sc.Timeout == 0 {
		sc.Timeout = 30 * time.Second
	}
	t.Run("resume", func(t *testing.T) {
		cfg := sc.Config
		if sc.Prepare != nil {
			if c := sc.Prepare(t); c != nil {
				cfg = c
			}
		}
		checkResume(t, p, withConverters(cfg), sc)
	})
	for _, mode := range Modes {
		t.Run(string(mode), func(t *testing.T) {
			cfg := sc.Config
			if sc.Prepare != nil {
				if c := sc.Prepare(t); c != nil {
					cfg = c
				}
			}
			cfg = withConverters(cfg)
			checkInfo(t, Open(t, p, mode), p, plugin.Source, cfg)
			tcs := taskConfigs(t, Open(t, p, mode), cfg, sc.MaxTasks)
			taskCfg := merge(cfg, tcs[0])

			first := pollN(t, Open(t, p, mode), taskCfg, nil, sc.MinRecords, sc.Timeout)
			// Offsets cross the boundary: a task started with the offset
			// of an early record it produced goes on producing.
			if last := oldestOffset(first); last != nil && last != &first[len(first)-1] {
				part, _ := plugin.DecodeMap(last.SourcePartition)
				off, _ := plugin.DecodeMap(last.SourceOffset)
				pollN(t, Open(t, p, mode), taskCfg, []connect.SourceOffset{{Partition: part, Offset: off}}, 1, sc.Timeout)
			}
		})
	}
}

// oldestOffset returns the first record that carries an offset, or nil.
func oldestOffset(rs []plugin.Record) *plugin.Record {
	for i := range rs {
		if rs[i].SourceOffset != nil {
			return &rs[i]
		}
	}
	return nil
}

// pollN starts a task, polls until it has n records, then stops it.
func pollN(t *testing.T, c plugin.Client, cfg map[string]string, offsets []connect.SourceOffset, n int, timeout time.Duration) []plugin.Record {
	t.Helper()
	ctx := context.Background()
	if err := c.SourceStart(ctx, cfg, offsets); err != nil {
		t.Fatalf("SourceStart: %v", err)
	}
	var out []plugin.Record
	deadline := time.Now().Add(timeout)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d records in %s, want at least %d", len(out), timeout, n)
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		batch, err := c.SourcePoll(pctx)
		cancel()
		if err != nil && pctx.Err() == nil {
			t.Fatalf("SourcePoll: %v", err)
		}
		for _, r := range batch {
			if err := checkSourceRecord(r); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, batch...)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- c.SourceStop(ctx) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("SourceStop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SourceStop did not return within 10s")
	}
	return out
}

func checkSourceRecord(r plugin.Record) error {
	if r.Err != nil {
		return fmt.Errorf("record failed in the plugin: %v", r.Err)
	}
	if r.Topic == "" {
		return fmt.Errorf("record has no topic")
	}
	if r.SourcePartition != nil && !isJSON(r.SourcePartition) {
		return fmt.Errorf("source partition %q is not JSON", r.SourcePartition)
	}
	if r.SourceOffset != nil && !isJSON(r.SourceOffset) {
		return fmt.Errorf("source offset %q is not JSON", r.SourceOffset)
	}
	if r.Value != nil && !isJSON(r.Value) {
		return fmt.Errorf("value %q is not what the JSON converter writes", r.Value)
	}
	return nil
}

// checkResume restarts the task, through the SDK interface, from the offset
// of a record in the middle of what a first run produced: the next record
// of that source partition must be the one that followed it the first
// time, nothing skipped, nothing repeated.
func checkResume(t *testing.T, p plugin.Plugin, cfg map[string]string, sc SourceCase) {
	ctx := context.Background()
	conn := p.NewSource()
	if err := conn.Start(ctx, cfg); err != nil {
		t.Fatalf("Start: %v", err)
	}
	tcs, err := conn.TaskConfigs(ctx, sc.MaxTasks)
	if err != nil || len(tcs) == 0 {
		t.Fatalf("TaskConfigs: %v (%d configs)", err, len(tcs))
	}
	conn.Stop(ctx)
	taskCfg := merge(cfg, tcs[0])
	first := pollTask(t, p, taskCfg, nil, sc.MinRecords, sc.Timeout)
	k := len(first) / 2
	mid := first[k]
	if mid.SourcePartition == nil || mid.SourceOffset == nil {
		return // the connector keeps no offsets
	}
	midPart, _ := plugin.EncodeMap(mid.SourcePartition)
	var next *connect.Record
	for _, r := range first[k+1:] {
		if p, _ := plugin.EncodeMap(r.SourcePartition); string(p) == string(midPart) {
			next = r
			break
		}
	}
	if next == nil {
		t.Fatalf("the first run produced nothing after record %d of partition %s; raise MinRecords", k, midPart)
	}
	resumed := pollTask(t, p, taskCfg, singleOffset{part: midPart, off: mid.SourceOffset}, 1, sc.Timeout)
	for _, r := range resumed {
		if p, _ := plugin.EncodeMap(r.SourcePartition); string(p) != string(midPart) {
			continue
		}
		got, _ := plugin.EncodeMap(r.SourceOffset)
		want, _ := plugin.EncodeMap(next.SourceOffset)
		if string(got) != string(want) {
			midOff, _ := plugin.EncodeMap(mid.SourceOffset)
			t.Fatalf("resumed from offset %s, the next record has offset %s, want %s", midOff, got, want)
		}
		return
	}
}

type singleOffset struct {
	part []byte
	off  map[string]any
}

func (s singleOffset) Offset(p map[string]any) map[string]any {
	if b, _ := plugin.EncodeMap(p); string(b) == string(s.part) {
		return s.off
	}
	return nil
}

// pollTask runs the SDK task directly until it has n records.
func pollTask(t *testing.T, p plugin.Plugin, cfg map[string]string, offsets connect.OffsetReader, n int, timeout time.Duration) []*connect.Record {
	t.Helper()
	ctx := context.Background()
	if offsets == nil {
		offsets = singleOffset{}
	}
	task := p.NewSource().NewTask()
	if err := task.Start(ctx, cfg, offsets); err != nil {
		t.Fatalf("task Start: %v", err)
	}
	defer task.Stop(ctx)
	var out []*connect.Record
	deadline := time.Now().Add(timeout)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("task produced %d records in %s, want at least %d", len(out), timeout, n)
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		recs, err := task.Poll(pctx)
		cancel()
		if err != nil && pctx.Err() == nil {
			t.Fatalf("task Poll: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}
