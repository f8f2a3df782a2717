package integration

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/pki"
	"github.com/connectd/connectd/internal/proctest"
)

// restSecurity is a secured REST API's setup for a test: a CA made for
// the test, the workers' https keys, users (alice: admin, grafana:
// read-only) and a token (ci: admin).
type restSecurity struct {
	ca     *pki.CA
	caPath string
	props  map[string]string
	admin  string // Authorization of an admin
	reader string // Authorization of the read-only user
}

const (
	adminUser, adminPass   = "alice", "wonderland"
	readerUser, readerPass = "grafana", "dashboards"
	adminToken             = "ci-token-0123456789"
)

func newRESTSecurity(t *testing.T) *restSecurity {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	_, _, keystore, err := server.WriteFiles(dir, "worker")
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "ca.crt")
	if err := ca.WriteCert(caPath); err != nil {
		t.Fatal(err)
	}
	alice, err := api.HashPassword(adminUser, adminPass, api.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	grafana, err := api.HashPassword(readerUser, readerPass, api.RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	users, tokens := filepath.Join(dir, "users"), filepath.Join(dir, "tokens")
	writeTestFile(t, users, alice+"\n"+grafana+"\n")
	writeTestFile(t, tokens, api.HashToken("ci", adminToken, api.RoleAdmin)+"\n")
	return &restSecurity{
		ca: ca, caPath: caPath,
		props: map[string]string{
			"listeners.https.ssl.keystore.type":       "PEM",
			"listeners.https.ssl.keystore.location":   keystore,
			"listeners.https.ssl.truststore.type":     "PEM",
			"listeners.https.ssl.truststore.location": caPath,
			runtime.KeyRESTUsersFile:                  users,
			runtime.KeyRESTTokensFile:                 tokens,
		},
		admin:  api.BasicAuth(adminUser, adminPass),
		reader: api.BasicAuth(readerUser, readerPass),
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// httpClient trusts the test CA.
func (r *restSecurity) httpClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.ca.Pool(), MinVersion: tls.VersionTLS12}}}
}

// startSecuredBrokerProc starts `connectd broker` taking protocol
// (SSL, SASL_PLAINTEXT, SASL_SSL), with user connect / secret under
// SCRAM-SHA-512, and returns it with the Kafka client keys it wrote.
func startSecuredBrokerProc(t *testing.T, protocol string) (*brokerProc, map[string]string) {
	t.Helper()
	port, dir := freePort(t), t.TempDir()
	p := proctest.Start(t, "broker", []string{"Kafka bootstrap", "Kafka client config"}, connectdBin, "broker",
		"--port", strconv.Itoa(port), "--data-dir", dir,
		"--security-protocol", protocol, "--sasl-mechanism", "SCRAM-SHA-512", "--user", "connect:secret")
	props, err := runtime.ReadProperties(p.Ready["Kafka client config"])
	if err != nil {
		t.Fatal(err)
	}
	return &brokerProc{Proc: p, port: port, dataDir: dir}, props
}

// newSecuredCluster starts a cluster of workers on b whose worker
// properties add extra, with the REST API secured as rest says (nil:
// plain http).
func newSecuredCluster(t *testing.T, b *brokerProc, workers int, extra map[string]string, rest *restSecurity) *cluster {
	t.Helper()
	c := &cluster{t: t, broker: b, props: clusterProps(b.bootstrap()), rest: rest}
	for k, v := range extra {
		c.props[k] = v
	}
	for range workers {
		c.addWorker(freePort(t))
	}
	c.waitStable()
	return c
}

// ctlRun runs `connectd ctl` in the test's process with args and returns
// its exit code and output.
func ctlRun(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	getenv := func(k string) string { return env[k] }
	code := ctlMain(args, &out, &errOut, getenv)
	return code, out.String(), errOut.String()
}
