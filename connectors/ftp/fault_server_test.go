package ftp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"
)

// faultServer is an in-process FTP server (github.com/fclairamb/ftpserverlib
// over a temp folder), for the faults real servers cannot be made to show
// on cue: a connection dropped in the middle of a transfer, a server that
// refuses REST, a server that refuses renames with 550.
type faultServer struct {
	root string
	host string
	port int
	srv  *ftpserver.FtpServer

	listOnly     bool         // no MLSD: LIST and MDTM
	refuseREST   bool         // answer REST with 502, as servers without it do
	dropAfter    atomic.Int64 // > 0: the next download drops the connection after this many bytes
	dropLogin    atomic.Int64 // > 0: only a download of the session logged in this many-th counts as next
	logins       atomic.Int64 // sessions logged in
	refuseRename atomic.Bool  // renames fail with 550
	restRefused  atomic.Int64 // REST commands refused
	drops        atomic.Int64 // connections dropped
}

func startFaultServer(t *testing.T, listOnly, refuseREST bool) *faultServer {
	t.Helper()
	fs := &faultServer{root: t.TempDir(), listOnly: listOnly, refuseREST: refuseREST}
	fs.srv = ftpserver.NewFtpServer(fs)
	fs.srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := fs.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(fs.srv.Addr())
	fs.host = host
	fs.port, _ = strconv.Atoi(port)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fs.srv.Serve()
	}()
	t.Cleanup(func() {
		fs.srv.Stop()
		<-done
	})
	return fs
}

func (fs *faultServer) config(kv ...string) map[string]string {
	s := &server{cfg: map[string]string{ProtocolKey: ProtoFTP, HostKey: fs.host, PortKey: strconv.Itoa(fs.port),
		UsernameKey: "test", PasswordKey: "test"}}
	return s.config(kv...)
}

func (fs *faultServer) write(t *testing.T, rel string, data []byte) {
	t.Helper()
	p := fs.root + rel
	if err := os.MkdirAll(p[:bytes.LastIndexByte([]byte(p), '/')], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fixedTime, fixedTime); err != nil {
		t.Fatal(err)
	}
}

func (fs *faultServer) exists(rel string) bool {
	_, err := os.Stat(fs.root + rel)
	return err == nil
}

func (fs *faultServer) GetSettings() (*ftpserver.Settings, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if fs.refuseREST {
		l = &restRefuser{Listener: l, fs: fs}
	}
	return &ftpserver.Settings{Listener: l, DefaultTransferType: ftpserver.TransferTypeBinary, DisableMLSD: fs.listOnly, DisableMLST: fs.listOnly}, nil
}

func (fs *faultServer) ClientConnected(ftpserver.ClientContext) (string, error) {
	return "fault server", nil
}
func (fs *faultServer) ClientDisconnected(ftpserver.ClientContext) {}
func (fs *faultServer) GetTLSConfig() (*tls.Config, error)         { return nil, errors.New("no TLS") }

func (fs *faultServer) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if user != "test" || pass != "test" {
		return nil, errors.New("bad login")
	}
	return &faultDriver{Fs: afero.NewBasePathFs(afero.NewOsFs(), fs.root), fs: fs, cc: cc, login: fs.logins.Add(1)}, nil
}

type faultDriver struct {
	afero.Fs
	fs    *faultServer
	cc    ftpserver.ClientContext
	login int64 // the session's place in the order of logins
}

func (d *faultDriver) Rename(from, to string) error {
	if d.fs.refuseRename.Load() {
		return errors.New("renames refused")
	}
	return d.Fs.Rename(from, to)
}

func (d *faultDriver) GetHandle(name string, flags int, offset int64) (ftpserver.FileTransfer, error) {
	f, err := d.Fs.OpenFile(name, flags, 0o644)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	if l := d.fs.dropLogin.Load(); flags == os.O_RDONLY && (l == 0 || l == d.login) {
		if n := d.fs.dropAfter.Swap(0); n > 0 {
			return &droppingFile{File: f, left: n, d: d}, nil
		}
	}
	return f, nil
}

// droppingFile serves left bytes, then drops the client's connection.
type droppingFile struct {
	afero.File
	left int64
	d    *faultDriver
}

func (f *droppingFile) Read(b []byte) (int, error) {
	if f.left <= 0 {
		f.d.fs.drops.Add(1)
		f.d.cc.Close()
		return 0, errors.New("connection dropped")
	}
	if int64(len(b)) > f.left {
		b = b[:f.left]
	}
	n, err := f.File.Read(b)
	f.left -= int64(n)
	return n, err
}

// restRefuser makes the server's control connections answer REST with
// 502, the command never reaching the server.
type restRefuser struct {
	net.Listener
	fs *faultServer
}

func (l *restRefuser) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &restFilter{Conn: c, r: bufio.NewReader(c), fs: l.fs}, nil
}

type restFilter struct {
	net.Conn
	r   *bufio.Reader
	fs  *faultServer
	mu  sync.Mutex
	buf []byte
}

func (c *restFilter) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.buf) == 0 {
		line, err := c.r.ReadBytes('\n')
		if len(line) >= 5 && bytes.EqualFold(line[:5], []byte("REST ")) {
			c.fs.restRefused.Add(1)
			if _, werr := c.Conn.Write([]byte("502 REST not implemented.\r\n")); werr != nil {
				return 0, werr
			}
			continue
		}
		c.buf = line
		if err != nil && len(line) == 0 {
			return 0, err
		}
	}
	n := copy(b, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}
