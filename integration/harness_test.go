package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
)

// connectdBin is the binary under test, built once in TestMain.
var connectdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "connectd-it")
	if err != nil {
		panic(err)
	}
	connectdBin = filepath.Join(dir, "connectd")
	build := exec.Command("go", "build", "-o", connectdBin, "../cmd/connectd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build connectd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int { return proctest.FreePort(t) }

// devProcess is a running `connectd dev`.
type devProcess struct {
	*proctest.Proc
	t         *testing.T
	rest      string
	bootstrap string
	registry  string // the schema registry's URL
	client    *api.Client
}

type devOpts struct {
	dataDir             string
	restPort, kafkaPort int
	// registryPort is the schema registry's port; 0 picks a free one.
	registryPort int
	// isolation is --plugin-isolation; empty: task, as the tests that
	// find a task's own plugin process by its name need.
	isolation string
}

func startDev(t *testing.T, o devOpts) *devProcess {
	t.Helper()
	if o.registryPort == 0 {
		o.registryPort = freePort(t)
	}
	iso := o.isolation
	if iso == "" {
		iso = "task"
	}
	p := proctest.Start(t, "connectd", []string{"REST API", "Kafka bootstrap", "Schema Registry"}, connectdBin, "dev",
		"--plugin-isolation", iso,
		"--data-dir", o.dataDir,
		"--rest-port", strconv.Itoa(o.restPort),
		"--kafka-port", strconv.Itoa(o.kafkaPort),
		"--schema-registry-port", strconv.Itoa(o.registryPort),
		"--offset-flush-interval-ms", "200",
		"--log-level", "warn")
	return &devProcess{Proc: p, t: t, rest: p.Ready["REST API"], bootstrap: p.Ready["Kafka bootstrap"],
		registry: p.Ready["Schema Registry"], client: &api.Client{BaseURL: p.Ready["REST API"]}}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (p *devProcess) stop() { p.Stop() }

// pluginPIDs returns the pids of this connectd's plugin processes serving
// instance (a connector name or <connector>-<task>).
func (p *devProcess) pluginPIDs(instance string) []int {
	return pluginPIDsOf(p.Pid(), instance)
}

// pluginPIDsOf returns the pids of the plugin processes serving instance
// whose parent is the connectd process parent.
func pluginPIDsOf(parent int, instance string) []int {
	var out []int
	for _, pid := range proctest.Children(parent) {
		args := proctest.Cmdline(pid)
		if len(args) == 5 && args[0] == connectdBin && args[1] == "plugin" && args[4] == instance {
			out = append(out, pid)
		}
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
}

func (p *devProcess) waitTask(name string, task int, state herder.State, traceHas string) {
	p.t.Helper()
	waitFor(p.t, 60*time.Second, fmt.Sprintf("%s task %d %s", name, task, state), func() (bool, string) {
		st, err := p.client.TaskStatus(context.Background(), name, task)
		if err != nil {
			return false, err.Error()
		}
		return st.State == state && strings.Contains(st.Trace, traceHas), fmt.Sprintf("%+v", st)
	})
}
