package ftp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"
)

// ftpRemote is an FTP or FTPS connection through github.com/jlaffaye/ftp.
//
// The library reads a whole listing into memory; this client streams
// it instead. Every connection the library opens goes through dialData,
// which hands the library, for a listing, a data connection whose first
// Read parses the whole stream line by line into the caller's function
// and then reports the end: the library sees an empty listing and reads
// the server's closing reply as usual. Every connection is a deadlineConn.
type ftpRemote struct {
	cfg      *config
	log      *slog.Logger
	c        *ftp.ServerConn
	cs       conns
	tls      *tls.Config // nil: plain FTP
	dials    int         // connections opened so far: the first is the control connection
	ctx      context.Context
	listSink func(line string) error // set while a listing runs
	restOff  bool                    // the server refused REST once
	mlsd     bool
	mdtm     bool
	// ctrl is the control connection as the library writes to and reads
	// from it, for commands sent in a pipeline; nil with explicit FTPS,
	// whose control connection the library turns into TLS itself.
	ctrl net.Conn
}

func dialFTP(ctx context.Context, cfg *config, log *slog.Logger) (*ftpRemote, error) {
	r := &ftpRemote{cfg: cfg, ctx: ctx, log: log}
	if cfg.protocol == ProtoFTPS || cfg.protocol == ProtoFTPSImplicit {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		r.tls = tc
	}
	opts := []ftp.DialOption{
		ftp.DialWithDialFunc(r.dialData),
		ftp.DialWithShutTimeout(cfg.timeout),
	}
	switch cfg.protocol {
	case ProtoFTPS:
		opts = append(opts, ftp.DialWithExplicitTLS(r.tls))
	case ProtoFTPSImplicit:
		opts = append(opts, ftp.DialWithTLS(r.tls))
	}
	addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
	// The login is bounded by the connect timeout, as a whole.
	stop := context.AfterFunc(ctx, r.cs.interrupt)
	defer stop()
	timer := time.AfterFunc(cfg.connectTimeout, r.cs.interrupt)
	defer timer.Stop()
	c, err := ftp.Dial(addr, opts...)
	if err != nil {
		r.cs.closeAll()
		return nil, ftpDialErr(fmt.Errorf("connect to %s: %w", addr, loginErr(err, r.cs.interrupted.Load())))
	}
	if err := c.Login(cfg.user, cfg.password); err != nil {
		c.Quit()
		r.cs.closeAll()
		return nil, ftpDialErr(fmt.Errorf("log in to %s as %s: %w", addr, cfg.user, loginErr(err, r.cs.interrupted.Load())))
	}
	if !timer.Stop() || ctx.Err() != nil {
		c.Quit()
		r.cs.closeAll()
		return nil, fmt.Errorf("log in to %s: %w", addr, errInterrupted)
	}
	r.c = c
	r.mlsd = c.IsTimePreciseInList()
	r.mdtm = c.IsGetTimeSupported()
	r.ctx = context.Background() // the dial's ctx bounds only the dial
	return r, nil
}

// ftpDialErr marks what reconnecting will not cure: a refused login
// (530), a server certificate that does not check out.
func ftpDialErr(err error) error {
	var te *textproto.Error
	var ve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ve):
		return &keyError{key: TLSCAFileKey, err: err}
	case errors.As(err, &te) && te.Code == ftp.StatusNotLoggedIn:
		return &permanentError{err}
	}
	return err
}

// loginErr says that a login which ran out of time did so.
func loginErr(err error, interrupted bool) error {
	if interrupted {
		return fmt.Errorf("timed out or cancelled: %w", err)
	}
	return err
}

func tlsConfig(cfg *config) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         cfg.host,
		InsecureSkipVerify: cfg.tlsSkipVerify,
		MinVersion:         tls.VersionTLS12,
		// Servers that insist on TLS session reuse on data connections
		// (vsftpd's require_ssl_reuse) accept a resumed TLS 1.3 session.
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
	}
	if cfg.tlsCAFile != "" {
		pem, err := os.ReadFile(cfg.tlsCAFile)
		if err != nil {
			return nil, &keyError{key: TLSCAFileKey, err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &keyError{key: TLSCAFileKey, err: fmt.Errorf("%s holds no PEM certificate", cfg.tlsCAFile)}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dialData opens the connections the library asks for: the control
// connection first, then one data connection per transfer.
func (r *ftpRemote) dialData(network, addr string) (net.Conn, error) {
	r.dials++
	c, err := r.cs.dial(r.ctx, addr, r.cfg.connectTimeout, r.cfg.timeout)
	if err != nil {
		return nil, err
	}
	control := r.dials == 1
	// Implicit FTPS: TLS from the first byte everywhere. Explicit FTPS:
	// the library upgrades the control connection after AUTH TLS; data
	// connections are TLS from the start (PROT P).
	if r.tls != nil && (!control || r.cfg.protocol == ProtoFTPSImplicit) {
		c = tls.Client(c, r.tls)
	}
	if control && r.cfg.protocol != ProtoFTPS {
		r.ctrl = c
	}
	if !control && r.listSink != nil {
		return &listConn{Conn: c, sink: r.listSink}, nil
	}
	return c, nil
}

// listConn is the data connection of a streamed listing: its first Read
// feeds every line to sink and then reports the end of the stream.
type listConn struct {
	net.Conn
	sink func(string) error
	done bool
}

func (l *listConn) Read([]byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	l.done = true
	br := bufio.NewReaderSize(l.Conn, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if serr := l.sink(line); serr != nil {
				return 0, serr
			}
		}
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, err
		}
	}
}

func (r *ftpRemote) describe() string {
	kind := "LIST"
	if r.mlsd {
		kind = "MLSD"
	}
	if r.mdtm {
		kind += ", MDTM"
	}
	return fmt.Sprintf("%s://%s:%d (%s)", r.cfg.protocol, r.cfg.host, r.cfg.port, kind)
}

func (r *ftpRemote) list(ctx context.Context, dir string, fn func(entry) error) error {
	now := time.Now()
	var lineErr error
	r.listSink = func(line string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var e entry
		var err error
		if r.mlsd {
			e, err = parseMLSDLine(line)
		} else {
			e, err = parseLISTLine(line, now, r.cfg.serverTZ)
		}
		if err != nil {
			if strings.HasPrefix(line, "total ") {
				return nil
			}
			if lineErr == nil {
				lineErr = fmt.Errorf("cannot parse %q", strings.TrimSpace(line))
			}
			return nil
		}
		if e.name == "." || e.name == ".." || strings.ContainsAny(e.name, "/") {
			return nil
		}
		return fn(e)
	}
	defer func() { r.listSink = nil }()
	if !r.mlsd {
		// LIST of a missing directory is an empty listing on some
		// servers (vsftpd): make sure it is there.
		if err := r.c.ChangeDir(dir); err != nil {
			return ftpErr("list", dir, err)
		}
	}
	_, err := r.c.List(dir)
	if err != nil {
		return ftpErr("list", dir, err)
	}
	if lineErr != nil {
		r.log.Warn("ftp: skipped listing lines of a form the connector does not know", "directory", dir, "first", lineErr)
	}
	return nil
}

// ftpErr turns a server's refusal concerning path into a fileError;
// anything else concerns the connection.
func ftpErr(op, p string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		switch {
		case te.Code == ftp.StatusNotAvailable, te.Code == ftp.StatusCanNotOpenDataConnection,
			te.Code == ftp.StatusTransfertAborted, te.Code == ftp.StatusNotLoggedIn:
			return fmt.Errorf("%s %s: %w", op, p, err) // the connection's fault
		case te.Code >= 400 && te.Code < 500:
			return &fileError{op: op, path: p, temporary: true, err: err}
		case te.Code >= 500:
			return &fileError{op: op, path: p, err: err}
		}
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

func (r *ftpRemote) open(_ context.Context, p string, off, _ int64) (io.ReadCloser, int64, error) {
	if off > 0 && !r.restOff {
		resp, err := r.retr(p, off)
		if err == nil {
			return resp, off, nil
		}
		if !isFileError(ftpErr("", p, err)) || isTemporaryFileError(ftpErr("", p, err)) {
			return nil, 0, ftpErr("download", p, err)
		}
		// REST or RETR was refused: if RETR alone works, REST is what
		// the server refuses, and reading starts at 0.
		resp, err2 := r.retr(p, 0)
		if err2 != nil {
			return nil, 0, ftpErr("download", p, err2)
		}
		r.restOff = true
		return resp, 0, nil
	}
	resp, err := r.retr(p, 0)
	if err != nil {
		return nil, 0, ftpErr("download", p, err)
	}
	return resp, 0, nil
}

// dataConnTries is how often a transfer is asked for when the server
// cannot open its data connection (425): a server picks a passive port at
// random, and one another session of it listens on is taken.
const dataConnTries = 3

// retr starts downloading p at off, asking again when the server cannot
// open the data connection.
func (r *ftpRemote) retr(p string, off int64) (resp *ftp.Response, err error) {
	for range dataConnTries {
		if off > 0 {
			resp, err = r.c.RetrFrom(p, uint64(off))
		} else {
			resp, err = r.c.Retr(p)
		}
		var te *textproto.Error
		if err == nil || !errors.As(err, &te) || te.Code != ftp.StatusCanNotOpenDataConnection {
			return resp, err
		}
	}
	return resp, err
}

func (r *ftpRemote) modTime(_ context.Context, p string) (time.Time, error) {
	if !r.mdtm {
		return time.Time{}, errors.ErrUnsupported
	}
	t, err := r.c.GetTime(p)
	if err != nil {
		return time.Time{}, ftpErr("MDTM", p, err)
	}
	return t.Truncate(time.Second), nil
}

// mdtmBatch is how many MDTM commands go out before their replies are
// read: few enough that neither side's socket buffer fills (about 60
// bytes a command and reply), so neither waits for the other.
const mdtmBatch = 64

// modTimes sends MDTM commands in batches and reads their replies after
// each batch: one round trip for a batch instead of one a file. Between
// the library's commands the control connection holds no unread reply
// (it reads each command's replies to their end), so the pipeline reads
// its replies from the connection itself, and leaves none unread.
func (r *ftpRemote) modTimes(ctx context.Context, ps []string) ([]time.Time, []error, error) {
	if !r.mdtm || r.ctrl == nil || len(ps) < 2 {
		return modTimesEach(ctx, r, ps)
	}
	ts, errs := make([]time.Time, len(ps)), make([]error, len(ps))
	br := textproto.NewReader(bufio.NewReaderSize(r.ctrl, 4096))
	bw := bufio.NewWriterSize(r.ctrl, 8192)
	for start := 0; start < len(ps); start += mdtmBatch {
		batch := ps[start:min(start+mdtmBatch, len(ps))]
		sent := make([]bool, len(batch))
		for i, p := range batch {
			if strings.ContainsAny(p, "\r\n") {
				errs[start+i] = &fileError{op: "MDTM", path: p, err: ftp.ErrInvalidCommand}
				continue
			}
			bw.WriteString("MDTM ")
			bw.WriteString(p)
			bw.WriteString("\r\n")
			sent[i] = true
		}
		if err := bw.Flush(); err != nil {
			return nil, nil, fmt.Errorf("MDTM: %w", err)
		}
		for i, p := range batch {
			if !sent[i] {
				continue
			}
			_, msg, err := br.ReadResponse(ftp.StatusFile)
			if err != nil {
				if err = ftpErr("MDTM", p, err); !isFileError(err) {
					return nil, nil, err
				}
				errs[start+i] = err
				continue
			}
			t, err := time.ParseInLocation("20060102150405", msg, time.UTC)
			if err != nil {
				errs[start+i] = &fileError{op: "MDTM", path: p, err: err}
				continue
			}
			ts[start+i] = t.Truncate(time.Second)
		}
	}
	return ts, errs, nil
}

func (r *ftpRemote) exists(_ context.Context, p string) (bool, error) {
	// SIZE answers 550 for a missing file; servers answer it for folders
	// too, which are never a move's target here.
	if _, err := r.c.FileSize(p); err != nil {
		err = ftpErr("SIZE", p, err)
		if isFileError(err) && !isTemporaryFileError(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (r *ftpRemote) rename(_ context.Context, from, to string) error {
	if err := r.c.Rename(from, to); err != nil {
		return ftpErr("rename", from+" to "+to, err)
	}
	return nil
}

func (r *ftpRemote) remove(_ context.Context, p string) error {
	if err := r.c.Delete(p); err != nil {
		return ftpErr("delete", p, err)
	}
	return nil
}

func (r *ftpRemote) mkdirAll(ctx context.Context, dir string) error {
	if dir == "/" || dir == "." || dir == "" {
		return nil
	}
	if err := r.c.MakeDir(dir); err == nil {
		return nil
	}
	// Make the parents, then try again; a folder that exists already
	// answers 550 too, so only the last attempt's error counts.
	if err := r.mkdirAll(ctx, path.Dir(dir)); err != nil {
		return err
	}
	if err := r.c.MakeDir(dir); err != nil {
		if err2 := r.c.ChangeDir(dir); err2 == nil {
			return nil
		}
		return ftpErr("make directory", dir, err)
	}
	return nil
}

func (r *ftpRemote) keepalive(context.Context) error {
	if err := r.c.NoOp(); err != nil {
		return fmt.Errorf("NOOP: %w", err)
	}
	return nil
}

func (r *ftpRemote) interrupt() { r.cs.interrupt() }

func (r *ftpRemote) close() error {
	var err error
	if r.c != nil && !r.cs.interrupted.Load() {
		err = r.c.Quit()
	}
	r.cs.closeAll()
	return err
}
