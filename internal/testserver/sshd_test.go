package testserver

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestSSHD checks that sshd logs the test user in with its password and
// with its key, checks out against the known_hosts file, and serves a
// file a test wrote over SFTP.
func TestSSHD(t *testing.T) {
	srv := StartSSHD(t)
	srv.WriteFile(t, "/in/a.txt", []byte("hello\n"))
	hostKeys, err := knownhosts.New(srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(srv.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]ssh.AuthMethod{"password": ssh.Password(srv.User.Password), "key": ssh.PublicKeys(signer)} {
		t.Run(name, func(t *testing.T) {
			conn, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{User: srv.User.Name, Auth: []ssh.AuthMethod{auth}, HostKeyCallback: hostKeys, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c, err := sftp.NewClient(conn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f, err := c.Open("/in/a.txt")
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil || string(b) != "hello\n" {
				t.Fatalf("read %q, %v", b, err)
			}
		})
	}
}
