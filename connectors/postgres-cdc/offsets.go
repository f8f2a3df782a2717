package postgrescdc

import (
	"fmt"
	"sort"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Offset field names. All but snapshot_table and snapshot_key (this
// connector's, for resuming an initial snapshot) are Debezium's, with
// Debezium's meaning, so that either connector resumes from the other's
// offsets.
const (
	offLSN          = "lsn"         // LSN of the message the record came from
	offLSNProc      = "lsn_proc"    // the last LSN completely processed: the same
	offLSNCommit    = "lsn_commit"  // end LSN of the last whole transaction handed on
	offTxID         = "txId"        // xid of the message's transaction
	offTsUsec       = "ts_usec"     // commit time
	offMsgType      = "messageType" // INSERT, UPDATE, DELETE, TRUNCATE, BEGIN, COMMIT
	offSnapshot     = "snapshot"    // an initial snapshot record
	offLastSnapshot = "last_snapshot_record"
	offSnapTable    = "snapshot_table"
	offSnapKey      = "snapshot_key"
	offSnapRanges   = "snapshot_ranges"                    // with snapshot.max.threads: how far each key range of snapshot_table got
	offTxOrderPre   = "transaction_data_collection_order_" // + schema.table: events of the table in the transaction so far
	offTxIDKey      = "transaction_id"
	partitionServer = "server"
)

// Debezium's message types (its Operation enum), as offsets name them.
const (
	msgInsert   = "INSERT"
	msgUpdate   = "UPDATE"
	msgDelete   = "DELETE"
	msgTruncate = "TRUNCATE"
	msgBegin    = "BEGIN"
	msgCommit   = "COMMIT"
)

// position is a place in the change stream, as Debezium keeps it.
// Transactions arrive in commit order and a transaction's changes in LSN
// order. commit is the end LSN of the last whole transaction handed on:
// every transaction whose commit record starts before it is done. When
// inTx is set, lsn is a change of the first transaction committing at or
// after commit, and its changes up to lsn are handed on too.
//
// A heartbeat or the end of a transaction has inTx unset and lsn equal to
// commit. An offset written by an earlier version of this connector held
// the commit LSN of the change's own transaction in lsn_commit, which reads
// the same way: the transactions before it are done, and in it the changes
// up to lsn_proc.
type position struct {
	commit  uint64
	lsn     uint64
	inTx    bool
	txid    uint32
	tsUsec  int64
	msgType string
}

// covers reports whether a change at lsn of the transaction whose commit
// record is at commit was handed on already. The caller clears inTx once the
// first transaction at or after p.commit is complete, so only that
// transaction is matched by LSN.
func (p position) covers(commit, lsn uint64) bool {
	return commit < p.commit || p.inTx && lsn != 0 && lsn <= p.lsn
}

// offset renders p as Debezium's offset map.
func (p position) offset() map[string]any {
	m := make(map[string]any, 6)
	lsn := p.lsn
	if lsn == 0 {
		lsn = p.commit
	}
	m[offLSN], m[offLSNProc], m[offLSNCommit], m[offTsUsec] = int64(lsn), int64(lsn), int64(p.commit), p.tsUsec
	if p.txid != 0 {
		m[offTxID] = int64(p.txid)
	}
	if p.msgType != "" {
		m[offMsgType] = p.msgType
	}
	return m
}

// snapshotOffset is the offset of an initial snapshot record: where
// streaming starts once the snapshot is done (lsn), and the last row read
// (table, key).
func snapshotOffset(start position, last bool, table string, key []any) map[string]any {
	m := make(map[string]any, 7)
	m[offSnapshot], m[offLastSnapshot], m[offLSN], m[offTsUsec] = true, last, int64(start.commit), start.tsUsec
	if start.txid != 0 {
		m[offTxID] = int64(start.txid)
	}
	if !last {
		m[offSnapTable] = table
		if key != nil {
			m[offSnapKey] = key
		}
	}
	return m
}

// txContext is the transaction metadata of the transaction being handed
// on (provide.transaction.metadata): its id and how many events of each
// table it had so far. Offsets carry it, as Debezium's do, so a task
// resumed inside a transaction goes on counting.
type txContext struct {
	id     string           // "" when no transaction is in progress
	counts map[string]int64 // per schema.table
	total  int64
}

func (x *txContext) begin(id string) {
	x.id, x.total = id, 0
	clear(x.counts)
}

// event counts one event of table and returns its order in the table.
func (x *txContext) event(table string) int64 {
	if x.counts == nil {
		x.counts = map[string]int64{}
	}
	x.total++
	x.counts[table]++
	return x.counts[table]
}

// store adds the context to an offset map.
func (x *txContext) store(m map[string]any) {
	if x.id == "" {
		return
	}
	m[offTxIDKey] = x.id
	for t, n := range x.counts {
		m[offTxOrderPre+t] = n
	}
}

// tables lists the tables with events, sorted.
func (x *txContext) tables() []string {
	out := make([]string, 0, len(x.counts))
	for t := range x.counts {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// snapshotRangesOffset is the offset of a snapshot record while table is
// read in ranges: one range is snapshot_key (as before parallel readers),
// several are snapshot_ranges.
func snapshotRangesOffset(start position, table string, ranges []snapRange) map[string]any {
	if len(ranges) == 1 && ranges[0].lo == nil && ranges[0].hi == nil {
		var key []any
		if ranges[0].after != nil {
			key = make([]any, len(ranges[0].after))
			for i, k := range ranges[0].after {
				key[i] = k
			}
		}
		return snapshotOffset(start, false, table, key)
	}
	m := snapshotOffset(start, false, table, nil)
	rs := make([]any, len(ranges))
	for i, r := range ranges {
		rm := map[string]any{"done": r.done}
		if r.lo != nil {
			rm["lo"] = *r.lo
		}
		if r.hi != nil {
			rm["hi"] = *r.hi
		}
		if r.after != nil {
			after := make([]any, len(r.after))
			for j, k := range r.after {
				after[j] = k
			}
			rm["after"] = after
		}
		rs[i] = rm
	}
	m[offSnapRanges] = rs
	return m
}

func stringsOf(v any, field string) ([]string, error) {
	raw, ok := v.([]any)
	if !ok {
		return nil, nil
	}
	out := make([]string, 0, len(raw))
	for _, k := range raw {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("offset field %s holds %T, want strings", field, k)
		}
		out = append(out, ks)
	}
	return out, nil
}

// storedOffset is a parsed offset of an earlier run.
type storedOffset struct {
	pos position
	// snapshot is true while the initial snapshot was not finished: resume
	// it after (table, key); a nil key means from the table's start.
	snapshot bool
	table    string
	ranges   []snapRange // of table; one unbounded range when read in one piece
	tx       txContext
	incr     *incrementalState // an incremental snapshot under way, or nil
}

func parseStoredOffset(m map[string]any) (storedOffset, error) {
	var s storedOffset
	get := func(k string) (uint64, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return 0, nil
		}
		n, err := connect.OffsetInt64(v)
		if err != nil {
			return 0, fmt.Errorf("offset field %s: %w", k, err)
		}
		return uint64(n), nil
	}
	lsn, err := get(offLSN)
	if err != nil {
		return s, err
	}
	commit, err := get(offLSNCommit)
	if err != nil {
		return s, err
	}
	proc, err := get(offLSNProc)
	if err != nil {
		return s, err
	}
	tx, err := get(offTxID)
	if err != nil {
		return s, err
	}
	ts, err := get(offTsUsec)
	if err != nil {
		return s, err
	}
	msgType, _ := m[offMsgType].(string)
	if commit == 0 {
		// As Debezium reads it: without lsn_commit, the last completely
		// processed LSN, else lsn, is where it resumes.
		commit = proc
		if commit == 0 {
			commit = lsn
		}
	}
	s.pos = position{commit: commit, lsn: proc, txid: uint32(tx), tsUsec: int64(ts), msgType: msgType}
	switch msgType {
	case msgInsert, msgUpdate, msgDelete, msgTruncate:
		s.pos.inTx = proc != 0
	case "":
		s.pos.inTx = proc != 0 && proc != commit
	}
	if snap, _ := m[offSnapshot].(bool); snap {
		last, _ := m[offLastSnapshot].(bool)
		if !last {
			s.snapshot = true
			s.table, _ = m[offSnapTable].(string)
			if rs, ok := m[offSnapRanges].([]any); ok {
				for _, r := range rs {
					rm, ok := r.(map[string]any)
					if !ok {
						return s, fmt.Errorf("offset field %s holds %T, want objects", offSnapRanges, r)
					}
					var sr snapRange
					if v, ok := rm["lo"].(string); ok {
						sr.lo = &v
					}
					if v, ok := rm["hi"].(string); ok {
						sr.hi = &v
					}
					sr.done, _ = rm["done"].(bool)
					if sr.after, err = stringsOf(rm["after"], offSnapRanges); err != nil {
						return s, err
					}
					s.ranges = append(s.ranges, sr)
				}
			} else {
				key, err := stringsOf(m[offSnapKey], offSnapKey)
				if err != nil {
					return s, err
				}
				s.ranges = []snapRange{{after: key}}
			}
		}
		s.pos.lsn, s.pos.inTx = 0, false
		return s, nil
	}
	if id, ok := m[offTxIDKey].(string); ok {
		s.tx.id = id
		for k, v := range m {
			if t, ok := strings.CutPrefix(k, offTxOrderPre); ok {
				n, err := connect.OffsetInt64(v)
				if err != nil {
					return s, fmt.Errorf("offset field %s: %w", k, err)
				}
				if s.tx.counts == nil {
					s.tx.counts = map[string]int64{}
				}
				s.tx.counts[t] = n
				s.tx.total += n
			}
		}
	}
	incr, err := parseIncremental(m)
	if err != nil {
		return s, err
	}
	s.incr = incr
	return s, nil
}

// confirmable returns the LSN an offset lets the connector confirm to the
// server: lsn_commit, the end of the last whole transaction handed on; the
// server resends the transactions committed after it. Snapshot offsets
// confirm nothing.
func confirmable(m map[string]any) (uint64, bool) {
	if snap, _ := m[offSnapshot].(bool); snap {
		return 0, false
	}
	v, ok := m[offLSNCommit]
	if !ok {
		s, err := parseStoredOffset(m)
		if err != nil || s.pos.commit == 0 {
			return 0, false
		}
		return s.pos.commit, true
	}
	n, err := connect.OffsetInt64(v)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint64(n), true
}
