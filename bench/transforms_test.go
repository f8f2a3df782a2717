package bench

import (
	"context"
	"fmt"
	"maps"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/connectors/datagen"
	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/transforms"
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
// pipeline without it. Records are datagen's simple struct (5 fields),
// written by the JSON converter without schemas, batches of 1000.
//
// The chain makes each record larger (a field inserted, one renamed), and
// everything after the chain (the plugin's writes, the worker, the broker)
// costs more per byte. So the pipeline without the chain is measured
// twice: padded, its payload longer by what the chain adds, so that both
// write the same bytes (ratio: the chain's own cost, the goal's figure);
// and plain, a 100-byte payload as the chained one (ratio-vs-smaller: the
// chain's cost plus that of the bytes it adds). Each iteration measures
// plain, padded, chained, chained, padded, plain (each on a fresh broker
// and worker), so that a machine getting busier or quieter during the run
// favours none of them. Goal ≥ 0.9. It also reports the CPU time per
// record of every process (worker, broker and plugin), which a busy machine
// disturbs less than throughput, and its ratio (cpu-ratio: padded CPU per
// record ÷ chained), which the throughput ratio approaches when the
// pipeline is CPU-bound on cores it has to itself, and one value each
// pipeline wrote.
func BenchmarkTransformChain(b *testing.B) {
	const count, size = 1_000_000, 100
	padded := size + chainGrowth(b, size)
	kinds := []string{"plain", "padded", "chained", "chained", "padded", "plain"}
	var rate, cpu map[string]float64
	sample := map[string][]byte{} // a value each pipeline wrote
	for i := 0; i < b.N; i++ {
		secs, cpuSum := map[string]float64{}, map[string]float64{}
		for j, kind := range kinds {
			// Each pipeline starts from the same state: the previous
			// one's million records collected and returned to the OS.
			debug.FreeOSMemory()
			p := newPipeline(b, true)
			name := fmt.Sprintf("%s%d-%d", kind, i, j)
			out, extra, payload := name, map[string]string(nil), size
			switch kind {
			case "chained":
				out, extra = name+"-out", chain5
			case "padded":
				payload = padded
			}
			before := cpuTime()
			secs[kind] += float64(count) / p.runStruct(b, name, out, count, payload, extra)
			cpuSum[kind] += float64(cpuTime() - before)
			if _, ok := sample[kind]; !ok {
				sample[kind] = p.firstValue(b, out)
			}
			p.close()
		}
		rate, cpu = map[string]float64{}, map[string]float64{}
		for k := range secs {
			rate[k], cpu[k] = 2*count/secs[k], cpuSum[k]/(2*count)
		}
	}
	if len(sample["padded"]) != len(sample["chained"]) {
		b.Fatalf("the padded pipeline wrote %d-byte values, the chained one %d: %s / %s",
			len(sample["padded"]), len(sample["chained"]), sample["padded"], sample["chained"])
	}
	b.ReportMetric(rate["plain"], "plain-rec/s")
	b.ReportMetric(rate["padded"], "padded-rec/s")
	b.ReportMetric(rate["chained"], "chain-rec/s")
	b.ReportMetric(rate["chained"]/rate["padded"], "ratio")
	b.ReportMetric(rate["chained"]/rate["plain"], "ratio-vs-smaller")
	b.ReportMetric(cpu["padded"], "padded-cpu-ns/rec")
	b.ReportMetric(cpu["chained"], "chain-cpu-ns/rec")
	b.ReportMetric(cpu["padded"]/cpu["chained"], "cpu-ratio")
	b.ReportMetric(cpu["plain"]/cpu["chained"], "cpu-ratio-vs-smaller")
	for _, k := range []string{"plain", "padded", "chained"} {
		b.Logf("%s values: %d bytes (%s)", k, len(sample[k]), sample[k])
	}
	b.Logf("transform chain: 5 transforms %.0f rec/s / none %.0f rec/s (same bytes written) = %.3f (goal >= 0.9); / none %.0f rec/s (values %d bytes smaller) = %.3f",
		rate["chained"], rate["padded"], rate["chained"]/rate["padded"], rate["plain"], len(sample["chained"])-len(sample["plain"]), rate["chained"]/rate["plain"])
	b.Logf("CPU per record, all processes: %.0f ns with the chain, %.0f without (+%.0f ns, %.0f ns per transform; ratio %.3f); %.0f with smaller values (ratio %.3f)",
		cpu["chained"], cpu["padded"], cpu["chained"]-cpu["padded"], (cpu["chained"]-cpu["padded"])/5, cpu["padded"]/cpu["chained"], cpu["plain"], cpu["plain"]/cpu["chained"])
}

// chainGrowth returns how many bytes chain5 adds to the JSON value of a
// datagen simple record with a payload of size characters: the padded
// pipeline's payload is that much longer. The benchmark checks the values
// both pipelines wrote have the same length.
func chainGrowth(b *testing.B, size int) int {
	b.Helper()
	chain, err := transforms.NewChain(chain5, transforms.Env{})
	if err != nil {
		b.Fatal(err)
	}
	conv, err := converters.FromConfig(map[string]string{
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	v := connect.NewStruct(datagen.SimpleSchema).Put("id", int64(0)).Put("seq", int64(0)).Put("task", int32(0)).
		Put("ts", time.UnixMilli(0).UTC()).Put("payload", strings.Repeat("x", size))
	r := &connect.Record{Topic: "t", ValueSchema: datagen.SimpleSchema, Value: v}
	out, err := chain.Apply(r)
	if err != nil {
		b.Fatal(err)
	}
	before, err := conv.Value.FromConnect("t", r.ValueSchema, r.Value)
	if err != nil {
		b.Fatal(err)
	}
	after, err := conv.Value.FromConnect("t", out.ValueSchema, out.Value)
	if err != nil {
		b.Fatal(err)
	}
	return len(after) - len(before)
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

// runStruct runs a bounded datagen connector writing simple structs with
// a payload of size characters as schemaless JSON, with extra connector
// keys, and returns records per second from creation until out holds
// every record.
func (p *pipeline) runStruct(b *testing.B, name, out string, count, size int, extra map[string]string) float64 {
	b.Helper()
	cfg := map[string]string{
		"name": name, "connector.class": "datagen", "topic": name, "count": fmt.Sprint(count),
		"batch.size": "1000", "record.size": fmt.Sprint(size), "schema": "simple",
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
