package postgrescdc

import (
	"fmt"
	"strconv"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Kinds of a tuple's column, as pgoutput marks them.
const (
	kindNull      = 'n'
	kindUnchanged = 'u' // an unchanged TOASTed value the server did not send
	kindText      = 't'
)

// row is one tuple in text form. Values may alias a receive buffer: they
// are decoded before the next message is read.
type row struct {
	kinds []byte
	vals  [][]byte
}

func (r *row) reset(n int) {
	if cap(r.kinds) < n {
		r.kinds = make([]byte, n)
		r.vals = make([][]byte, n)
	}
	r.kinds, r.vals = r.kinds[:n], r.vals[:n]
}

// emitter turns changes into records.
type emitter struct {
	cfg       *config
	version   string
	partition map[string]any
	now       func() time.Time
}

// sourceInfo is what an event's source block says besides the table.
type sourceInfo struct {
	pos        position
	tsMs       int64  // commit time (streaming) or read time (snapshot)
	tsUs       int64  // same, in microseconds
	snapshot   string // "true", "last", "false"
	lastCommit uint64 // commit LSN of the previous transaction, for sequence
}

func (e *emitter) source(t *table, si *sourceInfo) *connect.StructValue {
	s := connect.NewStruct(sourceSchema)
	s.SetIndex(srcVersion, e.version)
	s.SetIndex(srcConnector, connectorName)
	s.SetIndex(srcName, e.cfg.prefix)
	s.SetIndex(srcTsMs, si.tsMs)
	s.SetIndex(srcSnapshot, si.snapshot)
	s.SetIndex(srcDB, e.cfg.dbname)
	s.SetIndex(srcTsUs, si.tsUs)
	s.SetIndex(srcTsNs, si.tsUs*1000)
	s.SetIndex(srcSchema, t.id.schema)
	s.SetIndex(srcTable, t.id.name)
	if si.pos.txid != 0 {
		s.SetIndex(srcTxID, int64(si.pos.txid))
	}
	lsn := si.pos.lsn
	if lsn == 0 {
		lsn = si.pos.commit
	}
	if lsn != 0 {
		s.SetIndex(srcLSN, int64(lsn))
		last := "null"
		if si.lastCommit != 0 {
			last = `"` + strconv.FormatUint(si.lastCommit, 10) + `"`
		}
		s.SetIndex(srcSequence, "["+last+`,"`+strconv.FormatUint(lsn, 10)+`"]`)
	}
	return s
}

// value decodes a tuple into the table's value struct. A column the tuple
// lacks (null in a delete's old key) takes its type's fallback when the
// column is NOT NULL; an unchanged TOASTed column takes the placeholder.
func (t *table) value(r *row) (*connect.StructValue, error) {
	return t.decodeValue(r, nil)
}

// valueKey decodes a tuple's value struct and its key struct (nil when the
// table has no key), as value and key do, decoding each column once: a
// NOT NULL key column that is in the value (the key's decoder is then the
// value's) shares its value when it is immutable.
func (t *table) valueKey(r *row) (*connect.StructValue, *connect.StructValue, error) {
	if t.keySchema == nil {
		v, err := t.decodeValue(r, nil)
		return v, nil, err
	}
	k := connect.NewStruct(t.keySchema)
	v, err := t.decodeValue(r, k)
	if err != nil {
		return nil, nil, err
	}
	if err := t.decodeKey(r, k, true); err != nil {
		return nil, nil, err
	}
	return v, k, nil
}

// sharedKey reports whether key column c's value is taken from the value
// struct by decodeValue: c is NOT NULL and in the value, and the tuple
// sent it.
func (c *column) sharedKey(r *row, i int) bool {
	return c.keyField >= 0 && c.field >= 0 && c.notNull && i < len(r.kinds) && r.kinds[i] == kindText
}

// immutable reports whether v can be shared between a key and a value:
// nothing can change it in place.
func immutable(v any) bool {
	switch v.(type) {
	case string, bool, int8, int16, int32, int64, float32, float64:
		return true
	}
	return false
}

// decodeValue is value; with k set, it also sets the key fields that
// sharedKey names to their columns' immutable values.
func (t *table) decodeValue(r *row, k *connect.StructValue) (*connect.StructValue, error) {
	v := connect.NewStruct(t.valueSchema)
	for i := range t.columns {
		c := &t.columns[i]
		if c.field < 0 {
			continue
		}
		if i >= len(r.kinds) {
			if c.notNull {
				v.SetIndex(c.field, c.fallback())
			}
			continue
		}
		switch r.kinds[i] {
		case kindText:
			val, err := c.decode(r.vals[i])
			if err != nil {
				return nil, fmt.Errorf("column %s of %s: %w", c.name, t.id, err)
			}
			if k != nil && c.sharedKey(r, i) && immutable(val) {
				k.SetIndex(c.keyField, val)
			}
			if val == nil && c.notNull {
				val = c.fallback()
			}
			v.SetIndex(c.field, val)
		case kindUnchanged:
			if c.conv.toast != nil {
				v.SetIndex(c.field, c.conv.toast)
			} else if c.notNull {
				v.SetIndex(c.field, c.fallback())
			}
		default:
			if c.notNull {
				v.SetIndex(c.field, c.fallback())
			}
		}
	}
	return v, nil
}

// fallback is the value of a NOT NULL column the server did not send: its
// default, else its type's zero (Debezium's fallback values).
func (c *column) fallback() any {
	if c.dflt != nil {
		return c.dflt
	}
	return c.conv.zero
}

// key decodes the key struct of a tuple, or nil when the table has no key.
func (t *table) key(r *row) (*connect.StructValue, error) {
	if t.keySchema == nil {
		return nil, nil
	}
	k := connect.NewStruct(t.keySchema)
	if err := t.decodeKey(r, k, false); err != nil {
		return nil, err
	}
	return k, nil
}

// decodeKey sets the key fields of k from the tuple; with shared, those
// that decodeValue already set are kept.
func (t *table) decodeKey(r *row, k *connect.StructValue, shared bool) error {
	for _, ci := range t.keyCols {
		c := &t.columns[ci]
		if ci >= len(r.kinds) || r.kinds[ci] != kindText {
			continue
		}
		if shared && c.sharedKey(r, ci) && k.GetIndex(c.keyField) != nil {
			continue
		}
		val, err := c.conv.decode(r.vals[ci])
		if err != nil {
			return fmt.Errorf("key column %s of %s: %w", c.name, t.id, err)
		}
		k.SetIndex(c.keyField, val)
	}
	return nil
}

// keyChanged reports whether old and new differ in a key column.
func (t *table) keyChanged(old, new *row) bool {
	for _, ci := range t.keyCols {
		if ci >= len(old.kinds) || ci >= len(new.kinds) {
			return false
		}
		if old.kinds[ci] != kindText || new.kinds[ci] != kindText {
			continue
		}
		if string(old.vals[ci]) != string(new.vals[ci]) {
			return true
		}
	}
	return false
}

// envelope builds one change event record.
func (e *emitter) envelope(t *table, op string, key, before, after *connect.StructValue, si *sourceInfo, offset map[string]any) *connect.Record {
	return e.envelopeWithSource(t, op, key, before, after, e.source(t, si), offset)
}

// envelopeWithSource builds one change event record around a source block.
func (e *emitter) envelopeWithSource(t *table, op string, key, before, after, src *connect.StructValue, offset map[string]any) *connect.Record {
	now := e.now()
	v := connect.NewStruct(t.envelope)
	if before != nil {
		v.SetIndex(envBefore, before)
	}
	if after != nil {
		v.SetIndex(envAfter, after)
	}
	v.SetIndex(envSource, src)
	v.SetIndex(envOp, op)
	us := now.UnixMicro()
	v.SetIndex(envTsMs, us/1000)
	v.SetIndex(envTsUs, us)
	v.SetIndex(envTsNs, now.UnixNano())
	r := &connect.Record{Topic: t.topic, Partition: -1, ValueSchema: t.envelope, Value: v,
		SourcePartition: e.partition, SourceOffset: offset}
	if key != nil {
		r.KeySchema, r.Key = t.keySchema, key
	}
	return r
}

// tombstone is the record that follows a delete: its key, no value.
func (e *emitter) tombstone(t *table, key *connect.StructValue, offset map[string]any) *connect.Record {
	r := &connect.Record{Topic: t.topic, Partition: -1, SourcePartition: e.partition, SourceOffset: offset}
	if key != nil {
		r.KeySchema, r.Key = t.keySchema, key
	}
	return r
}

// change is one decoded row change of the stream.
type change struct {
	op       byte // 'I', 'U', 'D'
	table    *table
	old, new *row
	hasOld   bool
	si       *sourceInfo
	tx       *txContext // the transaction's metadata, or nil
}

// appendChange appends the records of one change to out: one event, or for
// a delete also a tombstone, or for an update of the key a delete, a
// tombstone and a create. They carry no offset: the stream gives the last
// record of each batch the position it reached (streamer.flush), and a
// batch never ends inside a change's records.
func (e *emitter) appendChange(out []*connect.Record, c *change) ([]*connect.Record, error) {
	return e.changeRecords(out, c)
}

// event builds one change event of c, counted in its transaction.
func (e *emitter) event(c *change, op string, key, before, after *connect.StructValue) *connect.Record {
	r := e.envelope(c.table, op, key, before, after, c.si, nil)
	if c.tx != nil {
		order := c.tx.event(c.table.id.String())
		r.Value.(*connect.StructValue).SetIndex(envTransaction, c.tx.block(order))
	}
	return r
}

func (e *emitter) changeRecords(out []*connect.Record, c *change) ([]*connect.Record, error) {
	t := c.table
	switch c.op {
	case 'I':
		if e.cfg.skipped["c"] {
			return out, nil
		}
		after, key, err := t.valueKey(c.new)
		if err != nil {
			return out, err
		}
		return append(out, e.event(c, "c", key, nil, after)), nil
	case 'U':
		if c.hasOld && t.keyChanged(c.old, c.new) {
			return e.appendKeyChange(out, c)
		}
		if e.cfg.skipped["u"] {
			return out, nil
		}
		after, key, err := t.valueKey(c.new)
		if err != nil {
			return out, err
		}
		var before *connect.StructValue
		if c.hasOld {
			if before, err = t.value(c.old); err != nil {
				return out, err
			}
		}
		return append(out, e.event(c, "u", key, before, after)), nil
	case 'D':
		if e.cfg.skipped["d"] {
			return out, nil
		}
		before, key, err := t.valueKey(c.old)
		if err != nil {
			return out, err
		}
		out = append(out, e.event(c, "d", key, before, nil))
		if e.cfg.tombstones {
			out = append(out, e.tombstone(t, key, nil))
		}
		return out, nil
	}
	return out, fmt.Errorf("unknown change %q", c.op)
}

// appendKeyChange emits an update that changed the key as Debezium does:
// a delete of the old key (header __debezium.newkey), its tombstone, and a
// create of the new key (header __debezium.oldkey).
func (e *emitter) appendKeyChange(out []*connect.Record, c *change) ([]*connect.Record, error) {
	t := c.table
	before, err := t.value(c.old)
	if err != nil {
		return out, err
	}
	after, err := t.value(c.new)
	if err != nil {
		return out, err
	}
	oldKey, err := t.key(c.old)
	if err != nil {
		return out, err
	}
	newKey, err := t.key(c.new)
	if err != nil {
		return out, err
	}
	if !e.cfg.skipped["d"] {
		del := e.event(c, "d", oldKey, before, nil)
		del.Headers = []connect.Header{{Key: "__debezium.newkey", Schema: t.keySchema, Value: newKey}}
		out = append(out, del)
		if e.cfg.tombstones {
			out = append(out, e.tombstone(t, oldKey, nil))
		}
	}
	if !e.cfg.skipped["c"] {
		cr := e.event(c, "c", newKey, nil, after)
		cr.Headers = []connect.Header{{Key: "__debezium.oldkey", Schema: t.keySchema, Value: oldKey}}
		out = append(out, cr)
	}
	return out, nil
}

// truncate builds the event of a truncated table, counted in its
// transaction (tx, or nil).
func (e *emitter) truncate(t *table, si *sourceInfo, tx *txContext) *connect.Record {
	r := e.envelope(t, "t", nil, nil, nil, si, nil)
	if tx != nil {
		r.Value.(*connect.StructValue).SetIndex(envTransaction, tx.block(tx.event(t.id.String())))
	}
	return r
}

// Kinds of transaction metadata events.
const (
	txBegin = "BEGIN"
	txEnd   = "END"
)

// txEvent builds a BEGIN or END event of the transaction tx for
// <topic.prefix>.transaction, as Debezium's TransactionMonitor does: key
// {id}, value {status, id, event_count, data_collections, ts_ms}, the
// counts on END only.
func (e *emitter) txEvent(kind string, tx *txContext, commitTime time.Time, offset map[string]any) *connect.Record {
	key := connect.NewStruct(txKeySchema).Put("id", tx.id)
	val := connect.NewStruct(txValueSchema).Put("status", kind).Put("id", tx.id).Put("ts_ms", commitTime.UnixMilli())
	if kind == txEnd {
		val.Put("event_count", tx.total)
		colls := []any{}
		for _, t := range tx.tables() {
			colls = append(colls, connect.NewStruct(txCollectionSchema).Put("data_collection", t).Put("event_count", tx.counts[t]))
		}
		val.Put("data_collections", colls)
	}
	return &connect.Record{Topic: e.cfg.txTopic, Partition: -1, KeySchema: txKeySchema, Key: key,
		ValueSchema: txValueSchema, Value: val, SourcePartition: e.partition, SourceOffset: offset}
}

// block is the transaction block of an event, order its place among the
// transaction's events of its table.
func (x *txContext) block(order int64) *connect.StructValue {
	b := connect.NewStruct(blockSchema)
	b.SetIndex(0, x.id)
	b.SetIndex(1, x.total)
	b.SetIndex(2, order)
	return b
}

// heartbeat builds a heartbeat record carrying offset.
func (e *emitter) heartbeat(offset map[string]any) *connect.Record {
	key := connect.NewStruct(heartbeatKeySchema).Put("serverName", e.cfg.prefix)
	val := connect.NewStruct(heartbeatValueSchema).Put("ts_ms", e.now().UnixMilli())
	return &connect.Record{Topic: e.cfg.heartbeatTopic, Partition: -1, KeySchema: heartbeatKeySchema, Key: key,
		ValueSchema: heartbeatValueSchema, Value: val, SourcePartition: e.partition, SourceOffset: offset}
}
