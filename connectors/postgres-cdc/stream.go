package postgrescdc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/connectd/connectd/framework/connect"
)

// linger is how long a partly filled batch waits for more changes.
const linger = 20 * time.Millisecond

// txState is the transaction being received.
type txState struct {
	active     bool
	commit     uint64 // LSN of its commit record
	first      uint64 // LSN of its first change (of the Begin message)
	xid        uint32
	commitTime time.Time
}

// streamer decodes one replication connection's messages into records.
type streamer struct {
	c    *capture
	repl *pgconn.PgConn
	rels map[uint32]*table // nil value: a relation that is not captured

	tx       txState
	walEnd   uint64 // from the latest keepalive: everything committed before it was sent
	batch    []*connect.Record
	batchAt  time.Time
	deadline time.Time

	lastStatus    time.Time
	lastConfirmed uint64
	nextBeat      time.Time

	old, new row
}

// stream starts replication after the newest position handed on and runs
// until ctx ends or the connection fails.
func (c *capture) stream(ctx context.Context, repl *pgconn.PgConn) (bool, error) {
	args := []string{"proto_version '1'", "publication_names " + quoteLiteral(c.cfg.publication)}
	if err := pglogrepl.StartReplication(ctx, repl, c.cfg.slot, pglogrepl.LSN(c.sent.commit),
		pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args}); err != nil {
		return false, fmt.Errorf("start replication from %s: %w", lsnString(c.sent.commit), err)
	}
	c.t.prog.setPhase(phaseStreaming)
	c.log.Info("postgres-cdc: streaming changes", "slot", c.cfg.slot, "from_lsn", lsnString(c.sent.commit))
	s := &streamer{c: c, repl: repl, rels: map[uint32]*table{}, lastStatus: time.Now()}
	if c.cfg.heartbeatInterval > 0 {
		s.nextBeat = time.Now().Add(c.cfg.heartbeatInterval)
	}
	if c.incr != nil {
		if err := c.incr.start(ctx, s); err != nil {
			return true, err
		}
	}
	err := s.loop(ctx)
	return true, err
}

func (s *streamer) loop(ctx context.Context) error {
	c := s.c
	for ctx.Err() == nil {
		now := time.Now()
		if len(s.batch) > 0 && (len(s.batch) >= c.cfg.maxBatch || now.Sub(s.batchAt) >= linger) {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
		if err := s.maybeStatus(now, false); err != nil {
			return err
		}
		if err := c.pollKafkaSignals(ctx, s); err != nil {
			return err
		}
		if !s.tx.active && !s.nextBeat.IsZero() && !now.Before(s.nextBeat) {
			if err := s.heartbeat(ctx); err != nil {
				return err
			}
		}
		// Wake up for the batch's linger, the next heartbeat (which cannot
		// go out inside a transaction) or the status interval. Never a
		// deadline in the past: reads would then fail at once, without
		// taking the data waiting on the socket.
		want := now.Add(time.Second)
		if len(s.batch) > 0 {
			want = s.batchAt.Add(linger)
		} else if !s.tx.active && !s.nextBeat.IsZero() && s.nextBeat.Before(want) {
			want = s.nextBeat
		}
		if floor := now.Add(time.Millisecond); want.Before(floor) {
			want = floor
		}
		if !want.Equal(s.deadline) {
			s.deadline = want
			s.repl.Conn().SetReadDeadline(want)
		}
		msg, err := s.repl.ReceiveMessage(context.Background())
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !s.repl.IsClosed() {
				s.deadline = time.Time{}
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receive from the replication connection: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := s.copyData(ctx, m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyDone:
			return errors.New("the server ended replication")
		}
	}
	return nil
}

func (s *streamer) copyData(ctx context.Context, d []byte) error {
	if len(d) == 0 {
		return nil
	}
	switch d[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(d[1:])
		if err != nil {
			return fmt.Errorf("keepalive: %w", err)
		}
		if !s.tx.active && uint64(ka.ServerWALEnd) > s.walEnd {
			s.walEnd = uint64(ka.ServerWALEnd)
		}
		if ka.ReplyRequested {
			return s.maybeStatus(time.Now(), true)
		}
	case pglogrepl.XLogDataByteID:
		if len(d) < 25 {
			return fmt.Errorf("short XLogData message")
		}
		lsn := binary.BigEndian.Uint64(d[1:])
		return s.message(ctx, lsn, d[25:])
	}
	return nil
}

// message handles one pgoutput message that the server sent at lsn.
func (s *streamer) message(ctx context.Context, lsn uint64, d []byte) error {
	if len(d) == 0 {
		return nil
	}
	switch d[0] {
	case 'B':
		if len(d) < 21 {
			return fmt.Errorf("short Begin message")
		}
		s.tx = txState{active: true, commit: binary.BigEndian.Uint64(d[1:]), first: lsn,
			commitTime: pgTime(int64(binary.BigEndian.Uint64(d[9:]))), xid: binary.BigEndian.Uint32(d[17:])}
		return s.begin()
	case 'C':
		if len(d) < 26 {
			return fmt.Errorf("short Commit message")
		}
		end := binary.BigEndian.Uint64(d[10:])
		if end > s.walEnd {
			s.walEnd = end
		}
		return s.commit(ctx, end)
	case 'R':
		var rm pglogrepl.RelationMessage
		if err := rm.Decode(d[1:]); err != nil {
			return fatal(fmt.Errorf("postgres-cdc: decode Relation message: %w", err))
		}
		return s.relation(ctx, &rm)
	case 'I', 'U', 'D':
		return s.change(ctx, lsn, d)
	case 'T':
		var tm pglogrepl.TruncateMessage
		if err := tm.Decode(d[1:]); err != nil {
			return fatal(fmt.Errorf("postgres-cdc: decode Truncate message: %w", err))
		}
		return s.truncate(lsn, &tm)
	}
	return nil
}

// skipped reports whether the transaction being received was handed on
// whole before: it committed before the position streaming resumed from.
func (s *streamer) skipped() bool { return s.tx.commit < s.c.sent.commit }

// begin starts a transaction; with provide.transaction.metadata it emits
// its BEGIN event, unless the task resumes inside the transaction (or right
// after its BEGIN event) from a stored offset, whose transaction context
// then goes on.
func (s *streamer) begin() error {
	c := s.c
	if !c.cfg.txMetadata || s.skipped() {
		return nil
	}
	id := strconv.FormatUint(uint64(s.tx.xid), 10)
	if c.tx.id == id && (c.sent.inTx || c.sent.msgType == msgBegin) {
		return nil
	}
	c.tx.begin(id)
	pos := position{commit: c.lastEnd, lsn: s.tx.first, txid: s.tx.xid, tsUsec: s.tx.commitTime.UnixMicro(), msgType: msgBegin}
	off := c.offsetFor(pos)
	s.add(c.em.txEvent(txBegin, &c.tx, s.tx.commitTime, off))
	c.sent, c.sentOffset = pos, off
	return nil
}

// commit ends a transaction at end (the LSN after its commit record): with
// provide.transaction.metadata it emits the END event; either way later
// offsets say the transaction is whole.
func (s *streamer) commit(ctx context.Context, end uint64) error {
	c := s.c
	s.tx.active = false
	skipped := s.skipped()
	if end > c.lastEnd {
		c.lastEnd = end
	}
	if skipped {
		return nil
	}
	pos := position{commit: end, lsn: end, txid: s.tx.xid, tsUsec: s.tx.commitTime.UnixMicro(), msgType: msgCommit}
	if c.cfg.txMetadata && c.tx.id != "" {
		off := c.offsetFor(pos)
		s.add(c.em.txEvent(txEnd, &c.tx, s.tx.commitTime, off))
		c.tx.begin("")
		c.sent, c.sentOffset = pos, off
	} else {
		c.sent, c.sentOffset = pos, nil
	}
	return c.incrAfterCommit(ctx, s)
}

// add appends a record to the batch being filled.
func (s *streamer) add(r *connect.Record) {
	if len(s.batch) == 0 {
		s.batchAt = time.Now()
	}
	s.batch = append(s.batch, r)
}

// relation learns a table's shape from a Relation message: the server
// sends one before the first change of a table in a session and after
// every change of its columns.
func (s *streamer) relation(ctx context.Context, rm *pglogrepl.RelationMessage) error {
	c := s.c
	if !c.cfg.filter.table(rm.Namespace, rm.RelationName) {
		s.rels[rm.RelationID] = nil
		return nil
	}
	metas, err := loadTables(ctx, c.meta, c.cfg.filter, rm.RelationID)
	if err != nil {
		return err
	}
	meta := &tableMeta{id: tableID{rm.Namespace, rm.RelationName}, oid: rm.RelationID, identity: rm.ReplicaIdentity}
	if len(metas) == 1 {
		meta.columns = metas[0].columns
	}
	rel := make([]relColumn, len(rm.Columns))
	for i, col := range rm.Columns {
		rel[i] = relColumn{name: col.Name, oid: col.DataType, typmod: col.TypeModifier}
	}
	t, err := buildTable(c.cfg, c.mapper, meta, rel, c.log)
	if err != nil {
		return fatal(fmt.Errorf("postgres-cdc: %w", err))
	}
	if c.types.err != nil {
		err := c.types.err
		c.types.err = nil
		return fmt.Errorf("look up types of %s: %w", meta.id, err)
	}
	s.rels[rm.RelationID] = t
	return nil
}

// parseTuple reads a TupleData at d into r and returns the bytes after it.
func parseTuple(d []byte, r *row) ([]byte, error) {
	if len(d) < 2 {
		return nil, errors.New("short tuple")
	}
	n := int(binary.BigEndian.Uint16(d))
	d = d[2:]
	r.reset(n)
	for i := 0; i < n; i++ {
		if len(d) < 1 {
			return nil, errors.New("short tuple")
		}
		k := d[0]
		d = d[1:]
		r.kinds[i] = k
		r.vals[i] = nil
		switch k {
		case 't', 'b':
			if len(d) < 4 {
				return nil, errors.New("short tuple")
			}
			l := int(binary.BigEndian.Uint32(d))
			d = d[4:]
			if len(d) < l {
				return nil, errors.New("short tuple")
			}
			r.kinds[i] = kindText
			r.vals[i] = d[:l:l]
			d = d[l:]
		case 'n', 'u':
		default:
			return nil, fmt.Errorf("unknown tuple column kind %q", k)
		}
	}
	return d, nil
}

func (s *streamer) change(ctx context.Context, lsn uint64, d []byte) error {
	c := s.c
	op := d[0]
	if len(d) < 6 {
		return fatalf("postgres-cdc: short %c message", op)
	}
	relID := binary.BigEndian.Uint32(d[1:])
	t, known := s.rels[relID]
	if !known {
		return fatalf("postgres-cdc: change of relation %d before its Relation message", relID)
	}
	if t == nil || c.sent.covers(s.tx.commit, lsn) {
		return nil
	}
	d = d[5:]
	ch := change{op: op, table: t, old: &s.old, new: &s.new}
	var err error
	switch op {
	case 'I':
		if d[0] != 'N' {
			return fatalf("postgres-cdc: Insert message without a new tuple")
		}
		_, err = parseTuple(d[1:], &s.new)
	case 'U':
		if d[0] == 'K' || d[0] == 'O' {
			ch.hasOld = true
			if d, err = parseTuple(d[1:], &s.old); err != nil {
				break
			}
		}
		if err == nil {
			if len(d) < 1 || d[0] != 'N' {
				return fatalf("postgres-cdc: Update message without a new tuple")
			}
			_, err = parseTuple(d[1:], &s.new)
		}
	case 'D':
		if d[0] != 'K' && d[0] != 'O' {
			return fatalf("postgres-cdc: Delete message without an old tuple (table %s has REPLICA IDENTITY NOTHING?)", t.id)
		}
		ch.hasOld = true
		_, err = parseTuple(d[1:], &s.old)
	}
	if err != nil {
		return fatal(fmt.Errorf("postgres-cdc: decode %c message of %s: %w", op, t.id, err))
	}
	pos := position{commit: c.lastEnd, lsn: lsn, inTx: true, txid: s.tx.xid, tsUsec: s.tx.commitTime.UnixMicro(), msgType: msgTypes[op]}
	ch.si = &sourceInfo{pos: pos, tsMs: pos.tsUsec / 1000, tsUs: pos.tsUsec, snapshot: "false", lastCommit: c.lastEnd}
	if c.cfg.txMetadata && c.tx.id != "" {
		ch.tx = &c.tx
	}
	if c.incr != nil {
		if err := c.incr.beforeChange(ctx, s, &ch, pos); err != nil {
			return err
		}
	}
	if len(s.batch) == 0 {
		s.batchAt = time.Now()
	}
	if s.batch, err = c.em.appendChange(s.batch, &ch); err != nil {
		return fatal(fmt.Errorf("postgres-cdc: %w", err))
	}
	c.sent, c.sentOffset = pos, nil
	return nil
}

// msgTypes names the message types of pgoutput's change messages.
var msgTypes = map[byte]string{'I': msgInsert, 'U': msgUpdate, 'D': msgDelete}

func (s *streamer) truncate(lsn uint64, tm *pglogrepl.TruncateMessage) error {
	c := s.c
	if c.sent.covers(s.tx.commit, lsn) {
		return nil
	}
	pos := position{commit: c.lastEnd, lsn: lsn, inTx: true, txid: s.tx.xid, tsUsec: s.tx.commitTime.UnixMicro(), msgType: msgTruncate}
	for _, id := range tm.RelationIDs {
		t := s.rels[id]
		if t == nil || c.cfg.skipped["t"] {
			continue
		}
		si := &sourceInfo{pos: pos, tsMs: pos.tsUsec / 1000, tsUs: pos.tsUsec, snapshot: "false", lastCommit: c.lastEnd}
		var tx *txContext
		if c.cfg.txMetadata && c.tx.id != "" {
			tx = &c.tx
		}
		s.add(c.em.truncate(t, si, tx))
	}
	c.sent, c.sentOffset = pos, nil
	return nil
}

// heartbeat emits a heartbeat record at the newest position the server
// vouched for (everything committed before it was sent), so the framework
// stores it and the slot advances on an idle database; and runs
// heartbeat.action.query.
func (s *streamer) heartbeat(ctx context.Context) error {
	c := s.c
	s.nextBeat = time.Now().Add(c.cfg.heartbeatInterval)
	if q := c.cfg.heartbeatQuery; q != "" {
		if _, err := simpleQuery(ctx, c.meta, q); err != nil {
			c.log.Warn("postgres-cdc: heartbeat.action.query failed", "error", err)
		}
	}
	if s.walEnd > c.sent.commit {
		c.sent = position{commit: s.walEnd, tsUsec: time.Now().UnixMicro(), msgType: msgCommit}
		c.sentOffset = nil
		c.lastEnd = max(c.lastEnd, s.walEnd)
	}
	off := c.sentOffset
	if off == nil {
		off = c.offsetFor(c.sent)
		c.sentOffset = off
	}
	s.add(c.em.heartbeat(off))
	return nil
}

// flush hands the batch on. Its last record carries the offset of the
// newest position handed on (c.sent): the batch goes on whole, so the
// records before it need none. A batch never ends inside a change's
// records, nor inside a chunk's window.
func (s *streamer) flush(ctx context.Context) error {
	b := s.batch
	s.batch = nil
	if last := b[len(b)-1]; last.SourceOffset == nil {
		if s.c.sentOffset == nil {
			s.c.sentOffset = s.c.offsetFor(s.c.sent)
		}
		last.SourceOffset = s.c.sentOffset
	}
	return s.c.emit(ctx, b, func() error { return s.maybeStatus(time.Now(), false) })
}

// maybeStatus tells the server the newest confirmed position: when it
// changed, when the server asks, and every status.update.interval.ms.
func (s *streamer) maybeStatus(now time.Time, force bool) error {
	confirmed := s.c.t.confirmed.Load()
	if !force && confirmed == s.lastConfirmed && now.Sub(s.lastStatus) < s.c.cfg.statusInterval {
		return nil
	}
	if confirmed == 0 {
		return nil
	}
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.repl, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: pglogrepl.LSN(confirmed), WALFlushPosition: pglogrepl.LSN(confirmed), WALApplyPosition: pglogrepl.LSN(confirmed), ClientTime: now})
	if err != nil {
		return fmt.Errorf("send status update: %w", err)
	}
	s.lastStatus, s.lastConfirmed = now, confirmed
	return nil
}

// pgTime converts microseconds since 2000-01-01 to a time.
func pgTime(us int64) time.Time {
	return time.Unix(946684800, 0).Add(time.Duration(us) * time.Microsecond).UTC()
}
