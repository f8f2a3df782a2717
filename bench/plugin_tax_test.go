package bench

import (
	"fmt"
	"testing"
)

// BenchmarkPluginTax measures datagen → Kafka throughput with the task in a
// plugin process, divided by the same with the task in the worker's
// process, for poll batches of 1, 100 and 1000 records. Goal: ≥ 0.9 at
// 1000 and ≥ 0.5 at 1.
func BenchmarkPluginTax(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			count := 3_000_000
			if batch == 1 {
				count = 1_000_000
			}
			var inproc, proc float64
			for i := 0; i < b.N; i++ {
				p := newPipeline(b, false)
				inproc = p.runDatagen(b, fmt.Sprintf("inproc%d", i), count, batch, 100)
				p.close()
				p = newPipeline(b, true)
				proc = p.runDatagen(b, fmt.Sprintf("proc%d", i), count, batch, 100)
				p.close()
			}
			b.ReportMetric(inproc, "inproc-rec/s")
			b.ReportMetric(proc, "plugin-rec/s")
			b.ReportMetric(proc/inproc, "ratio")
			b.Logf("plugin tax batch=%d: plugin %.0f rec/s / in-process %.0f rec/s = %.3f (goal >= %s)",
				batch, proc, inproc, proc/inproc, map[int]string{1: "0.5", 100: "-", 1000: "0.9"}[batch])
		})
	}
}

// BenchmarkPluginTaxShared is BenchmarkPluginTax at batch 1000 with four
// busy datagen tasks of one connector sharing a plugin process
// (plugin.isolation=connector) ÷ the same four tasks in the worker's
// process. Goal: ≥ 0.9.
func BenchmarkPluginTaxShared(b *testing.B) {
	const tasks, count = 4, 4_000_000
	var inproc, shared float64
	for i := 0; i < b.N; i++ {
		p := newPipelineIn(b, "none")
		inproc = p.runDatagenTasks(b, fmt.Sprintf("inproc%d", i), count, 1000, 100, tasks)
		p.close()
		p = newPipelineIn(b, "connector")
		shared = p.runDatagenTasks(b, fmt.Sprintf("shared%d", i), count, 1000, 100, tasks)
		p.close()
	}
	b.ReportMetric(inproc, "inproc-rec/s")
	b.ReportMetric(shared, "plugin-rec/s")
	b.ReportMetric(shared/inproc, "ratio")
	b.Logf("plugin tax, %d busy tasks in one process, batch=1000: plugin %.0f rec/s / in-process %.0f rec/s = %.3f (goal >= 0.9)", tasks, shared, inproc, shared/inproc)
}
