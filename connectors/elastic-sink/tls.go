package elasticsink

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// keyError is a TLS setting that cannot be used, with the key at fault.
type keyError struct {
	key string
	msg string
}

func (e *keyError) Error() string { return e.key + ": " + e.msg }

// tlsConfig builds the client's TLS settings from the elastic.https.ssl.*
// keys, all PEM: trusted authorities from a file or inline text, a client
// certificate and key from one file or two inline texts. It returns nil
// when elastic.security.protocol is PLAINTEXT.
func (c *config) tlsConfig() (*tls.Config, error) {
	if !c.ssl {
		return nil, nil
	}
	t := c.tls
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.minTLS13 {
		tc.MinVersion = tls.VersionTLS13
	}
	if t.maxTLS12 {
		tc.MaxVersion = tls.VersionTLS12
	}
	trust, trustKey := []byte(t.trustPEM), SSLTruststoreCertsKey
	if t.trustFile != "" {
		b, err := os.ReadFile(t.trustFile)
		if err != nil {
			return nil, &keyError{SSLTruststoreLocKey, fmt.Sprintf("cannot read the trust store: %v", err)}
		}
		trust, trustKey = b, SSLTruststoreLocKey
	}
	if len(trust) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(trust) {
			return nil, &keyError{trustKey, "holds no PEM certificate"}
		}
		tc.RootCAs = pool
	}
	chain, key, chainKey, keyKey := []byte(t.chainPEM), []byte(t.keyPEM), SSLKeystoreChainKey, SSLKeystoreKeyKey
	if t.keyFile != "" {
		b, err := os.ReadFile(t.keyFile)
		if err != nil {
			return nil, &keyError{SSLKeystoreLocKey, fmt.Sprintf("cannot read the key store: %v", err)}
		}
		chain, key, chainKey, keyKey = b, b, SSLKeystoreLocKey, SSLKeystoreLocKey
	}
	if len(chain) > 0 {
		if encryptedPEM(key) {
			return nil, &keyError{keyKey, "the private key is encrypted; encrypted keys are not supported (openssl pkcs8 -topk8 -nocrypt decrypts it)"}
		}
		cert, err := tls.X509KeyPair(chain, key)
		if err != nil {
			if chainKey == keyKey {
				return nil, &keyError{chainKey, fmt.Sprintf("needs a PEM certificate chain and its private key: %v", err)}
			}
			return nil, &keyError{chainKey, fmt.Sprintf("the certificate chain and %s do not make a key pair: %v", keyKey, err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if !t.verifyHost {
		// Verify the chain against the trusted authorities, but not the
		// host name (ssl.endpoint.identification.algorithm empty).
		roots := tc.RootCAs
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("elastic-sink: the server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	return tc, nil
}

// encryptedPEM reports whether b holds an encrypted private key block.
func encryptedPEM(b []byte) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if blk.Type == "ENCRYPTED PRIVATE KEY" || blk.Headers["Proc-Type"] != "" {
			return true
		}
	}
}
