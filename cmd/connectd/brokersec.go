package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/internal/pki"
)

// brokerSecurity is how the embedded broker (`connectd broker`, `connectd
// dev`) lets clients in: Kafka's security.protocol, and for SASL the
// mechanism and users.
type brokerSecurity struct {
	protocol  string
	mechanism string
	users     userFlag
}

// userFlag collects --kafka-user NAME:PASSWORD flags.
type userFlag []string

func (u *userFlag) String() string { return strings.Join(*u, ",") }
func (u *userFlag) Set(v string) error {
	if name, pass, ok := strings.Cut(v, ":"); !ok || name == "" || pass == "" {
		return fmt.Errorf("%q is not NAME:PASSWORD", v)
	}
	*u = append(*u, v)
	return nil
}

// flags registers the broker's security flags on fs, named with prefix
// ("kafka-" for dev, "" for broker).
func (b *brokerSecurity) flags(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&b.protocol, prefix+"security-protocol", "PLAINTEXT", "what the embedded broker takes: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (TLS with a CA made in the data dir)")
	fs.StringVar(&b.mechanism, prefix+"sasl-mechanism", "SCRAM-SHA-512", "SASL mechanism of the embedded broker's users: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.Var(&b.users, prefix+"user", "a SASL user NAME:PASSWORD of the embedded broker (repeatable); without one, user connectd gets a password kept in the data dir")
}

func (b *brokerSecurity) tls() bool  { return strings.HasSuffix(b.protocol, "SSL") }
func (b *brokerSecurity) sasl() bool { return strings.HasPrefix(b.protocol, "SASL_") }

func (b *brokerSecurity) validate() error {
	b.protocol = strings.ToUpper(b.protocol)
	switch b.protocol {
	case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		return fmt.Errorf("broker: security protocol %q is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", b.protocol)
	}
	b.mechanism = strings.ToUpper(b.mechanism)
	switch b.mechanism {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("broker: SASL mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", b.mechanism)
	}
	return nil
}

// setup returns the broker's options for dir (making a CA and the
// broker's certificate there on first use, and the default user's
// password), and the Kafka client keys a client needs: for the first user
// when there is SASL. It writes those keys to dir/client.properties too,
// for other tools.
func (b *brokerSecurity) setup(dir string) ([]kfake.Opt, map[string]string, error) {
	if err := b.validate(); err != nil {
		return nil, nil, err
	}
	client := map[string]string{"security.protocol": b.protocol}
	var opts []kfake.Opt
	if b.tls() {
		cfg, caPath, err := brokerTLS(filepath.Join(dir, "tls"))
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, kfake.TLS(cfg))
		client["ssl.truststore.type"] = "PEM"
		client["ssl.truststore.location"] = caPath
	}
	if b.sasl() {
		users := b.users
		if len(users) == 0 {
			pass, err := keptSecret(filepath.Join(dir, "connectd.password"))
			if err != nil {
				return nil, nil, err
			}
			users = userFlag{"connectd:" + pass}
		}
		opts = append(opts, kfake.EnableSASL())
		for _, u := range users {
			name, pass, _ := strings.Cut(u, ":")
			opts = append(opts, kfake.Superuser(b.mechanism, name, pass))
		}
		name, pass, _ := strings.Cut(users[0], ":")
		module := "org.apache.kafka.common.security.scram.ScramLoginModule"
		if b.mechanism == "PLAIN" {
			module = "org.apache.kafka.common.security.plain.PlainLoginModule"
		}
		client["sasl.mechanism"] = b.mechanism
		client["sasl.jaas.config"] = fmt.Sprintf("%s required username=%q password=%q;", module, name, pass)
	}
	if err := writeProperties(filepath.Join(dir, "client.properties"), client); err != nil {
		return nil, nil, err
	}
	return opts, client, nil
}

// brokerTLS returns the broker's TLS config, from the CA and certificate
// in dir, made there on first use so that clients that trust the CA keep
// trusting the broker across restarts.
func brokerTLS(dir string) (*tls.Config, string, error) {
	caPath, certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "broker.crt"), filepath.Join(dir, "broker.key")
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", err
		}
		ca, err := pki.NewCA("connectd dev CA")
		if err != nil {
			return nil, "", err
		}
		pair, err := ca.Server("127.0.0.1", "localhost", "::1")
		if err != nil {
			return nil, "", err
		}
		if _, _, _, err := pair.WriteFiles(dir, "broker"); err != nil {
			return nil, "", err
		}
		if err := ca.WriteCert(caPath); err != nil {
			return nil, "", err
		}
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, "", fmt.Errorf("broker TLS certificate in %s: %w", dir, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPath, nil
}

// keptSecret returns the secret in path, making a random one there first
// if there is none.
func keptSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	r := make([]byte, 16)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	s := hex.EncodeToString(r)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

// writeProperties writes props as a .properties file, keys sorted,
// readable only by the user (it may hold a password).
func writeProperties(path string, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, strings.ReplaceAll(props[k], `\`, `\\`))
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
