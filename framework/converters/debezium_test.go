package converters

import (
	"math/big"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// The schemas of a Debezium PostgreSQL change event (Debezium 2.x), for a
// table inventory.customers(id int primary key, first_name text not null,
// email text, price numeric(10,2)) captured with topic.prefix dbserver1:
// the shapes Debezium's connector and connectd's postgres-cdc give them.
var (
	dbzKeySchema = connect.StructSchema().Name("dbserver1.inventory.customers.Key").
			Field("id", connect.Int32Schema).Build()
	dbzValueSchema = connect.StructSchema().Name("dbserver1.inventory.customers.Value").Optional().
			Field("id", connect.Int32Schema).
			Field("first_name", connect.StringSchema).
			Field("email", connect.OptionalString).
			Field("price", connect.DecimalSchema(2).Parameter("connect.decimal.precision", "10").Optional().Build()).
			Build()
	dbzSourceSchema = connect.StructSchema().Name("io.debezium.connector.postgresql.Source").
			Field("version", connect.StringSchema).
			Field("connector", connect.StringSchema).
			Field("name", connect.StringSchema).
			Field("ts_ms", connect.Int64Schema).
			Field("snapshot", connect.NewSchema(connect.String).Name("io.debezium.data.Enum").Version(1).
				Parameter("allowed", "true,last,false,incremental").Default("false").Optional().Build()).
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
	dbzBlockSchema = connect.StructSchema().Name("event.block").Version(1).Optional().
			Field("id", connect.StringSchema).
			Field("total_order", connect.Int64Schema).
			Field("data_collection_order", connect.Int64Schema).
			Build()
	dbzEnvelopeSchema = connect.StructSchema().Name("dbserver1.inventory.customers.Envelope").Version(2).
				Field("before", dbzValueSchema).
				Field("after", dbzValueSchema).
				Field("source", dbzSourceSchema).
				Field("transaction", dbzBlockSchema).
				Field("op", connect.StringSchema).
				Field("ts_ms", connect.OptionalInt64).
				Field("ts_us", connect.OptionalInt64).
				Field("ts_ns", connect.OptionalInt64).
				Build()
)

// dbzEvent returns the key and value of the creation of customer id.
func dbzEvent(id int32) (*connect.StructValue, *connect.StructValue) {
	key := connect.NewStruct(dbzKeySchema).Put("id", id)
	after := connect.NewStruct(dbzValueSchema).Put("id", id).Put("first_name", "Sally").Put("email", "s@x").
		Put("price", connect.Decimal{Unscaled: big.NewInt(1234), Scale: 2})
	source := connect.NewStruct(dbzSourceSchema).Put("version", "2.7.0.Final").Put("connector", "postgresql").
		Put("name", "dbserver1").Put("ts_ms", time.UnixMilli(1700000000000).UnixMilli()).Put("snapshot", "false").
		Put("db", "inventory").Put("schema", "inventory").Put("table", "customers").
		Put("txId", int64(555)).Put("lsn", int64(33812384))
	value := connect.NewStruct(dbzEnvelopeSchema).Put("after", after).Put("source", source).Put("op", "c").
		Put("ts_ms", int64(1700000000123))
	return key, value
}
