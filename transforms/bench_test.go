package transforms

import (
	"testing"

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
	benchStruct = connect.NewStruct(benchSchema).Put("id", int64(42)).Put("customer", "ACME Corp").
			Put("email", "ops@acme.example").Put("amount", 12.5).Put("created", ms(1700000000000)).Put("active", true).
			Put("address", connect.NewStruct(benchSchema.Fields[6].Schema).Put("city", "Springfield").Put("zip", "12345"))
	benchMap = map[string]any{"id": int64(42), "customer": "ACME Corp", "email": "ops@acme.example", "amount": 12.5,
		"created": int64(1700000000000), "active": true, "address": map[string]any{"city": "Springfield", "zip": "12345"}}
)

func benchRecord(schema bool) *connect.Record {
	r := &connect.Record{Topic: "orders", Partition: 3, KeySchema: connect.StringSchema, Key: "42", Timestamp: ms(1700000000000),
		Headers: []connect.Header{{Key: "source", Schema: connect.StringSchema, Value: "db"}, {Key: "trace", Schema: connect.StringSchema, Value: "abc"}}}
	if schema {
		r.ValueSchema, r.Value = benchSchema, benchStruct
	} else {
		r.Value = benchMap
	}
	return r
}

type benchCase struct {
	name   string
	class  string
	keys   map[string]string
	forms  []bool // schema'd (true) and/or schemaless (false)
	record func(schema bool) *connect.Record
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
	}
}

func formName(schema bool) string {
	if schema {
		return "schema"
	}
	return "schemaless"
}

var sinkRecord *connect.Record

// BenchmarkRecordCopy is the peer the transforms compare with: the heap
// copy of a record that any transform that changes a record makes. On a
// loaded machine every figure rises with it.
func BenchmarkRecordCopy(b *testing.B) {
	r := benchRecord(true)
	b.ReportAllocs()
	for b.Loop() {
		c := *r
		sinkRecord = &c
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/goalNs, "x-goal")
}

// BenchmarkTransforms measures one record through each transform.
func BenchmarkTransforms(b *testing.B) {
	for _, bc := range benchCases() {
		for _, schema := range bc.forms {
			b.Run(bc.name+"/"+formName(schema), func(b *testing.B) {
				cfg := chainConfig(bc.class, bc.keys)
				if bc.name == "TopicNameMatches" {
					cfg["predicates"], cfg["predicates.p.type"], cfg["predicates.p.pattern"] = "p", "TopicNameMatches", "ord.*"
				}
				c, err := NewChain(cfg, Env{})
				if err != nil {
					b.Fatal(err)
				}
				r := benchRecord(schema)
				if _, err := c.Apply(r); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Apply(r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/goalNs, "x-goal")
			})
		}
	}
}

// BenchmarkChain5 measures the chain of five: InsertField (a static
// field), ReplaceField (renames), MaskField, Filter under a
// TopicNameMatches predicate that keeps the records, RegexRouter.
// ns/transform is the chain's time per record divided by five.
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
		b.Run(formName(schema), func(b *testing.B) {
			c, err := NewChain(cfg, Env{})
			if err != nil {
				b.Fatal(err)
			}
			r := benchRecord(schema)
			out, err := c.Apply(r)
			if err != nil || out == nil || out.Topic != "order-v2" {
				b.Fatalf("chain gave %v, %v", out, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Apply(r); err != nil {
					b.Fatal(err)
				}
			}
			perRecord := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perRecord/5, "ns/transform")
			b.ReportMetric(perRecord/5/goalNs, "x-goal")
		})
	}
}
