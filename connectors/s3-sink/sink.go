package s3sink

import (
	"context"
	"log/slog"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// sinkTask writes the records of its topic partitions to S3 objects.
type sinkTask struct {
	cfg     *config
	st      *store
	w       *writer
	stopped bool
	release func() // gives back the task's share of the memory limit
}

var (
	_ connect.SinkTask         = (*sinkTask)(nil)
	_ connect.PartitionAware   = (*sinkTask)(nil)
	_ connect.ProgressReporter = (*sinkTask)(nil)
	_ connect.PreCommitter     = (*sinkTask)(nil)
)

func (t *sinkTask) Start(ctx context.Context, raw map[string]string) error {
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	st, err := newStore(ctx, cfg)
	if err != nil {
		return err
	}
	log := slog.Default().With("connector", raw["name"], "plugin", Name)
	w, err := newWriter(cfg, st, log)
	if err != nil {
		st.close()
		return err
	}
	t.cfg, t.st, t.w, t.stopped = cfg, st, w, false
	t.release = reserveMemory(cfg.memoryBudget)
	return nil
}

// Put writes the records into their files; files that are due close and
// upload. An empty batch (the worker's idle tick) closes due files only.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	if t.stopped {
		return connect.ErrStopped
	}
	return t.w.put(ctx, records)
}

// PreCommit returns, per partition, the offset before which every record
// is in an uploaded object. While records flow it reports the uploads done
// so far and does not wait for those under way (they would stall the
// worker's loop at every commit); once the topic is idle (the last put was
// the worker's empty tick, or the flush that follows the last records) it
// waits for them, so the commit catches up with everything closed.
func (t *sinkTask) PreCommit(_ context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if t.stopped {
		return nil, connect.ErrStopped
	}
	if t.w.idle {
		t.w.wait()
	}
	if t.w.fatal != nil {
		return nil, t.w.fatal
	}
	out := t.w.committable(offsets)
	t.w.publish()
	return out, nil
}

// Flush is the commit path of a framework that does not call PreCommit:
// every open file is closed and uploaded.
func (t *sinkTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if t.stopped {
		return connect.ErrStopped
	}
	return t.w.flushAll()
}

func (t *sinkTask) Open(_ context.Context, tps []connect.TopicPartition) error {
	for _, tp := range tps {
		t.w.state(tp)
	}
	return nil
}

// Close drops the partitions' open files: the next owner writes their
// records again from the committed offset.
func (t *sinkTask) Close(_ context.Context, tps []connect.TopicPartition) error {
	t.w.closePartitions(tps)
	return nil
}

// Stop drops open files and waits for the uploads under way.
func (t *sinkTask) Stop(context.Context) error {
	if t.stopped || t.w == nil {
		t.stopped = true
		return nil
	}
	t.stopped = true
	t.w.stop()
	t.st.close()
	t.release()
	return nil
}

// Progress shows the task's files and uploads in its REST status.
func (t *sinkTask) Progress() map[string]any {
	if t.w == nil {
		return nil
	}
	s := &t.w.stats
	p := map[string]any{
		"open_files":        s.openFiles.Load(),
		"buffered_bytes":    s.buffered.Load(),
		"memory_budget":     t.cfg.memoryBudget,
		"uploads_in_flight": s.inFlight.Load(),
		"objects_uploaded":  s.uploaded.Load(),
		"bytes_uploaded":    s.uploadBytes.Load(),
		"early_closes":      s.earlyCloses.Load(),
		"replay_skipped":    s.skipped.Load(),
	}
	if ms := s.lastUpload.Load(); ms > 0 {
		p["last_upload_time"] = time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	}
	return p
}
