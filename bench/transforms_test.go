package bench

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
)

// chain5 is the five-transform chain: InsertField, ReplaceField
// renaming a field, MaskField, Filter with a predicate that keeps every
// record, and RegexRouter (to <topic>-out). MaskField masks the task
// number, which is 0 already, so that the records the chain writes are no
// smaller than the plain ones (masking the 100-byte payload would make
// the chained pipeline move less data and flatter the ratio); with the
// inserted and renamed fields they are 24 bytes larger.
var chain5 = map[string]string{
	"transforms":                     "insert,rename,mask,keep,route",
	"transforms.insert.type":         "org.apache.kafka.connect.transforms.InsertField$Value",
	"transforms.insert.static.field": "origin",
	"transforms.insert.static.value": "datagen",
	"transforms.rename.type":         "org.apache.kafka.connect.transforms.ReplaceField$Value",
	"transforms.rename.renames":      "seq:sequence",
	"transforms.mask.type":           "org.apache.kafka.connect.transforms.MaskField$Value",
	"transforms.mask.fields":         "task",
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
// which a busy machine disturbs less than throughput, and its ratio
// (cpu-ratio: plain CPU per record ÷ chained), which the throughput ratio
// approaches when the pipeline is CPU-bound on cores it has to itself,
// and one value each pipeline wrote.
func BenchmarkTransformChain(b *testing.B) {
	const count = 1_000_000
	var plain, chained, cpuPlain, cpuChained float64
	var sample [2][]byte // a value each pipeline wrote: plain, chained
	for i := 0; i < b.N; i++ {
		var secsPlain, secsChained float64
		cpuPlain, cpuChained = 0, 0
		for j, chain := range []bool{false, true, true, false} {
			p := newPipeline(b, true)
			name := fmt.Sprintf("plain%d-%d", i, j)
			before := cpuTime()
			out := name
			if chain {
				name = fmt.Sprintf("chain%d-%d", i, j)
				out = name + "-out"
				secsChained += float64(count) / p.runStruct(b, name, out, count, chain5)
				cpuChained += float64(cpuTime()-before) / (2 * count)
			} else {
				secsPlain += float64(count) / p.runStruct(b, name, name, count, nil)
				cpuPlain += float64(cpuTime()-before) / (2 * count)
			}
			if i == 0 && j < 2 {
				sample[j] = p.firstValue(b, out)
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
	b.ReportMetric(cpuPlain/cpuChained, "cpu-ratio")
	b.Logf("values written: %d bytes without the chain (%s), %d with it (%s)", len(sample[0]), sample[0], len(sample[1]), sample[1])
	b.Logf("transform chain: 5 transforms %.0f rec/s / none %.0f rec/s = %.3f (goal >= 0.9); CPU per record, all processes: %.0f ns with the chain, %.0f without (+%.0f ns, %.0f ns per transform; ratio %.3f)",
		chained, plain, chained/plain, cpuChained, cpuPlain, cpuChained-cpuPlain, (cpuChained-cpuPlain)/5, cpuPlain/cpuChained)
}

// firstValue returns the value of the first record of topic.
func (p *pipeline) firstValue(b *testing.B, topic string) []byte {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollRecords(ctx, 1)
		if err := ctx.Err(); err != nil {
			b.Fatalf("reading %s: %v", topic, err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return recs[0].Value
		}
	}
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
