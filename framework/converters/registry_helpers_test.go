package converters

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/schemaregistry"
)

// testRegistry is the dev schema registry on a fresh in-process Kafka
// (kfake), behind a server that counts the requests it answers.
type testRegistry struct {
	url      string
	requests atomic.Int64
	reg      *schemaregistry.Registry
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	seeds := kafkatest.Seeds(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := schemaregistry.Open(ctx, schemaregistry.Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRegistry{reg: reg}
	h := reg.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	tr.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		reg.Close(context.Background())
	})
	return tr
}

// client returns a franz-go sr client of the registry.
func (r *testRegistry) client(t testing.TB) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(r.url), sr.HTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// mustConverter returns converter name configured with cfg (key/value
// pairs) for values (isKey false) or keys.
func mustConverter(t testing.TB, name string, isKey bool, cfg ...string) Converter {
	t.Helper()
	c, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for i := 0; i+1 < len(cfg); i += 2 {
		m[cfg[i]] = cfg[i+1]
	}
	if err := c.Configure(m, isKey); err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
