package postgrescdc

import (
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

// Offset field names. lsn, lsn_proc, lsn_commit, txId, ts_usec, snapshot
// and last_snapshot_record are Debezium's; snapshot_table and
// snapshot_key are this connector's, for resuming a snapshot.
const (
	offLSN          = "lsn"
	offLSNProc      = "lsn_proc"
	offLSNCommit    = "lsn_commit"
	offTxID         = "txId"
	offTsUsec       = "ts_usec"
	offSnapshot     = "snapshot"
	offLastSnapshot = "last_snapshot_record"
	offSnapTable    = "snapshot_table"
	offSnapKey      = "snapshot_key"
	partitionServer = "server"
)

// position is a place in the change stream. Transactions arrive in commit
// order and a transaction's changes in LSN order, so (commit, lsn) orders
// every change. A change is already sent when its position is at or before
// the stored one; a position with lsn 0 (a heartbeat, a finished snapshot)
// covers the transactions committed before commit and none at it.
type position struct {
	commit uint64 // LSN of the transaction's commit record (lsn_commit)
	lsn    uint64 // LSN of the change (lsn_proc)
	txid   uint32
	tsUsec int64
}

// covers reports whether a change at (commit, lsn) is at or before p.
func (p position) covers(commit, lsn uint64) bool {
	return commit < p.commit || commit == p.commit && lsn != 0 && lsn <= p.lsn
}

func (p position) offset() map[string]any {
	m := make(map[string]any, 5)
	m[offLSN], m[offLSNCommit], m[offTsUsec] = int64(p.lsn), int64(p.commit), p.tsUsec
	if p.lsn != 0 {
		m[offLSNProc] = int64(p.lsn)
	} else {
		m[offLSN] = int64(p.commit)
	}
	if p.txid != 0 {
		m[offTxID] = int64(p.txid)
	}
	return m
}

// snapshotOffset is the offset of a snapshot record: where streaming starts
// once the snapshot is done (lsn), and the last row read (table, key).
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

// storedOffset is a parsed offset of an earlier run.
type storedOffset struct {
	pos position
	// snapshot is true while the snapshot was not finished: resume it after
	// (table, key); a nil key means from the table's start.
	snapshot bool
	table    string
	key      []string
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
	if commit == 0 {
		// An offset written by Debezium: lsn is where it resumes.
		commit = lsn
	}
	s.pos = position{commit: commit, lsn: proc, txid: uint32(tx), tsUsec: int64(ts)}
	if snap, _ := m[offSnapshot].(bool); snap {
		last, _ := m[offLastSnapshot].(bool)
		if !last {
			s.snapshot = true
			s.table, _ = m[offSnapTable].(string)
			if raw, ok := m[offSnapKey].([]any); ok {
				for _, k := range raw {
					ks, ok := k.(string)
					if !ok {
						return s, fmt.Errorf("offset field %s holds %T, want strings", offSnapKey, k)
					}
					s.key = append(s.key, ks)
				}
			}
		}
		s.pos.lsn = 0
	}
	return s, nil
}

// confirmable returns the LSN an offset lets the connector confirm to the
// server: the commit LSN of its transaction, which the server then resends
// from (the stored lsn_proc skips what of it was sent). Snapshot offsets
// confirm nothing.
func confirmable(m map[string]any) (uint64, bool) {
	if snap, _ := m[offSnapshot].(bool); snap {
		return 0, false
	}
	s, err := parseStoredOffset(m)
	if err != nil || s.pos.commit == 0 {
		return 0, false
	}
	return s.pos.commit, true
}
