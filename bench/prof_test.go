package bench

import "testing"

func BenchmarkProfPlugin(b *testing.B) {
	p := newPipeline(b, true)
	defer p.close()
	r := p.runDatagen(b, "x", 2000000, 1000, 100)
	b.ReportMetric(r, "rec/s")
}
