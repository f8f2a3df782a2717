package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// devProcess is a running `connectd dev`.
type devProcess struct {
	t         *testing.T
	cmd       *exec.Cmd
	rest      string
	bootstrap string
	client    *api.Client
	exited    chan error
}

type devOpts struct {
	dataDir             string
	restPort, kafkaPort int
}

func startDev(t *testing.T, o devOpts) *devProcess {
	t.Helper()
	cmd := exec.Command(connectdBin, "dev",
		"--data-dir", o.dataDir,
		"--rest-port", strconv.Itoa(o.restPort),
		"--kafka-port", strconv.Itoa(o.kafkaPort),
		"--offset-flush-interval-ms", "200",
		"--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "connectd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{t: t, cmd: cmd, exited: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("connectd log:\n%s", tail(string(b), 4000))
		}
	})
	timeout := time.After(60 * time.Second)
	for p.rest == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("connectd dev exited before it was ready")
			}
			if v, ok := strings.CutPrefix(l, "REST API: "); ok {
				p.rest = v
			}
			if v, ok := strings.CutPrefix(l, "Kafka bootstrap: "); ok {
				p.bootstrap = v
			}
		case <-timeout:
			t.Fatal("connectd dev did not print its REST API address within 60s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	p.client = &api.Client{BaseURL: p.rest}
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (p *devProcess) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Fatalf("connectd dev exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("connectd dev did not stop within 30s of SIGTERM")
	}
}

func (p *devProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
		}
	}
}

// pluginPIDs returns the pids of this connectd's plugin processes serving
// instance (a connector name or <connector>-<task>).
func (p *devProcess) pluginPIDs(instance string) []int {
	return pluginPIDsOf(p.cmd.Process.Pid, instance)
}

// pluginPIDsOf returns the pids of the plugin processes serving instance
// whose parent is the connectd process parent.
func pluginPIDsOf(parent int, instance string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 5 && args[0] == connectdBin && args[1] == "plugin" && args[4] == instance && ppid(pid) == parent {
			out = append(out, pid)
		}
	}
	return out
}

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, _ := strconv.Atoi(fields[1])
	return n
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
