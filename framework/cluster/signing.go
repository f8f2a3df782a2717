package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/cluster/storage"
	"github.com/connectd/connectd/framework/herder"
)

// Inter-worker request signing (Kafka Connect's KIP-507). The leader keeps
// a session key in the config topic (the session-key record) and makes a
// new one when it is older than inter.worker.key.ttl.ms. A worker sending
// an internal request (task configs to the leader, a zombie fencing
// request) signs its body with the key, an HMAC named by
// inter.worker.signature.algorithm, in the X-Connect-Authorization header;
// the receiver checks it against its own copy of the key and refuses a
// request without a valid signature. Only workers that read the config
// topic know the key.

// defaultHMAC is Kafka Connect's default key and signature algorithm.
const defaultHMAC = "HmacSHA256"

// hmacs are the algorithms connectd signs and verifies with, by Java's
// names, with the key size Java's KeyGenerator picks for each by default.
var hmacs = map[string]struct {
	hash     func() hash.Hash
	keyBytes int
}{
	"HmacSHA1":   {sha1.New, 64},
	"HmacSHA224": {sha256.New224, 28},
	"HmacSHA256": {sha256.New, 32},
	"HmacSHA384": {sha512.New384, 48},
	"HmacSHA512": {sha512.New, 64},
}

func hmacNames() string {
	names := make([]string, 0, len(hmacs))
	for n := range hmacs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func knownHMAC(v any) error {
	s, _ := v.(string)
	if _, ok := hmacs[s]; !ok {
		return fmt.Errorf("Unsupported algorithm; this worker supports: %s", hmacNames())
	}
	return nil
}

func knownHMACs(v any) error {
	list, _ := v.([]string)
	if len(list) == 0 {
		return fmt.Errorf("List must contain at least one algorithm")
	}
	for _, s := range list {
		if err := knownHMAC(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func keySizeBits(v any) error {
	n, _ := v.(int32)
	if n != 0 && (n < 8 || n%8 != 0) {
		return fmt.Errorf("Key size must be a positive multiple of 8 bits")
	}
	return nil
}

// Signing is a worker's inter.worker.* settings.
type Signing struct {
	KeyAlgorithm       string
	KeyBytes           int // 0: the algorithm's default
	KeyTTL             time.Duration
	SignatureAlgorithm string
	Verification       []string
}

// newKey makes a fresh random session key.
func (s Signing) newKey(now time.Time) (storage.SessionKey, error) {
	n := s.KeyBytes
	if n == 0 {
		n = hmacs[s.KeyAlgorithm].keyBytes
	}
	key := make([]byte, n)
	if _, err := rand.Read(key); err != nil {
		return storage.SessionKey{}, fmt.Errorf("cluster: make a session key: %w", err)
	}
	return storage.SessionKey{Key: key, Algorithm: s.KeyAlgorithm, Created: now.UnixMilli()}, nil
}

// expired reports whether k is due to be replaced.
func (s Signing) expired(k *storage.SessionKey, now time.Time) bool {
	return k == nil || now.UnixMilli() >= k.Created+s.KeyTTL.Milliseconds()
}

// signature is body's HMAC with key, in base64.
func signature(alg string, key, body []byte) (string, error) {
	h, ok := hmacs[alg]
	if !ok {
		return "", fmt.Errorf("cluster: unknown signature algorithm %s", alg)
	}
	m := hmac.New(h.hash, key)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// signer returns what signs this worker's internal requests with the
// current session key: the headers to add to a request with body.
func (d *Distributed) signer() func(body []byte) (http.Header, error) {
	return func(body []byte) (http.Header, error) {
		k := d.configs.Snapshot().SessionKey
		if k == nil {
			return nil, conflict("Cannot send an internal request yet: the cluster has no session key to sign it with (the leader writes one); try again shortly")
		}
		sig, err := signature(d.cfg.Signing.SignatureAlgorithm, k.Key, body)
		if err != nil {
			return nil, err
		}
		return http.Header{
			herder.SignatureHeader:          {sig},
			herder.SignatureAlgorithmHeader: {d.cfg.Signing.SignatureAlgorithm},
		}, nil
	}
}

// verify checks the signature of an internal request that came over REST
// (none to check for a call the herder made itself), with Kafka Connect's
// answers: 400 without a signature or with an algorithm this worker does
// not accept, 403 with a signature that does not match.
func (d *Distributed) verify(r *herder.InternalRequest) error {
	if r == nil {
		return nil
	}
	if r.Signature == "" || r.SignatureAlgorithm == "" {
		return herder.BadRequest("Internal request missing required signature")
	}
	if !slices.Contains(d.cfg.Signing.Verification, r.SignatureAlgorithm) {
		return herder.BadRequest("This worker does not support the '%s' key signing algorithm used by other workers. "+
			"This worker is currently configured to use: %s. Check that all workers' configuration files permit the same "+
			"set of signature algorithms, and correct any misconfigured worker and restart it.",
			r.SignatureAlgorithm, strings.Join(d.cfg.Signing.Verification, ", "))
	}
	k := d.configs.Snapshot().SessionKey
	forbidden := &herder.RequestError{Status: http.StatusForbidden, Message: "Internal request contained invalid signature."}
	if k == nil {
		return forbidden
	}
	want, err := signature(r.SignatureAlgorithm, k.Key, r.Body)
	if err != nil {
		return herder.BadRequest("%s", err.Error())
	}
	if !hmac.Equal([]byte(want), []byte(r.Signature)) {
		return forbidden
	}
	return nil
}
