package testserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is a running OpenSSH sshd serving only SFTP (internal-sftp) to the
// test user, chrooted into Root: the remote path "/in/a.csv" is the local
// file Root/in/a.csv. The user logs in with its password or with the key
// in KeyFile.
type SSHD struct {
	*Proc
	Host string
	Port int
	User User
	Root string
	// KnownHosts is a known_hosts file naming the server's host key.
	KnownHosts string
	// KeyFile is an unencrypted OpenSSH private key the server accepts
	// for User.
	KeyFile string
}

// StartSSHD starts /usr/sbin/sshd (Debian's openssh-server) on its own
// port with a host key and a client key generated for the test.
func StartSSHD(tb testing.TB) *SSHD {
	tb.Helper()
	bin := Binary(tb, "sshd", "/usr/sbin/sshd")
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // its privilege separation folder
		tb.Fatal(err)
	}
	s := &SSHD{Host: "127.0.0.1", Port: FreePort(tb), User: TestUser(tb), Root: ServerRoot(tb, "sshd")}
	dir := tb.TempDir()

	hostKey := filepath.Join(dir, "host_ed25519")
	hostPub := writeKey(tb, hostKey)
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))}, hostPub)
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	s.KeyFile = filepath.Join(dir, "client_ed25519")
	clientPub := writeKey(tb, s.KeyFile)
	// sshd reads authorized keys as the user: the file lives in a folder
	// of the server's root the user can reach, outside its chroot's view
	// (sshd reads it before it enters the chroot).
	keysDir := filepath.Join(s.Root, ".keys")
	if err := os.Mkdir(keysDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	authorized := filepath.Join(keysDir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(clientPub), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(keysDir, 0o711); err != nil {
		tb.Fatal(err)
	}

	conf := writeLines(tb, dir, "sshd_config",
		"Port "+strconv.Itoa(s.Port), "ListenAddress "+s.Host, "HostKey "+hostKey,
		"PidFile "+filepath.Join(dir, "sshd.pid"), "UsePAM no", "PasswordAuthentication yes",
		"KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "AuthorizedKeysFile "+authorized,
		"StrictModes no", "PermitRootLogin no", "AllowUsers "+s.User.Name, "ChrootDirectory "+s.Root,
		"ForceCommand internal-sftp", "Subsystem sftp internal-sftp", "AllowTcpForwarding no",
		"X11Forwarding no", "LogLevel VERBOSE", "MaxStartups 100", "MaxSessions 100")
	s.Proc = Start(tb, "sshd", Command{Path: bin, Args: []string{"-D", "-e", "-f", conf},
		Ready: DialReady(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))})
	return s
}

// Addr is host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Path returns the local path of the remote path rel.
func (s *SSHD) Path(rel string) string { return filepath.Join(s.Root, filepath.FromSlash(rel)) }

// WriteFile writes the remote file rel ("/in/a.csv").
func (s *SSHD) WriteFile(tb testing.TB, rel string, data []byte) {
	tb.Helper()
	s.User.WriteFile(tb, s.Root, rel, data)
}

// MkdirAll makes the remote folder rel.
func (s *SSHD) MkdirAll(tb testing.TB, rel string) {
	tb.Helper()
	s.User.MkdirAll(tb, s.Root, rel)
}

// writeKey writes a new ed25519 private key in OpenSSH's format to path
// and returns its public key.
func writeKey(tb testing.TB, path string) ssh.PublicKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		tb.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return sp
}
