// Package pgtest starts real PostgreSQL 15 servers for tests: one per call
// to Start, each in its own temp dir with its own port and socket dir,
// configured for logical replication as the project's testing notes
// describe. The server runs as the postgres user when the test runs as
// root (Postgres refuses root), and is stopped by PID when the test ends.
//
// initdb runs once per machine: its result is kept as a template data dir
// under .cache/pgtest at the repository root and copied for every server.
// Nothing is installed at test time; a missing binary fails the test with a
// message naming it (scripts/test.sh installs Debian's postgresql-15).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd/internal/testserver"
)

// Server is one running PostgreSQL server.
type Server struct {
	// Host and Port are where it listens (TCP, loopback).
	Host string
	Port int
	// SocketDir is its Unix socket directory.
	SocketDir string
	// DataDir is its data directory.
	DataDir string
	// BinDir holds the server binaries (pg_recvlogical, pgbench, psql...).
	BinDir string

	t    testing.TB
	dir  string
	cred *syscall.Credential
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// Option changes a server's postgresql.conf.
type Option func(conf map[string]string)

// Setting sets one postgresql.conf parameter.
func Setting(name, value string) Option { return func(c map[string]string) { c[name] = value } }

// Start starts a fresh server and registers its stop with t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	cred, owner, err := runAs()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template(bin, owner)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	// The server's user must reach its data and socket dirs.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Host: "127.0.0.1", BinDir: bin, t: t, dir: dir, cred: cred,
		DataDir: filepath.Join(dir, "data"), SocketDir: filepath.Join(dir, "sock"), log: filepath.Join(dir, "server.log")}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(s.log); err == nil {
				t.Logf("postgres log (tail):\n%s", tail(string(b), 3000))
			}
		}
		os.RemoveAll(dir)
	})
	if out, err := exec.Command("cp", "-a", tmpl, s.DataDir).CombinedOutput(); err != nil {
		t.Fatalf("pgtest: copy the template data dir: %v: %s", err, out)
	}
	if err := os.Mkdir(s.SocketDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chown(owner, s.SocketDir); err != nil {
		t.Fatal(err)
	}
	port := testserver.FreePort(t)
	s.Port = port
	conf := map[string]string{
		"listen_addresses":          "'127.0.0.1'",
		"port":                      strconv.Itoa(port),
		"unix_socket_directories":   "'" + s.SocketDir + "'",
		"wal_level":                 "logical",
		"max_replication_slots":     "20",
		"max_wal_senders":           "20",
		"logical_decoding_work_mem": "'512MB'",
		"fsync":                     "off",
		"synchronous_commit":        "off",
		"full_page_writes":          "off",
		"max_connections":           "100",
		"wal_sender_timeout":        "'60s'",
	}
	for _, o := range opts {
		o(conf)
	}
	var b strings.Builder
	for k, v := range conf {
		fmt.Fprintf(&b, "%s = %s\n", k, v)
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, "postgresql.auto.conf"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chown(owner, filepath.Join(s.DataDir, "postgresql.auto.conf")); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// DSN returns a connection string for database db as user postgres.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", s.Host, s.Port, db)
}

// Config returns the connector keys that reach database db.
func (s *Server) Config(db string) map[string]string {
	return map[string]string{
		"database.hostname": s.Host,
		"database.port":     strconv.Itoa(s.Port),
		"database.user":     "postgres",
		"database.password": "",
		"database.dbname":   db,
	}
}

// Connect opens a connection to db, closed when the test ends.
func (s *Server) Connect(db string) *pgx.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		s.t.Fatalf("pgtest: connect to %s: %v", db, err)
	}
	s.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// WaitStreaming waits until a walsender streams changes from the logical
// replication slot named slot in db (pg_stat_replication in state catchup
// or streaming). That the slot is active says less: it is active while
// CREATE_REPLICATION_SLOT still looks for its consistent point, before
// which committed changes are never decoded, and while a snapshot taken
// under the slot's exported snapshot runs.
func (s *Server) WaitStreaming(t testing.TB, db, slot string) {
	t.Helper()
	c := s.Connect(db)
	deadline := time.Now().Add(2 * time.Minute)
	var n int
	var err error
	for time.Now().Before(deadline) {
		err = c.QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots s
			JOIN pg_stat_replication r ON r.pid = s.active_pid
			WHERE s.slot_name = $1 AND r.state IN ('catchup', 'streaming')`, slot).Scan(&n)
		if err == nil && n == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pgtest: no walsender streaming from slot %s within 2 minutes (%d, %v)", slot, n, err)
}

// Exec runs each statement in db, failing the test on an error.
func (s *Server) Exec(db string, stmts ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		s.t.Fatalf("pgtest: connect to %s: %v", db, err)
	}
	defer c.Close(context.Background())
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			s.t.Fatalf("pgtest: %s: %v", q, err)
		}
	}
}

// CreateDatabase creates database name.
func (s *Server) CreateDatabase(name string) {
	s.t.Helper()
	s.Exec("postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// PID returns the postmaster's process id, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) start() error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"), "-D", s.DataDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			c.Close(context.Background())
			return nil
		}
		select {
		case <-done:
			b, _ := os.ReadFile(s.log)
			return fmt.Errorf("pgtest: postgres exited while starting:\n%s", tail(string(b), 2000))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres not accepting connections after 60s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (fast shutdown: SIGINT to the postmaster) and
// waits for it; after 30 s it kills the process group. Stopping a stopped
// server does nothing.
func (s *Server) Stop() { s.signal(syscall.SIGINT) }

// Crash stops the server the way a power cut would look to clients:
// immediate shutdown (SIGQUIT), no checkpoint; the next start recovers.
func (s *Server) Crash() { s.signal(syscall.SIGQUIT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Restart stops the server (fast shutdown) and starts it again on the same
// port and data dir.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// StartAgain starts a server stopped with Stop or Crash.
func (s *Server) StartAgain() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// BinDir returns the folder of the PostgreSQL 15 server binaries, or an
// error naming what is missing.
func BinDir() (string, error) {
	candidates := []string{"/usr/lib/postgresql/15/bin"}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append([]string{strings.TrimSpace(string(out))}, candidates...)
	}
	for _, dir := range candidates {
		ok := true
		for _, b := range []string{"initdb", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				ok = false
			}
		}
		if !ok {
			continue
		}
		out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
		if err == nil && strings.Contains(string(out), " 15.") {
			return dir, nil
		}
	}
	return "", errors.New("pgtest: PostgreSQL 15 server binaries (initdb, postgres) not found in `pg_config --bindir` " +
		"or /usr/lib/postgresql/15/bin; install Debian's postgresql-15 package (scripts/test.sh does)")
}

// runAs returns the credential the server runs with: the postgres user's
// when the test runs as root, none otherwise.
func runAs() (*syscall.Credential, *user.User, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		return nil, u, err
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("pgtest: running as root needs a postgres user to run the server as (useradd --system postgres): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, u, nil
}

func chown(u *user.User, path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(path, uid, gid)
}

var templateMu sync.Mutex

// template returns the cached initdb'd data dir, creating it on first use.
// Concurrent test processes race only to rename a finished dir into place.
func template(bin string, owner *user.User) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cache := filepath.Join(root, ".cache", "pgtest")
	dst := filepath.Join(cache, "template-15-"+owner.Username)
	if _, err := os.Stat(filepath.Join(dst, "PG_VERSION")); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	for d := cache; d != "/" && d != root; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	tmp, err := os.MkdirTemp(cache, "initdb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755)
	data := filepath.Join(tmp, "data")
	args := []string{filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"}
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			return "", errors.New("pgtest: runuser not found: it runs initdb as the postgres user (Debian's util-linux package)")
		}
		cmd = exec.Command("runuser", append([]string{"-u", owner.Username, "--"}, args...)...)
		if err := chown(owner, tmp); err != nil {
			return "", err
		}
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = tmp
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pgtest: initdb: %v:\n%s", err, out.String())
	}
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return "", err
	}
	if err := chown(owner, filepath.Join(data, "pg_hba.conf")); err != nil {
		return "", err
	}
	if err := os.Rename(data, dst); err != nil {
		if _, serr := os.Stat(filepath.Join(dst, "PG_VERSION")); serr == nil {
			return dst, nil // another process won the race
		}
		return "", err
	}
	return dst, nil
}

func repoRoot() (string, error) {
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
			return "", errors.New("pgtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
