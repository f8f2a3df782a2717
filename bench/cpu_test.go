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
	self, children := cpuTimes()
	return self + children
}

// cpuTimes is cpuTime for this process and its reaped children apart.
func cpuTimes() (self, children time.Duration) {
	var s, c syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	return time.Duration(s.Utime.Nano() + s.Stime.Nano()), time.Duration(c.Utime.Nano() + c.Stime.Nano())
}

// BenchmarkBoundaryCPU measures CPU time per record, worker, broker and
// plugin processes together, for datagen → Kafka at batch 1000 in-process
// and over the plugin boundary. The difference is what the boundary costs
// per record; the plugin tax goal (≥ 0.9) needs it at about a tenth of the
// in-process cost on a machine whose cores are all busy. Over the boundary
// it also reports the worker's process (with the broker) and the task's
// plugin process apart.
func BenchmarkBoundaryCPU(b *testing.B) {
	const n = 3_000_000
	var inproc, worker, task float64
	for i := 0; i < b.N; i++ {
		for _, isolated := range []bool{false, true} {
			p := newPipeline(b, isolated)
			self0, kids0 := cpuTimes()
			p.runDatagen(b, fmt.Sprintf("cpu%d%v", i, isolated), n, 1000, 100) // deletes the connector: plugin processes are reaped
			self1, kids1 := cpuTimes()
			p.close()
			if isolated {
				worker, task = float64(self1-self0)/n, float64(kids1-kids0)/n
			} else {
				inproc = float64(self1-self0+kids1-kids0) / n
			}
		}
	}
	plugin := worker + task
	b.ReportMetric(inproc, "inproc-cpu-ns/rec")
	b.ReportMetric(plugin, "plugin-cpu-ns/rec")
	b.ReportMetric(worker, "plugin-worker-cpu-ns/rec")
	b.ReportMetric(task, "plugin-task-cpu-ns/rec")
	b.ReportMetric(plugin-inproc, "boundary-cpu-ns/rec")
	b.ReportMetric(inproc/plugin, "cpu-ratio")
	b.Logf("boundary CPU: %.0f ns/record over the plugin boundary (worker and broker %.0f, task process %.0f) vs %.0f in-process: the boundary costs %.0f ns/record (%.0f%%); CPU ratio %.2f",
		plugin, worker, task, inproc, plugin-inproc, 100*(plugin-inproc)/inproc, inproc/plugin)
}
