package cluster

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/runtime"
)

func TestParseConfigExactlyOnceAndSigning(t *testing.T) {
	t.Parallel()
	base := map[string]string{"group.id": "g", "config.storage.topic": "c", "offset.storage.topic": "o", "status.storage.topic": "s"}
	for _, tc := range []struct {
		name    string
		extra   map[string]string
		mode    string
		signing Signing
		err     string
	}{
		{name: "defaults", mode: "disabled",
			signing: Signing{KeyAlgorithm: "HmacSHA256", KeyTTL: time.Hour, SignatureAlgorithm: "HmacSHA256", Verification: []string{"HmacSHA256"}}},
		{name: "enabled, any case", extra: map[string]string{"exactly.once.source.support": "ENABLED"}, mode: "enabled",
			signing: Signing{KeyAlgorithm: "HmacSHA256", KeyTTL: time.Hour, SignatureAlgorithm: "HmacSHA256", Verification: []string{"HmacSHA256"}}},
		{name: "own keys", mode: "preparing", extra: map[string]string{"exactly.once.source.support": "preparing",
			"inter.worker.key.generation.algorithm": "HmacSHA512", "inter.worker.key.size": "512", "inter.worker.key.ttl.ms": "60000",
			"inter.worker.signature.algorithm": "HmacSHA384", "inter.worker.verification.algorithms": "HmacSHA256,HmacSHA384"},
			signing: Signing{KeyAlgorithm: "HmacSHA512", KeyBytes: 64, KeyTTL: time.Minute, SignatureAlgorithm: "HmacSHA384", Verification: []string{"HmacSHA256", "HmacSHA384"}}},
		{name: "unknown mode", extra: map[string]string{"exactly.once.source.support": "maybe"}, err: "exactly.once.source.support"},
		{name: "unknown algorithm", extra: map[string]string{"inter.worker.signature.algorithm": "HmacMD5"}, err: "Unsupported algorithm"},
		{name: "odd key size", extra: map[string]string{"inter.worker.key.size": "12"}, err: "multiple of 8"},
		{name: "signature not verified", extra: map[string]string{"inter.worker.signature.algorithm": "HmacSHA512"}, err: "must be one of inter.worker.verification.algorithms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := map[string]string{}
			for k, v := range base {
				raw[k] = v
			}
			for k, v := range tc.extra {
				raw[k] = v
			}
			wc, err := runtime.ParseWorkerConfig(raw, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseConfig(wc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ExactlyOnce != tc.mode {
				t.Errorf("mode = %q, want %q", c.ExactlyOnce, tc.mode)
			}
			if d := cmp.Diff(tc.signing, c.Signing); d != "" {
				t.Errorf("signing (-want +got):\n%s", d)
			}
		})
	}
}

func TestSignatureAndKeys(t *testing.T) {
	t.Parallel()
	s := Signing{KeyAlgorithm: "HmacSHA256", KeyTTL: time.Hour}
	now := time.UnixMilli(1_700_000_000_000)
	k, err := s.newKey(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Key) != 32 || k.Algorithm != "HmacSHA256" || k.Created != now.UnixMilli() {
		t.Fatalf("key %+v", k)
	}
	if s.expired(&k, now.Add(59*time.Minute)) || !s.expired(&k, now.Add(time.Hour)) || !s.expired(nil, now) {
		t.Fatal("expiry is not the ttl")
	}
	// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
	got, err := signature("HmacSHA256", []byte("Jefe"), []byte("what do ya want for nothing?"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}
