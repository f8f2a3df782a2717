package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/connectd/connectd/internal/sslconf"
)

// Kafka's client security keys. A worker reads them unprefixed for its own
// clients (group membership, the config, status and offsets topics), under
// producer., consumer. and admin. for the clients of tasks, and a
// connector's producer.override., consumer.override. and admin.override.
// keys on top of those.
const (
	KeySecurityProtocol = "security.protocol"
	KeySASLMechanism    = "sasl.mechanism"
	KeySASLJAASConfig   = "sasl.jaas.config"
	// KeyOverridePolicy says which client keys a connector may override
	// (Kafka Connect's connector.client.config.override.policy).
	KeyOverridePolicy = "connector.client.config.override.policy"
)

// securityKeyPrefixes are the key prefixes that make up a Kafka client's
// security settings.
var securityKeyPrefixes = []string{"security.", "sasl.", "ssl."}

// Kafka clients by what they do for a task, as Kafka Connect prefixes
// their keys.
const (
	clientWorker   = ""
	clientProducer = "producer"
	clientConsumer = "consumer"
	clientAdmin    = "admin"
)

// securitySettings merges the security keys of a client of kind: the
// worker's unprefixed keys, then the worker's kind. keys, then the
// connector's kind.override. keys (connector may be nil), each key over
// the one before it.
//
// Kafka Connect gives producers and consumers only their prefixed keys;
// connectd lets them inherit the unprefixed ones too, so that a worker
// file with the security keys once reaches every client (see ADR 10).
func (c *WorkerConfig) securitySettings(kind string, connector map[string]string) *sslconf.Settings {
	s := sslconf.New().Overlay(c.Raw, "", securityKeyPrefixes...)
	if kind == clientWorker {
		return s
	}
	s.Overlay(c.Raw, kind+".", securityKeyPrefixes...)
	if connector != nil {
		s.Overlay(connector, kind+".override.", securityKeyPrefixes...)
	}
	return s
}

// securityOpts returns the options of a client of kind (see
// securitySettings): TLS and SASL as security.protocol says. Files are
// read each time, so a client made after a certificate was replaced uses
// the new one.
func (c *WorkerConfig) securityOpts(kind string, connector map[string]string) ([]kgo.Opt, error) {
	sec, err := clientSecurityOf(c.securitySettings(kind, connector))
	if err != nil {
		return nil, err
	}
	return sec.opts, nil
}

// clientSecurity is a client's security: its options, and what a check of
// its connection needs to say why it failed.
type clientSecurity struct {
	opts      []kgo.Opt
	tls       bool
	user      string // SASL user, "" without SASL
	mechanism string
	jaasKey   string // sasl.jaas.config as written
	watch     *saslWatch
}

// SecurityOpts returns the Kafka client options that s's security keys
// ask for: TLS (security.protocol SSL or SASL_SSL) with the ssl.* keys,
// and SASL (SASL_PLAINTEXT or SASL_SSL) with sasl.mechanism and the user
// and password of sasl.jaas.config. Errors name the key as written.
func SecurityOpts(s *sslconf.Settings) ([]kgo.Opt, error) {
	sec, err := clientSecurityOf(s)
	if err != nil {
		return nil, err
	}
	return sec.opts, nil
}

// ClientSecurityOpts returns the options of a client configured with
// Kafka's unprefixed client keys in props (a client.properties file).
func ClientSecurityOpts(props map[string]string) ([]kgo.Opt, error) {
	return SecurityOpts(sslconf.New().Overlay(props, "", securityKeyPrefixes...))
}

func clientSecurityOf(s *sslconf.Settings) (*clientSecurity, error) {
	proto, _ := s.Get(KeySecurityProtocol)
	proto = strings.ToUpper(proto)
	var useTLS, useSASL bool
	switch proto {
	case "", "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return nil, keyError(s, KeySecurityProtocol, "%q is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", proto)
	}
	sec := &clientSecurity{tls: useTLS}
	if useTLS {
		cfg, err := sslconf.Client(s)
		if err != nil {
			return nil, err
		}
		sec.opts = append(sec.opts, kgo.DialTLSConfig(cfg))
	}
	if useSASL {
		m, user, err := saslMechanism(s, proto)
		if err != nil {
			return nil, err
		}
		sec.user, sec.mechanism, sec.jaasKey, sec.watch = user, m.Name(), s.Name(KeySASLJAASConfig), &saslWatch{}
		sec.opts = append(sec.opts, kgo.SASL(m), kgo.WithHooks(sec.watch))
	}
	return sec, nil
}

// saslWatch notices a broker closing a connection while it authenticates
// it, which some brokers do to refuse credentials instead of answering
// SASL_AUTHENTICATION_FAILED; the client sees only EOF and would retry.
type saslWatch struct{ refused atomic.Bool }

// saslAuthenticateKey is the SaslAuthenticate request's API key.
const saslAuthenticateKey = 36

func (w *saslWatch) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == saslAuthenticateKey && err != nil {
		w.refused.Store(true)
	}
}

// ErrKafkaAuthentication is wrapped by the errors of clients the brokers
// did not let in: a wrong SASL user or password, or a TLS handshake that
// failed.
var ErrKafkaAuthentication = errors.New("kafka authentication failed")

// checkTimeout bounds a client's connection check.
const checkTimeout = 15 * time.Second

// check connects cl to a broker, authenticating as its security says, and
// returns an error wrapping ErrKafkaAuthentication when the broker refused
// its credentials or the TLS handshake failed, saying which client (who)
// and what to check. Any other outcome (a broker not reachable yet) is not
// an error here: the client retries as usual.
func (sec *clientSecurity) check(ctx context.Context, cl *kgo.Client, who string) error {
	if sec == nil || (!sec.tls && sec.watch == nil) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	err := cl.Ping(ctx)
	if err == nil {
		return nil
	}
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case sec.watch != nil && (errors.Is(err, kerr.SaslAuthenticationFailed) || sec.watch.refused.Load()):
		return fmt.Errorf("%s: %w: SASL authentication as user %q with %s was refused by the brokers (check %s): %v", who, ErrKafkaAuthentication, sec.user, sec.mechanism, sec.jaasKey, err)
	case sec.tls && (errors.As(err, &certErr) || errors.As(err, &alert) || errors.As(err, &unknown) || errors.As(err, &hostname)):
		return fmt.Errorf("%s: %w: TLS handshake with the brokers failed (check the ssl.truststore.* and ssl.keystore.* keys): %v", who, ErrKafkaAuthentication, err)
	}
	return nil
}

func keyError(s *sslconf.Settings, key, format string, args ...any) error {
	return s.Errorf(key, format, args...)
}

// saslMechanism makes the SASL mechanism of sasl.mechanism with the
// credentials of sasl.jaas.config.
func saslMechanism(s *sslconf.Settings, proto string) (sasl.Mechanism, string, error) {
	mech, ok := s.Get(KeySASLMechanism)
	if !ok || mech == "" {
		mech = "GSSAPI" // Kafka's default
	}
	jaas, ok := s.Get(KeySASLJAASConfig)
	if !ok || jaas == "" {
		return nil, "", keyError(s, KeySASLJAASConfig, "required with %s=%s: a PlainLoginModule or ScramLoginModule with username and password", KeySecurityProtocol, proto)
	}
	user, pass, err := ParseJAASConfig(jaas)
	if err != nil {
		return nil, "", keyError(s, KeySASLJAASConfig, "%v", err)
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), user, nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), user, nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), user, nil
	case "GSSAPI":
		return nil, "", keyError(s, KeySASLMechanism, "GSSAPI (Kafka's default) is not supported: set PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	default:
		return nil, "", keyError(s, KeySASLMechanism, "%q is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mech)
	}
}

// JAAS login modules a client's credentials may be given with.
var loginModules = map[string]bool{
	"org.apache.kafka.common.security.plain.PlainLoginModule": true,
	"org.apache.kafka.common.security.scram.ScramLoginModule": true,
}

// ParseJAASConfig reads the username and password of a sasl.jaas.config
// value, Kafka's one-entry JAAS syntax:
//
//	org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";
//
// Values may be double- or single-quoted (with \ escaping the quote and
// itself) or bare words. Errors never contain the password.
func ParseJAASConfig(v string) (user, pass string, err error) {
	toks, err := jaasTokens(v)
	if err != nil {
		return "", "", err
	}
	if len(toks) < 2 {
		return "", "", errors.New("expected a login module, a control flag and options, ending with ';'")
	}
	if !loginModules[toks[0]] {
		names := make([]string, 0, len(loginModules))
		for n := range loginModules {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", "", fmt.Errorf("login module %q is not supported: use %s", toks[0], strings.Join(names, " or "))
	}
	switch strings.ToLower(toks[1]) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", "", fmt.Errorf("login module control flag %q is not one of required, requisite, sufficient, optional", toks[1])
	}
	opts := map[string]string{}
	i := 2
	for ; i < len(toks) && toks[i] != ";"; i += 3 {
		if i+2 >= len(toks) || toks[i+1] != "=" || toks[i+2] == ";" {
			return "", "", fmt.Errorf("option %q: expected name=value", toks[i])
		}
		opts[toks[i]] = toks[i+2]
	}
	if i >= len(toks) {
		return "", "", errors.New("the login module entry does not end with ';'")
	}
	if i+1 != len(toks) {
		return "", "", errors.New("more than one login module: a client takes exactly one")
	}
	user, hasUser := opts["username"]
	pass, hasPass := opts["password"]
	if !hasUser || user == "" {
		return "", "", errors.New("no username option")
	}
	if !hasPass {
		return "", "", errors.New("no password option")
	}
	return user, pass, nil
}

// jaasTokens splits a JAAS entry into words, quoted strings (unquoted),
// "=" and ";". The error for an unterminated quote leaves out the text.
func jaasTokens(v string) ([]string, error) {
	var out []string
	r := []rune(v)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '=' || c == ';':
			out = append(out, string(c))
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(r) && r[j] != c; j++ {
				if r[j] == '\\' && j+1 < len(r) {
					j++
				}
				b.WriteRune(r[j])
			}
			if j >= len(r) {
				return nil, errors.New("a quoted value is not closed")
			}
			out = append(out, b.String())
			i = j + 1
		default:
			j := i
			for j < len(r) && !unicode.IsSpace(r[j]) && r[j] != '=' && r[j] != ';' && r[j] != '"' && r[j] != '\'' {
				j++
			}
			out = append(out, string(r[i:j]))
			i = j
		}
	}
	return out, nil
}

// Override policies of connector.client.config.override.policy, by the
// short names and the Java class names Kafka Connect takes.
const (
	policyAll       = "All"
	policyNone      = "None"
	policyPrincipal = "Principal"
)

var overridePolicies = map[string]string{
	"all":       policyAll,
	"none":      policyNone,
	"principal": policyPrincipal,
	"org.apache.kafka.connect.connector.policy.allconnectorclientconfigoverridepolicy":       policyAll,
	"org.apache.kafka.connect.connector.policy.noneconnectorclientconfigoverridepolicy":      policyNone,
	"org.apache.kafka.connect.connector.policy.principalconnectorclientconfigoverridepolicy": policyPrincipal,
}

func parseOverridePolicy(v string) (string, error) {
	if v == "" {
		return policyAll, nil // Kafka Connect's default since 3.0
	}
	p, ok := overridePolicies[strings.ToLower(strings.TrimSpace(v))]
	if !ok {
		return "", fmt.Errorf("worker config: %s=%q is not one of All, None, Principal (or their Java class names)", KeyOverridePolicy, v)
	}
	return p, nil
}

// principalKeys are the keys the Principal policy lets a connector
// override.
var principalKeys = map[string]bool{KeySASLJAASConfig: true, KeySASLMechanism: true, KeySecurityProtocol: true}

// clientOverrideErrors adds to errs, by key, what is wrong with config's
// client overrides: keys the worker's override policy forbids, producer
// keys with bad values, and security keys that do not make a client.
// Validation reports them on their keys, as Kafka Connect reports client
// overrides, though they are outside the connector's definition.
func (w *Worker) clientOverrideErrors(config map[string]string, errs map[string][]string) {
	policy := w.Config.OverridePolicy
	for k := range config {
		for _, kind := range []string{clientProducer, clientConsumer, clientAdmin} {
			rest, ok := strings.CutPrefix(k, kind+".override.")
			if !ok {
				continue
			}
			if policy == policyNone || policy == policyPrincipal && !principalKeys[rest] {
				errs[k] = append(errs[k], fmt.Sprintf("The '%s' policy does not allow '%s' to be overridden in the connector configuration.", policy, rest))
			}
		}
	}
	for k, parse := range producerKeys {
		key := producerOverridePrefix + k
		if v, ok := config[key]; ok {
			if _, err := parse(key, v); err != nil {
				errs[key] = append(errs[key], err.Error())
			}
		}
	}
	for _, kind := range []string{clientProducer, clientConsumer, clientAdmin} {
		s := w.Config.securitySettings(kind, config)
		overridden := false
		for _, v := range s.All() {
			overridden = overridden || strings.HasPrefix(v.Key, kind+".override.")
		}
		if !overridden {
			continue
		}
		if _, err := SecurityOpts(s); err != nil {
			var ke *sslconf.KeyError
			if errors.As(err, &ke) {
				errs[ke.Key] = append(errs[ke.Key], ke.Msg)
			} else {
				errs[kind+".override."+KeySecurityProtocol] = append(errs[kind+".override."+KeySecurityProtocol], err.Error())
			}
		}
	}
}
