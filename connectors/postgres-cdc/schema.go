package postgrescdc

import (
	"fmt"
	"log/slog"

	"github.com/connectd/connectd/framework/connect"
)

// Debezium's names for the connector and its fixed schemas.
const (
	connectorName     = "postgresql"
	sourceSchemaName  = "io.debezium.connector.postgresql.Source"
	envelopeVersion   = 2
	blockSchemaName   = "event.block"
	heartbeatKeyName  = "io.debezium.connector.common.ServerNameKey"
	heartbeatValName  = "io.debezium.connector.common.Heartbeat"
	snapshotEnumAllow = "true,last,false,incremental"
)

// sourceSchema is the schema of an event's source block.
var sourceSchema = connect.StructSchema().Name(sourceSchemaName).
	Field("version", connect.StringSchema).
	Field("connector", connect.StringSchema).
	Field("name", connect.StringSchema).
	Field("ts_ms", connect.Int64Schema).
	Field("snapshot", connect.NewSchema(connect.String).Name(dbzEnum).Version(1).Parameter("allowed", snapshotEnumAllow).Default("false").Optional().Build()).
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

// Field indexes of sourceSchema.
const (
	srcVersion = iota
	srcConnector
	srcName
	srcTsMs
	srcSnapshot
	srcDB
	srcSequence
	srcTsUs
	srcTsNs
	srcSchema
	srcTable
	srcTxID
	srcLSN
	srcXmin
)

// blockSchema is the transaction block; the connector leaves it null, as
// Debezium does without provide.transaction.metadata.
var blockSchema = connect.StructSchema().Name(blockSchemaName).Version(1).Optional().
	Field("id", connect.StringSchema).
	Field("total_order", connect.Int64Schema).
	Field("data_collection_order", connect.Int64Schema).
	Build()

// Field indexes of every envelope schema.
const (
	envBefore = iota
	envAfter
	envSource
	envTransaction
	envOp
	envTsMs
	envTsUs
	envTsNs
)

// Transaction metadata schemas, as Debezium's SchemaFactory builds them.
var (
	txKeySchema = connect.StructSchema().Name("io.debezium.connector.common.TransactionMetadataKey").Version(1).
			Field("id", connect.StringSchema).Build()
	txCollectionSchema = connect.StructSchema().Name("event.collection").Version(1).Optional().
				Field("data_collection", connect.StringSchema).
				Field("event_count", connect.Int64Schema).Build()
	txValueSchema = connect.StructSchema().Name("io.debezium.connector.common.TransactionMetadataValue").Version(1).
			Field("status", connect.StringSchema).
			Field("id", connect.StringSchema).
			Field("event_count", connect.OptionalInt64).
			Field("data_collections", connect.ArraySchema(txCollectionSchema).Optional().Build()).
			Field("ts_ms", connect.Int64Schema).Build()
)

var (
	heartbeatKeySchema   = connect.StructSchema().Name(heartbeatKeyName).Version(1).Field("serverName", connect.StringSchema).Build()
	heartbeatValueSchema = connect.StructSchema().Name(heartbeatValName).Version(1).Field("ts_ms", connect.Int64Schema).Build()
)

// column is one column of a captured table, as events carry it.
type column struct {
	name    string
	conv    *valueConv // nil: an unsupported type, left out of events
	notNull bool
	// decode is conv's decoder for this column's nullability.
	decode func(b []byte) (any, error)
	// dflt is the column's schema default, or nil.
	dflt any
	// field is the column's index in the value struct, -1 when left out.
	field int
	// keyField is its index in the key struct, -1 when not a key column.
	keyField int
}

// table is a captured table with its event schemas. Columns are in the
// order pgoutput sends them (attnum order, no dropped or generated ones),
// which is also the order snapshot queries select them in.
type table struct {
	id          tableID
	oid         uint32
	topic       string
	columns     []column
	keySchema   *connect.Schema // nil: the table has no key
	valueSchema *connect.Schema // optional
	envelope    *connect.Schema
	keyCols     []int // indexes into columns, in key order
	identity    byte
}

// relColumn is a column as a Relation message (or the catalog) lists it.
type relColumn struct {
	name   string
	oid    uint32
	typmod int32
}

// buildTable makes the event schemas of a table from its columns (rel) and
// what the catalog says of them (meta, matched by name).
func buildTable(cfg *config, types *typeMapper, meta *tableMeta, rel []relColumn, log *slog.Logger) (*table, error) {
	byName := map[string]columnMeta{}
	for _, c := range meta.columns {
		byName[c.name] = c
	}
	t := &table{id: meta.id, oid: meta.oid, topic: topicName(cfg.prefix + "." + meta.id.schema + "." + meta.id.name), identity: meta.identity}
	prefix := cfg.prefix + "." + meta.id.schema + "." + meta.id.name
	value := connect.StructSchema().Name(prefix + ".Value").Optional()
	key := connect.StructSchema().Name(prefix + ".Key")

	type keyed struct{ pos, col int }
	var keys []keyed
	override := cfg.keyColumnsFor(meta.id.schema, meta.id.name)
	nfield := 0
	for i, rc := range rel {
		cm := byName[rc.name]
		col := column{name: rc.name, notNull: cm.notNull, field: -1, keyField: -1}
		conv, err := types.conv(columnType{oid: rc.oid, typmod: rc.typmod, dims: cm.dims})
		if err != nil && cfg.unknownTypes {
			conv, err = types.unknownConv(), nil
		}
		if err != nil {
			log.Warn("column of an unsupported type is left out of events", "table", meta.id.String(), "column", rc.name, "type_oid", rc.oid)
		} else {
			col.conv = conv
			col.decode = conv.decode
			if !cm.notNull && conv.decodeOptional != nil {
				col.decode = conv.decodeOptional
			}
			col.dflt = columnDefault(cm, conv, col.decode)
		}
		if col.conv != nil && cfg.filter.column(meta.id.schema, meta.id.name, rc.name) {
			col.field = nfield
			nfield++
			value.Field(rc.name, withDefault(fieldSchema(conv, cm.notNull), col.dflt))
		}
		pos := cm.pkPos
		if override != nil {
			pos = 0
			for j, k := range override {
				if k == rc.name {
					pos = j + 1
				}
			}
		}
		if pos > 0 && col.conv != nil {
			keys = append(keys, keyed{pos, i})
		}
		t.columns = append(t.columns, col)
	}
	if override != nil && len(keys) != len(override) {
		return nil, fmt.Errorf("message.key.columns names columns %v of %s, but not all of them exist", override, meta.id)
	}
	// Key columns in key order.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].pos < keys[j-1].pos; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for i, k := range keys {
		c := &t.columns[k.col]
		c.keyField = i
		t.keyCols = append(t.keyCols, k.col)
		key.Field(c.name, withDefault(fieldSchema(c.conv, c.notNull || override == nil), c.dflt))
	}
	if len(keys) > 0 {
		t.keySchema = key.Build()
	}
	t.valueSchema = value.Build()
	t.envelope = connect.StructSchema().Name(prefix+".Envelope").Version(envelopeVersion).
		Field("before", t.valueSchema).
		Field("after", t.valueSchema).
		Field("source", sourceSchema).
		Field("transaction", blockSchema).
		Field("op", connect.StringSchema).
		Field("ts_ms", connect.OptionalInt64).
		Field("ts_us", connect.OptionalInt64).
		Field("ts_ns", connect.OptionalInt64).
		Build()
	return t, nil
}

func fieldSchema(conv *valueConv, notNull bool) *connect.Schema {
	if notNull {
		return conv.schema
	}
	return optional(conv.schema)
}

// topicName replaces the characters Kafka does not allow in topic names
// with '_', as Debezium's topic naming does.
func topicName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// withDefault returns s with default d (s itself when d is nil).
func withDefault(s *connect.Schema, d any) *connect.Schema {
	if d == nil {
		return s
	}
	c := *s
	c.Default = d
	return &c
}

// relColumnsOf lists a table's columns as the catalog has them.
func relColumnsOf(meta *tableMeta) []relColumn {
	out := make([]relColumn, len(meta.columns))
	for i, c := range meta.columns {
		out[i] = relColumn{name: c.name, oid: c.oid, typmod: c.typmod}
	}
	return out
}
