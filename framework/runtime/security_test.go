package runtime

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pki"
	"github.com/connectd/connectd/offsets"
)

func TestParseJAASConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in   string
		user, pass string
		err        string
	}{
		{name: "scram", in: `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";`, user: "alice", pass: "s3cret"},
		{name: "plain", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="pw";`, user: "bob", pass: "pw"},
		{name: "single quotes and spaces", in: "  org.apache.kafka.common.security.plain.PlainLoginModule   required\n username = 'bob'  password='a b'  ; ", user: "bob", pass: "a b"},
		{name: "escaped quote", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="a\"b\\c";`, user: "u", pass: `a"b\c`},
		{name: "bare words", in: `org.apache.kafka.common.security.plain.PlainLoginModule optional username=u password=p;`, user: "u", pass: "p"},
		{name: "extra options", in: `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p" tokenauth="false";`, user: "u", pass: "p"},
		{name: "no semicolon", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p"`, err: "does not end with ';'"},
		{name: "unknown module", in: `com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;`, err: `login module "com.sun.security.auth.module.Krb5LoginModule" is not supported`},
		{name: "bad flag", in: `org.apache.kafka.common.security.plain.PlainLoginModule maybe username="u" password="p";`, err: `control flag "maybe"`},
		{name: "no user", in: `org.apache.kafka.common.security.plain.PlainLoginModule required password="p";`, err: "no username option"},
		{name: "no password", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="u";`, err: "no password option"},
		{name: "unclosed quote", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="secret;`, err: "not closed"},
		{name: "two modules", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p"; org.apache.kafka.common.security.plain.PlainLoginModule required username="v" password="q";`, err: "more than one login module"},
		{name: "option without value", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username password="p";`, err: `option "username"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			user, pass, err := ParseJAASConfig(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]string{tt.user, tt.pass}, [2]string{user, pass}); diff != "" {
				t.Errorf("user, password (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSecurityLayering: a task's producer takes the worker's unprefixed
// keys, then producer.*, then the connector's producer.override.*; the
// worker's own clients take only the unprefixed ones.
func TestSecurityLayering(t *testing.T) {
	t.Parallel()
	cfg, err := ParseWorkerConfig(map[string]string{
		"security.protocol":          "SASL_PLAINTEXT",
		"sasl.mechanism":             "SCRAM-SHA-256",
		"sasl.jaas.config":           jaas("worker", "w"),
		"producer.sasl.jaas.config":  jaas("producer", "p"),
		"consumer.sasl.mechanism":    "SCRAM-SHA-512",
		"admin.ssl.truststore.type":  "PEM",
		"listeners.https.ssl.key":    "not a client key",
		"producer.compression.type":  "gzip",
		"unrelated.ssl.thing.ignore": "x",
	}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	connector := map[string]string{"producer.override.sasl.mechanism": "PLAIN", "consumer.override.sasl.jaas.config": jaas("sink", "s")}
	values := func(kind string) map[string]string {
		out := map[string]string{}
		for k, v := range cfg.securitySettings(kind, connector).All() {
			out[k] = v.Key
		}
		return out
	}
	want := map[string]map[string]string{
		clientWorker:   {"security.protocol": "security.protocol", "sasl.mechanism": "sasl.mechanism", "sasl.jaas.config": "sasl.jaas.config"},
		clientProducer: {"security.protocol": "security.protocol", "sasl.mechanism": "producer.override.sasl.mechanism", "sasl.jaas.config": "producer.sasl.jaas.config"},
		clientConsumer: {"security.protocol": "security.protocol", "sasl.mechanism": "consumer.sasl.mechanism", "sasl.jaas.config": "consumer.override.sasl.jaas.config"},
		clientAdmin:    {"security.protocol": "security.protocol", "sasl.mechanism": "sasl.mechanism", "sasl.jaas.config": "sasl.jaas.config", "ssl.truststore.type": "admin.ssl.truststore.type"},
	}
	for kind, w := range want {
		if diff := cmp.Diff(w, values(kind)); diff != "" {
			t.Errorf("%q client: which key each setting comes from (-want +got):\n%s", kind, diff)
		}
	}
	if len(cfg.Security) == 0 {
		t.Errorf("worker clients: no security options, want SASL")
	}
}

// TestSecurityKeyErrors: a worker with a security key it cannot use stops
// at startup with an error naming the key as written.
func TestSecurityKeyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	jks := filepath.Join(dir, "truststore.jks")
	if err := os.WriteFile(jks, []byte("\xfe\xed\xfe\xed\x00\x00\x00\x02"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		props map[string]string
		err   string
	}{
		{"unknown protocol", map[string]string{"security.protocol": "SASL_TLS"}, `security.protocol: "SASL_TLS" is not one of`},
		{"GSSAPI default", map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.jaas.config": jaas("u", "p")}, "sasl.mechanism: GSSAPI (Kafka's default) is not supported"},
		{"OAUTHBEARER", map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": jaas("u", "p")}, `sasl.mechanism: "OAUTHBEARER" is not supported`},
		{"no jaas", map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}, "sasl.jaas.config: required with security.protocol=SASL_SSL"},
		{"bad jaas under producer", map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": jaas("u", "p"), "producer.sasl.jaas.config": "nonsense"}, "producer.sasl.jaas.config: "},
		{"JKS truststore", map[string]string{"security.protocol": "SSL", "ssl.truststore.location": jks}, "ssl.truststore.type: JKS (Kafka's default) stores are not supported"},
		{"PKCS12 keystore", map[string]string{"security.protocol": "SSL", "producer.ssl.keystore.type": "PKCS12", "producer.ssl.keystore.location": jks}, "producer.ssl.keystore.type: PKCS12 stores are not supported"},
		{"missing truststore file", map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM", "consumer.ssl.truststore.location": filepath.Join(dir, "missing.pem")}, "consumer.ssl.truststore.location: open "},
		{"truststore without certificates", map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": notPEM}, "ssl.truststore.location: no PEM certificate found"},
		{"keystore key without chain", map[string]string{"security.protocol": "SSL", "ssl.keystore.type": "PEM", "admin.ssl.keystore.key": "-----BEGIN PRIVATE KEY-----"}, "admin.ssl.keystore.key: admin.ssl.keystore.certificate.chain is needed with it"},
		{"endpoint identification", map[string]string{"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "ldap"}, `ssl.endpoint.identification.algorithm: "ldap" is not supported`},
		{"override policy", map[string]string{KeyOverridePolicy: "Some"}, "connector.client.config.override.policy=\"Some\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseWorkerConfig(tt.props, quietLogger())
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
			for k, v := range tt.props {
				if strings.HasSuffix(k, "sasl.jaas.config") && strings.Contains(err.Error(), v) {
					t.Errorf("error %q shows %s", err, k)
				}
			}
		})
	}
}

func jaas(user, pass string) string {
	return fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, user, pass)
}

// securedBroker is a kfake cluster that takes TLS and/or SASL, and the
// worker keys a client needs to reach it.
type securedBroker struct {
	cluster *kfake.Cluster
	props   map[string]string // security keys for the worker's clients
	ca      *pki.CA
	dir     string
}

// startSecuredBroker starts a cluster speaking protocol (SSL, SASL_PLAINTEXT
// or SASL_SSL). With TLS the broker requires a client certificate signed
// by its CA; with SASL it knows user connect with password secret, under
// mechanism.
func startSecuredBroker(t *testing.T, protocol, mechanism string) *securedBroker {
	t.Helper()
	b := &securedBroker{dir: t.TempDir(), props: map[string]string{"security.protocol": protocol}}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3)}
	if strings.Contains(protocol, "SSL") {
		ca, err := pki.NewCA("test CA")
		if err != nil {
			t.Fatal(err)
		}
		b.ca = ca
		server, err := ca.Server("127.0.0.1", "localhost")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := server.TLS()
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), MinVersion: tls.VersionTLS12}))
		caPath := filepath.Join(b.dir, "ca.crt")
		if err := ca.WriteCert(caPath); err != nil {
			t.Fatal(err)
		}
		client, err := ca.Client("worker")
		if err != nil {
			t.Fatal(err)
		}
		_, _, keystore, err := client.WriteFiles(b.dir, "worker")
		if err != nil {
			t.Fatal(err)
		}
		b.props["ssl.truststore.type"] = "PEM"
		b.props["ssl.truststore.location"] = caPath
		b.props["ssl.keystore.type"] = "PEM"
		b.props["ssl.keystore.location"] = keystore
	}
	if strings.HasPrefix(protocol, "SASL") {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(mechanism, "connect", "secret"))
		b.props["sasl.mechanism"] = mechanism
		b.props["sasl.jaas.config"] = jaas("connect", "secret")
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b.cluster = c
	return b
}

// client returns a Kafka client of the test with the broker's security.
func (b *securedBroker) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	s, err := ParseWorkerConfig(b.props, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(b.cluster.ListenAddrs()...)}, s.Security...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// newSecuredEnv is newEnv on b, with the worker keys props on top of b's.
func newSecuredEnv(t *testing.T, b *securedBroker, props map[string]string) *env {
	t.Helper()
	raw := map[string]string{
		KeyBootstrapServers:    strings.Join(b.cluster.ListenAddrs(), ","),
		KeyOffsetFlushInterval: "100",
		KeyPluginIsolation:     "none",
		KeyValueConverter:      "org.apache.kafka.connect.storage.StringConverter",
	}
	for k, v := range b.props {
		raw[k] = v
	}
	for k, v := range props {
		raw[k] = v
	}
	cfg, err := ParseWorkerConfig(raw, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(context.Background(), testPlugins, false, nil, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cluster: b.cluster, cfg: cfg, reg: reg, store: offsets.NewMemory(), configs: &MemoryConfigStore{}}
	e.start()
	t.Cleanup(func() { e.h.Close() })
	return e
}

// TestTasksOverTLSAndSASL: source and sink tasks, their dead letter
// queue's topic and the offsets admin client reach brokers that take only
// TLS with client certificates, SASL/SCRAM, or both, with Kafka's client
// keys; every record arrives once.
func TestTasksOverTLSAndSASL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ protocol, mechanism string }{
		{"SSL", ""},
		{"SASL_PLAINTEXT", "SCRAM-SHA-512"},
		{"SASL_PLAINTEXT", "SCRAM-SHA-256"},
		{"SASL_SSL", "PLAIN"},
	} {
		t.Run(tt.protocol+" "+tt.mechanism, func(t *testing.T) {
			t.Parallel()
			b := startSecuredBroker(t, tt.protocol, tt.mechanism)
			e := newSecuredEnv(t, b, nil)
			out := filepath.Join(t.TempDir(), "out.txt")
			e.put("src", map[string]string{"connector.class": "counter", "topic": "lines", "count": "200", "tasks.max": "2"})
			e.put("snk", map[string]string{"connector.class": "collect", "topics": "lines", "file": out,
				"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq", "errors.deadletterqueue.topic.replication.factor": "1"})
			waitFor(t, "400 records in the sink's file", func() (bool, string) {
				b, _ := os.ReadFile(out)
				n := strings.Count(string(b), "\n")
				return n >= 400, fmt.Sprint(n)
			})
			got, _ := os.ReadFile(out)
			if diff := diffCounts(wantValues(2, 200), counts(strings.Split(strings.TrimSpace(string(got)), "\n"))); diff != "" {
				t.Errorf("sink's file: %s", diff)
			}
			// The file holds what a flush wrote; the commit follows it.
			waitFor(t, "sink offsets through the admin client", func() (bool, string) {
				offs, err := e.h.ConnectorOffsets(context.Background(), "snk")
				return err == nil && len(offs.Offsets) > 0, fmt.Sprintf("%+v, %v", offs, err)
			})
			// The dead letter queue's topic was created by the task's admin client.
			md, err := kadm.NewClient(b.client(t)).ListTopics(context.Background(), "dlq")
			if err != nil || !md.Has("dlq") {
				t.Errorf("dead letter queue topic: %v, %v", md, err)
			}
		})
	}
}

// TestWrongPasswordFailsTask: a task whose producer cannot authenticate
// fails, and its trace says why; the worker stays up.
func TestWrongPasswordFailsTask(t *testing.T) {
	t.Parallel()
	b := startSecuredBroker(t, "SASL_PLAINTEXT", "SCRAM-SHA-512")
	e := newSecuredEnv(t, b, nil)
	e.put("src", map[string]string{"connector.class": "counter", "topic": "lines", "count": "10",
		"producer.override.sasl.jaas.config": jaas("connect", "wrong")})
	st := e.waitTaskState("src", 0, herder.Failed, "SASL authentication")
	for _, want := range []string{`user "connect" with SCRAM-SHA-512 was refused`, "check producer.override.sasl.jaas.config"} {
		if !strings.Contains(st.Trace, want) {
			t.Errorf("trace %q does not say %q", st.Trace, want)
		}
	}
	if strings.Contains(st.Trace, "wrong") {
		t.Errorf("trace %q shows the password", st.Trace)
	}
}

// TestClientOverridePolicy: validation reports overrides the worker's
// connector.client.config.override.policy forbids, and security overrides
// that do not make a client, on their keys.
func TestClientOverridePolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy string
		config map[string]string
		key    string // "" means valid
		msg    string
	}{
		{"All", map[string]string{"producer.override.sasl.jaas.config": jaas("a", "b"), "consumer.override.ssl.truststore.type": "PEM"}, "", ""},
		{"None", map[string]string{"producer.override.linger.ms": "5"}, "producer.override.linger.ms", "The 'None' policy does not allow 'linger.ms' to be overridden"},
		{"Principal", map[string]string{"admin.override.sasl.jaas.config": jaas("a", "b")}, "", ""},
		{"org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy", map[string]string{"consumer.override.max.poll.records": "5"}, "consumer.override.max.poll.records", "The 'Principal' policy does not allow"},
		{"All", map[string]string{"producer.override.security.protocol": "SASL_SSL", "producer.override.sasl.mechanism": "PLAIN"}, "producer.override.sasl.jaas.config", "required with security.protocol=SASL_SSL"},
		{"All", map[string]string{"consumer.override.ssl.truststore.type": "JKS", "consumer.override.ssl.truststore.location": "/x.jks", "consumer.override.security.protocol": "SSL"}, "consumer.override.ssl.truststore.type", "JKS stores are not supported"},
		{"All", map[string]string{"admin.override.security.protocol": "SSL", "admin.override.ssl.endpoint.identification.algorithm": "none"}, "admin.override.ssl.endpoint.identification.algorithm", `"none" is not supported`},
	} {
		t.Run(tt.policy+" "+tt.key, func(t *testing.T) {
			t.Parallel()
			e := newEnvNoStart(t, false)
			e.cfg.OverridePolicy, _ = parseOverridePolicy(tt.policy)
			e.start()
			t.Cleanup(func() { e.h.Close() })
			cfg := map[string]string{"name": "src", "connector.class": "counter", "topic": "t"}
			for k, v := range tt.config {
				cfg[k] = v
			}
			infos, err := e.h.Validate(context.Background(), "counter", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tt.key == "" {
				if infos.ErrorCount != 0 {
					t.Errorf("errors %+v, want none", infos)
				}
				return
			}
			if !hasError(infos, tt.key, tt.msg) {
				t.Errorf("no error %q on %s in %+v", tt.msg, tt.key, infos)
			}
		})
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
