package ftp

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/internal/testserver"
)

// TestValidate logs in to every server with good and bad settings:
// Validate names the key that is wrong.
func TestValidate(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		s.mkdir(t, "/in")
		otherCA := filepath.Join(t.TempDir(), "ca.pem")
		emptyHosts := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(emptyHosts, nil, 0o644)
		closed := strconv.Itoa(testserver.FreePort(t))
		cases := []struct {
			name string
			kv   []string
			want []string // keys named
			only string   // server kinds the case applies to (all when empty)
		}{
			{name: "good"},
			{name: "wrong password", kv: []string{PasswordKey, "nope"}, want: []string{PasswordKey}, only: "vsftpd proftpd proftpd-ftps sshd-password"},
			{name: "nothing listens", kv: []string{PortKey, closed}, want: []string{HostKey}},
			{name: "no such input", kv: []string{InputPathKey, "/in,/missing"}, want: []string{InputPathKey}},
			{name: "finished path not allowed", kv: []string{CleanupKey, CleanupMove, FinishedPathKey, "/cannot"}, want: []string{FinishedPathKey}},
			{name: "unknown host key", kv: []string{KnownHostsPathKey, emptyHosts}, want: []string{KnownHostsPathKey}, only: "sshd-password sshd-key"},
			{name: "wrong CA", kv: []string{TLSCAFileKey, otherCA}, want: []string{TLSCAFileKey}, only: "proftpd-ftps"},
			{name: "move without finished path", kv: []string{CleanupKey, CleanupMove}, want: []string{FinishedPathKey}},
		}
		for _, tc := range cases {
			if tc.only != "" && !slices.Contains(strings.Fields(tc.only), s.kind) {
				continue
			}
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				if tc.name == "wrong CA" {
					writeOtherCA(t, otherCA)
				}
				errs := (&connector{}).Validate(context.Background(), s.config(tc.kv...))
				var got []string
				for k := range errs {
					got = append(got, k)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Fatalf("keys named (-want +got):\n%s\nerrors: %v", d, errs)
				}
			})
		}
	})
}

// writeOtherCA writes a certificate no test server uses.
func writeOtherCA(t *testing.T, path string) {
	t.Helper()
	f := testserver.StartVsftpd(t, testserver.FTPOptions{TLS: true})
	b, err := os.ReadFile(f.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
