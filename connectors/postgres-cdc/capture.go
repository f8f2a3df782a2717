package postgrescdc

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectd/connectd/framework/connect"
)

// capture is the state of the task's goroutine; only that goroutine
// touches it. It survives reconnects: a new session resumes from it.
type capture struct {
	t   *SourceTask
	cfg *config
	log *slog.Logger
	em  *emitter

	// Snapshot state.
	snapPending bool        // a snapshot is still to be taken or finished
	snapFresh   bool        // the slot is to be created with an exported snapshot
	snapTable   string      // resume in this table ("" = from the first table)
	snapRanges  []snapRange // how far each range of snapTable got; nil = from its start
	snapStart   position    // where streaming starts once it is done

	// Streaming state.
	sent       position       // the newest position handed to Poll
	sentOffset map[string]any // its offset
	lastEnd    uint64         // end LSN of the last whole transaction received (lsn_commit)
	tx         txContext      // transaction metadata of the transaction being handed on
	incr       *incremental   // the incremental snapshot, when signal.data.collection is set
	signals    *kafkaSignals  // the Kafka signal channel, when enabled
	started    bool           // streaming began in this task's life

	mapper *typeMapper
	types  *typeCatalog
	meta   *pgconn.PgConn // the session's regular connection
}

func newCapture(t *SourceTask) *capture {
	c := &capture{t: t, cfg: t.cfg, log: t.log, em: t.em}
	c.types = &typeCatalog{conn: func() *pgconn.PgConn { return c.meta }}
	if t.cfg.signalTable != nil || t.cfg.channels[ChannelKafka] {
		c.incr = newIncremental(c)
		t.prog.incr = c.incr
	}
	c.mapper = &typeMapper{hstoreMode: t.cfg.hstoreMode, decimalMode: t.cfg.decimalMode, timeMode: t.cfg.timeMode, placeholder: t.cfg.placeholder, lookup: c.types.lookup}
	return c
}

// run captures until ctx ends or a fatal error, reconnecting with backoff.
func (c *capture) run(ctx context.Context) error {
	if err := c.plan(ctx); err != nil {
		return err
	}
	if c.cfg.channels[ChannelKafka] {
		k, err := startKafkaSignals(c.cfg, c.log)
		if err != nil {
			return fatal(fmt.Errorf("postgres-cdc: %w", err))
		}
		c.signals = k
		defer k.stop()
	}
	backoff := 100 * time.Millisecond
	for {
		progressed, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			return nil
		}
		err = c.cfg.classify(err)
		if isFatal(err) {
			return err
		}
		if progressed {
			backoff = 100 * time.Millisecond
		}
		c.log.Warn("postgres-cdc: connection to the server lost; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.backoffMax)
	}
}

// plan decides, from the stored offset and snapshot.mode, whether a
// snapshot is due. The slot is checked at each session's start.
func (c *capture) plan(ctx context.Context) error {
	s := c.t.stored
	mode := c.cfg.snapshotMode
	switch {
	case s == nil:
		c.snapPending = mode != SnapshotNoData
		c.snapFresh = c.snapPending
	case s.snapshot:
		// An interrupted snapshot: resume it after the last stored row.
		c.snapPending = true
		c.snapTable, c.snapRanges = s.table, s.ranges
		c.snapStart = s.pos
		c.sent = s.pos
	default:
		c.sent = s.pos
		c.snapPending = mode == SnapshotAlways
		c.snapStart = s.pos
		c.tx = s.tx
		c.tx.counts = maps.Clone(s.tx.counts)
	}
	c.lastEnd = c.sent.commit
	if c.incr != nil && s != nil && !s.snapshot {
		c.incr.state = s.incr
	}
	return nil
}

// offsetFor renders a streaming position as its offset, with the
// transaction metadata and the incremental snapshot's state, as Debezium's
// offsets carry them.
func (c *capture) offsetFor(p position) map[string]any {
	m := p.offset()
	if c.cfg.txMetadata {
		c.tx.store(m)
	}
	if c.incr != nil {
		c.incr.store(m)
	}
	return m
}

// session runs one connection's worth of capture. progressed reports
// whether it got as far as streaming or snapshot rows, so the backoff
// starts over.
func (c *capture) session(ctx context.Context) (progressed bool, err error) {
	meta, err := c.cfg.connect(ctx, false)
	if err != nil {
		return false, err
	}
	c.meta = meta
	defer func() {
		c.meta = nil
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		meta.Close(cctx)
		cancel()
	}()
	stop := closeOnDone(ctx, meta)
	defer stop()
	repl, err := c.cfg.connect(ctx, true)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		repl.Close(cctx)
		cancel()
	}()
	stopRepl := closeOnDone(ctx, repl)
	defer stopRepl()

	if err := ensurePublication(ctx, meta, c.cfg); err != nil {
		return false, err
	}
	slot, err := readSlot(ctx, meta, c.cfg.slot)
	if err != nil {
		return false, err
	}
	if slot.exists && slot.plugin != "pgoutput" {
		return false, fatalf("postgres-cdc: replication slot %q uses plugin %s, not pgoutput; drop it or choose another slot.name", c.cfg.slot, slot.plugin)
	}
	if slot.exists && slot.database != c.cfg.dbname {
		return false, fatalf("postgres-cdc: replication slot %q belongs to database %s, not %s; choose another slot.name", c.cfg.slot, slot.database, c.cfg.dbname)
	}
	resuming := c.t.stored != nil || c.started
	if slot.exists && slot.walStatus == "lost" {
		if c.cfg.snapshotMode != SnapshotWhenNeeded {
			return false, fatalf("postgres-cdc: replication slot %q lost WAL it needs (wal_status=lost): the changes since "+
				"LSN %s are gone. Reset the connector's offsets and drop the slot to take a new snapshot, or set snapshot.mode=when_needed", c.cfg.slot, lsnString(c.sent.commit))
		}
		if err := dropSlot(ctx, meta, c.cfg.slot); err != nil {
			return false, err
		}
		slot.exists = false
	}
	if !slot.exists && resuming && !c.snapFresh {
		if c.cfg.snapshotMode != SnapshotWhenNeeded {
			return false, fatalf("postgres-cdc: replication slot %q does not exist, but the connector has offsets up to LSN %s: "+
				"the slot was dropped and the changes since are lost. Reset the connector's offsets (DELETE /connectors/<name>/offsets "+
				"while it is stopped) to take a new snapshot, or set snapshot.mode=when_needed", c.cfg.slot, lsnString(c.sent.commit))
		}
		c.log.Warn("postgres-cdc: replication slot missing; snapshot.mode=when_needed takes a new snapshot", "slot", c.cfg.slot)
		c.snapPending, c.snapFresh, c.snapTable, c.snapRanges = true, true, "", nil
	}
	if slot.exists && resuming && slot.confirmed > c.sent.commit && c.sent.commit != 0 {
		return false, fatalf("postgres-cdc: replication slot %q is confirmed up to LSN %s, past the connector's stored position %s: "+
			"another client advanced it and the changes between are lost. Reset the connector's offsets to take a new snapshot",
			c.cfg.slot, lsnString(slot.confirmed), lsnString(c.sent.commit))
	}

	c.snapFresh = false
	exported := ""
	if !slot.exists {
		res, err := createSlot(ctx, repl, c.cfg.slot, c.snapPending)
		if err != nil {
			return false, err
		}
		lsn, err := parseLSN(res.ConsistentPoint)
		if err != nil {
			return false, err
		}
		exported = res.SnapshotName
		slot.confirmed = lsn // the new slot's confirmed_flush_lsn
		c.snapStart = position{commit: lsn, tsUsec: c.t.now().UnixMicro()}
		if c.sent.commit < lsn {
			c.sent = position{commit: lsn}
		}
		c.log.Info("postgres-cdc: created replication slot", "slot", c.cfg.slot, "consistent_point", res.ConsistentPoint)
	} else if c.sent.commit == 0 {
		// No offsets and an existing slot: stream from where it stands.
		c.sent = position{commit: slot.confirmed}
		if c.snapStart.commit == 0 {
			c.snapStart = position{commit: slot.confirmed, tsUsec: c.t.now().UnixMicro()}
		}
	}
	if cur := c.t.confirmed.Load(); cur < slot.confirmed {
		c.t.confirmed.CompareAndSwap(cur, slot.confirmed)
	}

	if c.snapPending {
		if err := c.snapshot(ctx, meta, exported); err != nil {
			return true, err
		}
		c.snapPending = false
		progressed = true
	}
	if c.cfg.snapshotMode == SnapshotInitialOnly {
		c.t.prog.setPhase(phaseSnapshotDone)
		c.log.Info("postgres-cdc: snapshot.mode=initial_only: the snapshot is done and no changes are streamed")
		<-ctx.Done()
		return true, nil
	}
	c.started = true
	return c.stream(ctx, repl)
}

// emit hands a batch to Poll, keeping the replication connection alive
// (keepalive, every second) while Poll does not take it. It returns ctx's
// error when ctx ends first.
func (c *capture) emit(ctx context.Context, recs []*connect.Record, keepalive func() error) error {
	if len(recs) == 0 {
		return nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case c.t.out <- batchOrErr{recs: recs}:
			if c.started {
				c.t.prog.streamed(c.sent)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if keepalive != nil {
				if err := keepalive(); err != nil {
					return err
				}
			}
		}
	}
}

// closeOnDone closes conn's socket when ctx ends, so blocking reads
// return; the returned func stops watching.
func closeOnDone(ctx context.Context, conn *pgconn.PgConn) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			conn.Conn().Close()
		case <-stop:
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

func parseLSN(s string) (uint64, error) {
	var hi, lo uint64
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		return 0, fmt.Errorf("LSN %q: %w", s, err)
	}
	return hi<<32 | lo, nil
}
