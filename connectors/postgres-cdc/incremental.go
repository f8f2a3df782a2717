package postgrescdc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Incremental snapshots, as Debezium's signal-based ones (after DBLog):
// while changes stream, a table is read in chunks of
// incremental.snapshot.chunk.size rows in key order. Around each chunk's
// query the connector inserts two watermark rows into the signal table, an
// open and a close one. They come back through the replication stream in
// commit order with the changes: a change of the table streamed between
// the two is newer than what the query read of its row, so the row leaves
// the chunk's window; when the close watermark arrives, the rows left are
// emitted as read events (op "r", source.snapshot "incremental"), and the
// next chunk is read. The result: the topic ends with the table's state,
// no streamed change is lost or overtaken.
//
// The state (tables to read, last key sent, the table's largest key) is
// kept in every offset while a snapshot runs, in Debezium's keys and form,
// so a restarted task (of either connector) reads on from the last key
// whose event Kafka holds.

// Signal types.
const (
	sigExecute     = "execute-snapshot"
	sigStop        = "stop-snapshot"
	sigPause       = "pause-snapshot"
	sigResume      = "resume-snapshot"
	sigLog         = "log"
	sigWindowOpen  = "snapshot-window-open"
	sigWindowClose = "snapshot-window-close"
)

// signal is one signal from a channel.
type signal struct {
	id, typ, data string
	channel       string
}

// windowRow is a row read by a chunk query, kept until the close
// watermark arrives.
type windowRow struct {
	key string // the key columns' text, to match streamed changes
	row row
}

// incremental runs incremental snapshots. Only the capture goroutine
// touches it, but for progress, which it guards with mu.
type incremental struct {
	c          *capture
	state      *incrementalState // nil when no snapshot runs
	paused     bool
	chunkID    string // the current chunk's watermark id prefix
	windowOpen bool
	window     []windowRow
	live       map[string]int // key → index in window, while in it
	table      *table         // the current table's event schemas
	meta       *tableMeta
	keyCols    []int // indexes into meta.columns of the chunking key

	cache map[string]any // the state's offset fields, rendered once per change of state

	mu       sync.Mutex
	progress incrProgress
}

// incrProgress is what the task status shows of an incremental snapshot.
type incrProgress struct {
	running, paused bool
	table           string
	remaining       int
	rowsTable       int64
	rows            int64
	chunks          int64
}

func newIncremental(c *capture) *incremental { return &incremental{c: c} }

// store adds the snapshot's state to an offset.
func (in *incremental) store(m map[string]any) {
	if in.state == nil {
		return
	}
	if in.cache == nil {
		in.cache = map[string]any{}
		if err := in.state.store(in.cache); err != nil {
			// A key value without a Java form: keep the tables, start the
			// table over after a restart.
			in.c.log.Warn("postgres-cdc: incremental snapshot key cannot be kept in the offsets; a restart reads the table from its start", "error", err)
			s := *in.state
			s.lastKey, s.maxKey = nil, nil
			clear(in.cache)
			s.store(in.cache)
		}
	}
	for k, v := range in.cache {
		m[k] = v
	}
}

func (in *incremental) changed() { in.cache = nil; in.report() }

func (in *incremental) report() {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := &in.progress
	p.running = in.state != nil
	p.paused = in.paused
	p.table, p.remaining = "", 0
	if in.state != nil {
		p.table = in.state.collections[0].id
		p.remaining = len(in.state.collections)
	}
}

// snapshotProgress returns the status fields, or nil when no incremental
// snapshot ran in the task's life.
func (in *incremental) snapshotProgress() map[string]any {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := in.progress
	if !p.running && p.rows == 0 && p.chunks == 0 {
		return nil
	}
	out := map[string]any{"running": p.running, "paused": p.paused, "rows_done": p.rows, "chunks": p.chunks}
	if p.running {
		out["table"] = p.table
		out["tables_remaining"] = p.remaining
		out["table_rows_done"] = p.rowsTable
	}
	return out
}

// start resumes a snapshot the stored offset says is under way, reading its
// next chunk; it runs once streaming started.
func (in *incremental) start(ctx context.Context, s *streamer) error {
	if in.state != nil && in.state.warning != "" {
		in.c.log.Warn("postgres-cdc: incremental snapshot: " + in.state.warning)
		in.state.warning = ""
	}
	// A chunk whose window had not closed when the last session ended is
	// read again, under new watermarks, after the last row handed on.
	in.chunkID, in.windowOpen, in.window, in.live = "", false, nil, nil
	in.changed()
	if in.state == nil {
		return nil
	}
	in.c.log.Info("postgres-cdc: incremental snapshot in progress; reading its next chunk", "table", in.state.collections[0].id)
	return in.readChunk(ctx)
}

// beforeChange sees every change of a captured table before its events are
// emitted: a row inserted into the signal table is a signal, handled at
// once (so the offsets of its event carry what it did); a change of the
// table being read while its chunk's window is open takes the row out of
// the window.
func (in *incremental) beforeChange(ctx context.Context, s *streamer, ch *change, pos position) error {
	c := in.c
	if sig := c.cfg.signalTable; sig != nil && ch.table.id == *sig {
		if ch.op != 'I' {
			return nil
		}
		if len(ch.new.vals) != 3 {
			c.log.Warn("postgres-cdc: a row of the signal table without exactly three columns (id, type, data) is ignored", "table", sig.String())
			return nil
		}
		sg := signal{id: rowText(ch.new, 0), typ: rowText(ch.new, 1), data: rowText(ch.new, 2), channel: ChannelSource}
		// Watermarks come back through the table whichever channels are
		// on; other signals only with the source channel.
		if sg.typ != sigWindowOpen && sg.typ != sigWindowClose && !c.cfg.channels[ChannelSource] {
			return nil
		}
		return in.handle(ctx, s, sg, pos)
	}
	if !in.windowOpen || in.meta == nil || ch.table.oid != in.meta.oid {
		return nil
	}
	for _, r := range []*row{ch.old, ch.new} {
		if r == ch.old && !ch.hasOld || r == ch.new && ch.op == 'D' {
			continue
		}
		if k, ok := in.streamedKey(ch.table, r); ok {
			if i, ok := in.live[k]; ok {
				in.window[i].key = "" // superseded by the streamed change
				delete(in.live, k)
			}
		}
	}
	return nil
}

func rowText(r *row, i int) string {
	if i >= len(r.vals) || r.kinds[i] != kindText {
		return ""
	}
	return string(r.vals[i])
}

// streamedKey renders a streamed row's chunking key as the window keys it.
func (in *incremental) streamedKey(t *table, r *row) (string, bool) {
	var sb strings.Builder
	for j, ci := range in.keyCols {
		name := in.meta.columns[ci].name
		idx := -1
		for k := range t.columns {
			if t.columns[k].name == name {
				idx = k
				break
			}
		}
		if idx < 0 || idx >= len(r.kinds) || r.kinds[idx] != kindText {
			return "", false
		}
		if j > 0 {
			sb.WriteByte(0)
		}
		sb.Write(r.vals[idx])
	}
	return sb.String(), true
}

// handleKafka handles a signal from the Kafka channel, between transactions.
func (in *incremental) handleKafka(ctx context.Context, s *streamer, sig signal) error {
	return in.handle(ctx, s, sig, in.c.sent)
}

// handle acts on one signal. pos is the stream position it arrived at.
func (in *incremental) handle(ctx context.Context, s *streamer, sig signal, pos position) error {
	c := in.c
	switch sig.typ {
	case sigWindowOpen:
		if in.chunkID != "" && strings.HasPrefix(sig.id, in.chunkID) {
			in.windowOpen = true
		}
		return nil
	case sigWindowClose:
		if in.chunkID == "" || !strings.HasPrefix(sig.id, in.chunkID) {
			return nil
		}
		in.windowOpen = false
		in.sendWindow(s, pos)
		return in.readChunk(ctx)
	case sigLog:
		var d struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(sig.data), &d); err != nil || d.Message == "" {
			c.log.Warn("postgres-cdc: log signal without a message", "signal", sig.id, "data", sig.data)
			return nil
		}
		c.log.Info(d.Message, "signal", sig.id, "channel", sig.channel, "lsn", lsnString(pos.lsn))
		return nil
	case sigExecute, sigStop:
		var d struct {
			Collections []string `json:"data-collections"`
			Type        string   `json:"type"`
			Conditions  []struct {
				Collection string `json:"data-collection"`
				Filter     string `json:"filter"`
			} `json:"additional-conditions"`
			Condition string `json:"additional-condition"`
			Surrogate string `json:"surrogate-key"`
		}
		if err := json.Unmarshal([]byte(sig.data), &d); err != nil {
			c.log.Warn("postgres-cdc: signal with data that is not a JSON object is ignored", "signal", sig.id, "type", sig.typ, "data", sig.data, "error", err)
			return nil
		}
		if d.Type != "" && !strings.EqualFold(d.Type, "incremental") {
			c.log.Warn("postgres-cdc: only incremental snapshots are taken on a signal; the signal is ignored", "signal", sig.id, "snapshot_type", d.Type)
			return nil
		}
		if sig.typ == sigStop {
			return in.stop(ctx, d.Collections)
		}
		if len(d.Collections) == 0 {
			c.log.Warn("postgres-cdc: execute-snapshot signal without data-collections is ignored", "signal", sig.id)
			return nil
		}
		if c.cfg.signalTable == nil {
			c.log.Warn("postgres-cdc: incremental snapshots need signal.data.collection (the watermarks go into that table); the execute-snapshot signal is ignored", "signal", sig.id)
			return nil
		}
		var conds []incrCondition
		if d.Condition != "" {
			conds = append(conds, incrCondition{re: regexp.MustCompile(".*"), filter: d.Condition})
		}
		for _, ac := range d.Conditions {
			re, err := regexp.Compile("(?i)^(?:" + ac.Collection + ")$")
			if err != nil {
				c.log.Warn("postgres-cdc: execute-snapshot signal with a bad data-collection pattern is ignored", "signal", sig.id, "pattern", ac.Collection)
				return nil
			}
			conds = append(conds, incrCondition{re: re, filter: ac.Filter})
		}
		return in.execute(ctx, sig.id, d.Collections, conds, d.Surrogate)
	case sigPause:
		if in.state != nil && !in.paused {
			in.paused = true
			in.changed()
			c.log.Info("postgres-cdc: incremental snapshot paused", "signal", sig.id)
		}
		return nil
	case sigResume:
		if in.state != nil && in.paused {
			in.paused = false
			in.changed()
			c.log.Info("postgres-cdc: incremental snapshot resumed", "signal", sig.id)
			if !in.windowOpen && in.chunkID == "" {
				return in.readChunk(ctx)
			}
		}
		return nil
	}
	c.log.Warn("postgres-cdc: signal of an unknown type is ignored", "signal", sig.id, "type", sig.typ)
	return nil
}

type incrCondition struct {
	re     *regexp.Regexp
	filter string
}

// execute adds tables to the snapshot; patterns match schema.table of the
// captured tables, as Debezium expands them.
func (in *incremental) execute(ctx context.Context, id string, patterns []string, conds []incrCondition, surrogate string) error {
	c := in.c
	metas, err := loadTables(ctx, c.meta, c.cfg.filter)
	if err != nil {
		return err
	}
	var names []string
	seen := map[string]bool{}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		re, err := regexp.Compile("^(?:" + p + ")$")
		matched := false
		if err == nil {
			for _, m := range metas {
				if n := m.id.String(); re.MatchString(n) {
					matched = true
					if !seen[n] {
						seen[n] = true
						names = append(names, n)
					}
				}
			}
		}
		if !matched && !seen[p] {
			seen[p] = true
			names = append(names, p) // as Debezium: kept, and skipped when read
		}
	}
	starting := in.state == nil
	if starting {
		in.state = &incrementalState{}
	}
	for _, n := range names {
		ic := incrCollection{id: n, surrogate: surrogate}
		for _, cd := range conds {
			if cd.re.MatchString(n) {
				ic.condition = cd.filter
				break
			}
		}
		in.state.collections = append(in.state.collections, ic)
	}
	in.state.correlation = id
	in.changed()
	c.log.Info("postgres-cdc: incremental snapshot requested", "signal", id, "tables", names)
	if starting {
		in.mu.Lock()
		in.progress.rowsTable = 0
		in.mu.Unlock()
		return in.readChunk(ctx)
	}
	return nil
}

// stop removes tables from the snapshot (all of them when none are named).
func (in *incremental) stop(ctx context.Context, patterns []string) error {
	if in.state == nil {
		in.c.log.Warn("postgres-cdc: stop-snapshot signal, but no incremental snapshot runs")
		return nil
	}
	var res []*regexp.Regexp
	for _, p := range patterns {
		if re, err := regexp.Compile("^(?:" + strings.TrimSpace(p) + ")$"); err == nil {
			res = append(res, re)
		}
	}
	match := func(id string) bool {
		if len(patterns) == 0 {
			return true
		}
		for _, re := range res {
			if re.MatchString(id) {
				return true
			}
		}
		return false
	}
	current := in.state.collections[0].id
	var keep []incrCollection
	var stopped []string
	for _, ic := range in.state.collections {
		if match(ic.id) {
			stopped = append(stopped, ic.id)
		} else {
			keep = append(keep, ic)
		}
	}
	in.c.log.Info("postgres-cdc: incremental snapshot stopped for tables", "tables", stopped)
	if len(keep) == 0 {
		in.finish()
		return nil
	}
	in.state.collections = keep
	if keep[0].id != current {
		// The current table's chunk, if one is out, is dropped: its
		// watermarks are ignored when they arrive.
		in.chunkID, in.windowOpen = "", false
		in.resetTable()
		in.changed()
		if !in.paused {
			return in.readChunk(ctx)
		}
	}
	in.changed()
	return nil
}

// resetTable forgets the current table's position, to read the next one.
func (in *incremental) resetTable() {
	in.state.lastKey, in.state.maxKey = nil, nil
	in.window, in.live = nil, nil
	in.table, in.meta, in.keyCols = nil, nil, nil
	in.mu.Lock()
	in.progress.rowsTable = 0
	in.mu.Unlock()
}

func (in *incremental) finish() {
	in.c.log.Info("postgres-cdc: incremental snapshot done", "rows", in.progress.rows)
	in.state = nil
	in.paused = false
	in.chunkID, in.windowOpen, in.window, in.live = "", false, nil, nil
	in.table, in.meta, in.keyCols = nil, nil, nil
	in.changed()
}

// nextTable moves on from the current table.
func (in *incremental) nextTable() {
	in.state.collections = in.state.collections[1:]
	if len(in.state.collections) == 0 {
		in.finish()
		return
	}
	in.resetTable()
	in.changed()
}

// readChunk opens a window, reads the next chunk of the current table (or
// moves to the next table when it has none), and closes the window. Its
// rows are emitted when the close watermark arrives in the stream.
func (in *incremental) readChunk(ctx context.Context) error {
	c := in.c
	if in.state == nil || in.paused {
		return nil
	}
	in.chunkID = newChunkID()
	open := time.Now().UTC()
	if err := in.watermark(ctx, "-open", sigWindowOpen, fmt.Sprintf(`{"openWindowTimestamp": "%s"}`, open.Format(time.RFC3339Nano))); err != nil {
		return err
	}
	for in.state != nil {
		ic := in.state.collections[0]
		if err := in.prepareTable(ctx, ic); err != nil {
			return err
		}
		if in.meta == nil {
			in.nextTable()
			continue
		}
		if in.state.maxKey == nil {
			mx, err := in.maxKey(ctx, ic)
			if err != nil {
				return err
			}
			if mx == nil {
				c.log.Info("postgres-cdc: incremental snapshot: table is empty", "table", ic.id)
				in.nextTable()
				continue
			}
			in.state.maxKey = mx
			in.changed()
		}
		n, err := in.query(ctx, ic)
		if err != nil {
			return err
		}
		in.mu.Lock()
		in.progress.chunks++
		in.mu.Unlock()
		if n > 0 {
			break
		}
		c.log.Info("postgres-cdc: incremental snapshot: table done", "table", ic.id, "rows", in.progress.rowsTable)
		in.nextTable()
	}
	if in.state == nil {
		in.chunkID = ""
		return nil
	}
	return in.watermark(ctx, "-close", sigWindowClose,
		fmt.Sprintf(`{"openWindowTimestamp": "%s", "closeWindowTimestamp": "%s"}`, open.Format(time.RFC3339Nano), time.Now().UTC().Format(time.RFC3339Nano)))
}

func newChunkID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// watermark inserts a watermark row into the signal table, committed at
// once (the session is in autocommit).
func (in *incremental) watermark(ctx context.Context, suffix, typ, data string) error {
	sig := in.c.cfg.signalTable
	_, err := simpleQuery(ctx, in.c.meta, "INSERT INTO "+sig.quoted()+" VALUES ("+quoteLiteral(in.chunkID+suffix)+", "+quoteLiteral(typ)+", "+quoteLiteral(data)+")")
	if err != nil {
		return fmt.Errorf("incremental snapshot: write a watermark into the signal table %s: %w", sig, err)
	}
	return nil
}

// prepareTable loads the current table's columns and event schemas; meta
// stays nil when the table cannot be read (it is skipped, as Debezium
// skips it).
func (in *incremental) prepareTable(ctx context.Context, ic incrCollection) error {
	c := in.c
	in.meta, in.table, in.keyCols = nil, nil, nil
	id, err := parseTableID(ic.id)
	if err != nil {
		c.log.Warn("postgres-cdc: incremental snapshot: not a table name; skipped", "table", ic.id)
		return nil
	}
	metas, err := loadTables(ctx, c.meta, c.cfg.filter)
	if err != nil {
		return err
	}
	var m *tableMeta
	for _, x := range metas {
		if x.id == id {
			m = x
		}
	}
	if m == nil {
		c.log.Warn("postgres-cdc: incremental snapshot: no captured table of that name; skipped", "table", ic.id)
		return nil
	}
	t, err := buildTable(c.cfg, c.mapper, m, relColumnsOf(m), c.log)
	if err != nil {
		return fatal(fmt.Errorf("postgres-cdc: incremental snapshot of %s: %w", ic.id, err))
	}
	var keys []int
	if ic.surrogate != "" {
		for i, col := range m.columns {
			if col.name == ic.surrogate {
				keys = []int{i}
			}
		}
	} else {
		for _, ci := range t.keyCols {
			for i, col := range m.columns {
				if col.name == t.columns[ci].name {
					keys = append(keys, i)
				}
			}
		}
	}
	if len(keys) == 0 {
		c.log.Warn("postgres-cdc: incremental snapshot: table has no primary key (nor surrogate-key); skipped", "table", ic.id)
		return nil
	}
	in.meta, in.table, in.keyCols = m, t, keys
	return nil
}

func (in *incremental) keyList() string {
	ks := make([]string, len(in.keyCols))
	for i, ci := range in.keyCols {
		ks[i] = quoteIdent(in.meta.columns[ci].name)
	}
	return strings.Join(ks, ", ")
}

// keyParams renders key values as query parameters in text form.
func (in *incremental) keyParams(vals []any, first int) (string, [][]byte, []uint32) {
	ph := make([]string, len(in.keyCols))
	params := make([][]byte, len(in.keyCols))
	oids := make([]uint32, len(in.keyCols))
	for j, ci := range in.keyCols {
		ph[j] = "$" + strconv.Itoa(first+j)
		params[j] = []byte(fmt.Sprint(vals[j]))
		oids[j] = in.meta.columns[ci].oid
	}
	return "(" + strings.Join(ph, ", ") + ")", params, oids
}

// maxKey reads the table's largest key (under the additional condition).
func (in *incremental) maxKey(ctx context.Context, ic incrCollection) ([]any, error) {
	keys := in.keyList()
	desc := strings.ReplaceAll(keys, ",", " DESC,") + " DESC"
	q := "SELECT " + keys + " FROM " + in.meta.id.quoted()
	if ic.condition != "" {
		q += " WHERE " + ic.condition
	}
	q += " ORDER BY " + desc + " LIMIT 1"
	rows, err := simpleQuery(ctx, in.c.meta, q)
	if err != nil {
		return nil, fmt.Errorf("incremental snapshot of %s: read its largest key: %w", ic.id, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return in.keyValues(rows[0]), nil
}

// keyValues turns key columns' text into the values offsets keep: numbers
// for integer columns (Java's Short, Integer, Long), text otherwise.
func (in *incremental) keyValues(texts [][]byte) []any {
	out := make([]any, len(in.keyCols))
	for j, ci := range in.keyCols {
		s := string(texts[j])
		switch in.meta.columns[ci].oid {
		case oidInt2:
			v, _ := strconv.ParseInt(s, 10, 16)
			out[j] = int16(v)
		case oidInt4:
			v, _ := strconv.ParseInt(s, 10, 32)
			out[j] = int32(v)
		case oidInt8:
			v, _ := strconv.ParseInt(s, 10, 64)
			out[j] = v
		case oidBool:
			out[j] = s == "t"
		default:
			out[j] = s
		}
	}
	return out
}

// query reads the next chunk into the window and returns its rows.
func (in *incremental) query(ctx context.Context, ic incrCollection) (int, error) {
	cols := make([]string, len(in.meta.columns))
	for i, col := range in.meta.columns {
		cols[i] = quoteIdent(col.name)
	}
	keys := in.keyList()
	var conds []string
	var params [][]byte
	var oids []uint32
	if in.state.lastKey != nil {
		ph, p, o := in.keyParams(in.state.lastKey, 1)
		conds = append(conds, "("+keys+") > "+ph)
		params, oids = append(params, p...), append(oids, o...)
	}
	ph, p, o := in.keyParams(in.state.maxKey, len(params)+1)
	conds = append(conds, "("+keys+") <= "+ph)
	params, oids = append(params, p...), append(oids, o...)
	if ic.condition != "" {
		conds = append(conds, "("+ic.condition+")")
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + in.meta.id.quoted() + " WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY " + keys + " LIMIT " + strconv.Itoa(in.c.cfg.incrChunk)
	rr := in.c.meta.ExecParams(ctx, q, params, oids, nil, nil)
	in.window = in.window[:0]
	in.live = map[string]int{}
	for rr.NextRow() {
		vals := rr.Values()
		var w windowRow
		w.row.reset(len(vals))
		var sb strings.Builder
		for i, v := range vals {
			w.row.kinds[i] = kindText
			if v == nil {
				w.row.kinds[i] = kindNull
			}
			w.row.vals[i] = append([]byte(nil), v...)
		}
		for j, ci := range in.keyCols {
			if j > 0 {
				sb.WriteByte(0)
			}
			sb.Write(vals[ci])
		}
		w.key = sb.String()
		in.live[w.key] = len(in.window)
		in.window = append(in.window, w)
	}
	if _, err := rr.Close(); err != nil {
		return 0, fmt.Errorf("incremental snapshot of %s: read a chunk: %w", ic.id, err)
	}
	return len(in.window), nil
}

// sendWindow emits the rows left in the window as read events at the
// stream position pos. They go into the batch being filled, which is handed
// on whole, so only the last one carries an offset: its key as the last one
// sent.
func (in *incremental) sendWindow(s *streamer, pos position) {
	c := in.c
	if in.table == nil {
		return
	}
	now := c.t.now().UnixMicro()
	si := &sourceInfo{pos: position{commit: pos.commit, lsn: pos.lsn, txid: pos.txid}, tsMs: now / 1000, tsUs: now, snapshot: "incremental", lastCommit: c.lastEnd}
	src := c.em.source(in.table, si).Freeze() // shared by the window's rows
	var lastRec *connect.Record
	n := int64(0)
	for i := range in.window {
		w := &in.window[i]
		if w.key == "" {
			continue // superseded by a streamed change
		}
		after, err1 := in.table.value(&w.row)
		key, err2 := in.table.key(&w.row)
		if err := errorsJoin(err1, err2); err != nil {
			c.log.Warn("postgres-cdc: incremental snapshot: a row that cannot be converted is skipped", "table", in.meta.id.String(), "error", err)
			continue
		}
		lastRec = c.em.envelopeWithSource(in.table, "r", key, nil, after, src, nil)
		s.add(lastRec)
		n++
	}
	if len(in.window) > 0 {
		w := &in.window[len(in.window)-1]
		texts := make([][]byte, len(in.keyCols))
		for j, ci := range in.keyCols {
			texts[j] = w.row.vals[ci]
		}
		in.state.lastKey = in.keyValues(texts)
		in.changed()
	}
	if lastRec != nil {
		lastRec.SourceOffset = c.offsetFor(pos)
	}
	in.window, in.live = in.window[:0], nil
	in.chunkID = ""
	in.mu.Lock()
	in.progress.rows += n
	in.progress.rowsTable += n
	in.mu.Unlock()
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// incrAfterCommit runs after each transaction: Kafka signals are handled
// between transactions.
func (c *capture) incrAfterCommit(ctx context.Context, s *streamer) error {
	if c.incr == nil {
		return nil
	}
	return c.pollKafkaSignals(ctx, s)
}

// pollKafkaSignals handles the Kafka channel's signals that arrived.
func (c *capture) pollKafkaSignals(ctx context.Context, s *streamer) error {
	if c.signals == nil || s.tx.active {
		return nil
	}
	for {
		select {
		case sig := <-c.signals.out:
			if err := c.incr.handleKafka(ctx, s, sig); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}
