package postgrescdc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectd/connectd/framework/connect"
)

// snapshot reads every captured table in name order, in primary key
// chunks of snapshot.fetch.size rows, inside REPEATABLE READ transactions:
// under the slot's exported snapshot when exported is set (a fresh slot),
// so streaming from the slot's consistent point continues exactly where
// the snapshot ends. A resumed snapshot (after a restart or a lost
// connection) reads the remaining chunks under a new snapshot; streaming
// from the original consistent point then replays every change since, so
// the topics still converge on the tables.
//
// With snapshot.max.threads above 1, a large table is split into as many
// ranges of its first key column (from the column's statistics) and the
// ranges are read at once, each by a reader with a connection of its own
// in a transaction importing the same snapshot; readers also convert the
// rows, so the work spreads over the cores. Their chunks are emitted as
// they come, interleaved.
//
// The offset of the last record of every batch handed on says how far each
// range of the table being read got (the table, and the key of the last row
// handed on of each range), so a restarted task continues after the last
// row Kafka holds. The very last record is marked snapshot "last" and
// last_snapshot_record: it is held back until the next one is read, or the
// end.
func (c *capture) snapshot(ctx context.Context, conn *pgconn.PgConn, exported string) error {
	if _, err := simpleQuery(ctx, conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("snapshot: begin: %w", err)
	}
	defer simpleQuery(context.Background(), conn, "ROLLBACK")
	if exported != "" {
		if _, err := simpleQuery(ctx, conn, "SET TRANSACTION SNAPSHOT "+quoteLiteral(exported)); err != nil {
			return fmt.Errorf("snapshot: use the slot's exported snapshot %s: %w", exported, err)
		}
	}
	metas, err := loadTables(ctx, conn, c.cfg.filter)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	p := &progress{start: c.t.now(), tables: len(metas), last: c.t.now()}
	for _, m := range metas {
		p.estRows += m.estRows
	}
	c.t.prog.snapshotUpdate(p.start, p.counts(""))
	c.log.Info("postgres-cdc: snapshot started", "tables", len(metas), "estimated_rows", p.estRows,
		"exported_snapshot", exported != "", "resumed_after_table", c.snapTable, "start_lsn", lsnString(c.snapStart.commit),
		"threads", c.cfg.snapshotThreads)

	// Readers beyond the first use connections of their own, importing the
	// snapshot this transaction has.
	var readers []*pgconn.PgConn
	readers = append(readers, conn)
	if c.cfg.snapshotThreads > 1 {
		snap := exported
		if snap == "" {
			rows, err := simpleQuery(ctx, conn, "SELECT pg_export_snapshot()")
			if err != nil || len(rows) != 1 {
				return fmt.Errorf("snapshot: export the snapshot for parallel readers: %w", err)
			}
			snap = string(rows[0][0])
		}
		for i := 1; i < c.cfg.snapshotThreads; i++ {
			rc, err := c.cfg.connect(ctx, false)
			if err != nil {
				return err
			}
			defer rc.Close(context.Background())
			stop := closeOnDone(ctx, rc)
			defer stop()
			if _, err := simpleQuery(ctx, rc, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
				return fmt.Errorf("snapshot: begin: %w", err)
			}
			if _, err := simpleQuery(ctx, rc, "SET TRANSACTION SNAPSHOT "+quoteLiteral(snap)); err != nil {
				return fmt.Errorf("snapshot: import snapshot %s: %w", snap, err)
			}
			readers = append(readers, rc)
		}
	}

	e := &snapEmitter{c: c}
	for _, m := range metas {
		name := m.id.String()
		if c.snapTable != "" && name < c.snapTable {
			p.tablesDone++
			continue
		}
		t, err := buildTable(c.cfg, c.mapper, m, relColumnsOf(m), c.log)
		if err != nil {
			return fatal(fmt.Errorf("postgres-cdc: snapshot of %s: %w", name, err))
		}
		ranges := c.snapRanges
		if name != c.snapTable || ranges == nil {
			if ranges, err = c.planRanges(ctx, conn, m); err != nil {
				return fmt.Errorf("snapshot of %s: %w", name, err)
			}
		}
		if err := c.readTable(ctx, readers, e, p, m, t, ranges); err != nil {
			if isFatal(err) || ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("snapshot of %s: %w", name, err)
		}
		p.tablesDone++
		c.t.prog.snapshotUpdate(p.start, p.counts(""))
		p.maybeLog(c, c.t.now(), name)
	}
	if err := e.finish(ctx); err != nil {
		return err
	}
	c.snapTable, c.snapRanges = "", nil
	end := c.t.now()
	c.t.prog.snapshotFinished(end, p.counts(""))
	elapsed := end.Sub(p.start)
	c.log.Info("postgres-cdc: snapshot done", "tables", p.tables, "rows", p.rows, "elapsed", elapsed.Round(time.Millisecond))
	return nil
}

// snapRange is a key range of a table and how far reading it got.
type snapRange struct {
	lo, hi *string  // first key column: lo <= k < hi; nil is unbounded
	after  []string // resume after this key; nil: from the range's start
	done   bool
}

// planRanges splits a table among the readers by its first key column's
// histogram (pg_stats): one range when there is one reader, no key, too
// few rows, or no statistics.
func (c *capture) planRanges(ctx context.Context, conn *pgconn.PgConn, m *tableMeta) ([]snapRange, error) {
	n := c.cfg.snapshotThreads
	pk := pkColumns(m)
	if n <= 1 || len(pk) == 0 || m.estRows < int64(2*c.cfg.fetchSize) {
		return []snapRange{{}}, nil
	}
	q := "SELECT histogram_bounds::text FROM pg_stats WHERE schemaname = " + quoteLiteral(m.id.schema) +
		" AND tablename = " + quoteLiteral(m.id.name) + " AND attname = " + quoteLiteral(m.columns[pk[0]].name)
	rows, err := simpleQuery(ctx, conn, q)
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 || rows[0][0] == nil {
		return []snapRange{{}}, nil
	}
	v, err := decodeArray(rows[0][0], ',', decodeString)
	if err != nil {
		return []snapRange{{}}, nil
	}
	bounds := v.([]any)
	if len(bounds) < n {
		return []snapRange{{}}, nil
	}
	out := make([]snapRange, n)
	for i := 1; i < n; i++ {
		b := bounds[i*len(bounds)/n].(string)
		out[i-1].hi = &b
		out[i].lo = &b
	}
	return out, nil
}

// pkColumns lists a table's primary key columns (indexes into columns) in
// key order.
func pkColumns(m *tableMeta) []int {
	var pk []int
	for i, col := range m.columns {
		if col.pkPos > 0 {
			pk = append(pk, i)
		}
	}
	for i := 1; i < len(pk); i++ {
		for j := i; j > 0 && m.columns[pk[j]].pkPos < m.columns[pk[j-1]].pkPos; j-- {
			pk[j], pk[j-1] = pk[j-1], pk[j]
		}
	}
	return pk
}

// snapChunk is one chunk a reader read and converted.
type snapChunk struct {
	rng  int
	recs []*connect.Record
	// Each record's key columns' text, one after another in keyText: the
	// i-th record's j-th ends at keyEnds[i*npk+j]. Only the keys that end
	// a batch become strings (key).
	keyText []byte
	keyEnds []int
	npk     int
	eof     bool // the range is done
	err     error
}

// key returns the key columns' text of the chunk's i-th record.
func (ch *snapChunk) key(i int) []string {
	k := make([]string, ch.npk)
	start := 0
	if i > 0 {
		start = ch.keyEnds[i*ch.npk-1]
	}
	for j := range k {
		end := ch.keyEnds[i*ch.npk+j]
		k[j] = string(ch.keyText[start:end])
		start = end
	}
	return k
}

// readTable reads the ranges of one table with up to len(readers) readers
// at once and emits their chunks as they arrive.
func (c *capture) readTable(ctx context.Context, readers []*pgconn.PgConn, e *snapEmitter, p *progress, m *tableMeta, t *table, ranges []snapRange) error {
	pk := pkColumns(m)
	name := m.id.String()
	e.startTable(name, ranges)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan snapChunk, 2*len(readers))
	todo := make(chan int, len(ranges))
	pending := 0
	for i, r := range ranges {
		if !r.done {
			todo <- i
			pending++
		}
	}
	close(todo)
	var wg sync.WaitGroup
	for _, conn := range readers[:min(len(readers), max(pending, 1))] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range todo {
				if !c.readRange(ctx, conn, m, t, pk, i, ranges[i], out) {
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	defer func() {
		cancel()
		for range out { // let the readers end
		}
	}()
	for ch := range out {
		if ch.err != nil {
			return ch.err
		}
		if err := e.add(ctx, &ch); err != nil {
			return err
		}
		// Every chunk is handed on (and so its offset stored) as it is
		// read, as before parallel readers: a restart re-reads at most a
		// chunk.
		if err := e.flush(ctx); err != nil {
			return err
		}
		p.rows += int64(len(ch.recs))
		c.t.prog.snapshotUpdate(p.start, p.counts(name))
		p.maybeLog(c, c.t.now(), name)
		if ch.eof {
			pending--
		}
	}
	if pending > 0 {
		return ctx.Err()
	}
	return e.flush(ctx)
}

// readRange reads one range chunk by chunk, converting rows to records,
// and sends the chunks to out; false when it stopped on an error or ctx.
func (c *capture) readRange(ctx context.Context, conn *pgconn.PgConn, m *tableMeta, t *table, pk []int, idx int, r snapRange, out chan<- snapChunk) bool {
	after := r.after
	for {
		ts := c.t.now().UnixMicro()
		// One source block per chunk: the rows share table, time and LSN.
		// It never changes (the last record gets a copy), so the
		// converter writes it once.
		si := &sourceInfo{pos: position{commit: c.snapStart.commit, txid: c.snapStart.txid}, tsMs: ts / 1000, tsUs: ts, snapshot: "true"}
		src := c.em.source(t, si).Freeze()
		ch := snapChunk{rng: idx, npk: len(pk), recs: make([]*connect.Record, 0, c.cfg.fetchSize)}
		if len(pk) == 0 {
			ch.recs = nil // the whole table in one chunk
		}
		n, err := c.scanChunk(ctx, conn, m, pk, after, r.lo, r.hi, func(row *row) error {
			after, key, err := t.valueKey(row)
			if err != nil {
				return fatal(fmt.Errorf("postgres-cdc: snapshot: %w", err))
			}
			ch.recs = append(ch.recs, c.em.envelopeWithSource(t, "r", key, nil, after, src, nil))
			for _, ci := range pk {
				ch.keyText = append(ch.keyText, row.vals[ci]...)
				ch.keyEnds = append(ch.keyEnds, len(ch.keyText))
			}
			return nil
		})
		if err != nil {
			select {
			case out <- snapChunk{err: err}:
			case <-ctx.Done():
			}
			return false
		}
		ch.eof = len(pk) == 0 || n < c.cfg.fetchSize
		if n > 0 && len(pk) > 0 {
			after = ch.key(n - 1)
		}
		select {
		case out <- ch:
		case <-ctx.Done():
			return false
		}
		if ch.eof {
			return true
		}
	}
}

// snapEmitter batches the snapshot's records and gives the last record of
// every batch the offset that resumes after it. Only the capture goroutine
// uses it.
type snapEmitter struct {
	c      *capture
	table  string
	ranges []snapRange // how far each range of the table got, in what is batched
	batch  []*connect.Record
	// afters are where each range got in what is batched, when a record
	// of it was batched since the last flush: ranges[i].after is the key of
	// afters[i].ch's record afters[i].i; made a string at the flush.
	afters []keyRef
	// held is the newest record, not yet batched: the very last one is
	// marked snapshot "last".
	held    *connect.Record
	heldRng int
	heldKey keyRef
}

// keyRef names the key of a chunk's record.
type keyRef struct {
	ch *snapChunk // nil: no key
	i  int
}

func (e *snapEmitter) startTable(name string, ranges []snapRange) {
	if e.held != nil {
		// The previous table's last record goes with the batch; the
		// batch's offset then points at the new table's start.
		e.batchHeld()
	}
	e.table = name
	e.ranges = append([]snapRange(nil), ranges...)
	e.afters = make([]keyRef, len(ranges))
}

// add takes a chunk's records.
func (e *snapEmitter) add(ctx context.Context, ch *snapChunk) error {
	for i, r := range ch.recs {
		if e.held != nil {
			e.batchHeld()
			if len(e.batch) >= e.c.cfg.maxBatch {
				if err := e.flush(ctx); err != nil {
					return err
				}
			}
		}
		e.held, e.heldRng, e.heldKey = r, ch.rng, keyRef{}
		if ch.npk > 0 {
			e.heldKey = keyRef{ch, i}
		}
	}
	if ch.eof {
		// Once the held record is batched, the range is done.
		if e.held != nil && e.heldRng == ch.rng {
			e.heldRng = -1 - ch.rng
		} else {
			e.ranges[ch.rng].done = true
		}
	}
	return nil
}

func (e *snapEmitter) batchHeld() {
	rng := e.heldRng
	if rng < 0 {
		rng = -1 - rng
		e.ranges[rng].done = true
	}
	if e.heldKey.ch == nil {
		e.ranges[rng].after, e.afters[rng] = nil, keyRef{}
	} else {
		e.afters[rng] = e.heldKey
	}
	e.batch = append(e.batch, e.held)
	e.held = nil
}

// flush hands the batch on; its last record carries the offset.
func (e *snapEmitter) flush(ctx context.Context) error {
	if len(e.batch) == 0 {
		return nil
	}
	c := e.c
	for i, a := range e.afters {
		if a.ch != nil {
			e.ranges[i].after, e.afters[i] = a.ch.key(a.i), keyRef{}
		}
	}
	e.batch[len(e.batch)-1].SourceOffset = snapshotRangesOffset(c.snapStart, e.table, e.ranges)
	if err := c.emit(ctx, e.batch, nil); err != nil {
		return err
	}
	// Resume after the last row handed on, should the session fail.
	c.snapTable = e.table
	c.snapRanges = append([]snapRange(nil), e.ranges...)
	e.batch = nil
	return nil
}

// finish hands on the held record, marked as the snapshot's last.
func (e *snapEmitter) finish(ctx context.Context) error {
	if e.held != nil {
		// The source block is shared with the chunk's other rows: the last
		// record gets its own.
		env := e.held.Value.(*connect.StructValue)
		shared := env.GetIndex(envSource).(*connect.StructValue)
		src := connect.NewStruct(sourceSchema)
		for i := range sourceSchema.Fields {
			src.SetIndex(i, shared.GetIndex(i))
		}
		src.SetIndex(srcSnapshot, "last")
		env.SetIndex(envSource, src)
		e.held.SourceOffset = snapshotOffset(e.c.snapStart, true, "", nil)
		e.batch = append(e.batch, e.held)
		e.held = nil
	}
	if len(e.batch) == 0 {
		return nil
	}
	if err := e.c.emit(ctx, e.batch, nil); err != nil {
		return err
	}
	e.batch = nil
	return nil
}

// scanChunk reads the next rows of a table in text form and hands each to
// fn as it arrives (the values are valid during the call only): all of the
// table when it has no primary key, else up to snapshot.fetch.size rows
// after the key. It returns how many rows it read.
func (c *capture) scanChunk(ctx context.Context, conn *pgconn.PgConn, m *tableMeta, pk []int, after []string, lo, hi *string, fn func(*row) error) (int, error) {
	cols := make([]string, len(m.columns))
	for i, col := range m.columns {
		cols[i] = quoteIdent(col.name)
	}
	var sb strings.Builder
	sb.WriteString("SELECT " + strings.Join(cols, ", ") + " FROM " + m.id.quoted())
	var params [][]byte
	var paramOIDs []uint32
	if len(pk) > 0 {
		keys := make([]string, len(pk))
		for j, ci := range pk {
			keys[j] = quoteIdent(m.columns[ci].name)
		}
		var conds []string
		if after != nil {
			ph := make([]string, len(pk))
			for j, ci := range pk {
				params = append(params, []byte(after[j]))
				paramOIDs = append(paramOIDs, m.columns[ci].oid)
				ph[j] = fmt.Sprintf("$%d", len(params))
			}
			conds = append(conds, "("+strings.Join(keys, ", ")+") > ("+strings.Join(ph, ", ")+")")
		}
		for _, b := range []struct {
			v  *string
			op string
		}{{lo, ">="}, {hi, "<"}} {
			if b.v != nil {
				params = append(params, []byte(*b.v))
				paramOIDs = append(paramOIDs, m.columns[pk[0]].oid)
				conds = append(conds, fmt.Sprintf("%s %s $%d", keys[0], b.op, len(params)))
			}
		}
		if len(conds) > 0 {
			sb.WriteString(" WHERE " + strings.Join(conds, " AND "))
		}
		fmt.Fprintf(&sb, " ORDER BY %s LIMIT %d", strings.Join(keys, ", "), c.cfg.fetchSize)
	}
	rr := conn.ExecParams(ctx, sb.String(), params, paramOIDs, nil, nil)
	var r row
	n := 0
	var ferr error
	for rr.NextRow() {
		vals := rr.Values()
		r.reset(len(vals))
		for i, v := range vals {
			r.vals[i] = v
			r.kinds[i] = kindText
			if v == nil {
				r.kinds[i] = kindNull
			}
		}
		n++
		if ferr = fn(&r); ferr != nil {
			break
		}
	}
	_, err := rr.Close()
	if ferr != nil {
		return n, ferr
	}
	return n, err
}

// progress tracks and logs a snapshot's progress.
type progress struct {
	start, last   time.Time
	tables        int
	tablesDone    int
	rows, estRows int64
}

// counts returns the counters for the task's status, reading table.
func (p *progress) counts(table string) snapshotCounts {
	return snapshotCounts{table: table, tables: p.tables, tablesDone: p.tablesDone, rowsDone: p.rows, rowsEstimated: p.estRows}
}

func (p *progress) maybeLog(c *capture, now time.Time, table string) {
	if now.Sub(p.last) < c.cfg.progressInterval {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	eta := "unknown"
	if d, ok := snapshotETA(elapsed, p.rows, p.estRows); ok {
		eta = d.Round(time.Second).String()
	}
	c.log.Info("postgres-cdc: snapshot progress", "tables_done", p.tablesDone, "tables", p.tables, "table", table,
		"rows_done", p.rows, "rows_estimated", p.estRows, "elapsed", elapsed.Round(time.Second), "eta", eta)
}
