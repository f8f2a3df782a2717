package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
)

// BenchmarkTasksPerGiB measures how many low-rate tasks a GiB of memory
// holds: the resident memory of a standalone worker and all its plugin
// processes (processes of the real binary, against a broker process) with
// one datagen connector of N tasks at 10 records a second each, per
// plugin.isolation mode, after the tasks have run for 5 seconds. Goal:
// ≥ 200 tasks per GiB with isolation per connector; the ratio printed is
// tasks per GiB ÷ 200. The sum of resident sizes counts the binary's
// pages, which every plugin process maps, once per process; the sum of
// proportional set sizes (PSS) counts them once, and is reported too.
// task/N=500 is left out: 500 processes need about
// 12 GiB and minutes to start on a small machine.
func BenchmarkTasksPerGiB(b *testing.B) {
	for _, iso := range []string{"connector", "task", "none"} {
		for _, n := range []int{20, 100, 500} {
			if iso == "task" && n == 500 {
				continue
			}
			b.Run(fmt.Sprintf("%s/N=%d", iso, n), func(b *testing.B) {
				var m tasksMemory
				for i := 0; i < b.N; i++ {
					m = tasksRSS(b, iso, n)
				}
				perGiB := float64(n) / (m.rss / 1024)
				b.ReportMetric(m.rss, "total-MiB")
				b.ReportMetric(m.pss, "pss-MiB")
				b.ReportMetric(float64(m.procs), "plugin-procs")
				b.ReportMetric(perGiB, "tasks/GiB")
				b.ReportMetric(float64(n)/(m.pss/1024), "pss-tasks/GiB")
				b.ReportMetric(perGiB/200, "ratio")
				b.Logf("%s isolation, %d tasks: worker and %d plugin processes %.0f MiB resident (%.0f MiB PSS), %.0f tasks/GiB / 200 = %.2f (goal >= 1 for connector)",
					iso, n, m.procs, m.rss, m.pss, perGiB, perGiB/200)
			})
		}
	}
}

// tasksMemory is the memory of a worker and its plugin processes.
type tasksMemory struct {
	rss, pss float64 // MiB, summed over the processes
	procs    int     // plugin processes
}

// tasksRSS starts a broker and a standalone worker with plugin.isolation
// iso, runs n datagen tasks at 10 records a second each, and returns the
// memory of the worker and its plugin processes.
func tasksRSS(b *testing.B, iso string, n int) tasksMemory {
	b.Helper()
	dir := b.TempDir()
	bin := proctest.Binary(b)
	kport, rport := proctest.FreePort(b), proctest.FreePort(b)
	broker := proctest.Start(b, "broker", []string{"Kafka bootstrap"}, bin, "broker", "--port", strconv.Itoa(kport), "--data-dir", filepath.Join(dir, "kafka"))
	defer broker.Stop()
	props := filepath.Join(dir, "worker.properties")
	os.WriteFile(props, []byte(fmt.Sprintf("bootstrap.servers=127.0.0.1:%d\nlisteners=http://127.0.0.1:%d\noffset.storage.file.filename=%s\nplugin.isolation=%s\n",
		kport, rport, filepath.Join(dir, "offsets.json"), iso)), 0o644)
	worker := proctest.Start(b, "worker", []string{"REST API"}, bin, "standalone", "--log-level", "warn", props)
	defer worker.Stop()
	c := &api.Client{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", rport)}
	ctx := context.Background()
	if _, err := c.CreateConnector(ctx, "gen", map[string]string{"connector.class": "datagen", "topic": "gen", "rate": "10", "tasks.max": strconv.Itoa(n)}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		st, err := c.ConnectorStatus(ctx, "gen")
		running := 0
		if err == nil {
			for _, t := range st.Tasks {
				if t.State == herder.Running {
					running++
				}
			}
		}
		if running == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d tasks running after 10 minutes: %v", running, n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	plugins := proctest.Children(worker.Pid())
	m := tasksMemory{procs: len(plugins)}
	for _, pid := range append(plugins, worker.Pid()) {
		m.rss += proctest.RSSMiB(b, pid)
		m.pss += proctest.PssMiB(b, pid)
	}
	return m
}
