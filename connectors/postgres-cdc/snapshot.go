package postgrescdc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectd/connectd/framework/connect"
)

// snapshot reads every captured table in name order, in primary key
// chunks of snapshot.fetch.size rows, inside one REPEATABLE READ
// transaction: under the slot's exported snapshot when exported is set (a
// fresh slot), so streaming from the slot's consistent point continues
// exactly where the snapshot ends. A resumed snapshot (after a restart or
// a lost connection) reads the remaining chunks under a new snapshot;
// streaming from the original consistent point then replays every change
// since, so the topics still converge on the tables.
//
// Every record carries the table and key of its row in its offset, so a
// restarted task continues after the last row Kafka holds. The very last
// record is marked snapshot "last" and last_snapshot_record: it is held
// back until the next one is read, or the end.
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
		"exported_snapshot", exported != "", "resumed_after_table", c.snapTable, "start_lsn", lsnString(c.snapStart.commit))

	var held *connect.Record // the newest record, not yet handed on
	var batch []*connect.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := c.emit(ctx, batch, nil); err != nil {
			return err
		}
		// Resume after the last row handed on, should the session fail.
		off := batch[len(batch)-1].SourceOffset
		if last, _ := off[offLastSnapshot].(bool); !last {
			c.snapTable, _ = off[offSnapTable].(string)
			c.snapKey = nil
			if ks, ok := off[offSnapKey].([]any); ok {
				for _, k := range ks {
					c.snapKey = append(c.snapKey, k.(string))
				}
			}
		}
		batch = nil
		return nil
	}
	for _, m := range metas {
		name := m.id.String()
		if c.snapTable != "" && name < c.snapTable {
			p.tablesDone++
			continue
		}
		// A table named without a key (one without a primary key, read
		// in one piece) starts over.
		after := []string(nil)
		if name == c.snapTable {
			after = c.snapKey
		}
		t, err := buildTable(c.cfg, c.mapper, m, relColumnsOf(m), c.log)
		if err != nil {
			return fatal(fmt.Errorf("postgres-cdc: snapshot of %s: %w", name, err))
		}
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
		for {
			ts := c.t.now().UnixMicro()
			// One source block per chunk: the rows share table, time and LSN.
			si := &sourceInfo{pos: position{commit: c.snapStart.commit, txid: c.snapStart.txid}, tsMs: ts / 1000, tsUs: ts, snapshot: "true"}
			src := c.em.source(t, si)
			var keyVals []any
			n, err := c.scanChunk(ctx, conn, m, pk, after, func(r *row) error {
				keyVals = nil
				if len(pk) > 0 {
					keyVals = make([]any, len(pk))
					for j, ci := range pk {
						keyVals[j] = string(r.vals[ci])
					}
				}
				rec, err := c.snapshotRecord(t, r, src, keyVals)
				if err != nil {
					return fatal(fmt.Errorf("postgres-cdc: snapshot: %w", err))
				}
				if held != nil {
					batch = append(batch, held)
				}
				held = rec
				if len(batch) >= c.cfg.maxBatch {
					return flush()
				}
				return nil
			})
			if err != nil {
				if isFatal(err) || ctx.Err() != nil {
					return err
				}
				return fmt.Errorf("snapshot of %s: %w", name, err)
			}
			p.rows += int64(n)
			c.t.prog.snapshotUpdate(p.start, p.counts(name))
			if len(pk) == 0 || n < c.cfg.fetchSize {
				break
			}
			after = make([]string, len(pk))
			for j := range pk {
				after[j] = keyVals[j].(string)
			}
			if err := flush(); err != nil {
				return err
			}
			p.maybeLog(c, c.t.now(), name)
		}
		if err := flush(); err != nil {
			return err
		}
		p.tablesDone++
		c.t.prog.snapshotUpdate(p.start, p.counts(""))
		p.maybeLog(c, c.t.now(), name)
	}
	if held != nil {
		// The source block is shared with the chunk's other rows: the last
		// record gets its own.
		env := held.Value.(*connect.StructValue)
		shared := env.GetIndex(envSource).(*connect.StructValue)
		src := connect.NewStruct(sourceSchema)
		for i := range sourceSchema.Fields {
			src.SetIndex(i, shared.GetIndex(i))
		}
		src.SetIndex(srcSnapshot, "last")
		env.SetIndex(envSource, src)
		held.SourceOffset = snapshotOffset(c.snapStart, true, "", nil)
		batch = append(batch, held)
	}
	if err := flush(); err != nil {
		return err
	}
	c.snapTable, c.snapKey = "", nil
	end := c.t.now()
	c.t.prog.snapshotFinished(end, p.counts(""))
	elapsed := end.Sub(p.start)
	c.log.Info("postgres-cdc: snapshot done", "tables", p.tables, "rows", p.rows, "elapsed", elapsed.Round(time.Millisecond))
	return nil
}

// snapshotRecord builds the read event of one row.
func (c *capture) snapshotRecord(t *table, r *row, src *connect.StructValue, keyVals []any) (*connect.Record, error) {
	after, err := t.value(r)
	if err != nil {
		return nil, err
	}
	key, err := t.key(r)
	if err != nil {
		return nil, err
	}
	off := snapshotOffset(c.snapStart, false, t.id.String(), keyVals)
	return c.em.envelopeWithSource(t, "r", key, nil, after, src, off), nil
}

// scanChunk reads the next rows of a table in text form and hands each to
// fn as it arrives (the values are valid during the call only): all of the
// table when it has no primary key, else up to snapshot.fetch.size rows
// after the key. It returns how many rows it read.
func (c *capture) scanChunk(ctx context.Context, conn *pgconn.PgConn, m *tableMeta, pk []int, after []string, fn func(*row) error) (int, error) {
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
		if after != nil {
			ph := make([]string, len(pk))
			for j, ci := range pk {
				ph[j] = fmt.Sprintf("$%d", j+1)
				params = append(params, []byte(after[j]))
				paramOIDs = append(paramOIDs, m.columns[ci].oid)
			}
			sb.WriteString(" WHERE (" + strings.Join(keys, ", ") + ") > (" + strings.Join(ph, ", ") + ")")
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
