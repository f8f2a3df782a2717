package testserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/pki"
)

// FTP is a running FTP daemon (vsftpd or proftpd) that logs the test user
// in, chrooted into Root: the remote path "/in/a.csv" is the local file
// Root/in/a.csv. Tests write the files it serves with WriteFile, which
// gives them to the test user.
type FTP struct {
	*Proc
	// Kind is "vsftpd" or "proftpd".
	Kind string
	Host string
	Port int
	User User
	// Root is the local directory the logged-in user sees as "/".
	Root string
	// CAFile is the PEM certificate the server presents for explicit FTPS
	// (self-signed for 127.0.0.1: it is its own CA); empty without TLS.
	CAFile string
}

// FTPOptions configures an FTP daemon.
type FTPOptions struct {
	// TLS makes the server require explicit FTPS (AUTH TLS) on the control
	// and data connections, with a certificate generated for the test.
	TLS bool
	// Implicit, with TLS, makes vsftpd speak implicit FTPS: TLS from the
	// first byte of every connection. proftpd ignores it.
	Implicit bool
	// TZ, when set, makes vsftpd list times in this zone (use_localtime),
	// as servers that show local time in LIST do. proftpd ignores it.
	TZ string
	// MaxPerIP, when set, makes the server refuse more connections from
	// one address than this (vsftpd at once with 421, proftpd after its
	// greeting).
	MaxPerIP int
}

// Addr is host:port.
func (f *FTP) Addr() string { return net.JoinHostPort(f.Host, strconv.Itoa(f.Port)) }

// Path returns the local path of the remote path rel ("/in/a.csv").
func (f *FTP) Path(rel string) string { return filepath.Join(f.Root, filepath.FromSlash(rel)) }

// StartVsftpd starts vsftpd (Debian's package). It lists with LIST only
// (times to the minute, no dotfiles) and offers MDTM and REST.
func StartVsftpd(tb testing.TB, o FTPOptions) *FTP {
	tb.Helper()
	bin := Binary(tb, "vsftpd", "/usr/sbin/vsftpd")
	f := newFTP(tb, "vsftpd", o)
	dir := tb.TempDir()
	pasv := FreePortRange(tb, 20)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		tb.Fatal(err)
	}
	conf := []string{
		"listen=YES", "listen_ipv6=NO", "listen_address=" + f.Host, "listen_port=" + strconv.Itoa(f.Port),
		"background=NO", "seccomp_sandbox=NO", "anonymous_enable=NO", "local_enable=YES",
		"write_enable=YES", "local_umask=022", "chroot_local_user=YES", "allow_writeable_chroot=YES",
		"local_root=" + f.Root, "secure_chroot_dir=" + empty, "pam_service_name=vsftpd",
		"userlist_enable=YES", "userlist_deny=NO", "userlist_file=" + writeLines(tb, dir, "users", f.User.Name),
		"pasv_enable=YES", "pasv_address=" + f.Host, "pasv_min_port=" + strconv.Itoa(pasv),
		"pasv_max_port=" + strconv.Itoa(pasv+19), "connect_from_port_20=NO",
		"xferlog_enable=YES", "vsftpd_log_file=" + filepath.Join(dir, "vsftpd.log"), "dual_log_enable=YES",
		"max_per_ip=" + strconv.Itoa(o.MaxPerIP), "max_clients=0",
	}
	var env []string
	if o.TZ != "" {
		conf = append(conf, "use_localtime=YES")
		env = append(env, "TZ="+o.TZ)
	} else {
		conf = append(conf, "use_localtime=NO")
	}
	var implicit *tls.Config
	if o.TLS {
		var cert, key string
		f.CAFile, cert, key = serverCert(tb, dir)
		conf = append(conf, "ssl_enable=YES", "rsa_cert_file="+cert, "rsa_private_key_file="+key,
			"force_local_logins_ssl=YES", "force_local_data_ssl=YES", "allow_anon_ssl=NO",
			// Go's TLS client resumes no session on the data connection.
			"require_ssl_reuse=NO", "ssl_ciphers=HIGH")
		if o.Implicit {
			conf = append(conf, "implicit_ssl=YES")
			implicit = tlsTo(tb, f.CAFile, f.Host)
		}
	}
	confFile := writeLines(tb, dir, "vsftpd.conf", conf...)
	f.Proc = Start(tb, "vsftpd", Command{Path: bin, Args: []string{confFile}, Env: env, Ready: ftpReady(f.Addr(), implicit)})
	return f
}

// StartProftpd starts proftpd from the .deb scripts/servers.sh unpacked
// into the cache. It lists with MLSD (exact times, dotfiles, "." and
// "..") and offers MDTM and REST.
func StartProftpd(tb testing.TB, o FTPOptions) *FTP {
	tb.Helper()
	bin := Binary(tb, "proftpd", "proftpd/usr/sbin/proftpd")
	modules := filepath.Join(filepath.Dir(filepath.Dir(bin)), "lib", "proftpd")
	f := newFTP(tb, "proftpd", o)
	dir := tb.TempDir()
	pasv := FreePortRange(tb, 20)
	g, err := user.LookupGroupId(strconv.Itoa(f.User.GID))
	if err != nil {
		tb.Fatal(err)
	}
	conf := []string{
		"ServerType standalone", "DefaultServer on", "ServerName connectd-test",
		"Port " + strconv.Itoa(f.Port), "DefaultAddress " + f.Host, "SocketBindTight on",
		"PassivePorts " + strconv.Itoa(pasv) + " " + strconv.Itoa(pasv+19),
		"User " + f.User.Name, "Group " + g.Name, "Umask 022", "AllowOverwrite on",
		"RequireValidShell off", "UseReverseDNS off", "UseIPv6 off", "WtmpLog off", "UseFtpUsers off",
		"DefaultRoot " + f.Root, "AuthOrder mod_auth_unix.c", "MaxInstances 100",
		"ModulePath " + modules, "ModuleControlsACLs insmod,rmmod allow user root",
		"PidFile " + filepath.Join(dir, "proftpd.pid"), "ScoreboardFile " + filepath.Join(dir, "scoreboard"),
		"DelayTable " + filepath.Join(dir, "delay"), "SystemLog " + filepath.Join(dir, "system.log"),
		"TransferLog " + filepath.Join(dir, "xfer.log"), "TimesGMT on",
		"<IfModule mod_ctrls.c>", "ControlsEngine off", "</IfModule>",
	}
	if o.MaxPerIP > 0 {
		conf = append(conf, "MaxConnectionsPerHost "+strconv.Itoa(o.MaxPerIP))
	}
	if o.TLS {
		var cert, key string
		f.CAFile, cert, key = serverCert(tb, dir)
		conf = append(conf, "LoadModule mod_tls.c", "TLSEngine on", "TLSProtocol TLSv1.2 TLSv1.3",
			"TLSRSACertificateFile "+cert, "TLSRSACertificateKeyFile "+key, "TLSRequired on",
			"TLSVerifyClient off", "TLSLog "+filepath.Join(dir, "tls.log"),
			// Go's TLS client resumes no session on the data connection.
			"TLSOptions NoSessionReuseRequired")
	}
	confFile := writeLines(tb, dir, "proftpd.conf", conf...)
	f.Proc = Start(tb, "proftpd", Command{Path: bin, Args: []string{"--nodaemon", "-c", confFile}, Ready: ftpReady(f.Addr(), nil)})
	return f
}

func newFTP(tb testing.TB, kind string, o FTPOptions) *FTP {
	tb.Helper()
	return &FTP{Kind: kind, Host: "127.0.0.1", Port: FreePort(tb), User: TestUser(tb), Root: ServerRoot(tb, kind)}
}

// ServerRootBase is where ServerRoot makes its directories. Every folder
// down to it must belong to root, be writable by no one else (as sshd's
// ChrootDirectory demands, so not the world-writable temp folder) and be
// open to the test user (vsftpd enters its root as that user).
var ServerRootBase = "/var/lib/connectd-testserver"

// ServerRoot makes an empty directory a server chroots its user into,
// under ServerRootBase. It is removed when the test ends.
func ServerRoot(tb testing.TB, kind string) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatalf("testserver: %s runs as the test user and needs root to switch to it", kind)
	}
	base := ServerRootBase
	if err := os.MkdirAll(base, 0o755); err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, kind+"-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// WriteFile writes data to the remote path rel under root, making its
// folders, and gives them and the file to u.
func (u User) WriteFile(tb testing.TB, root, rel string, data []byte) {
	tb.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	u.MkdirAll(tb, root, filepath.ToSlash(filepath.Dir(filepath.FromSlash(rel))))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	u.Chown(tb, p)
}

// MkdirAll makes the remote folder rel under root, giving the folders it
// makes (only those) to u.
func (u User) MkdirAll(tb testing.TB, root, rel string) {
	tb.Helper()
	p := root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		if part == "" || part == "." {
			continue
		}
		p = filepath.Join(p, part)
		err := os.Mkdir(p, 0o755)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, u.UID, u.GID); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// WriteFile writes the remote file rel ("/in/a.csv").
func (f *FTP) WriteFile(tb testing.TB, rel string, data []byte) {
	tb.Helper()
	f.User.WriteFile(tb, f.Root, rel, data)
}

// MkdirAll makes the remote folder rel.
func (f *FTP) MkdirAll(tb testing.TB, rel string) {
	tb.Helper()
	f.User.MkdirAll(tb, f.Root, rel)
}

// ftpReady passes once the server sends its 220 greeting.
// With implicit set, it speaks TLS from the first byte (implicit FTPS).
func ftpReady(addr string, implicit *tls.Config) func() error {
	return func() error {
		var c net.Conn
		var err error
		if implicit != nil {
			c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, implicit)
		} else {
			c, err = net.DialTimeout("tcp", addr, time.Second)
		}
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 4)
		if _, err := c.Read(b); err != nil {
			return err
		}
		if string(b[:3]) != "220" {
			return fmt.Errorf("greeting %q", b)
		}
		return nil
	}
}

// tlsTo is a client config that trusts the PEM certificate in certFile
// for host.
func tlsTo(tb testing.TB, certFile, host string) *tls.Config {
	tb.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("no certificate in %s", certFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: host}
}

func writeLines(tb testing.TB, dir, name string, lines ...string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// serverCert makes a CA for the test and a certificate it signs for
// 127.0.0.1 and localhost, and returns the files of the CA's certificate
// and of the server's certificate and key.
func serverCert(tb testing.TB, dir string) (caFile, certFile, keyFile string) {
	tb.Helper()
	ca, err := pki.NewCA("connectd test CA")
	if err != nil {
		tb.Fatal(err)
	}
	pair, err := ca.Server("127.0.0.1", "localhost")
	if err != nil {
		tb.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.crt")
	if err := ca.WriteCert(caFile); err != nil {
		tb.Fatal(err)
	}
	if certFile, keyFile, _, err = pair.WriteFiles(dir, "server"); err != nil {
		tb.Fatal(err)
	}
	return caFile, certFile, keyFile
}
