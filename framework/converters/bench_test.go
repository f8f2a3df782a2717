package converters

import (
	"math"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// benchSchema is a typical row: ten fields of the common types, logical
// types included.
var benchSchema = connect.StructSchema().Name("com.example.User").
	Field("id", connect.Int64Schema).
	Field("name", connect.StringSchema).
	Field("email", connect.OptionalString).
	Field("age", connect.Int32Schema).
	Field("score", connect.Float64Schema).
	Field("active", connect.BooleanSchema).
	Field("created", connect.TimestampSchema().Build()).
	Field("balance", connect.DecimalSchema(2).Build()).
	Field("tags", connect.ArraySchema(connect.StringSchema).Build()).
	Field("attrs", connect.MapSchema(connect.StringSchema, connect.StringSchema).Optional().Build()).
	Build()

func benchStruct() *connect.StructValue {
	return connect.NewStruct(benchSchema).
		Put("id", int64(1234567890)).Put("name", "Ada Lovelace").Put("email", "ada@example.com").
		Put("age", int32(36)).Put("score", 98.25).Put("active", true).
		Put("created", time.UnixMilli(1700000000123).UTC()).Put("balance", dec(1234567, 2)).
		Put("tags", []any{"admin", "math"}).Put("attrs", map[string]any{"team": "engines", "floor": "2"})
}

func benchMap() map[string]any {
	return map[string]any{
		"id": int64(1234567890), "name": "Ada Lovelace", "email": "ada@example.com", "age": int64(36),
		"score": 98.25, "active": true, "created": int64(1700000000123), "balance": "12345.67",
		"tags": []any{"admin", "math"}, "attrs": map[string]any{"team": "engines", "floor": "2"},
	}
}

func BenchmarkJSONFromConnect(b *testing.B) {
	b.Run("struct", func(b *testing.B) {
		c := mustJSON(b)
		v := benchStruct()
		out, _ := c.FromConnect("topic", benchSchema, v)
		b.SetBytes(int64(len(out)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.FromConnect("topic", benchSchema, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("schemaless-map", func(b *testing.B) {
		c := mustJSON(b, "schemas.enable", "false")
		v := benchMap()
		out, _ := c.FromConnect("topic", nil, v)
		b.SetBytes(int64(len(out)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.FromConnect("topic", nil, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkJSONToConnect(b *testing.B) {
	b.Run("struct", func(b *testing.B) {
		c := mustJSON(b)
		data, err := c.FromConnect("topic", benchSchema, benchStruct())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.ToConnect("topic", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("schemaless-map", func(b *testing.B) {
		c := mustJSON(b, "schemas.enable", "false")
		data, err := c.FromConnect("topic", nil, benchMap())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.ToConnect("topic", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAvro measures the Avro converter on Debezium's change event
// (testdata/avro), against the dev registry, which is asked once before the
// clock starts; bench/ compares it with the JSON converter.
func BenchmarkAvro(b *testing.B) {
	reg := newTestRegistry(b)
	c := mustConverter(b, "avro", false, "schema.registry.url", reg.url)
	_, v := dbzEvent(1001)
	data, err := c.FromConnect("t", dbzEnvelopeSchema, v)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("FromConnect", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.FromConnect("t", dbzEnvelopeSchema, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ToConnect", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.ToConnect("t", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkJSONSharedSource measures the JsonConverter without schemas on
// change events like postgres-cdc's snapshot records (a four-column row and
// a fifteen-field source block shared by the records of a chunk): ns per
// record with the source block frozen (written once, then copied) and not
// frozen (written for every record), in turns in the same run, each the
// fastest of its passes of 1000 records; the ratio is frozen ÷ not frozen.
func BenchmarkJSONSharedSource(b *testing.B) {
	row := connect.StructSchema().Name("s1.public.items.Value").Optional().
		Field("id", connect.Int64Schema).Field("qty", connect.Int32Schema).Field("name", connect.StringSchema).
		Field("price", connect.DecimalSchema(2).Optional().Build()).Build()
	src := connect.StructSchema().Name("io.debezium.connector.postgresql.Source")
	for _, f := range []string{"version", "connector", "name"} {
		src.Field(f, connect.StringSchema)
	}
	src.Field("ts_ms", connect.Int64Schema).Field("snapshot", connect.OptionalString).Field("db", connect.StringSchema).
		Field("sequence", connect.OptionalString).Field("ts_us", connect.OptionalInt64).Field("ts_ns", connect.OptionalInt64).
		Field("schema", connect.StringSchema).Field("table", connect.StringSchema).Field("txId", connect.OptionalInt64).
		Field("lsn", connect.OptionalInt64).Field("xmin", connect.OptionalInt64)
	srcSchema := src.Build()
	env := connect.StructSchema().Name("s1.public.items.Envelope").
		Field("before", row).Field("after", row).Field("source", srcSchema).
		Field("op", connect.StringSchema).Field("ts_ms", connect.OptionalInt64).Field("ts_us", connect.OptionalInt64).
		Field("ts_ns", connect.OptionalInt64).Build()
	source := func() *connect.StructValue {
		return connect.NewStruct(srcSchema).Put("version", "2.7.0.Final").Put("connector", "postgresql").Put("name", "s1").
			Put("ts_ms", int64(1765100000123)).Put("snapshot", "true").Put("db", "bench").
			Put("sequence", `[null,"12345678"]`).Put("ts_us", int64(1765100000123456)).Put("ts_ns", int64(1765100000123456000)).
			Put("schema", "public").Put("table", "items").Put("txId", int64(751)).Put("lsn", int64(12345678))
	}
	const n = 1000
	records := func(frozen bool) []*connect.StructValue {
		s := source()
		if frozen {
			s.Freeze()
		}
		out := make([]*connect.StructValue, n)
		for i := range out {
			after := connect.NewStruct(row).Put("id", int64(100000+i)).Put("qty", int32(i%100)).
				Put("name", "item number 100000").Put("price", dec(int64(100000+i), 2))
			out[i] = connect.NewStruct(env).Put("after", after).Put("source", s).Put("op", "r").
				Put("ts_ms", int64(1765100000200)).Put("ts_us", int64(1765100000200000)).Put("ts_ns", int64(1765100000200000000))
		}
		return out
	}
	c := mustJSON(b, "schemas.enable", "false")
	frozen, thawed := records(true), records(false)
	run := func(recs []*connect.StructValue) time.Duration {
		start := time.Now()
		for _, r := range recs {
			if _, err := c.FromConnect("t", env, r); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	// The fastest pass of each: on a machine shared with other work, the
	// others are slowed by preemption.
	tf, tt := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for b.Loop() {
		tf = min(tf, run(frozen))
		tt = min(tt, run(thawed))
	}
	f, t := float64(tf.Nanoseconds())/n, float64(tt.Nanoseconds())/n
	b.ReportMetric(f, "frozen-ns/record")
	b.ReportMetric(t, "thawed-ns/record")
	b.ReportMetric(f/t, "ratio")
}
