package bench

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
)

// chain5 is the five-transform chain: InsertField, ReplaceField
// renaming a field, MaskField, Filter with a predicate that keeps every
// record, and RegexRouter (to <topic>-out).
var chain5 = map[string]string{
	"transforms":                     "insert,rename,mask,keep,route",
	"transforms.insert.type":         "org.apache.kafka.connect.transforms.InsertField$Value",
	"transforms.insert.static.field": "origin",
	"transforms.insert.static.value": "datagen",
	"transforms.rename.type":         "org.apache.kafka.connect.transforms.ReplaceField$Value",
	"transforms.rename.renames":      "seq:sequence",
	"transforms.mask.type":           "org.apache.kafka.connect.transforms.MaskField$Value",
	"transforms.mask.fields":         "payload",
	"transforms.keep.type":           "org.apache.kafka.connect.transforms.Filter",
	"transforms.keep.predicate":      "isOther",
	"predicates":                     "isOther",
	"predicates.isOther.type":        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
	"predicates.isOther.pattern":     "other.*",
	"transforms.route.type":          "org.apache.kafka.connect.transforms.RegexRouter",
	"transforms.route.regex":         "(.*)",
	"transforms.route.replacement":   "$1-out",
}

// BenchmarkTransformChain measures datagen → Kafka throughput, the task in
// a plugin process, with the five-transform chain divided by the same
// pipeline without it. Records are datagen's simple struct (5 fields, 100
// byte payload), written by the JSON converter without schemas, batches of
// 1000. Each iteration measures plain, chained, chained, plain (each on a
// fresh broker and worker), so that a machine getting busier or quieter
// during the run does not favour either side. Goal ≥ 0.9. It also reports
// the CPU time per record of every process (worker, broker and plugin),
// which a busy machine disturbs less than throughput.
func BenchmarkTransformChain(b *testing.B) {
	const count = 1_000_000
	var plain, chained, cpuPlain, cpuChained float64
	for i := 0; i < b.N; i++ {
		var secsPlain, secsChained float64
		cpuPlain, cpuChained = 0, 0
		for j, chain := range []bool{false, true, true, false} {
			p := newPipeline(b, true)
			name := fmt.Sprintf("plain%d-%d", i, j)
			before := cpuTime()
			if chain {
				name = fmt.Sprintf("chain%d-%d", i, j)
				secsChained += float64(count) / p.runStruct(b, name, name+"-out", count, chain5)
				cpuChained += float64(cpuTime()-before) / (2 * count)
			} else {
				secsPlain += float64(count) / p.runStruct(b, name, name, count, nil)
				cpuPlain += float64(cpuTime()-before) / (2 * count)
			}
			p.close()
		}
		plain, chained = 2*count/secsPlain, 2*count/secsChained
	}
	b.ReportMetric(plain, "plain-rec/s")
	b.ReportMetric(chained, "chain-rec/s")
	b.ReportMetric(chained/plain, "ratio")
	b.ReportMetric(cpuPlain, "plain-cpu-ns/rec")
	b.ReportMetric(cpuChained, "chain-cpu-ns/rec")
	b.Logf("transform chain: 5 transforms %.0f rec/s / none %.0f rec/s = %.3f (goal >= 0.9); CPU per record, all processes: %.0f ns with the chain, %.0f without (+%.0f ns, %.0f ns per transform)",
		chained, plain, chained/plain, cpuChained, cpuPlain, cpuChained-cpuPlain, (cpuChained-cpuPlain)/5)
}

// runStruct runs a bounded datagen connector writing simple structs as
// schemaless JSON, with extra connector keys, and returns records per
// second from creation until out holds every record.
func (p *pipeline) runStruct(b *testing.B, name, out string, count int, extra map[string]string) float64 {
	b.Helper()
	cfg := map[string]string{
		"name": name, "connector.class": "datagen", "topic": name, "count": fmt.Sprint(count),
		"batch.size": "1000", "record.size": "100", "schema": "simple",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		"key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	}
	maps.Copy(cfg, extra)
	p.createTopic(b, out)
	start := time.Now()
	if _, _, err := p.h.PutConnectorConfig(context.Background(), name, cfg, false); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(5 * time.Minute)
	for p.topicCount(out) < int64(count) {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d records after 5 minutes", name, p.topicCount(out), count)
		}
		st, _ := p.h.TaskStatus(context.Background(), herder.TaskID{Connector: name, Task: 0})
		if st.State == herder.Failed {
			b.Fatalf("%s failed: %s", name, st.Trace)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if err := p.h.DeleteConnector(context.Background(), name); err != nil {
		b.Fatal(err)
	}
	return float64(count) / elapsed.Seconds()
}
