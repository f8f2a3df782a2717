package elasticsink

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/testserver"
)

// TestValidate: Validate reaches every node and names the key at fault:
// the URL for an unreachable node or an unsupported version, the
// credentials for a refused login, the TLS keys for an untrusted server.
func TestValidate(t *testing.T) {
	t.Parallel()
	closed := testserver.StartESFake(t)
	closed.Close()
	for name, tc := range map[string]struct {
		setup func(t *testing.T) map[string]string
		want  map[string]string // key → part of its message
	}{
		"reachable": {setup: func(t *testing.T) map[string]string {
			return baseConfig(testserver.StartESFake(t).URL)
		}},
		"unreachable": {
			setup: func(t *testing.T) map[string]string { return baseConfig(closed.URL) },
			want:  map[string]string{ConnectionURLKey: "Could not connect to Elasticsearch at " + closed.URL},
		},
		"one node of two unreachable": {
			setup: func(t *testing.T) map[string]string {
				return baseConfig(testserver.StartESFake(t).URL + "," + closed.URL)
			},
			want: map[string]string{ConnectionURLKey: closed.URL},
		},
		"wrong password": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFake(t)
				es.User, es.Password = "elastic", "right"
				return baseConfig(es.URL, ConnectionUsernameKey, "elastic", ConnectionPasswordKey, "wrong")
			},
			want: map[string]string{ConnectionUsernameKey: "Could not authenticate the user", ConnectionPasswordKey: "Could not authenticate the user"},
		},
		"no credentials": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFake(t)
				es.User, es.Password = "elastic", "right"
				return baseConfig(es.URL)
			},
			want: map[string]string{ConnectionUsernameKey: "requires authentication"},
		},
		"elasticsearch 6": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFake(t)
				es.SetVersion("6.8.23", "")
				return baseConfig(es.URL)
			},
			want: map[string]string{ConnectionURLKey: "version must be at least 7.0.0"},
		},
		"data streams on 7.8": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFake(t)
				es.SetVersion("7.8.1", "")
				return baseConfig(es.URL, DataStreamTypeKey, "logs", DataStreamDatasetKey, "app")
			},
			want: map[string]string{ConnectionURLKey: "not compatible with data streams", DataStreamTypeKey: "7.9.0", DataStreamDatasetKey: "7.9.0"},
		},
		"opensearch": {setup: func(t *testing.T) map[string]string {
			es := testserver.StartESFake(t)
			es.SetVersion("2.11.0", "opensearch")
			return baseConfig(es.URL)
		}},
		"untrusted certificate": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFakeTLS(t)
				return baseConfig(es.URL, SecurityProtocolKey, "SSL")
			},
			want: map[string]string{ConnectionURLKey: "certificate", SecurityProtocolKey: "Check your SSL settings"},
		},
		"trusted certificate": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFakeTLS(t)
				return baseConfig(es.URL, SecurityProtocolKey, "SSL", SSLTruststoreCertsKey, string(es.CertPEM()), SSLEndpointIdentKey, "")
			},
		},
		"a rule across keys, before connecting": {
			setup: func(t *testing.T) map[string]string {
				return baseConfig(closed.URL, ConnectionUsernameKey, "u")
			},
			want: map[string]string{ConnectionUsernameKey: "Both", ConnectionPasswordKey: "Both"},
		},
		"a client certificate that is no key pair": {
			setup: func(t *testing.T) map[string]string {
				es := testserver.StartESFakeTLS(t)
				ks := filepath.Join(t.TempDir(), "client.pem")
				os.WriteFile(ks, es.CertPEM(), 0o600) // a certificate without its key
				return baseConfig(es.URL, SecurityProtocolKey, "SSL", SSLKeystoreLocKey, ks)
			},
			want: map[string]string{SSLKeystoreLocKey: "needs a PEM certificate chain and its private key"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := (&connector{}).Validate(context.Background(), tc.setup(t))
			keys := func(m map[string]string) []string {
				var out []string
				for k := range m {
					out = append(out, k)
				}
				sort.Strings(out)
				return out
			}
			gotKeys := make([]string, 0, len(got))
			for k := range got {
				gotKeys = append(gotKeys, k)
			}
			sort.Strings(gotKeys)
			if fmt.Sprint(gotKeys) != fmt.Sprint(keys(tc.want)) {
				t.Fatalf("keys at fault %v, want %v; messages %v", gotKeys, keys(tc.want), got)
			}
			for k, part := range tc.want {
				if msg := strings.Join(got[k], " | "); !strings.Contains(msg, part) {
					t.Errorf("%s: %q lacks %q", k, msg, part)
				}
			}
		})
	}
}
