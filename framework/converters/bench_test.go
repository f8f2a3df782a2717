package converters

import (
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
