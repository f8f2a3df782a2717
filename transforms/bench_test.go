package transforms

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// goalNs is the budget for one transform on one record. Each
// benchmark reports its ns per record as a ratio of it (x-goal: below 1
// meets the goal).
const goalNs = 500.0

var (
	benchSchema = connect.StructSchema().Name("com.example.Order").
		Field("id", connect.Int64Schema).
		Field("customer", connect.StringSchema).
		Field("email", connect.OptionalString).
		Field("amount", connect.Float64Schema).
		Field("created", connect.TimestampSchema().Build()).
		Field("active", connect.BooleanSchema).
		Field("address", connect.StructSchema().Optional().
			Field("city", connect.StringSchema).Field("zip", connect.StringSchema).Build()).
		Build()
)

// benchRecord returns record n (0 or 1) of the benchmarks, with a struct
// value or a map. The two have the same shape and different values (each
// boxed on its own), as consecutive records of a stream do: the
// benchmarks alternate between them, so that a chain reusing memory writes
// what changes from one record to the next.
func benchRecord(schema bool, n int) *connect.Record {
	id := int64(42 + n)
	customer := fmt.Sprint("ACME Corp ", n)
	email := fmt.Sprintf("ops%d@acme.example", n)
	amount := 12.5 + float64(n)
	created := 1700000000000 + int64(n)
	r := &connect.Record{Topic: "orders", Partition: 3, KeySchema: connect.StringSchema, Key: fmt.Sprint(id), Timestamp: ms(created),
		Headers: []connect.Header{{Key: "source", Schema: connect.StringSchema, Value: "db"}, {Key: "trace", Schema: connect.StringSchema, Value: fmt.Sprint("abc", n)}}}
	if schema {
		r.ValueSchema = benchSchema
		r.Value = connect.NewStruct(benchSchema).Put("id", id).Put("customer", customer).
			Put("email", email).Put("amount", amount).Put("created", ms(created)).Put("active", n == 0).
			Put("address", connect.NewStruct(benchSchema.Fields[6].Schema).Put("city", "Springfield").Put("zip", fmt.Sprint(12345+n)))
	} else {
		r.Value = map[string]any{"id": id, "customer": customer, "email": email, "amount": amount,
			"created": created, "active": n == 0, "address": map[string]any{"city": "Springfield", "zip": fmt.Sprint(12345 + n)}}
	}
	return r
}

type benchCase struct {
	name  string
	class string
	keys  map[string]string
	forms []bool // schema'd (true) and/or schemaless (false)
	// records, when set, makes the records instead of benchRecord.
	records func(n int) *connect.Record
}

// benchEnvelopeSchema is a Debezium change event whose rows are the
// benchmark's order (benchSchema), as postgres-cdc writes them for a table
// public.orders with the topic prefix dbserver1.
var (
	benchRowSchema = func() *connect.Schema {
		b := connect.StructSchema().Name("dbserver1.public.orders.Value").Optional()
		for _, f := range benchSchema.Fields {
			b.Field(f.Name, f.Schema)
		}
		return b.Build()
	}()
	benchEnvelopeSchema = dbzEnvelopeOf("dbserver1.public.orders", benchRowSchema)
	benchEnvelopeKey    = connect.StructSchema().Name("dbserver1.public.orders.Key").Field("id", connect.Int64Schema).Build()
)

// benchEnvelope returns change event n (0 or 1) of the benchmark: an
// insert of benchRecord(true, 0)'s order, or an update from it to record
// 1's, each with its own values, as consecutive events of a stream have.
func benchEnvelope(n int) *connect.Record {
	row := func(n int) *connect.StructValue {
		v := benchRecord(true, n).Value.(*connect.StructValue)
		out := connect.NewStruct(benchRowSchema)
		for i := range benchRowSchema.Fields {
			out.SetIndex(i, v.GetIndex(i))
		}
		return out
	}
	ts := 1700000000000 + int64(n)
	src := connect.NewStruct(dbzSource).Put("version", "2.7.4.Final").Put("connector", "postgresql").Put("name", "dbserver1").
		Put("ts_ms", ts).Put("snapshot", "false").Put("db", "shop").Put("sequence", fmt.Sprintf(`[null,"%d"]`, 24023128+n)).
		Put("ts_us", ts*1000).Put("ts_ns", ts*1000000).Put("schema", "public").Put("table", "orders").
		Put("txId", int64(555+n)).Put("lsn", int64(24023128+n))
	env := connect.NewStruct(benchEnvelopeSchema).Put("after", row(n)).Put("source", src).Put("op", "c").
		Put("ts_ms", ts+5).Put("ts_us", (ts+5)*1000).Put("ts_ns", (ts+5)*1000000)
	if n == 1 {
		env.Put("before", row(0)).Put("op", "u")
	}
	return &connect.Record{Topic: "dbserver1.public.orders", Partition: -1, KeySchema: benchEnvelopeKey,
		Key: connect.NewStruct(benchEnvelopeKey).Put("id", int64(42+n)), ValueSchema: benchEnvelopeSchema, Value: env, Timestamp: ms(ts + 5)}
}

var both = []bool{true, false}

func benchCases() []benchCase {
	return []benchCase{
		{name: "Cast", class: "Cast$Value", keys: map[string]string{"spec": "id:string,amount:float32"}, forms: both},
		{name: "DropHeaders", class: "DropHeaders", keys: map[string]string{"headers": "trace"}, forms: []bool{true}},
		{name: "ExtractField", class: "ExtractField$Value", keys: map[string]string{"field": "customer"}, forms: both},
		{name: "ExtractFieldV2", class: "ExtractField$Value", keys: map[string]string{"field": "address.city", "field.syntax.version": "V2"}, forms: both},
		{name: "Filter", class: "Filter", forms: []bool{true}},
		{name: "Flatten", class: "Flatten$Value", forms: both},
		{name: "HeaderFrom", class: "HeaderFrom$Value", keys: map[string]string{"fields": "id", "headers": "id", "operation": "move"}, forms: both},
		{name: "HoistField", class: "HoistField$Value", keys: map[string]string{"field": "order"}, forms: both},
		{name: "InsertField", class: "InsertField$Value", keys: map[string]string{"topic.field": "topic", "static.field": "dc", "static.value": "eu-1"}, forms: both},
		{name: "InsertHeader", class: "InsertHeader", keys: map[string]string{"header": "dc", "value.literal": "eu-1"}, forms: []bool{true}},
		{name: "MaskField", class: "MaskField$Value", keys: map[string]string{"fields": "email,amount"}, forms: both},
		{name: "RegexRouter", class: "RegexRouter", keys: map[string]string{"regex": "(.*)s", "replacement": "$1-v2"}, forms: []bool{true}},
		{name: "ReplaceField", class: "ReplaceField$Value", keys: map[string]string{"exclude": "active", "renames": "customer:client,amount:total"}, forms: both},
		{name: "SetSchemaMetadata", class: "SetSchemaMetadata$Value", keys: map[string]string{"schema.name": "com.example.Order2", "schema.version": "2"}, forms: []bool{true}},
		{name: "TimestampConverter", class: "TimestampConverter$Value", keys: map[string]string{"field": "created", "target.type": "string", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSX"}, forms: both},
		{name: "TimestampRouter", class: "TimestampRouter", forms: []bool{true}},
		{name: "ValueToKey", class: "ValueToKey", keys: map[string]string{"fields": "id,customer"}, forms: both},
		{name: "TopicNameMatches", class: "Filter", keys: map[string]string{"predicate": "p", "negate": "true"}, forms: []bool{true}},
		// Debezium's: a change event to its row as configured by default,
		// and with the metadata Debezium's users commonly add.
		{name: "ExtractNewRecordState", class: "ExtractNewRecordState", forms: []bool{true}, records: benchEnvelope},
		{name: "ExtractNewRecordStateRewrite", class: "ExtractNewRecordState", keys: map[string]string{
			"delete.tombstone.handling.mode": "rewrite", "add.fields": "op,table,lsn,source.ts_ms", "add.headers": "op"},
			forms: []bool{true}, records: benchEnvelope},
	}
}

func formName(schema bool) string {
	if schema {
		return "schema"
	}
	return "schemaless"
}

var sinkRecord *connect.Record

// perOp reports the benchmark's figures besides ns/op, per unit of work
// ("op", or "transform" for a chain): x-goal, the wall time per unit as a
// ratio of the 500 ns budget, and cpu-ns/<unit>, the CPU time this process
// used per unit (the garbage collector's work on the other core included),
// which other programs on a shared machine disturb less than wall time.
// cpu is the process's CPU time spent on the loop (negative: unknown);
// units how many units the loop did.
func perOp(b *testing.B, cpu time.Duration, units float64, unit string) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/units/goalNs, "x-goal")
	if cpu >= 0 {
		b.ReportMetric(float64(cpu)/units, "cpu-ns/"+unit)
	}
}

// cpuSince returns the process's CPU time since start, a processCPU
// reading, or -1 when the platform does not tell.
func cpuSince(start time.Duration) time.Duration {
	now := processCPU()
	if now <= 0 || start <= 0 {
		return -1
	}
	return now - start
}

// BenchmarkRecordCopy is the peer the transforms compare with: the heap
// copy of a record that any transform that changes a record makes when
// its result is new memory (fresh). On a loaded machine every figure rises
// with it.
func BenchmarkRecordCopy(b *testing.B) {
	r := benchRecord(true, 0)
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		c := *r
		sinkRecord = &c
	}
	perOp(b, cpuSince(cpu), float64(b.N), "op")
}

// BenchmarkMapClone and BenchmarkMapInsert are the peers of the schemaless
// transforms when their result is new memory (fresh): what any such
// transform of the benchmark's record must do, whatever its code. MapClone
// copies the record and its value (seven entries), as Cast, MaskField,
// ReplaceField, TimestampConverter and HeaderFrom (move) must; MapInsert
// copies the record and the value into a map with room for two more and
// adds them, as InsertField with two fields must (nine entries no longer
// fit one eight-slot group, so the map takes a table and four
// allocations).
func BenchmarkMapClone(b *testing.B) {
	rs := [2]*connect.Record{benchRecord(false, 0), benchRecord(false, 1)}
	b.ReportAllocs()
	cpu := processCPU()
	i := 0
	for b.Loop() {
		c := *rs[i&1]
		c.Value = maps.Clone(c.Value.(map[string]any))
		sinkRecord = &c
		i++
	}
	perOp(b, cpuSince(cpu), float64(b.N), "op")
}

func BenchmarkMapInsert(b *testing.B) {
	rs := [2]*connect.Record{benchRecord(false, 0), benchRecord(false, 1)}
	b.ReportAllocs()
	cpu := processCPU()
	i := 0
	for b.Loop() {
		c := *rs[i&1]
		m := c.Value.(map[string]any)
		out := make(map[string]any, len(m)+2)
		maps.Copy(out, m)
		out["topic"], out["dc"] = "orders", "eu-1"
		c.Value = out
		sinkRecord = &c
		i++
	}
	perOp(b, cpuSince(cpu), float64(b.N), "op")
}

// modes are the ways the runtime applies a chain: reused is
// Chain.ApplyReusing, for a source task's records, which the runtime
// converts to bytes at once, so the chain reuses its memory from one record
// to the next; owned is Chain.ApplyOwned, for a sink task's records, which
// the converter makes afresh and the task may keep, so the chain changes
// each record's own map or struct in place and what it makes is new
// memory (its figures include making the record: see BenchmarkHandOver);
// fresh is Chain.Apply, for records the caller still holds, so every
// changed record, struct or map is new memory.
var modes = []string{"reused", "owned", "fresh"}

// benchLoop runs the two records rs (like benchRecord(schema, 0) and
// (…, 1)), alternately, through c in mode, with check run on each result
// before the loop, and reports perOp with units units of work per record.
//
// The owned mode needs a record of its own for every call, as a sink
// task's converter makes: each op makes one (handOver) and applies the
// chain to it. BenchmarkHandOver is the peer to subtract.
func benchLoop(b *testing.B, c *Chain, mode string, rs [2]*connect.Record, units float64, unit string, check func(*connect.Record, error)) {
	b.Helper()
	var apply func(*connect.Record) (*connect.Record, error)
	switch mode {
	case "fresh":
		apply = c.Apply
	case "owned":
		apply = func(r *connect.Record) (*connect.Record, error) { return c.ApplyOwned(handOver(r)) }
	default:
		var s Scratch
		apply = func(r *connect.Record) (*connect.Record, error) { return c.ApplyReusing(r, &s) }
	}
	for _, r := range rs {
		check(apply(r))
	}
	b.ReportAllocs()
	start := processCPU()
	i := 0
	for b.Loop() {
		if _, err := apply(rs[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	perOp(b, cpuSince(start), units*float64(b.N), unit)
}

// BenchmarkHandOver is the owned mode's peer: making a record of its own
// (handOver), which the owned mode does for every call, as a sink task's
// converter does for every record: with the benchmark's struct or map, and
// with the change event ExtractNewRecordState is measured on.
func BenchmarkHandOver(b *testing.B) {
	for _, form := range []string{"schema", "schemaless", "envelope"} {
		b.Run(form, func(b *testing.B) {
			rs := [2]*connect.Record{benchRecord(form == "schema", 0), benchRecord(form == "schema", 1)}
			if form == "envelope" { // ExtractNewRecordState's records
				rs = [2]*connect.Record{benchEnvelope(0), benchEnvelope(1)}
			}
			b.ReportAllocs()
			start := processCPU()
			i := 0
			for b.Loop() {
				sinkRecord = handOver(rs[i&1])
				i++
			}
			perOp(b, cpuSince(start), float64(b.N), "op")
		})
	}
}

// handOver returns a copy of r whose record, value map or struct and
// header slice are its own, as ApplyOwned takes them (what they hold is
// shared: ApplyOwned changes only those).
func handOver(r *connect.Record) *connect.Record {
	c := *r
	c.Headers = slices.Clone(r.Headers)
	switch v := r.Value.(type) {
	case map[string]any:
		c.Value = maps.Clone(v)
	case *connect.StructValue:
		sv := connect.NewStruct(v.Schema())
		for i := range v.Schema().Fields {
			sv.SetIndex(i, v.GetIndex(i))
		}
		c.Value = sv
	}
	return &c
}

// BenchmarkTransforms measures one record through each transform, in a
// chain of one, in both modes.
func BenchmarkTransforms(b *testing.B) {
	for _, bc := range benchCases() {
		for _, schema := range bc.forms {
			for _, mode := range modes {
				b.Run(bc.name+"/"+formName(schema)+"/"+mode, func(b *testing.B) {
					cfg := chainConfig(bc.class, bc.keys)
					if bc.name == "TopicNameMatches" {
						cfg["predicates"], cfg["predicates.p.type"], cfg["predicates.p.pattern"] = "p", "TopicNameMatches", "ord.*"
					}
					c, err := NewChain(cfg, Env{})
					if err != nil {
						b.Fatal(err)
					}
					rs := [2]*connect.Record{benchRecord(schema, 0), benchRecord(schema, 1)}
					if bc.records != nil {
						rs = [2]*connect.Record{bc.records(0), bc.records(1)}
					}
					benchLoop(b, c, mode, rs, 1, "op", func(_ *connect.Record, err error) {
						if err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}

// BenchmarkChain5 measures the chain of five: InsertField (a static
// field), ReplaceField (renames), MaskField, Filter under a
// TopicNameMatches predicate that keeps the records, RegexRouter, in both
// modes. ns/transform is the chain's time per record divided by five, and
// x-goal that as a ratio of the 500 ns budget.
func BenchmarkChain5(b *testing.B) {
	cfg := map[string]string{
		"transforms":                     "insert,rename,mask,filter,route",
		"transforms.insert.type":         "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.insert.static.field": "dc",
		"transforms.insert.static.value": "eu-1",
		"transforms.rename.type":         "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.rename.renames":      "customer:client,amount:total",
		"transforms.mask.type":           "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.mask.fields":         "email",
		"transforms.filter.type":         "org.apache.kafka.connect.transforms.Filter",
		"transforms.filter.predicate":    "orders",
		"transforms.filter.negate":       "true",
		"transforms.route.type":          "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":         "(.*)s",
		"transforms.route.replacement":   "$1-v2",
		"predicates":                     "orders",
		"predicates.orders.type":         "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
		"predicates.orders.pattern":      "ord.*",
	}
	for _, schema := range both {
		for _, mode := range modes {
			b.Run(formName(schema)+"/"+mode, func(b *testing.B) {
				c, err := NewChain(cfg, Env{})
				if err != nil {
					b.Fatal(err)
				}
				rs := [2]*connect.Record{benchRecord(schema, 0), benchRecord(schema, 1)}
				benchLoop(b, c, mode, rs, 5, "transform", func(out *connect.Record, err error) {
					if err != nil || out == nil || out.Topic != "order-v2" {
						b.Fatalf("chain gave %v, %v", out, err)
					}
				})
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5, "ns/transform")
			})
		}
	}
}
