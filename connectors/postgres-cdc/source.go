package postgrescdc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// idlePoll is how long Poll waits for records before it returns none, as
// the SDK asks.
const idlePoll = time.Second

// batchOrErr is what the capture goroutine hands Poll.
type batchOrErr struct {
	recs []*connect.Record
	err  error
}

// SourceTask captures the changes of one database. It is the connector's
// only task: a replication slot has one reader.
//
// Start only parses the configuration and the stored offset; a goroutine
// owned by the task connects, creates the slot and the publication when
// needed, takes the snapshot and streams, reconnecting with backoff when
// the server goes away. Poll takes the batches it produced. Commit records
// which positions the framework stored; the goroutine confirms them to the
// server, so the slot never moves past what Kafka holds.
type SourceTask struct {
	cfg *config
	log *slog.Logger
	em  *emitter

	// Set at Start from the stored offset; read by the capture goroutine.
	stored *storedOffset

	out    chan batchOrErr
	cancel context.CancelFunc
	done   chan struct{}
	failed error // a fatal error Poll returned; Poll keeps returning it

	// confirmed is the newest LSN the framework stored an offset for.
	confirmed atomic.Uint64
	// prog is what Progress reports; the capture goroutine updates it.
	prog *taskProgress

	stopOnce sync.Once
	now      func() time.Time
}

var (
	_ connect.SourceTask       = (*SourceTask)(nil)
	_ connect.Committer        = (*SourceTask)(nil)
	_ connect.ProgressReporter = (*SourceTask)(nil)
)

// Start parses the configuration, reads the stored offset and starts the
// capture goroutine. It does not reach the database: connection problems
// are retried in the background and logged; conditions that need an
// operator (a dropped slot, lost WAL, missing privileges) fail the task
// at its next Poll.
func (t *SourceTask) Start(_ context.Context, raw map[string]string, offsets connect.OffsetReader) error {
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	t.cfg = cfg
	t.log = slog.Default().With("connector", raw["name"], "task", 0, "plugin", Name)
	if t.now == nil {
		t.now = time.Now
	}
	partition := map[string]any{partitionServer: cfg.prefix}
	t.em = &emitter{cfg: cfg, version: Version, partition: partition, now: t.now}
	t.stored = nil
	if offsets != nil {
		if off := offsets.Offset(partition); off != nil {
			s, err := parseStoredOffset(off)
			if err != nil {
				return fmt.Errorf("postgres-cdc: stored offset of server %s: %w", cfg.prefix, err)
			}
			t.stored = &s
			if !s.snapshot {
				t.confirmed.Store(s.pos.commit)
			}
		}
	}
	t.out = make(chan batchOrErr, 4)
	t.done = make(chan struct{})
	t.failed = nil
	t.prog = &taskProgress{}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	c := newCapture(t)
	go func() {
		defer close(t.done)
		err := c.run(ctx)
		if err != nil && ctx.Err() == nil {
			select {
			case t.out <- batchOrErr{err: err}:
			case <-ctx.Done():
			}
		}
	}()
	return nil
}

// Poll returns the next batch, or none after about a second. An error the
// capture cannot recover from fails the task; its message says what to do.
func (t *SourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.failed != nil {
		return nil, t.failed
	}
	if t.out == nil {
		return nil, connect.ErrStopped
	}
	timer := time.NewTimer(idlePoll)
	defer timer.Stop()
	select {
	case b := <-t.out:
		if b.err != nil {
			t.failed = b.err
			return nil, b.err
		}
		return b.recs, nil
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, nil
	}
}

// Commit learns which offsets the framework stored (after Kafka
// acknowledged their records). The capture goroutine confirms the newest
// one's LSN to the server within a second. It never blocks.
func (t *SourceTask) Commit(_ context.Context, offsets []connect.SourceOffset) error {
	if t.cfg == nil {
		return nil
	}
	for _, o := range offsets {
		if p, _ := o.Partition[partitionServer].(string); p != t.cfg.prefix {
			continue
		}
		if lsn, ok := confirmable(o.Offset); ok {
			for {
				cur := t.confirmed.Load()
				if lsn <= cur || t.confirmed.CompareAndSwap(cur, lsn) {
					break
				}
			}
		}
	}
	return nil
}

// Stop ends the capture goroutine and closes its connections; with
// slot.drop.on.stop it drops the slot.
func (t *SourceTask) Stop(ctx context.Context) error {
	var err error
	t.stopOnce.Do(func() {
		if t.cancel == nil {
			return
		}
		t.cancel()
		select {
		case <-t.done:
		case <-ctx.Done():
			err = fmt.Errorf("postgres-cdc: stop: %w", ctx.Err())
			return
		}
		if t.cfg.dropSlotOnStop {
			err = t.dropSlot()
		}
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// dropSlot drops the task's slot once its walsender has let go of it,
// trying for ten seconds.
func (t *SourceTask) dropSlot() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := t.cfg.connect(ctx, false)
	if err != nil {
		return fmt.Errorf("postgres-cdc: drop slot %s on stop: %w", t.cfg.slot, err)
	}
	defer conn.Close(context.Background())
	for {
		err = dropSlot(ctx, conn, t.cfg.slot)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres-cdc: drop slot %s on stop: %w", t.cfg.slot, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
