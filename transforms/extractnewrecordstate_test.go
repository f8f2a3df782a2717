package transforms

import (
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

// The change events below are those of Debezium's PostgreSQL connector
// (and of postgres-cdc) for the inventory.customers table of Debezium's
// tutorial, with the topic prefix dbserver1 and one more column, tier,
// which has a default ('standard'), so that what the transform does with
// defaults shows. Debezium's documentation of the transform, "New Record
// State Extraction" (transformations/event-flattening.adoc, 2.7), shows
// the same shapes with abstract fields.
var (
	dbzTier = connect.NewSchema(connect.String).Optional().Default("standard").Build()
	dbzRow  = connect.StructSchema().Name("dbserver1.inventory.customers.Value").Optional().
		Field("id", connect.Int32Schema).
		Field("first_name", connect.StringSchema).
		Field("last_name", connect.StringSchema).
		Field("email", connect.StringSchema).
		Field("tier", dbzTier).
		Build()
	dbzKey     = connect.StructSchema().Name("dbserver1.inventory.customers.Key").Field("id", connect.Int32Schema).Build()
	dbzSnapEnm = connect.NewSchema(connect.String).Name("io.debezium.data.Enum").Version(1).
			Parameter("allowed", "true,last,false,incremental").Default("false").Optional().Build()
	dbzSource = connect.StructSchema().Name("io.debezium.connector.postgresql.Source").
			Field("version", connect.StringSchema).
			Field("connector", connect.StringSchema).
			Field("name", connect.StringSchema).
			Field("ts_ms", connect.Int64Schema).
			Field("snapshot", dbzSnapEnm).
			Field("db", connect.StringSchema).
			Field("sequence", connect.OptionalString).
			Field("ts_us", connect.OptionalInt64).
			Field("ts_ns", connect.OptionalInt64).
			Field("schema", connect.StringSchema).
			Field("table", connect.StringSchema).
			Field("txId", connect.OptionalInt64).
			Field("lsn", connect.OptionalInt64).
			Field("xmin", connect.OptionalInt64).
			Build()
	dbzBlock = connect.StructSchema().Name("event.block").Version(1).Optional().
			Field("id", connect.StringSchema).
			Field("total_order", connect.Int64Schema).
			Field("data_collection_order", connect.Int64Schema).
			Build()
	dbzEnvelope  = dbzEnvelopeOf("dbserver1.inventory.customers", dbzRow)
	dbzHeartbeat = connect.StructSchema().Name("io.debezium.connector.common.Heartbeat").Version(1).
			Field("ts_ms", connect.Int64Schema).Build()
)

// dbzEnvelopeOf is the schema of the change events of a table whose
// rows have schema row: Debezium's PostgreSQL connector names it
// <prefix>.<schema>.<table>.Envelope, version 2.
func dbzEnvelopeOf(table string, row *connect.Schema) *connect.Schema {
	return connect.StructSchema().Name(table+".Envelope").Version(2).
		Field("before", row).
		Field("after", row).
		Field("source", dbzSource).
		Field("transaction", dbzBlock).
		Field("op", connect.StringSchema).
		Field("ts_ms", connect.OptionalInt64).
		Field("ts_us", connect.OptionalInt64).
		Field("ts_ns", connect.OptionalInt64).
		Build()
}

const (
	dbzTopic = "dbserver1.inventory.customers"
	dbzTsMs  = int64(1559033904863) // the source's time
	dbzNowMs = int64(1559033904961) // the connector's
	dbzLSN   = int64(24023128)
)

// customer is a row of inventory.customers; tier nil is a null.
func customer(id int32, first, last, email string, tier any) *connect.StructValue {
	return st(dbzRow, "id", id, "first_name", first, "last_name", last, "email", email, "tier", tier)
}

// dbzEvent is a change event of op with the row before and after (nil:
// null), keyed by the row's id, as the connector emits it: snapshot reads
// carry snapshot "true" and no transaction.
func dbzEvent(op string, before, after *connect.StructValue) *connect.Record {
	src := st(dbzSource, "version", "2.7.4.Final", "connector", "postgresql", "name", "dbserver1", "ts_ms", dbzTsMs,
		"snapshot", "false", "db", "postgres", "sequence", `["24023119","24023128"]`, "ts_us", dbzTsMs*1000,
		"ts_ns", dbzTsMs*1000000, "schema", "inventory", "table", "customers", "txId", int64(555), "lsn", dbzLSN)
	var tx any
	switch op {
	case "r":
		src.Put("snapshot", "true").Put("sequence", nil).Put("txId", nil)
	case "u":
		tx = st(dbzBlock, "id", "555:24023128", "total_order", int64(1), "data_collection_order", int64(1))
	}
	v := st(dbzEnvelope, "op", op, "source", src, "transaction", tx,
		"ts_ms", dbzNowMs, "ts_us", dbzNowMs*1000, "ts_ns", dbzNowMs*1000000)
	var key any
	row := after
	if row == nil {
		row = before
	}
	if before != nil {
		v.Put("before", before)
	}
	if after != nil {
		v.Put("after", after)
	}
	var keySchema *connect.Schema
	if row != nil {
		keySchema, key = dbzKey, st(dbzKey, "id", row.Get("id"))
	}
	r := rec(keySchema, key, dbzEnvelope, v)
	r.Topic = dbzTopic
	return withTS(r, dbzNowMs)
}

// dbzTombstone is the tombstone that follows a delete of id.
func dbzTombstone(id int32) *connect.Record {
	r := rec(dbzKey, st(dbzKey, "id", id), nil, nil)
	r.Topic = dbzTopic
	return withTS(r, dbzNowMs)
}

// The events of the tests: a snapshot read, an insert, an update, a delete
// and its tombstone, a truncate.
var (
	sally   = customer(1001, "Sally", "Thomas", "sally.thomas@acme.com", "gold")
	anne    = customer(1004, "Anne", "Kretchmar", "annek@noanswer.org", nil)
	anneM   = customer(1004, "Anne Marie", "Kretchmar", "annek@noanswer.org", nil)
	sarah   = customer(1005, "Sarah", "Thompson", "kitt@acme.com", "standard")
	dbzRead = func() *connect.Record { return dbzEvent("r", nil, sally) }
	dbzCrt  = func() *connect.Record { return dbzEvent("c", nil, sarah) }
	dbzUpd  = func() *connect.Record { return dbzEvent("u", anne, anneM) }
	dbzDel  = func() *connect.Record { return dbzEvent("d", anneM, nil) }
	dbzTomb = func() *connect.Record { return dbzTombstone(1004) }
	dbzTrnc = func() *connect.Record {
		r := dbzEvent("t", nil, nil)
		r.KeySchema, r.Key = nil, nil
		return r
	}
)

// flatSchema is the schema of an unwrapped row: the row's, no longer
// optional, with extra fields after its own.
func flatSchema(extra ...connect.Field) *connect.Schema {
	b := connect.StructSchema().Name(dbzRow.Name)
	for _, f := range dbzRow.Fields {
		b.Field(f.Name, f.Schema)
	}
	for _, f := range extra {
		b.Field(f.Name, f.Schema)
	}
	return b.Build()
}

var deletedF = connect.Field{Name: "__deleted", Schema: connect.OptionalString}

// flat is row as an unwrapped value of schema s (flatSchema), with the
// extra fields' values after the row's; tier, when not nil, replaces the
// row's (a rewrite reads a null tier as its default).
func flat(s *connect.Schema, row *connect.StructValue, tier any, extra ...any) *connect.StructValue {
	v := connect.NewStruct(s)
	for i := range dbzRow.Fields {
		v.SetIndex(i, row.GetIndex(i))
	}
	if tier != nil {
		v.Put("tier", tier)
	}
	for i, x := range extra {
		v.SetIndex(len(dbzRow.Fields)+i, x)
	}
	return v
}

// unwrapped is what the transform makes of event e: e with value v of
// schema s (and the same key, topic, timestamp and headers).
func unwrapped(e *connect.Record, s *connect.Schema, v any) *connect.Record {
	c := *e
	c.ValueSchema, c.Value = s, v
	return &c
}

func withHeaders(r *connect.Record, hs ...connect.Header) *connect.Record {
	r.Headers = append(r.Headers, hs...)
	return r
}

func withTopic(r *connect.Record, topic string) *connect.Record { r.Topic = topic; return r }

const unwrapClass = "io.debezium.transforms.ExtractNewRecordState"

// TestExtractNewRecordStateModes runs each event through each way of
// handling deletes and tombstones: delete.tombstone.handling.mode's four,
// the deprecated delete.handling.mode and drop.tombstones (with their
// defaults when nothing is set), and both set, where the new key wins.
func TestExtractNewRecordStateModes(t *testing.T) {
	t.Parallel()
	plain := flatSchema()
	rewritten := flatSchema(deletedF)
	type outs struct {
		read, create, update, del, tomb *connect.Record // nil: dropped
	}
	asIs := func(e *connect.Record) *connect.Record { return e }
	// Without rewrite a row is the after struct with the row's schema made
	// required, its fields as they are (a null tier stays null).
	kept := outs{
		read:   unwrapped(dbzRead(), plain, flat(plain, sally, nil)),
		create: unwrapped(dbzCrt(), plain, flat(plain, sarah, nil)),
		update: unwrapped(dbzUpd(), plain, flat(plain, anneM, nil)),
	}
	// With rewrite every row gets __deleted, and a null field with a
	// default reads as that default (Debezium adds __deleted with Kafka
	// Connect's InsertField, which reads fields so).
	rewrite := outs{
		read:   unwrapped(dbzRead(), rewritten, flat(rewritten, sally, nil, "false")),
		create: unwrapped(dbzCrt(), rewritten, flat(rewritten, sarah, nil, "false")),
		update: unwrapped(dbzUpd(), rewritten, flat(rewritten, anneM, "standard", "false")),
		del:    unwrapped(dbzDel(), rewritten, flat(rewritten, anneM, "standard", "true")),
	}
	// A delete as a null value: the after field's schema (optional) and no
	// value, which is not a Kafka tombstone.
	nullDelete := unwrapped(dbzDel(), dbzRow, nil)
	with := func(o outs, f func(*outs)) outs { f(&o); return o }
	unnamed := connect.StructSchema().Field("id", connect.Int32Schema).Build()
	modes := map[string]struct {
		keys map[string]string
		want outs
	}{
		"defaults: deletes and tombstones dropped": {keys: nil, want: kept},
		"drop":      {keys: map[string]string{"delete.tombstone.handling.mode": "drop"}, want: kept},
		"tombstone": {keys: map[string]string{"delete.tombstone.handling.mode": "tombstone"}, want: with(kept, func(o *outs) { o.del = nullDelete })},
		"rewrite":   {keys: map[string]string{"delete.tombstone.handling.mode": "rewrite"}, want: rewrite},
		"rewrite-with-tombstone": {keys: map[string]string{"delete.tombstone.handling.mode": "rewrite-with-tombstone"},
			want: with(rewrite, func(o *outs) { o.tomb = asIs(dbzTomb()) })},
		"mode in upper case": {keys: map[string]string{"delete.tombstone.handling.mode": " Rewrite-With-Tombstone "},
			want: with(rewrite, func(o *outs) { o.tomb = asIs(dbzTomb()) })},
		"legacy drop.tombstones=false": {keys: map[string]string{"drop.tombstones": "false"},
			want: with(kept, func(o *outs) { o.tomb = asIs(dbzTomb()) })},
		"legacy delete.handling.mode=none": {keys: map[string]string{"delete.handling.mode": "none"},
			want: with(kept, func(o *outs) { o.del = nullDelete })},
		"legacy none, drop.tombstones=false": {keys: map[string]string{"delete.handling.mode": "none", "drop.tombstones": "false"},
			want: with(kept, func(o *outs) { o.del, o.tomb = nullDelete, asIs(dbzTomb()) })},
		"legacy rewrite": {keys: map[string]string{"delete.handling.mode": "rewrite"}, want: rewrite},
		"legacy rewrite, drop.tombstones=false": {keys: map[string]string{"delete.handling.mode": "rewrite", "drop.tombstones": "false"},
			want: with(rewrite, func(o *outs) { o.tomb = asIs(dbzTomb()) })},
		"delete.tombstone.handling.mode wins over the legacy keys": {keys: map[string]string{
			"delete.tombstone.handling.mode": "drop", "delete.handling.mode": "rewrite", "drop.tombstones": "false"}, want: kept},
		"a blank delete.tombstone.handling.mode leaves it to the legacy keys": {keys: map[string]string{
			"delete.tombstone.handling.mode": "", "delete.handling.mode": "rewrite"}, want: rewrite},
	}
	cases := map[string]applyCase{}
	for name, m := range modes {
		for event, c := range map[string]struct{ in, want *connect.Record }{
			"read":      {dbzRead(), m.want.read},
			"create":    {dbzCrt(), m.want.create},
			"update":    {dbzUpd(), m.want.update},
			"delete":    {dbzDel(), m.want.del},
			"tombstone": {dbzTomb(), m.want.tomb},
			// Debezium drops truncates in every mode.
			"truncate": {dbzTrnc(), nil},
			// Records that are not change events pass as they are.
			"heartbeat": {withTopic(rec(nil, nil, dbzHeartbeat, st(dbzHeartbeat, "ts_ms", dbzNowMs)), "__debezium-heartbeat.dbserver1"),
				withTopic(rec(nil, nil, dbzHeartbeat, st(dbzHeartbeat, "ts_ms", dbzNowMs)), "__debezium-heartbeat.dbserver1")},
			"another struct": {rec(nil, nil, dbzKey, st(dbzKey, "id", int32(1))), rec(nil, nil, dbzKey, st(dbzKey, "id", int32(1)))},
			"unnamed struct": {rec(nil, nil, unnamed, st(unnamed, "id", int32(1))), rec(nil, nil, unnamed, st(unnamed, "id", int32(1)))},
			// Debezium's transform needs schemas: a schemaless event is not
			// one it recognizes.
			"schemaless event": {rec(nil, nil, nil, map[string]any{"op": "c", "after": map[string]any{"id": 1}}),
				rec(nil, nil, nil, map[string]any{"op": "c", "after": map[string]any{"id": 1}})},
		} {
			cases[name+"/"+event] = applyCase{class: unwrapClass, keys: m.keys, in: c.in, want: c.want}
		}
		// A schemaless tombstone is a tombstone.
		tomb := rec(nil, "1004", nil, nil)
		var want *connect.Record
		if m.want.tomb != nil {
			want = rec(nil, "1004", nil, nil)
		}
		cases[name+"/schemaless tombstone"] = applyCase{class: unwrapClass, keys: m.keys, in: tomb, want: want}
	}
	runCases(t, cases)
}

// TestExtractNewRecordStateAddFields checks add.fields against Debezium's
// documentation and tests: op, ts_* and the transaction's id, total_order
// and data_collection_order resolve where Debezium resolves them, other
// names to the source block; struct.field and field:alias.
func TestExtractNewRecordStateAddFields(t *testing.T) {
	t.Parallel()
	optStr := connect.OptionalString
	optLong := connect.OptionalInt64
	optEnum := connect.NewSchema(connect.String).Name("io.debezium.data.Enum").Version(1).
		Parameter("allowed", "true,last,false,incremental").Optional().Build()
	f := func(name string, s *connect.Schema) connect.Field { return connect.Field{Name: name, Schema: s} }

	// The documentation's example: add.fields=op,table,lsn,source.ts_ms with
	// rewrite.
	docs := flatSchema(deletedF, f("__op", optStr), f("__table", optStr), f("__lsn", optLong), f("__source_ts_ms", optLong))
	docsKeys := map[string]string{"add.fields": "op,table,lsn,source.ts_ms", "delete.handling.mode": "rewrite"}

	renamed := flatSchema(f("operation", optStr), f("event_ts", optLong), f("txn", optStr), f("snap", optEnum))
	renameKeys := map[string]string{"delete.tombstone.handling.mode": "tombstone", "add.fields.prefix": "",
		"add.fields": "op:operation, source.ts_ms:event_ts, transaction.id:txn, snapshot:snap"}

	times := flatSchema(f("__ts_ms", optLong), f("__ts_us", optLong), f("__ts_ns", optLong), f("__source_ts_us", optLong),
		f("__total_order", connect.NewSchema(connect.Int64).Optional().Build()), f("__transaction_data_collection_order", optLong))
	timeKeys := map[string]string{"add.fields": "ts_ms,ts_us,ts_ns,source.ts_us,total_order,transaction.data_collection_order"}

	missing := flatSchema(f("__op", optStr))
	runCases(t, map[string]applyCase{
		"documented example, create": {class: unwrapClass, keys: docsKeys, in: dbzCrt(),
			want: unwrapped(dbzCrt(), docs, flat(docs, sarah, nil, "false", "c", "customers", dbzLSN, dbzTsMs))},
		"documented example, update": {class: unwrapClass, keys: docsKeys, in: dbzUpd(),
			want: unwrapped(dbzUpd(), docs, flat(docs, anneM, "standard", "false", "u", "customers", dbzLSN, dbzTsMs))},
		// "To add metadata to a simplified Kafka record that is for a DELETE
		// operation, you must also configure delete.handling.mode=rewrite."
		"documented example, delete": {class: unwrapClass, keys: docsKeys, in: dbzDel(),
			want: unwrapped(dbzDel(), docs, flat(docs, anneM, "standard", "true", "d", "customers", dbzLSN, dbzTsMs))},
		"documented example, snapshot read": {class: unwrapClass, keys: docsKeys, in: dbzRead(),
			want: unwrapped(dbzRead(), docs, flat(docs, sally, nil, "false", "r", "customers", dbzLSN, dbzTsMs))},
		"renamed, no prefix, update": {class: unwrapClass, keys: renameKeys, in: dbzUpd(),
			want: unwrapped(dbzUpd(), renamed, flat(renamed, anneM, nil, "u", dbzTsMs, "555:24023128", "false"))},
		// The transaction is null in a snapshot: its fields are null.
		"renamed, no prefix, read": {class: unwrapClass, keys: renameKeys, in: dbzRead(),
			want: unwrapped(dbzRead(), renamed, flat(renamed, sally, nil, "r", dbzTsMs, nil, "true"))},
		// With tombstone mode a delete has no value to add fields to.
		"renamed, no prefix, delete": {class: unwrapClass, keys: renameKeys, in: dbzDel(), want: unwrapped(dbzDel(), dbzRow, nil)},
		"envelope times and transaction fields": {class: unwrapClass, keys: timeKeys, in: dbzUpd(),
			want: unwrapped(dbzUpd(), times, flat(times, anneM, nil, dbzNowMs, dbzNowMs*1000, dbzNowMs*1000000, dbzTsMs*1000, int64(1), int64(1)))},
		// A field the event does not have is left out (Debezium's
		// documentation says it is added; its code and tests leave it out).
		"fields the event lacks": {class: unwrapClass, keys: map[string]string{"add.fields": "op,nosuch,source.nosuch,transaction.nosuch,before.nosuch"},
			in: dbzCrt(), want: unwrapped(dbzCrt(), missing, flat(missing, sarah, nil, "c"))},
		// An unqualified name the source lacks is looked up at the top.
		"a source field found at the top": {class: unwrapClass, keys: map[string]string{"add.fields": "transaction"},
			in: dbzRead(), want: func() *connect.Record {
				s := flatSchema(f("__transaction", metadataSchema(dbzBlock)))
				return unwrapped(dbzRead(), s, flat(s, sally, nil, nil))
			}()},
		"a struct the event lacks": {class: unwrapClass, keys: map[string]string{"add.fields": "nosuch.op"}, in: dbzCrt(),
			wantErr: "the change event has no field nosuch (named by nosuch.op)"},
		"a field of a field that is not a struct": {class: unwrapClass, keys: map[string]string{"add.fields": "op.x"}, in: dbzCrt(),
			wantErr: "Cannot look up fields on non-struct type"},
		"a name the row has": {class: unwrapClass, keys: map[string]string{"add.fields": "op:email", "add.fields.prefix": ""}, in: dbzCrt(),
			wantErr: "Cannot create field because of field name duplication email"},
		"__deleted twice": {class: unwrapClass, keys: map[string]string{"add.fields": "op:deleted", "delete.handling.mode": "rewrite"}, in: dbzCrt(),
			wantErr: "Cannot create field because of field name duplication __deleted"},
		// A dropped delete never gets that far.
		"a bad field on a dropped delete": {class: unwrapClass, keys: map[string]string{"add.fields": "nosuch.op"}, in: dbzDel()},
	})
}

func TestExtractNewRecordStateAddHeaders(t *testing.T) {
	t.Parallel()
	optStr := connect.OptionalString
	plain := flatSchema()
	rewritten := flatSchema(deletedF)
	existing := connect.Header{Key: "trace", Schema: connect.StringSchema, Value: "abc"}
	h := func(k string, s *connect.Schema, v any) connect.Header {
		return connect.Header{Key: k, Schema: s, Value: v}
	}
	keys := map[string]string{"add.headers": "op,source.lsn,db,transaction.id:txn,nosuch", "delete.tombstone.handling.mode": "rewrite-with-tombstone"}
	hdrs := func(op string, txn any) []connect.Header {
		return []connect.Header{h("__op", optStr, op), h("__source_lsn", connect.OptionalInt64, dbzLSN), h("__db", optStr, "postgres"), h("__txn", optStr, txn)}
	}
	runCases(t, map[string]applyCase{
		"create": {class: unwrapClass, keys: keys, in: withHeaders(dbzCrt(), existing),
			want: withHeaders(unwrapped(dbzCrt(), rewritten, flat(rewritten, sarah, nil, "false")), append([]connect.Header{existing}, hdrs("c", nil)...)...)},
		"update": {class: unwrapClass, keys: keys, in: dbzUpd(),
			want: withHeaders(unwrapped(dbzUpd(), rewritten, flat(rewritten, anneM, "standard", "false")), hdrs("u", "555:24023128")...)},
		"delete": {class: unwrapClass, keys: keys, in: dbzDel(),
			want: withHeaders(unwrapped(dbzDel(), rewritten, flat(rewritten, anneM, "standard", "true")), hdrs("d", nil)...)},
		// A tombstone has no event to read: it gets op only, as "d".
		"tombstone": {class: unwrapClass, keys: keys, in: withHeaders(dbzTomb(), existing),
			want: withHeaders(dbzTomb(), existing, h("__op", connect.StringSchema, "d"))},
		"tombstone, op renamed and prefixed": {class: unwrapClass,
			keys: map[string]string{"add.headers": "db,op:operation", "add.headers.prefix": "dbz.", "drop.tombstones": "false"},
			in:   dbzTomb(), want: withHeaders(dbzTomb(), h("dbz.operation", connect.StringSchema, "d"))},
		"heartbeat": {class: unwrapClass, keys: keys, in: rec(nil, nil, dbzHeartbeat, st(dbzHeartbeat, "ts_ms", dbzNowMs)),
			want: rec(nil, nil, dbzHeartbeat, st(dbzHeartbeat, "ts_ms", dbzNowMs))},
		"snapshot enum keeps its name and parameters": {class: unwrapClass, keys: map[string]string{"add.headers": "snapshot"}, in: dbzRead(),
			want: withHeaders(unwrapped(dbzRead(), plain, flat(plain, sally, nil)),
				h("__snapshot", connect.NewSchema(connect.String).Name("io.debezium.data.Enum").Version(1).
					Parameter("allowed", "true,last,false,incremental").Optional().Build(), "true"))},
		"a struct the event lacks": {class: unwrapClass, keys: map[string]string{"add.headers": "nosuch.op"}, in: dbzDel(),
			wantErr: "the change event has no field nosuch (named by nosuch.op)"},
	})
}

func TestExtractNewRecordStateRouteByField(t *testing.T) {
	t.Parallel()
	plain := flatSchema()
	rewritten := flatSchema(deletedF)
	noTier := customer(1006, "Ann", "Other", "ann@other.org", nil)
	blank := customer(1007, "  ", "Blank", "b@x.org", nil)
	runCases(t, map[string]applyCase{
		"create": {class: unwrapClass, keys: map[string]string{"route.by.field": "last_name"}, in: dbzCrt(),
			want: withTopic(unwrapped(dbzCrt(), plain, flat(plain, sarah, nil)), "Thompson")},
		"update": {class: unwrapClass, keys: map[string]string{"route.by.field": "first_name"}, in: dbzUpd(),
			want: withTopic(unwrapped(dbzUpd(), plain, flat(plain, anneM, nil)), "Anne Marie")},
		// A delete routes by its before row.
		"delete as null": {class: unwrapClass, keys: map[string]string{"route.by.field": "first_name", "delete.handling.mode": "none"}, in: dbzDel(),
			want: withTopic(unwrapped(dbzDel(), dbzRow, nil), "Anne Marie")},
		"delete rewritten": {class: unwrapClass, keys: map[string]string{"route.by.field": "first_name", "delete.handling.mode": "rewrite"}, in: dbzDel(),
			want: withTopic(unwrapped(dbzDel(), rewritten, flat(rewritten, anneM, "standard", "true")), "Anne Marie")},
		// A null leaves the topic alone, unless a rewrite reads it as the default.
		"null": {class: unwrapClass, keys: map[string]string{"route.by.field": "tier"}, in: dbzEvent("c", nil, noTier),
			want: unwrapped(dbzEvent("c", nil, noTier), plain, flat(plain, noTier, nil))},
		"null read as default": {class: unwrapClass, keys: map[string]string{"route.by.field": "tier", "delete.handling.mode": "rewrite"},
			in:   dbzEvent("c", nil, noTier),
			want: withTopic(unwrapped(dbzEvent("c", nil, noTier), rewritten, flat(rewritten, noTier, "standard", "false")), "standard")},
		"blank": {class: unwrapClass, keys: map[string]string{"route.by.field": "first_name"}, in: dbzEvent("c", nil, blank),
			want: unwrapped(dbzEvent("c", nil, blank), plain, flat(plain, blank, nil))},
		"__deleted in rewrite mode": {class: unwrapClass, keys: map[string]string{"route.by.field": "__deleted", "delete.handling.mode": "rewrite"},
			in: dbzCrt(), want: withTopic(unwrapped(dbzCrt(), rewritten, flat(rewritten, sarah, nil, "false")), "false")},
		"not a string": {class: unwrapClass, keys: map[string]string{"route.by.field": "id"}, in: dbzCrt(),
			wantErr: "Field 'id' is not of type STRING"},
		"no such field": {class: unwrapClass, keys: map[string]string{"route.by.field": "nosuch"}, in: dbzCrt(),
			wantErr: "nosuch is not a valid field name"},
		"no such field, delete": {class: unwrapClass, keys: map[string]string{"route.by.field": "__deleted", "delete.handling.mode": "rewrite"}, in: dbzDel(),
			wantErr: "__deleted is not a valid field name"},
	})
}

// TestExtractNewRecordStateDropFields checks drop.fields.header.name as
// Debezium's tests do: a header lists fields to remove from the row (and
// the key); with drop.fields.keep.schema.compatible only optional ones go.
func TestExtractNewRecordStateDropFields(t *testing.T) {
	t.Parallel()
	list := connect.ArraySchema(connect.OptionalString).Optional().Name("drop").Build()
	hdr := connect.Header{Key: "drop", Schema: list, Value: []any{"id", "email", "tier"}}
	keys := func(kv ...string) map[string]string {
		m := map[string]string{"drop.fields.header.name": "drop", "delete.handling.mode": "rewrite", "add.fields": "op"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	f := func(name string, s *connect.Schema) connect.Field { return connect.Field{Name: name, Schema: s} }
	// Of tier and __op, both optional, both go.
	compatible := connect.StructSchema().Name(dbzRow.Name).Field("id", connect.Int32Schema).Field("first_name", connect.StringSchema).
		Field("last_name", connect.StringSchema).Field("email", connect.StringSchema).Field("__deleted", connect.OptionalString).Build()
	all := connect.StructSchema().Name(dbzRow.Name).Field("first_name", connect.StringSchema).
		Field("last_name", connect.StringSchema).Field("__deleted", connect.OptionalString).Field("__op", connect.OptionalString).Build()
	emptyKey := connect.StructSchema().Name(dbzKey.Name).Build()
	// A delete drops fields before it adds __op, so __op stays.
	withoutTier := connect.StructSchema().Name(dbzRow.Name).Field("id", connect.Int32Schema).Field("first_name", connect.StringSchema).
		Field("last_name", connect.StringSchema).Field("email", connect.StringSchema).Field("__deleted", connect.OptionalString).
		Field("__op", connect.OptionalString).Build()
	tierOp := connect.Header{Key: "drop", Schema: list, Value: []any{"tier", "__op"}}
	runCases(t, map[string]applyCase{
		"compatible": {class: unwrapClass, keys: keys(), in: withHeaders(dbzCrt(), tierOp),
			want: withHeaders(unwrapped(dbzCrt(), compatible, st(compatible, "id", int32(1005), "first_name", "Sarah", "last_name", "Thompson",
				"email", "kitt@acme.com", "__deleted", "false")), tierOp)},
		"delete, compatible": {class: unwrapClass, keys: keys(), in: withHeaders(dbzDel(), tierOp),
			want: withHeaders(unwrapped(dbzDel(), withoutTier, st(withoutTier, "id", int32(1004), "first_name", "Anne Marie", "last_name", "Kretchmar",
				"email", "annek@noanswer.org", "__deleted", "true", "__op", "d")), tierOp)},
		"not compatible, from the key too": {class: unwrapClass, keys: keys("drop.fields.keep.schema.compatible", "false", "drop.fields.from.key", "true"),
			in: withHeaders(dbzCrt(), hdr),
			want: func() *connect.Record {
				r := withHeaders(unwrapped(dbzCrt(), all, st(all, "first_name", "Sarah", "last_name", "Thompson", "__deleted", "false", "__op", "c")), hdr)
				r.KeySchema, r.Key = emptyKey, connect.NewStruct(emptyKey)
				return r
			}()},
		// Of id, email and tier only tier is optional; the key's id is required.
		"compatible, from the key: a required key field stays": {class: unwrapClass, keys: keys("drop.fields.from.key", "true"),
			in: withHeaders(dbzCrt(), hdr),
			want: withHeaders(unwrapped(dbzCrt(), withoutTier, st(withoutTier, "id", int32(1005), "first_name", "Sarah", "last_name", "Thompson",
				"email", "kitt@acme.com", "__deleted", "false", "__op", "c")), hdr)},
		"no header": {class: unwrapClass, keys: keys(), in: dbzCrt(),
			want: func() *connect.Record {
				s := flatSchema(deletedF, f("__op", connect.OptionalString))
				return unwrapped(dbzCrt(), s, flat(s, sarah, nil, "false", "c"))
			}()},
		"a header that is not a list": {class: unwrapClass, keys: keys(), in: withHeaders(dbzCrt(), connect.Header{Key: "drop", Value: "tier"}),
			wantErr: "header drop holds java.lang.String, not a list of field names"},
	})
}

// TestExtractNewRecordStateBadEvents checks events that claim to be
// change events but are not.
func TestExtractNewRecordStateBadEvents(t *testing.T) {
	t.Parallel()
	noAfter := connect.StructSchema().Name("x.Envelope").Field("op", connect.StringSchema).Build()
	noBefore := connect.StructSchema().Name("x.Envelope").Field("after", dbzRow).Build()
	notStructRow := connect.StructSchema().Name("x.Envelope").Field("after", connect.OptionalString).Build()
	runCases(t, map[string]applyCase{
		"no after":          {class: unwrapClass, in: rec(nil, nil, noAfter, st(noAfter, "op", "c")), wantErr: "Unknown field: after"},
		"no before, delete": {class: unwrapClass, in: rec(nil, nil, noBefore, st(noBefore)), wantErr: "Unknown field: before"},
		"no before, create": {class: unwrapClass, in: rec(nil, nil, noBefore, st(noBefore, "after", sarah)),
			want: rec(nil, nil, flatSchema(), flat(flatSchema(), sarah, nil))},
		"not a struct": {class: unwrapClass, in: rec(nil, nil, dbzEnvelope, "x"),
			wantErr: "Only Struct objects supported for [field extraction], found: java.lang.String"},
		"a row that is not a struct": {class: unwrapClass, in: rec(nil, nil, notStructRow, st(notStructRow, "after", "x")),
			wantErr: "Only Struct objects supported for [source field insertion], found: java.lang.String"},
		"a row of another schema": {class: unwrapClass, in: rec(nil, nil, noBefore, st(noBefore, "after", st(dbzKey, "id", int32(1)))),
			wantErr: "Struct schemas do not match."},
	})
}

func TestExtractNewRecordStateConfig(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		keys map[string]string
		want string
	}{
		"unknown mode": {map[string]string{"delete.tombstone.handling.mode": "delete-to-tombstone"},
			"Invalid value delete-to-tombstone for configuration transforms.x.delete.tombstone.handling.mode: Value must be one of drop, tombstone, rewrite, rewrite-with-tombstone"},
		"unknown legacy mode": {map[string]string{"delete.handling.mode": "keep"},
			"Invalid value keep for configuration transforms.x.delete.handling.mode: Value must be one of drop, rewrite, none"},
		"three-part field": {map[string]string{"add.fields": "op,a:b:c"},
			"Invalid value op,a:b:c for configuration transforms.x.add.fields: Unexpected field name: a:b:c"},
		"empty header name": {map[string]string{"add.headers": ":"},
			"Invalid value : for configuration transforms.x.add.headers: Unexpected field name: :"},
		"bad boolean": {map[string]string{"drop.tombstones": "maybe"},
			"Invalid value maybe for configuration transforms.x.drop.tombstones: Expected value to be either true or false"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := oneErr("ExtractNewRecordState", tc.keys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	// The short name and the class name build the same transform.
	for _, n := range []string{"ExtractNewRecordState", unwrapClass} {
		if _, err := oneErr(n, nil); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// unwrapStream is a stream of change events of changing kinds, with and
// without headers, on two tables, so that memory one event left in a
// Scratch would show in the next one's result.
func unwrapStream() []*connect.Record {
	other := connect.StructSchema().Name("dbserver1.inventory.orders.Value").Optional().
		Field("id", connect.Int32Schema).Field("customer", connect.Int32Schema).Build()
	otherEnv := dbzEnvelopeOf("dbserver1.inventory.orders", other)
	order := func(op string, id int32) *connect.Record {
		src := dbzEvent(op, nil, sarah).Value.(*connect.StructValue).Get("source")
		v := st(otherEnv, "op", op, "source", src, "ts_ms", dbzNowMs)
		row := st(other, "id", id, "customer", int32(1001))
		if op == "d" {
			v.Put("before", row)
		} else {
			v.Put("after", row)
		}
		r := rec(nil, nil, otherEnv, v)
		r.Topic = "dbserver1.inventory.orders"
		return r
	}
	var out []*connect.Record
	for i := range 3 {
		out = append(out, dbzRead(), withHeaders(dbzCrt(), connect.Header{Key: "trace", Value: "t"}), dbzUpd(), order("c", int32(i)),
			dbzDel(), dbzTomb(), dbzTrnc(), order("d", int32(i)), rec(nil, nil, dbzHeartbeat, st(dbzHeartbeat, "ts_ms", dbzNowMs)),
			dbzEvent("c", nil, customer(int32(2000+i), "N", "M", "e", nil)))
	}
	return out
}

// TestExtractNewRecordStateInChains runs the stream through chains where
// the transform comes before others, under a predicate, and last, and
// checks the chain's three ways of applying them against each other and
// against the transforms one by one (checkStream).
func TestExtractNewRecordStateInChains(t *testing.T) {
	t.Parallel()
	unwrap := func(keys map[string]string) [3]any { return [3]any{"unwrap", unwrapClass, keys} }
	rewrite := map[string]string{"delete.tombstone.handling.mode": "rewrite-with-tombstone", "add.fields": "op,table,source.ts_ms",
		"add.headers": "op,lsn"}
	chains := map[string][][3]any{
		"unwrap, then field transforms and routing": {
			unwrap(rewrite),
			{"insert", "InsertField$Value", map[string]string{"static.field": "origin", "static.value": "pg", "topic.field": "topic"}},
			{"rename", "ReplaceField$Value", map[string]string{"renames": "email:mail"}},
			{"mask", "MaskField$Value", map[string]string{"fields": "mail", "predicate": "tomb", "negate": "true"}},
			{"route", "RegexRouter", map[string]string{"regex": "dbserver1\\.inventory\\.(.*)", "replacement": "$1"}},
		},
		"unwrap under a predicate, null deletes": {
			{"drop", "DropHeaders", map[string]string{"headers": "trace"}},
			[3]any{"unwrap", unwrapClass, map[string]string{"delete.handling.mode": "none", "drop.tombstones": "false", "predicate": "customers",
				"add.headers": "op", "route.by.field": "last_name"}},
			{"hoist", "HoistField$Value", map[string]string{"field": "row", "predicate": "tomb", "negate": "true"}},
		},
		"unwrap last": {
			{"hdr", "InsertHeader", map[string]string{"header": "h", "value.literal": "v"}},
			unwrap(map[string]string{"add.fields": "op", "add.fields.prefix": "", "add.headers": "source.ts_ms:at"}),
		},
	}
	preds := map[string]string{"predicates": "customers,tomb", "predicates.customers.type": "TopicNameMatches",
		"predicates.customers.pattern": ".*customers", "predicates.tomb.type": "RecordIsTombstone"}
	for name, steps := range chains {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := chainOf(t, nil, preds, steps...)
			if !c.reusable {
				t.Fatal("a chain of built-in transforms does not reuse memory")
			}
			if kept := checkStream(t, c, unwrapStream); kept == 0 {
				t.Fatal("every record was dropped")
			}
		})
	}
}

// TestExtractNewRecordStateAllocatesNothing checks that, for a source
// task's records (ApplyReusing), the transform allocates nothing per
// record once it has seen the event's shape: with the default
// configuration and with metadata fields and headers.
func TestExtractNewRecordStateAllocatesNothing(t *testing.T) {
	for name, keys := range map[string]map[string]string{
		"defaults": nil,
		"rewrite, fields and headers": {"delete.tombstone.handling.mode": "rewrite", "add.fields": "op,table,lsn,source.ts_ms",
			"add.headers": "op", "route.by.field": "first_name"},
	} {
		c := one(t, unwrapClass, keys)
		for _, in := range []*connect.Record{dbzCrt(), dbzUpd()} {
			var scratch Scratch
			var out *connect.Record
			var err error
			if allocs := testing.AllocsPerRun(100, func() { out, err = c.ApplyReusing(in, &scratch) }); allocs != 0 {
				t.Errorf("%s: %v allocations per record", name, allocs)
			}
			if err != nil || out == nil {
				t.Errorf("%s: got %v, %v", name, out, err)
			}
		}
	}
}
