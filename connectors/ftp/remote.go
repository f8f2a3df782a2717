package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dial connects and logs in to the server cfg names, over the protocol it
// names.
func dial(ctx context.Context, cfg *config, log *slog.Logger) (remote, error) {
	if cfg.protocol == ProtoSFTP {
		r, err := dialSFTP(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	r, err := dialFTP(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// remote is one logged-in connection to the server: FTP (one control
// connection, one data connection at a time) or SFTP (one SSH
// connection). Its methods are called from one goroutine at a time, and
// never while a reader from open is still open, except interrupt.
type remote interface {
	// list streams the entries of dir to fn, without "." and "..". An
	// error from fn ends the listing and is returned.
	list(ctx context.Context, dir string, fn func(entry) error) error
	// open starts reading file p, of size bytes as listed, at byte
	// offset off; no more than size bytes are read from it. When the
	// server refuses to start there (FTP servers without REST), it starts
	// at 0 and says so in start.
	open(ctx context.Context, p string, off, size int64) (rc io.ReadCloser, start int64, err error)
	// modTime returns p's exact modification time (FTP's MDTM), for
	// servers whose listings give LIST times only.
	modTime(ctx context.Context, p string) (time.Time, error)
	// modTimes asks modTime of every path in ps at once, as the protocol
	// allows (FTP: pipelined MDTM commands), and returns one answer a
	// path; err is the connection's.
	modTimes(ctx context.Context, ps []string) (ts []time.Time, errs []error, err error)
	// exists reports whether p names something.
	exists(ctx context.Context, p string) (bool, error)
	rename(ctx context.Context, from, to string) error
	remove(ctx context.Context, p string) error
	// mkdirAll makes dir and the directories above it.
	mkdirAll(ctx context.Context, dir string) error
	// keepalive shows the server the connection is in use.
	keepalive(ctx context.Context) error
	// interrupt makes every call under way, and every later one, fail at
	// once: the connection is then only good for close. It may be called
	// from any goroutine.
	interrupt()
	close() error
	// describe names the server software and listing style, for logs.
	describe() string
}

// fileError is an error that concerns one file (the server refuses to
// serve it, it is gone, permission denied), not the connection. Temporary
// marks a refusal worth trying again later (FTP's 4xx replies).
type fileError struct {
	op, path  string
	temporary bool
	err       error
}

func (e *fileError) Error() string { return fmt.Sprintf("%s %s: %v", e.op, e.path, e.err) }
func (e *fileError) Unwrap() error { return e.err }

// isFileError reports whether err concerns a file rather than the
// connection.
func isFileError(err error) bool {
	var fe *fileError
	return errors.As(err, &fe)
}

func isTemporaryFileError(err error) bool {
	var fe *fileError
	return errors.As(err, &fe) && fe.temporary
}

// errInterrupted is what calls on an interrupted connection return.
var errInterrupted = errors.New("ftp: connection interrupted")

// deadlineConn bounds every read and write on a connection by the
// configured timeout, so a silent server cannot hold the task, and lets
// interrupt end the operations under way at once.
type deadlineConn struct {
	net.Conn
	timeout     time.Duration
	interrupted *atomic.Bool // shared by all connections of one remote
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.interrupted.Load() {
		return 0, errInterrupted
	}
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	if c.interrupted.Load() { // interrupt may have run between the check and the deadline
		c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if c.interrupted.Load() {
		return 0, errInterrupted
	}
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if c.interrupted.Load() {
		c.Conn.SetWriteDeadline(time.Unix(1, 0))
	}
	return c.Conn.Write(b)
}

// conns tracks the live connections of one remote, for interrupt.
type conns struct {
	interrupted atomic.Bool
	mu          sync.Mutex
	live        map[*deadlineConn]struct{}
}

func (cs *conns) wrap(c net.Conn, timeout time.Duration) *deadlineConn {
	dc := &deadlineConn{Conn: c, timeout: timeout, interrupted: &cs.interrupted}
	cs.mu.Lock()
	if cs.live == nil {
		cs.live = map[*deadlineConn]struct{}{}
	}
	cs.live[dc] = struct{}{}
	cs.mu.Unlock()
	return dc
}

func (cs *conns) forget(dc *deadlineConn) {
	cs.mu.Lock()
	delete(cs.live, dc)
	cs.mu.Unlock()
}

func (cs *conns) interrupt() {
	cs.interrupted.Store(true)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for dc := range cs.live {
		dc.Conn.SetDeadline(time.Unix(1, 0))
	}
}

// closeAll closes every connection still open.
func (cs *conns) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for dc := range cs.live {
		dc.Conn.Close()
	}
	cs.live = nil
}

// trackedConn forgets itself from its conns when closed.
type trackedConn struct {
	*deadlineConn
	cs   *conns
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.cs.forget(c.deadlineConn) })
	return c.deadlineConn.Conn.Close()
}

// dial opens a TCP connection bounded by the timeouts and tracked by cs.
func (cs *conns) dial(ctx context.Context, addr string, connectTimeout, timeout time.Duration) (net.Conn, error) {
	if cs.interrupted.Load() {
		return nil, errInterrupted
	}
	d := net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &trackedConn{deadlineConn: cs.wrap(c, timeout), cs: cs}, nil
}

// modTimesEach asks rem.modTime of every path in turn, for modTimes.
func modTimesEach(ctx context.Context, rem remote, ps []string) ([]time.Time, []error, error) {
	ts, errs := make([]time.Time, len(ps)), make([]error, len(ps))
	for i, p := range ps {
		ts[i], errs[i] = rem.modTime(ctx, p)
		if errs[i] != nil && !isFileError(errs[i]) && !errors.Is(errs[i], errors.ErrUnsupported) {
			return nil, nil, errs[i]
		}
	}
	return ts, errs, nil
}
