package bench

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/schemaregistry"
)

// Debezium's change event schemas for a table of ten columns (an order:
// ids, text, a numeric, timestamps as Debezium's MicroTimestamp, a
// boolean), with the source block and envelope Debezium's PostgreSQL
// connector gives them.
var (
	orderValue = connect.StructSchema().Name("shop.public.orders.Value").Optional().
			Field("id", connect.Int64Schema).
			Field("customer_id", connect.Int32Schema).
			Field("status", connect.StringSchema).
			Field("note", connect.OptionalString).
			Field("total", connect.DecimalSchema(2).Parameter("connect.decimal.precision", "12").Build()).
			Field("quantity", connect.Int16Schema).
			Field("created_at", connect.NewSchema(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1).Build()).
			Field("updated_at", connect.NewSchema(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1).Optional().Build()).
			Field("paid", connect.BooleanSchema).
			Field("email", connect.OptionalString).
			Build()
	orderSource = connect.StructSchema().Name("io.debezium.connector.postgresql.Source").
			Field("version", connect.StringSchema).Field("connector", connect.StringSchema).Field("name", connect.StringSchema).
			Field("ts_ms", connect.Int64Schema).
			Field("snapshot", connect.NewSchema(connect.String).Name("io.debezium.data.Enum").Version(1).
				Parameter("allowed", "true,last,false,incremental").Default("false").Optional().Build()).
			Field("db", connect.StringSchema).Field("sequence", connect.OptionalString).
			Field("ts_us", connect.OptionalInt64).Field("ts_ns", connect.OptionalInt64).
			Field("schema", connect.StringSchema).Field("table", connect.StringSchema).
			Field("txId", connect.OptionalInt64).Field("lsn", connect.OptionalInt64).Field("xmin", connect.OptionalInt64).
			Build()
	orderEnvelope = connect.StructSchema().Name("shop.public.orders.Envelope").Version(2).
			Field("before", orderValue).Field("after", orderValue).Field("source", orderSource).
			Field("transaction", connect.StructSchema().Name("event.block").Version(1).Optional().
				Field("id", connect.StringSchema).Field("total_order", connect.Int64Schema).
				Field("data_collection_order", connect.Int64Schema).Build()).
			Field("op", connect.StringSchema).Field("ts_ms", connect.OptionalInt64).
			Field("ts_us", connect.OptionalInt64).Field("ts_ns", connect.OptionalInt64).
			Build()
)

// orderEvents returns n update events, each with a before and an after
// image, as Debezium's PostgreSQL connector writes them with REPLICA
// IDENTITY FULL.
func orderEvents(n int) []*connect.StructValue {
	statuses := []string{"new", "paid", "shipped", "delivered"}
	out := make([]*connect.StructValue, n)
	for i := range n {
		row := func(status string, total int64) *connect.StructValue {
			return connect.NewStruct(orderValue).Put("id", int64(1_000_000+i)).Put("customer_id", int32(i%5000)).
				Put("status", status).Put("note", fmt.Sprintf("order %d for customer %d", i, i%5000)).
				Put("total", connect.Decimal{Unscaled: big.NewInt(total), Scale: 2}).Put("quantity", int16(1+i%9)).
				Put("created_at", int64(1_700_000_000_000_000+int64(i)*1000)).
				Put("updated_at", int64(1_700_000_100_000_000+int64(i)*1000)).Put("paid", i%2 == 0).
				Put("email", fmt.Sprintf("customer%d@example.com", i%5000))
		}
		src := connect.NewStruct(orderSource).Put("version", "2.7.0.Final").Put("connector", "postgresql").
			Put("name", "shop").Put("ts_ms", int64(1_700_000_200_000+i)).Put("snapshot", "false").Put("db", "shop").
			Put("schema", "public").Put("table", "orders").Put("txId", int64(7000+i)).Put("lsn", int64(33_000_000+i*64))
		out[i] = connect.NewStruct(orderEnvelope).Put("before", row(statuses[i%4], int64(1999+i))).
			Put("after", row(statuses[(i+1)%4], int64(2999+i))).Put("source", src).Put("op", "u").
			Put("ts_ms", int64(1_700_000_200_500+i)).Put("ts_us", int64(1_700_000_200_500_000+i)).
			Put("ts_ns", int64(1_700_000_200_500_000_000+i))
	}
	return out
}

// BenchmarkAvroConverter measures the AvroConverter against the
// JsonConverter without schemas (schemas.enable=false, the cheapest JSON
// form) on the same Debezium update events, in records per second, one
// goroutine: encoding (FromConnect, what a source task's records cost)
// and decoding (ToConnect, a sink's). The registry (the dev registry on an
// in-process Kafka) is asked once, before the clock starts. Each iteration
// measures Avro, JSON, JSON, Avro, so that a machine getting busier or
// quieter favours neither. Goal: both ratios ≥ 1.0 (Avro no costlier).
func BenchmarkAvroConverter(b *testing.B) {
	const n, rounds = 2000, 50 // 100k conversions per measurement
	seeds := kafkatest.Seeds(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := schemaregistry.Open(ctx, schemaregistry.Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(seeds...)}})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close(context.Background())
	if err := reg.Serve("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	avro := converter(b, "io.confluent.connect.avro.AvroConverter", "schema.registry.url", reg.URL())
	json := converter(b, "org.apache.kafka.connect.json.JsonConverter", "schemas.enable", "false")
	events := orderEvents(n)
	encoded := map[string][][]byte{}
	for name, c := range map[string]converters.Converter{"avro": avro, "json": json} {
		for _, e := range events {
			v, err := c.FromConnect("shop.public.orders", orderEnvelope, e)
			if err != nil {
				b.Fatal(err)
			}
			encoded[name] = append(encoded[name], v)
		}
	}
	encode := func(c converters.Converter) float64 {
		start := time.Now()
		for range rounds {
			for _, e := range events {
				if _, err := c.FromConnect("shop.public.orders", orderEnvelope, e); err != nil {
					b.Fatal(err)
				}
			}
		}
		return float64(n*rounds) / time.Since(start).Seconds()
	}
	decode := func(c converters.Converter, data [][]byte) float64 {
		start := time.Now()
		for range rounds {
			for _, d := range data {
				if _, _, err := c.ToConnect("shop.public.orders", d); err != nil {
					b.Fatal(err)
				}
			}
		}
		return float64(n*rounds) / time.Since(start).Seconds()
	}
	var encA, encJ, decA, decJ float64
	for i := 0; i < b.N; i++ {
		encA += encode(avro)
		encJ += encode(json)
		encJ += encode(json)
		encA += encode(avro)
		decA += decode(avro, encoded["avro"])
		decJ += decode(json, encoded["json"])
		decJ += decode(json, encoded["json"])
		decA += decode(avro, encoded["avro"])
	}
	size := func(name string) float64 {
		t := 0
		for _, v := range encoded[name] {
			t += len(v)
		}
		return float64(t) / float64(len(encoded[name]))
	}
	b.ReportMetric(encA/float64(2*b.N), "avro-encode-rec/s")
	b.ReportMetric(encJ/float64(2*b.N), "json-encode-rec/s")
	b.ReportMetric(encA/encJ, "encode-ratio")
	b.ReportMetric(decA/float64(2*b.N), "avro-decode-rec/s")
	b.ReportMetric(decJ/float64(2*b.N), "json-decode-rec/s")
	b.ReportMetric(decA/decJ, "decode-ratio")
	b.ReportMetric(size("avro"), "avro-bytes/rec")
	b.ReportMetric(size("json"), "json-bytes/rec")
}

func converter(b *testing.B, name string, kv ...string) converters.Converter {
	b.Helper()
	c, err := converters.New(name)
	if err != nil {
		b.Fatal(err)
	}
	cfg := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	if err := c.Configure(cfg, false); err != nil {
		b.Fatal(err)
	}
	return c
}
