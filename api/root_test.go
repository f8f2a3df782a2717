package api

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
)

const (
	healthy  = `{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}`
	starting = `{"status":"starting","message":"Worker is still starting up. joining group connect-cluster"}`
)

func notReady() error { return errors.New("joining group connect-cluster") }

var metricsHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("connect_worker_connector_count 2\n"))
})

func TestRootEndpoints(t *testing.T) {
	t.Parallel()
	runEndpointTests(t, map[string]endpointTest{
		"server info": {
			method: "GET", path: "/", wantStatus: 200,
			wantBody: `{"version":"0.1.0","commit":"abc123","kafka_cluster_id":"cluster-1"}`,
		},
		"server info herder error": {
			method: "GET", path: "/", herder: failing("ClusterInfo", "", errors.New("cluster: describe: broker down")),
			wantStatus: 500, wantBody: errBody(500, "cluster: describe: broker down"),
		},
		"healthz": {method: "GET", path: "/healthz", wantStatus: 200, wantBody: healthy},
		"healthz ignores readiness": {
			method: "GET", path: "/healthz", opts: Options{Ready: notReady},
			wantStatus: 200, wantBody: healthy,
		},
		"health": {method: "GET", path: "/health", wantStatus: 200, wantBody: healthy},
		"health ready": {
			method: "GET", path: "/health", opts: Options{Ready: func() error { return nil }},
			wantStatus: 200, wantBody: healthy,
		},
		"health starting": {
			method: "GET", path: "/health", opts: Options{Ready: notReady},
			wantStatus: 503, wantBody: starting,
		},
		"readyz": {method: "GET", path: "/readyz", wantStatus: 200, wantBody: healthy},
		"readyz starting": {
			method: "GET", path: "/readyz", opts: Options{Ready: notReady},
			wantStatus: 503, wantBody: starting,
		},
		"metrics not configured": {
			method: "GET", path: "/metrics", wantStatus: 404, wantBody: errBody(404, "HTTP 404 Not Found"),
		},
		"unknown path": {
			method: "GET", path: "/nope", wantStatus: 404, wantBody: errBody(404, "HTTP 404 Not Found"),
		},
		"unknown path under connector": {
			method: "GET", path: "/connectors/src/bogus", wantStatus: 404, wantBody: errBody(404, "HTTP 404 Not Found"),
		},
		"unknown path under plugins": {
			method: "GET", path: "/connector-plugins/datagen", wantStatus: 404, wantBody: errBody(404, "HTTP 404 Not Found"),
		},
		"wrong method on root": {
			method: "POST", path: "/", wantStatus: 405, wantBody: errBody(405, "HTTP 405 Method Not Allowed"),
			wantHeader: http.Header{"Allow": {"GET", "HEAD"}},
		},
		"wrong method on connectors": {
			method: "DELETE", path: "/connectors", wantStatus: 405, wantBody: errBody(405, "HTTP 405 Method Not Allowed"),
			wantHeader: http.Header{"Allow": {"GET", "HEAD", "POST"}},
		},
		"wrong method on connector": {
			method: "POST", path: "/connectors/src", wantStatus: 405, wantBody: errBody(405, "HTTP 405 Method Not Allowed"),
			wantHeader: http.Header{"Allow": {"GET", "HEAD", "DELETE"}},
		},
		"wrong method on pause": {
			method: "POST", path: "/connectors/src/pause", wantStatus: 405, wantBody: errBody(405, "HTTP 405 Method Not Allowed"),
			wantHeader: http.Header{"Allow": {"PUT"}},
		},
		"wrong method on validate": {
			method: "POST", path: "/connector-plugins/datagen/config/validate", wantStatus: 405,
			wantBody: errBody(405, "HTTP 405 Method Not Allowed"), wantHeader: http.Header{"Allow": {"PUT"}},
		},
		"HEAD is GET without a body": {
			method: "HEAD", path: "/connectors", wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"application/json"}},
		},
		"herder panic is a 500": {
			method: "GET", path: "/", herder: failing("ClusterInfo", "", errPanic),
			wantStatus: 500, wantBody: errBody(500, "Internal server error"),
		},
		"herder timeout is a 500": {
			method: "GET", path: "/connectors", herder: failing("Connectors", "", errBlock),
			opts:       Options{RequestTimeout: 20 * time.Millisecond},
			wantStatus: 500, wantBody: errBody(500, "Request timed out"),
		},
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(New(seeded(), Options{Metrics: metricsHandler}).Handler())
	defer ts.Close()
	got := call(t, ts, "GET", "/metrics", "")
	if got.status != 200 || got.body != "connect_worker_connector_count 2\n" {
		t.Errorf("GET /metrics = %d %q, want the metrics handler's answer", got.status, got.body)
	}
}

// An exact byte check: field order and names as Kafka Connect writes them.
func TestErrorBodyBytes(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(New(seeded(), Options{}).Handler())
	defer ts.Close()
	got := call(t, ts, "GET", "/connectors/nope", "")
	if want := `{"error_code":404,"message":"Connector nope not found"}` + "\n"; got.body != want {
		t.Errorf("body = %q, want %q", got.body, want)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := httptest.NewServer(New(seeded(), Options{Logger: log}).Handler())
	defer ts.Close()

	body := `{"name":"db","config":{"connector.class":"datagen","topic":"t","db.password":"hunter2"}}`
	if got := call(t, ts, "POST", "/connectors", body); got.status != 201 {
		t.Fatalf("create: status %d: %s", got.status, got.body)
	}
	call(t, ts, "PUT", "/connectors/db/config", `{"connector.class":"datagen","db.password":"hunter2"}`)

	out := buf.String()
	for _, want := range []string{
		`msg="rest request" method=POST path=/connectors status=201 duration=`,
		`msg="rest request" method=PUT path=/connectors/db/config status=400 duration=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("log holds a secret from a request body:\n%s", out)
	}
}

func TestServerErrorsAreLogged(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := seeded()
	h.fail["Connectors/"] = errors.New("config log: read: broker down")
	ts := httptest.NewServer(New(h, Options{Logger: log}).Handler())
	defer ts.Close()

	call(t, ts, "GET", "/connectors", "")
	call(t, ts, "GET", "/connectors/nope", "") // a client error: not logged
	out := buf.String()
	if !strings.Contains(out, `level=ERROR msg="rest request failed" method=GET path=/connectors status=500 err="config log: read: broker down"`) {
		t.Errorf("log lacks the server error:\n%s", out)
	}
	if strings.Contains(out, "nope") {
		t.Errorf("log holds a client error:\n%s", out)
	}
}

var _ herder.Herder = hideExtras(nil)
