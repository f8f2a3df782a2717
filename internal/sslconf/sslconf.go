// Package sslconf builds TLS configurations from Kafka's ssl.* keys, as
// Kafka clients and Kafka Connect's REST server read them, for the PEM
// store type: ssl.truststore.type=PEM with ssl.truststore.location (a file
// of certificates) or ssl.truststore.certificates (the certificates
// themselves), and ssl.keystore.type=PEM with ssl.keystore.location (a
// file holding the private key and the certificate chain) or
// ssl.keystore.key with ssl.keystore.certificate.chain. JKS and PKCS12
// stores are refused with an error that says to convert them to PEM.
//
// Settings carry each value with the key it was written under
// (producer.override.ssl.truststore.location, listeners.https.ssl.…), so
// that an error names the key the operator wrote.
package sslconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Kafka's ssl.* keys, without a prefix.
const (
	TruststoreType         = "ssl.truststore.type"
	TruststoreLocation     = "ssl.truststore.location"
	TruststoreCertificates = "ssl.truststore.certificates"
	TruststorePassword     = "ssl.truststore.password"
	KeystoreType           = "ssl.keystore.type"
	KeystoreLocation       = "ssl.keystore.location"
	KeystoreKey            = "ssl.keystore.key"
	KeystoreChain          = "ssl.keystore.certificate.chain"
	KeystorePassword       = "ssl.keystore.password"
	KeyPassword            = "ssl.key.password"
	EndpointIdentification = "ssl.endpoint.identification.algorithm"
	EnabledProtocols       = "ssl.enabled.protocols"
	Protocol               = "ssl.protocol"
	// ClientAuth is Kafka's (and Kafka Connect's REST server's) key:
	// none, requested or required.
	ClientAuth = "ssl.client.auth"
	// ClientAuthentication is the same setting under the name Confluent's
	// REST servers use (NONE, REQUESTED, REQUIRED).
	ClientAuthentication = "ssl.client.authentication"
)

// Setting is one value and the key it was written under.
type Setting struct {
	Value string
	Key   string
}

// Settings are values by their unprefixed key ("ssl.truststore.location"),
// and the prefix under which a key that is not set would be written.
type Settings struct {
	vals   map[string]Setting
	prefix string
}

// New returns empty settings.
func New() *Settings { return &Settings{vals: map[string]Setting{}} }

// Overlay sets every key of raw that starts with prefix and then one of
// the given key prefixes ("ssl.", "sasl.", "security."), without prefix,
// over what s holds. An empty prefix takes raw's unprefixed keys. Keys
// that are not set are named under the last prefix overlaid.
func (s *Settings) Overlay(raw map[string]string, prefix string, keyPrefixes ...string) *Settings {
	s.prefix = prefix
	for k, v := range raw {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		for _, kp := range keyPrefixes {
			if strings.HasPrefix(rest, kp) {
				s.vals[rest] = Setting{Value: v, Key: k}
				break
			}
		}
	}
	return s
}

// Get returns the value of key, trimmed, and whether it was set.
func (s *Settings) Get(key string) (string, bool) {
	v, ok := s.vals[key]
	return strings.TrimSpace(v.Value), ok
}

// All returns the settings by unprefixed key.
func (s *Settings) All() map[string]Setting { return s.vals }

// Name is the key key was written under, or the key under the last
// prefix overlaid when it was not set.
func (s *Settings) Name(key string) string {
	if v, ok := s.vals[key]; ok {
		return v.Key
	}
	return s.prefix + key
}

func (s *Settings) name(key string) string { return s.Name(key) }

// Errorf returns a *KeyError about key, named as written.
func (s *Settings) Errorf(key, format string, args ...any) error {
	return &KeyError{Key: s.Name(key), Msg: fmt.Sprintf(format, args...)}
}

func (s *Settings) errorf(key, format string, args ...any) error {
	return s.Errorf(key, format, args...)
}

// KeyError is what is wrong with one key's value.
type KeyError struct {
	Key string // as written, prefix included
	Msg string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Msg }

// Client returns the TLS configuration of a client: the truststore's
// certificates as roots (the system's when there is no truststore), the
// keystore's certificate for mutual TLS when there is one, and host name
// verification unless ssl.endpoint.identification.algorithm is empty.
func Client(s *Settings) (*tls.Config, error) {
	cfg, err := base(s)
	if err != nil {
		return nil, err
	}
	roots, err := truststore(s)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = roots
	if cert, ok, err := keystore(s); err != nil {
		return nil, err
	} else if ok {
		cfg.Certificates = []tls.Certificate{cert}
	}
	alg, set := s.Get(EndpointIdentification)
	switch {
	case !set || strings.EqualFold(alg, "https"):
	case alg == "":
		// Kafka's way to turn host name verification off: the chain is
		// still verified, against the truststore.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	default:
		return nil, s.errorf(EndpointIdentification, "%q is not supported: use https or an empty value", alg)
	}
	return cfg, nil
}

// Server returns the TLS configuration of a server: the keystore's
// certificate (required), and client certificates verified against the
// truststore as ssl.client.auth says (none, requested or required).
func Server(s *Settings) (*tls.Config, error) {
	cfg, err := base(s)
	if err != nil {
		return nil, err
	}
	cert, ok, err := keystore(s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.errorf(KeystoreLocation, "required for a TLS listener (or %s and %s)", s.name(KeystoreKey), s.name(KeystoreChain))
	}
	cfg.Certificates = []tls.Certificate{cert}
	auth, key := "none", ClientAuth
	if v, ok := s.Get(ClientAuthentication); ok {
		auth, key = v, ClientAuthentication
	}
	if v, ok := s.Get(ClientAuth); ok {
		auth, key = v, ClientAuth
	}
	switch strings.ToLower(auth) {
	case "none", "":
		return cfg, nil
	case "requested":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, s.errorf(key, "%q is not one of none, requested, required", auth)
	}
	pool, err := truststore(s)
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, s.errorf(key, "client certificates are checked against the truststore: set %s or %s", s.name(TruststoreLocation), s.name(TruststoreCertificates))
	}
	cfg.ClientCAs = pool
	return cfg, nil
}

var versions = map[string]uint16{
	"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

// base reads the protocol versions: ssl.enabled.protocols (default
// TLSv1.2,TLSv1.3, as Kafka's), or ssl.protocol alone.
func base(s *Settings) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	list, key := "", EnabledProtocols
	if v, ok := s.Get(EnabledProtocols); ok {
		list = v
	} else if v, ok := s.Get(Protocol); ok && v != "TLS" {
		list, key = v, Protocol
	}
	if list == "" {
		return cfg, nil
	}
	var got []uint16
	for _, p := range strings.Split(list, ",") {
		v, ok := versions[strings.TrimSpace(p)]
		if !ok {
			return nil, s.errorf(key, "unknown protocol %q: use TLSv1.2 or TLSv1.3", strings.TrimSpace(p))
		}
		got = append(got, v)
	}
	cfg.MinVersion, cfg.MaxVersion = slices.Min(got), slices.Max(got)
	return cfg, nil
}

// pemOnly refuses store types other than PEM.
func pemOnly(s *Settings, key string) error {
	t, ok := s.Get(key)
	if !ok || strings.EqualFold(t, "PEM") {
		return nil
	}
	return s.errorf(key, "%s stores are not supported: set %s=PEM and give PEM files (openssl pkcs12 or keytool can convert a %s store)", t, key, t)
}

// notPEM refuses a store file that is not PEM when its type was left
// unset: Kafka's default type is JKS, which this worker cannot read.
func notPEM(s *Settings, typeKey string, data []byte) error {
	if _, set := s.Get(typeKey); set {
		return nil
	}
	if b, _ := pem.Decode(data); b != nil {
		return nil
	}
	return s.errorf(typeKey, "JKS (Kafka's default) stores are not supported: set %s=PEM and give PEM files (keytool and openssl can convert a JKS store)", s.name(typeKey))
}

// truststore returns the truststore's certificates, or nil when there is
// no truststore (the system's roots then apply).
func truststore(s *Settings) (*x509.CertPool, error) {
	loc, hasLoc := s.Get(TruststoreLocation)
	certs, hasCerts := s.Get(TruststoreCertificates)
	if !hasLoc && !hasCerts {
		return nil, nil
	}
	if err := pemOnly(s, TruststoreType); err != nil {
		return nil, err
	}
	if hasLoc && hasCerts {
		return nil, s.errorf(TruststoreCertificates, "set either %s or %s, not both", s.name(TruststoreLocation), s.name(TruststoreCertificates))
	}
	data, key := []byte(certs), TruststoreCertificates
	if hasLoc {
		b, err := os.ReadFile(loc)
		if err != nil {
			return nil, s.errorf(TruststoreLocation, "%v", err)
		}
		if err := notPEM(s, TruststoreType, b); err != nil {
			return nil, err
		}
		data, key = b, TruststoreLocation
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, s.errorf(key, "certificate %d: %v", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, s.errorf(key, "no PEM certificate found")
	}
	return pool, nil
}

// keystore returns the keystore's certificate and key, and whether there
// is a keystore.
func keystore(s *Settings) (tls.Certificate, bool, error) {
	loc, hasLoc := s.Get(KeystoreLocation)
	key, hasKey := s.Get(KeystoreKey)
	chain, hasChain := s.Get(KeystoreChain)
	if !hasLoc && !hasKey && !hasChain {
		return tls.Certificate{}, false, nil
	}
	if err := pemOnly(s, KeystoreType); err != nil {
		return tls.Certificate{}, false, err
	}
	var certPEM, keyPEM []byte
	where := KeystoreLocation
	switch {
	case hasLoc && (hasKey || hasChain):
		return tls.Certificate{}, false, s.errorf(KeystoreLocation, "set either %s or %s and %s, not both", s.name(KeystoreLocation), s.name(KeystoreKey), s.name(KeystoreChain))
	case hasLoc:
		data, err := os.ReadFile(loc)
		if err != nil {
			return tls.Certificate{}, false, s.errorf(KeystoreLocation, "%v", err)
		}
		if err := notPEM(s, KeystoreType, data); err != nil {
			return tls.Certificate{}, false, err
		}
		certPEM, keyPEM = data, data
	case !hasKey:
		return tls.Certificate{}, false, s.errorf(KeystoreChain, "%s is needed with it", s.name(KeystoreKey))
	case !hasChain:
		return tls.Certificate{}, false, s.errorf(KeystoreKey, "%s is needed with it", s.name(KeystoreChain))
	default:
		certPEM, keyPEM, where = []byte(chain), []byte(key), KeystoreKey
	}
	if encrypted(keyPEM) {
		return tls.Certificate{}, false, s.errorf(where, "the private key is encrypted (%s); give it unencrypted, readable only by the worker's user", s.name(KeyPassword))
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, false, s.errorf(where, "%v", err)
	}
	return cert, true, nil
}

func encrypted(data []byte) bool {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return true
		}
	}
}
