package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/pki"
)

// TestParseREST: listeners, Kafka Connect's all-or-nothing
// listeners.https. prefix, admin.listeners and the advertised listener.
func TestParseREST(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, _ := ca.Server("127.0.0.1")
	_, _, keystore, err := server.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "ca.crt")
	if err := ca.WriteCert(caPath); err != nil {
		t.Fatal(err)
	}
	parse := func(props map[string]string) (*restSetup, error) {
		cfg, err := runtime.ParseWorkerConfig(props, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return parseREST(cfg)
	}
	type summary struct {
		Listeners, Admin []string
		Separate         bool
		Advertised       string
	}
	sum := func(rs *restSetup) summary {
		s := summary{Separate: rs.separate, Advertised: rs.advertised}
		for _, l := range rs.listeners {
			s.Listeners = append(s.Listeners, l.scheme+"://"+l.addr)
		}
		for _, l := range rs.admin {
			s.Admin = append(s.Admin, l.scheme+"://"+l.addr)
		}
		return s
	}
	tests := []struct {
		name  string
		props map[string]string
		want  summary
		err   string
	}{
		{name: "default", props: map[string]string{}, want: summary{Listeners: []string{"http://:8083"}, Advertised: "http"}},
		{name: "https from ssl.*", props: map[string]string{"listeners": "https://127.0.0.1:0", "ssl.keystore.type": "PEM", "ssl.keystore.location": keystore},
			want: summary{Listeners: []string{"https://127.0.0.1:0"}, Advertised: "https"}},
		{name: "http preferred", props: map[string]string{"listeners": "https://127.0.0.1:0,http://127.0.0.1:0", "listeners.https.ssl.keystore.location": keystore, "listeners.https.ssl.keystore.type": "PEM"},
			want: summary{Listeners: []string{"https://127.0.0.1:0", "http://127.0.0.1:0"}, Advertised: "http"}},
		{name: "advertised https", props: map[string]string{"listeners": "https://127.0.0.1:0,http://127.0.0.1:0", "rest.advertised.listener": "https", "ssl.keystore.location": keystore, "ssl.keystore.type": "PEM"},
			want: summary{Listeners: []string{"https://127.0.0.1:0", "http://127.0.0.1:0"}, Advertised: "https"}},
		{name: "admin elsewhere", props: map[string]string{"admin.listeners": "http://127.0.0.1:0"},
			want: summary{Listeners: []string{"http://:8083"}, Admin: []string{"http://127.0.0.1:0"}, Separate: true, Advertised: "http"}},
		{name: "admin off", props: map[string]string{"admin.listeners": ""},
			want: summary{Listeners: []string{"http://:8083"}, Separate: true, Advertised: "http"}},
		// One listeners.https. key means only those count: the unprefixed
		// keystore does not.
		{name: "all or nothing", props: map[string]string{"listeners": "https://127.0.0.1:0", "ssl.keystore.location": keystore, "ssl.keystore.type": "PEM", "listeners.https.ssl.client.auth": "none"},
			err: "listeners.https.ssl.keystore.location: required for a TLS listener"},
		{name: "bad scheme", props: map[string]string{"listeners": "ftp://127.0.0.1:0"}, err: "the scheme must be http or https"},
		{name: "no https listener to advertise", props: map[string]string{"rest.advertised.listener": "https"}, err: "no listener is https://"},
		{name: "client auth without truststore", props: map[string]string{"listeners": "https://127.0.0.1:0", "ssl.keystore.location": keystore, "ssl.keystore.type": "PEM", "ssl.client.auth": "required"},
			err: "ssl.client.auth: client certificates are checked against the truststore"},
		{name: "plain-text users file", props: map[string]string{"rest.auth.users.file": writeFile(t, dir, "users", "alice:secret\n")}, err: "the password is not a bcrypt hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := parse(tt.props)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, sum(rs)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := osWriteFile(p, data); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHTTPSClientAuth: an https listener with ssl.client.auth=required
// takes only clients with a certificate its truststore's CA signed, and
// the worker's own REST client (forwarding) presents its keystore.
func TestHTTPSClientAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, _ := pki.NewCA("test CA")
	server, _ := ca.Server("127.0.0.1")
	_, _, keystore, err := server.WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "ca.crt")
	if err := ca.WriteCert(caPath); err != nil {
		t.Fatal(err)
	}
	cfg, err := runtime.ParseWorkerConfig(map[string]string{
		"listeners":                         "https://127.0.0.1:0",
		"listeners.https.ssl.keystore.type": "PEM", "listeners.https.ssl.keystore.location": keystore,
		"listeners.https.ssl.truststore.type": "PEM", "listeners.https.ssl.truststore.location": caPath,
		"listeners.https.ssl.client.auth": "required",
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := parseREST(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := rs.open()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })}
	done := make(chan struct{})
	go func() { srv.Serve(bound[0].ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	url := bound[0].url()

	// The worker's own client: trusts the CA, presents the keystore.
	resp, err := rs.client.Get(url)
	if err != nil {
		t.Fatalf("the worker's REST client: %v", err)
	}
	resp.Body.Close()
	// A client trusting the CA without a certificate is refused.
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}}
	if resp, err := anon.Get(url); err == nil {
		resp.Body.Close()
		t.Error("a client without a certificate was let in")
	}
	// A client that does not trust the CA refuses the server.
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Error("the server's certificate was trusted without its CA")
	}
}

func osWriteFile(path, data string) error { return os.WriteFile(path, []byte(data), 0o600) }
