package bench

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU this process and its reaped children (plugin
// processes, once a deleted connector's are waited for) have used.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}

// BenchmarkBoundaryCPU measures CPU time per record, worker, broker and
// plugin processes together, for datagen → Kafka at batch 1000 in-process
// and over the plugin boundary. The difference is what the boundary costs
// per record; the plugin tax goal (≥ 0.9) needs it at about a tenth of the
// in-process cost on a machine whose cores are all busy.
func BenchmarkBoundaryCPU(b *testing.B) {
	const n = 3_000_000
	var inproc, plugin float64
	for i := 0; i < b.N; i++ {
		for _, isolated := range []bool{false, true} {
			p := newPipeline(b, isolated)
			before := cpuTime()
			p.runDatagen(b, fmt.Sprintf("cpu%d%v", i, isolated), n, 1000, 100) // deletes the connector: plugin processes are reaped
			perRecord := float64(cpuTime()-before) / n
			p.close()
			if isolated {
				plugin = perRecord
			} else {
				inproc = perRecord
			}
		}
	}
	b.ReportMetric(inproc, "inproc-cpu-ns/rec")
	b.ReportMetric(plugin, "plugin-cpu-ns/rec")
	b.ReportMetric(plugin-inproc, "boundary-cpu-ns/rec")
	b.Logf("boundary CPU: %.0f ns/record over the plugin boundary vs %.0f in-process: the boundary costs %.0f ns/record (%.0f%%)", plugin, inproc, plugin-inproc, 100*(plugin-inproc)/inproc)
}
