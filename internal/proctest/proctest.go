// Package proctest runs connectd processes for the project's integration
// tests and benchmarks: it builds the binary once, starts processes that
// announce where they listen on stdout, keeps their logs, and stops or
// kills them.
package proctest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/testserver"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/connectd of this module once per test process (into
// a temp dir) and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "connectd-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "connectd")
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/connectd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build connectd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Proc is a process started by a test: its stdout lines are searched for
// what it prints when ready, its stderr goes to a log file shown when the
// test fails, and it is killed when the test ends.
type Proc struct {
	tb   testing.TB
	Name string
	Cmd  *exec.Cmd
	Log  string
	done chan struct{} // closed once the process has exited
	err  error         // how it exited, once done is closed
	// Ready holds what the process announced: "REST API" → the value of
	// its "REST API: value" line.
	Ready map[string]string
}

// Start runs bin with args and waits until it has printed a line for each
// of the prefixes in want ("REST API", "Kafka bootstrap").
func Start(tb testing.TB, name string, want []string, bin string, args ...string) *Proc {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	log := filepath.Join(tb.TempDir(), name+".log")
	logf, err := os.Create(log)
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	logf.Close()
	p := &Proc{tb: tb, Name: name, Cmd: cmd, Log: log, done: make(chan struct{}), Ready: map[string]string{}}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("%s log:\n%s", name, p.LogTail(60000))
		}
	})
	timeout := time.After(60 * time.Second)
	for len(p.Ready) < len(want) {
		select {
		case l, ok := <-lines:
			if !ok {
				tb.Fatalf("%s exited before it was ready:\n%s", name, p.LogTail(4000))
			}
			for _, w := range want {
				if v, ok := strings.CutPrefix(l, w+": "); ok {
					p.Ready[w] = v
				}
			}
		case <-timeout:
			tb.Fatalf("%s did not print %v within 60s", name, want)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return p
}

// LogTail returns the last n bytes of the process's stderr.
func (p *Proc) LogTail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) { p.Cmd.Process.Signal(sig) }

// Stop sends SIGTERM and waits for a clean exit.
func (p *Proc) Stop() {
	p.tb.Helper()
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.tb.Fatalf("%s exited with %v after SIGTERM", p.Name, p.err)
		}
	case <-time.After(60 * time.Second):
		p.tb.Fatalf("%s did not stop within 60s of SIGTERM", p.Name)
	}
}

// KillNow sends SIGKILL and waits until the process is gone.
func (p *Proc) KillNow() {
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// Kill sends SIGKILL (if still running) and waits for the exit.
func (p *Proc) Kill() {
	if !p.Running() {
		return
	}
	p.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int { return testserver.FreePort(tb) }
