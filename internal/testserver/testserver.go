// Package testserver starts the real servers the connector tests talk to
// (FTP and SFTP daemons, an S3 server, an Elasticsearch-API server), each
// on its own loopback port and in its own temp dir, and stops them by PID
// when the test ends.
//
// Nothing is installed or built at test time: scripts/servers.sh installs
// the Debian packages and builds the servers that come as source into a
// cache outside the checkout (CacheDir), so a fresh clone on the same
// machine reuses them. A missing server fails the test with a message that
// names the script.
//
// This file holds what every server needs: finding its binary, a free
// port, the process's life and log. One file per server kind holds its
// configuration.
package testserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CacheDir is where scripts/servers.sh keeps the servers it builds:
// $CONNECTD_CACHE, else $XDG_CACHE_HOME/connectd, else ~/.cache/connectd.
func CacheDir() string {
	if d := os.Getenv("CONNECTD_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "connectd")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "connectd-cache")
	}
	return filepath.Join(home, ".cache", "connectd")
}

// Binary returns the first of paths that is an executable file; a path
// that is not absolute is taken relative to CacheDir. It fails tb, naming
// scripts/servers.sh, when none is.
func Binary(tb testing.TB, what string, paths ...string) string {
	tb.Helper()
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(CacheDir(), p)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	tb.Fatalf("testserver: %s is not installed (looked for %v); run scripts/servers.sh", what, paths)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreePortRange returns the first of n consecutive loopback ports that
// were free a moment ago (an FTP server's passive range). It looks below
// the kernel's range for outgoing connections (32768 and up on Linux),
// whose ports other tests' clients keep taking.
func FreePortRange(tb testing.TB, n int) int {
	tb.Helper()
	for try := 0; try < 200; try++ {
		first := 20000 + rand.IntN(12000-n)
		var ls []net.Listener
		ok := true
		for p := first; p < first+n; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return first
		}
	}
	tb.Fatalf("testserver: no %d free consecutive ports", n)
	return 0
}

// User is the local account the FTP and SFTP servers log tests in as,
// made by scripts/servers.sh.
type User struct {
	Name     string
	Password string
	UID, GID int
	Home     string
}

// TestUser returns the account scripts/servers.sh made, or fails tb.
func TestUser(tb testing.TB) User {
	tb.Helper()
	u, err := user.Lookup("connectd-test")
	if err != nil {
		tb.Fatalf("testserver: the user connectd-test is missing (%v); run scripts/servers.sh", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return User{Name: u.Username, Password: "connectd-test", UID: uid, GID: gid, Home: u.HomeDir}
}

// Chown gives path and everything under it to u, so a server that drops
// privileges to u can read and write it. Without root it does nothing
// (the servers then run as the test's own user).
func (u User) Chown(tb testing.TB, path string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, u.UID, u.GID)
	})
	if err != nil {
		tb.Fatalf("testserver: chown %s: %v", path, err)
	}
}

// Proc is one server process started by a test. It is killed (its whole
// process group) when the test ends; its output goes to a log file shown
// when the test fails.
type Proc struct {
	Name string
	// Log is the file its stdout and stderr go to.
	Log string

	tb    testing.TB
	path  string
	args  []string
	env   []string
	dir   string
	ready func() error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Command describes how to run a server.
type Command struct {
	Path string
	Args []string
	// Env is added to the test's environment.
	Env []string
	// Dir is the working directory (default: the test's).
	Dir string
	// Ready returns nil once the server serves (e.g. DialReady); it is
	// polled for up to a minute after every start.
	Ready func() error
}

// Start starts c and waits until it is ready.
func Start(tb testing.TB, name string, c Command) *Proc {
	tb.Helper()
	p := &Proc{Name: name, Log: filepath.Join(tb.TempDir(), name+".log"), tb: tb,
		path: c.Path, args: c.Args, env: c.Env, dir: c.Dir, ready: c.Ready}
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("%s log (tail):\n%s", name, p.LogTail(6000))
		}
	})
	if err := p.start(); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (p *Proc) start() error {
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so Kill reaches the children a daemon forks;
	// Pdeathsig ends it if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testserver: start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	if p.ready == nil {
		return nil
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := p.ready()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("testserver: %s exited before it was ready (%v):\n%s", p.Name, err, p.LogTail(3000))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: %s not ready within a minute: %v\n%s", p.Name, err, p.LogTail(3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the server's process id (0 when stopped).
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL to the server's process group and waits until the
// server is gone. It does nothing when the server is not running.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	// Servers that give each client a session of its own (vsftpd) leave
	// those out of the process group: a restarted server would still
	// serve its old clients. They die too.
	sessions := childSessions(cmd.Process.Pid)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	killSessions(sessions)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.tb.Errorf("testserver: %s (pid %d) did not exit after SIGKILL", p.Name, cmd.Process.Pid)
	}
}

// Restart kills the server and starts it again with the same command,
// port and data, waiting until it is ready.
func (p *Proc) Restart() {
	p.tb.Helper()
	p.Kill()
	if err := p.start(); err != nil {
		p.tb.Fatal(err)
	}
}

// StartAgain starts a server that was killed, with the same command.
func (p *Proc) StartAgain() {
	p.tb.Helper()
	if p.Pid() != 0 {
		p.tb.Fatalf("testserver: %s is still running", p.Name)
	}
	if err := p.start(); err != nil {
		p.tb.Fatal(err)
	}
}

// LogTail returns the last n bytes of the server's log.
func (p *Proc) LogTail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// DialReady returns a Ready check that passes once addr accepts TCP
// connections.
func DialReady(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// ProcStat is what /proc/<pid>/stat says of a process's parent and
// session.
type ProcStat struct{ PID, PPID, SID int }

// ProcStats reads every process's ProcStat.
func ProcStats() []ProcStat {
	var out []ProcStat
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		// After the command: state, ppid, pgrp, session.
		f := strings.Fields(st[i+1:])
		if len(f) < 4 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		sid, _ := strconv.Atoi(f[3])
		out = append(out, ProcStat{PID: pid, PPID: ppid, SID: sid})
	}
	return out
}

// childSessions returns the sessions led by descendants of pid.
func childSessions(pid int) map[int]bool {
	children := map[int][]ProcStat{}
	for _, p := range ProcStats() {
		children[p.PPID] = append(children[p.PPID], p)
	}
	sessions := map[int]bool{}
	todo := []int{pid}
	for len(todo) > 0 {
		next := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, c := range children[next] {
			if c.SID == c.PID {
				sessions[c.SID] = true
			}
			todo = append(todo, c.PID)
		}
	}
	return sessions
}

// killSessions kills every process of the given sessions, those already
// handed to init included.
func killSessions(sessions map[int]bool) {
	if len(sessions) == 0 {
		return
	}
	for _, p := range ProcStats() {
		if sessions[p.SID] {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}
