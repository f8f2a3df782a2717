package testserver

import (
	"io"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

// TestFTPServers checks that each daemon logs the test user in, lists and
// serves a file a test wrote, with and without explicit FTPS (and vsftpd
// with implicit FTPS).
func TestFTPServers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		start    func(testing.TB, FTPOptions) *FTP
		tls      bool
		implicit bool
	}{
		{"vsftpd", StartVsftpd, false, false},
		{"vsftpd-tls", StartVsftpd, true, false},
		{"vsftpd-implicit-tls", StartVsftpd, true, true},
		{"proftpd", StartProftpd, false, false},
		{"proftpd-tls", StartProftpd, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.start(t, FTPOptions{TLS: tc.tls, Implicit: tc.implicit})
			srv.WriteFile(t, "/in/a.txt", []byte("hello\n"))
			opts := []ftp.DialOption{ftp.DialWithTimeout(5 * time.Second)}
			if tc.tls {
				conf := tlsTo(t, srv.CAFile, "127.0.0.1")
				if tc.implicit {
					opts = append(opts, ftp.DialWithTLS(conf))
				} else {
					opts = append(opts, ftp.DialWithExplicitTLS(conf))
				}
			}
			c, err := ftp.Dial(srv.Addr(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Quit()
			if err := c.Login(srv.User.Name, srv.User.Password); err != nil {
				t.Fatal(err)
			}
			es, err := c.List("/in")
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range es {
				found = found || (e.Name == "a.txt" && e.Size == 6)
			}
			if !found {
				t.Fatalf("listing of /in has no a.txt of 6 bytes: %+v", es)
			}
			r, err := c.Retr("/in/a.txt")
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil || string(b) != "hello\n" {
				t.Fatalf("RETR = %q, %v", b, err)
			}
			if err := c.Rename("/in/a.txt", "/in/b.txt"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
