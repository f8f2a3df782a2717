package ftp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sftpRemote is an SFTP connection through github.com/pkg/sftp over
// golang.org/x/crypto/ssh. pkg/sftp reads a whole directory into memory,
// so listings go through a second SFTP session on the same SSH
// connection, spoken directly (dirReader): one READDIR reply at a time.
type sftpRemote struct {
	cfg *config
	ssh *ssh.Client
	c   *sftp.Client
	cs  conns
	dir *dirSession // opened on the first listing
	// closing counts the handles of small files being closed.
	closing sync.WaitGroup
}

func dialSFTP(ctx context.Context, cfg *config, log *slog.Logger) (*sftpRemote, error) {
	r := &sftpRemote{cfg: cfg}
	var auth []ssh.AuthMethod
	if cfg.keyPath != "" {
		pem, err := os.ReadFile(cfg.keyPath)
		if err != nil {
			return nil, &keyError{key: PrivateKeyPathKey, err: err}
		}
		var signer ssh.Signer
		if cfg.keyPass != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(cfg.keyPass))
		} else {
			signer, err = ssh.ParsePrivateKey(pem)
		}
		if err != nil {
			key := PrivateKeyPathKey
			var pm *ssh.PassphraseMissingError
			if cfg.keyPass != "" || errors.As(err, &pm) {
				key = PrivateKeyPassKey
			}
			return nil, &keyError{key: key, err: fmt.Errorf("%s: %w", cfg.keyPath, err)}
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if cfg.password != "" {
		auth = append(auth, ssh.Password(cfg.password))
	}
	hostKey, err := hostKeyCallback(cfg, log)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
	stop := context.AfterFunc(ctx, r.cs.interrupt)
	defer stop()
	timer := time.AfterFunc(cfg.connectTimeout, r.cs.interrupt)
	defer timer.Stop()
	conn, err := r.cs.dial(ctx, addr, cfg.connectTimeout, cfg.timeout)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User: cfg.user, Auth: auth, HostKeyCallback: hostKey, Timeout: cfg.connectTimeout,
	})
	if err != nil {
		conn.Close()
		err = fmt.Errorf("log in to %s as %s: %w", addr, cfg.user, loginErr(err, r.cs.interrupted.Load()))
		var he *hostKeyError
		switch {
		case errors.As(err, &he):
			return nil, &keyError{key: KnownHostsPathKey, err: err}
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, &permanentError{err}
		}
		return nil, err
	}
	r.ssh = ssh.NewClient(sc, chans, reqs)
	r.c, err = sftp.NewClient(r.ssh, sftp.UseConcurrentReads(true), sftp.MaxConcurrentRequestsPerFile(64))
	if err != nil {
		r.ssh.Close()
		return nil, fmt.Errorf("start SFTP on %s: %w", addr, loginErr(err, r.cs.interrupted.Load()))
	}
	if !timer.Stop() || ctx.Err() != nil {
		r.close()
		return nil, fmt.Errorf("log in to %s: %w", addr, errInterrupted)
	}
	return r, nil
}

// hostKeyCallback checks host keys against known_hosts, or, with strict
// checking off, accepts any key and logs its fingerprint.
func hostKeyCallback(cfg *config, log *slog.Logger) (ssh.HostKeyCallback, error) {
	if !cfg.strictHostKey {
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			log.Warn("ftp: sftp.strict.host.key.checking=false: accepting the host key unchecked", "host", host, "fingerprint", ssh.FingerprintSHA256(key))
			return nil
		}, nil
	}
	cb, err := knownhosts.New(cfg.knownHosts)
	if err != nil {
		return nil, &keyError{key: KnownHostsPathKey, err: err}
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return &hostKeyError{fmt.Errorf("host key of %s (%s %s) is not in %s: add it (ssh-keyscan) or set %s=false", host, key.Type(), ssh.FingerprintSHA256(key), cfg.knownHosts, StrictHostKeyKey)}
			}
			return &hostKeyError{fmt.Errorf("host key of %s (%s %s) differs from the one in %s: someone may be in the middle, or the server's key changed", host, key.Type(), ssh.FingerprintSHA256(key), cfg.knownHosts)}
		}
		return err
	}, nil
}

// hostKeyError is a host key that does not check out.
type hostKeyError struct{ err error }

func (e *hostKeyError) Error() string { return e.err.Error() }
func (e *hostKeyError) Unwrap() error { return e.err }

func (r *sftpRemote) describe() string {
	return fmt.Sprintf("sftp://%s:%d (%s)", r.cfg.host, r.cfg.port, r.ssh.ServerVersion())
}

// sftpErr turns a status from the server into a fileError; anything else
// (the connection went away) is the connection's.
func sftpErr(op, p string, err error) error {
	var se *sftp.StatusError
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return &fileError{op: op, path: p, err: err}
	case errors.As(err, &se) && se.FxCode() != sftp.ErrSSHFxNoConnection && se.FxCode() != sftp.ErrSSHFxConnectionLost:
		return &fileError{op: op, path: p, err: err}
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

func (r *sftpRemote) list(ctx context.Context, dir string, fn func(entry) error) error {
	if r.dir == nil {
		d, err := openDirSession(r.ssh)
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		r.dir = d
	}
	err := r.dir.list(dir, func(name string, a attrs) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." || name == ".." {
			return nil
		}
		e := entry{name: name, size: int64(a.size), mtime: time.Unix(int64(a.mtime), 0).UTC(), exact: true}
		switch a.perm & 0o170000 {
		case 0o100000:
			e.kind = kindFile
		case 0o040000:
			e.kind = kindDir
		}
		if a.flags&(attrSize|attrTimes|attrPerm) != attrSize|attrTimes|attrPerm {
			e.kind = kindOther // no identity without size and time
		}
		return fn(e)
	})
	if err != nil {
		var se *statusError
		if errors.As(err, &se) && se.code != fxNoConnection && se.code != fxConnectionLost {
			return &fileError{op: "list", path: dir, err: err}
		}
		if errors.Is(err, ctx.Err()) {
			return err
		}
		// The session is of no more use; the next listing opens another
		// (or the connection is gone, and it reconnects).
		r.dir.close()
		r.dir = nil
		return fmt.Errorf("list %s: %w", dir, err)
	}
	return nil
}

// smallRead is the most bytes left of a file that are read with plain
// read requests, one at a time: pkg/sftp's default packet, so a file of
// up to that size takes one request.
const smallRead = 32 << 10

func (r *sftpRemote) open(_ context.Context, p string, off, size int64) (io.ReadCloser, int64, error) {
	f, err := r.c.Open(p)
	if err != nil {
		return nil, 0, sftpErr("open", p, err)
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, 0, sftpErr("seek", p, err)
		}
	}
	if size-off <= smallRead {
		// WriteTo would ask the file's size first (a round trip) and
		// read on until the server reports the end (another); the
		// caller reads no more than size bytes, one request.
		return &smallFile{File: f, r: r}, off, nil
	}
	return newPipelined(f), off, nil
}

// smallFile is a small file read with plain read requests. Its Close does
// not wait for the server's answer: every byte the task reads was read
// (or the read failed) by then, and the next file's open need not wait a
// round trip. The closes under way finish before the connection closes
// and before any rename or delete, which some servers refuse on an open
// file.
type smallFile struct {
	*sftp.File
	r *sftpRemote
}

func (s *smallFile) Close() error {
	s.r.closing.Add(1)
	go func() {
		defer s.r.closing.Done()
		s.File.Close()
	}()
	return nil
}

// pipelined reads an SFTP file with pkg/sftp's WriteTo, which keeps many
// read requests in flight, on a goroutine of its own, so the transfer
// runs while the task parses: File.Read waits for each buffer's requests
// in turn. Close ends the goroutine and waits for it.
type pipelined struct {
	pr   *io.PipeReader
	f    *sftp.File
	done chan struct{}
}

func newPipelined(f *sftp.File) *pipelined {
	pr, pw := io.Pipe()
	p := &pipelined{pr: pr, f: f, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_, err := f.WriteTo(pw)
		pw.CloseWithError(err) // nil: EOF for the reader
	}()
	return p
}

func (p *pipelined) Read(b []byte) (int, error) { return p.pr.Read(b) }

func (p *pipelined) Close() error {
	p.pr.CloseWithError(errReaderClosed) // the writer's next write fails
	<-p.done
	return p.f.Close()
}

var errReaderClosed = errors.New("ftp: reader closed")

func (r *sftpRemote) modTime(_ context.Context, p string) (time.Time, error) {
	fi, err := r.c.Stat(p)
	if err != nil {
		return time.Time{}, sftpErr("stat", p, err)
	}
	return fi.ModTime().UTC().Truncate(time.Second), nil
}

// modTimes stats each path in turn: listings give SFTP's exact times, so
// this is seldom asked.
func (r *sftpRemote) modTimes(ctx context.Context, ps []string) ([]time.Time, []error, error) {
	return modTimesEach(ctx, r, ps)
}

func (r *sftpRemote) exists(_ context.Context, p string) (bool, error) {
	_, err := r.c.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, sftpErr("stat", p, err)
	}
	return true, nil
}

func (r *sftpRemote) rename(_ context.Context, from, to string) error {
	r.closing.Wait()
	if err := r.c.Rename(from, to); err != nil {
		return sftpErr("rename", from+" to "+to, err)
	}
	return nil
}

func (r *sftpRemote) remove(_ context.Context, p string) error {
	r.closing.Wait()
	if err := r.c.Remove(p); err != nil {
		return sftpErr("delete", p, err)
	}
	return nil
}

func (r *sftpRemote) mkdirAll(_ context.Context, dir string) error {
	if err := r.c.MkdirAll(dir); err != nil {
		return sftpErr("make directory", dir, err)
	}
	return nil
}

func (r *sftpRemote) keepalive(context.Context) error {
	if _, _, err := r.ssh.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		return fmt.Errorf("keepalive: %w", err)
	}
	return nil
}

func (r *sftpRemote) interrupt() { r.cs.interrupt() }

func (r *sftpRemote) close() error {
	if r.dir != nil {
		r.dir.close()
	}
	var err error
	if r.c != nil {
		err = r.c.Close()
	}
	if r.ssh != nil {
		r.ssh.Close()
	}
	r.closing.Wait() // the closes under way fail now, if they have not ended
	r.cs.closeAll()
	return err
}

// SFTP version 3 (draft-ietf-secsh-filexfer-02), as much as a listing needs.
const (
	fxpInit    = 1
	fxpVersion = 2
	fxpOpendir = 11
	fxpReaddir = 12
	fxpClose   = 4
	fxpStatus  = 101
	fxpHandle  = 102
	fxpName    = 104

	fxEOF            = 1
	fxNoConnection   = 6
	fxConnectionLost = 7

	attrSize   = 0x1
	attrUIDGID = 0x2
	attrPerm   = 0x4
	attrTimes  = 0x8
	attrExt    = 0x80000000

	maxDirPacket = 1 << 20
)

// dirSession is an SFTP session used only to list directories, one
// reply at a time.
type dirSession struct {
	sess *ssh.Session
	w    io.WriteCloser
	r    io.Reader
	id   uint32
	buf  []byte
}

type attrs struct {
	flags uint32
	size  uint64
	perm  uint32
	mtime uint32
}

type statusError struct {
	code uint32
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("sftp status %d: %s", e.code, e.msg) }

func openDirSession(c *ssh.Client) (*dirSession, error) {
	sess, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	w, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		sess.Close()
		return nil, err
	}
	d := &dirSession{sess: sess, w: w, r: r}
	if err := d.send(fxpInit, func(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 3) }, false); err != nil {
		d.close()
		return nil, err
	}
	typ, _, err := d.recv()
	if err == nil && typ != fxpVersion {
		err = fmt.Errorf("sftp: server answered INIT with packet type %d", typ)
	}
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// send writes a packet of type typ; with id, a new request id first.
func (d *dirSession) send(typ byte, body func([]byte) []byte, id bool) error {
	b := append(d.buf[:0], 0, 0, 0, 0, typ)
	if id {
		d.id++
		b = binary.BigEndian.AppendUint32(b, d.id)
	}
	b = body(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	d.buf = b
	_, err := d.w.Write(b)
	return err
}

// recv reads one packet; the payload is valid until the next call.
func (d *dirSession) recv() (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(d.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 1 || n > maxDirPacket {
		return 0, nil, fmt.Errorf("sftp: packet of %d bytes", n)
	}
	if cap(d.buf) < int(n) {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return 0, nil, err
	}
	return b[0], b[1:], nil
}

// reply reads the answer to the last request.
func (d *dirSession) reply() (byte, *reader, error) {
	typ, p, err := d.recv()
	if err != nil {
		return 0, nil, err
	}
	r := &reader{b: p}
	if id := r.u32(); r.err == nil && id != d.id {
		return 0, nil, fmt.Errorf("sftp: reply to request %d, want %d", id, d.id)
	}
	if typ == fxpStatus {
		code := r.u32()
		msg := r.str()
		if r.err != nil {
			return 0, nil, r.err
		}
		return typ, nil, &statusError{code: code, msg: msg}
	}
	return typ, r, r.err
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// list calls fn with each name of dir and its attributes.
func (d *dirSession) list(dir string, fn func(string, attrs) error) error {
	if err := d.send(fxpOpendir, func(b []byte) []byte { return appendString(b, dir) }, true); err != nil {
		return err
	}
	typ, r, err := d.reply()
	if err != nil {
		return err
	}
	if typ != fxpHandle {
		return fmt.Errorf("sftp: OPENDIR answered with packet type %d", typ)
	}
	handle := r.str()
	if r.err != nil {
		return r.err
	}
	err = d.readAll(handle, fn)
	if cerr := d.closeHandle(handle); err == nil {
		err = cerr
	}
	return err
}

func (d *dirSession) readAll(handle string, fn func(string, attrs) error) error {
	for {
		if err := d.send(fxpReaddir, func(b []byte) []byte { return appendString(b, handle) }, true); err != nil {
			return err
		}
		typ, r, err := d.reply()
		var se *statusError
		if errors.As(err, &se) && se.code == fxEOF {
			return nil
		}
		if err != nil {
			return err
		}
		if typ != fxpName {
			return fmt.Errorf("sftp: READDIR answered with packet type %d", typ)
		}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			name := r.str()
			r.str() // the long name, ls -l style: not needed
			a := r.attrs()
			if r.err != nil {
				break
			}
			if err := fn(path.Base(name), a); err != nil {
				return err
			}
		}
		if r.err != nil {
			return r.err
		}
	}
}

func (d *dirSession) closeHandle(handle string) error {
	if err := d.send(fxpClose, func(b []byte) []byte { return appendString(b, handle) }, true); err != nil {
		return err
	}
	_, _, err := d.reply()
	var se *statusError
	if errors.As(err, &se) && se.code == 0 {
		return nil
	}
	return err
}

func (d *dirSession) close() {
	d.w.Close()
	d.sess.Close()
}

// reader decodes SFTP's big-endian fields; the first error sticks.
type reader struct {
	b   []byte
	err error
}

var errShortPacket = errors.New("sftp: short packet")

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) str() string {
	n := r.u32()
	if r.err != nil || uint32(len(r.b)) < n {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) attrs() attrs {
	a := attrs{flags: r.u32()}
	if a.flags&attrSize != 0 {
		a.size = r.u64()
	}
	if a.flags&attrUIDGID != 0 {
		r.u32()
		r.u32()
	}
	if a.flags&attrPerm != 0 {
		a.perm = r.u32()
	}
	if a.flags&attrTimes != 0 {
		r.u32() // atime
		a.mtime = r.u32()
	}
	if a.flags&attrExt != 0 {
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.str()
			r.str()
		}
	}
	return a
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShortPacket
	}
	r.b = nil
}
