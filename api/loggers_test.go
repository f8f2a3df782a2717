package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/runtime"
)

// loggersServer serves the API with real LogLevels whose root starts at
// INFO, and returns a logger they filter, writing into buf.
func loggersServer(t *testing.T) (*httptest.Server, *slog.Logger, *bytes.Buffer) {
	t.Helper()
	levels := runtime.NewLogLevels(slog.LevelInfo)
	var buf bytes.Buffer
	logger := slog.New(levels.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.Level(math.MinInt32)})))
	ts := httptest.NewServer(New(seeded(), Options{Loggers: levels}).Handler())
	t.Cleanup(ts.Close)
	return ts, logger, &buf
}

func TestLoggersEndpoints(t *testing.T) {
	t.Parallel()
	ts, logger, buf := loggersServer(t)

	got := call(t, ts, "GET", "/admin/loggers", "")
	if got.status != 200 {
		t.Fatalf("GET /admin/loggers = %d %s", got.status, got.body)
	}
	if d := jsonDiff(t, `{"root":{"level":"INFO","last_modified":null}}`, got.body); d != "" {
		t.Fatalf("GET /admin/loggers (-want +got):\n%s", d)
	}
	// A connector's logger is known once it has logged.
	if got := call(t, ts, "GET", "/admin/loggers/connector.src", ""); got.status != 404 ||
		jsonDiff(t, errBody(404, "Logger connector.src not found."), got.body) != "" {
		t.Fatalf("GET an unknown logger = %d %s", got.status, got.body)
	}
	src := logger.With("connector", "src")
	src.Info("starting")
	src.With("task", 0).Info("task starting")
	logger.Info("worker line")
	got = call(t, ts, "GET", "/admin/loggers/connector.src", "")
	if got.status != 200 || jsonDiff(t, `{"level":"INFO","last_modified":null}`, got.body) != "" {
		t.Fatalf("GET /admin/loggers/connector.src = %d %s", got.status, got.body)
	}

	// Debug for one connector: its loggers log debug, the rest does not.
	before := time.Now().UnixMilli()
	got = call(t, ts, "PUT", "/admin/loggers/connector.src", `{"level":"debug"}`)
	if got.status != 200 || jsonDiff(t, `["connector.src","connector.src.task-0"]`, got.body) != "" {
		t.Fatalf("PUT connector.src DEBUG = %d %s", got.status, got.body)
	}
	buf.Reset()
	src.Debug("src debug")
	src.With("task", 0).Debug("task debug")
	logger.Debug("worker debug")
	logger.Debug("other connector debug", "connector", "other")
	logger.Debug("src debug by record attribute", "connector", "src")
	for _, want := range []string{"src debug", "task debug", "src debug by record attribute"} {
		if !strings.Contains(buf.String(), "msg=\""+want+"\"") {
			t.Errorf("log lacks %q:\n%s", want, buf)
		}
	}
	for _, not := range []string{"worker debug", "other connector debug"} {
		if strings.Contains(buf.String(), not) {
			t.Errorf("log has %q though its logger is at INFO:\n%s", not, buf)
		}
	}
	var lvl struct {
		Level        string `json:"level"`
		LastModified *int64 `json:"last_modified"`
	}
	got = call(t, ts, "GET", "/admin/loggers/connector.src.task-0", "")
	if err := json.Unmarshal([]byte(got.body), &lvl); err != nil || lvl.Level != "DEBUG" || lvl.LastModified == nil || *lvl.LastModified < before {
		t.Fatalf("GET connector.src.task-0 = %d %s (last_modified must be set, >= %d)", got.status, got.body, before)
	}

	// The root logger: ERROR silences INFO everywhere it is not set
	// explicitly, and sets every known logger.
	got = call(t, ts, "PUT", "/admin/loggers/ROOT", `{"level":"ERROR"}`)
	if got.status != 200 || jsonDiff(t, `["connector.other","connector.src","connector.src.task-0","root"]`, got.body) != "" {
		t.Fatalf("PUT root ERROR = %d %s", got.status, got.body)
	}
	buf.Reset()
	logger.Info("worker info")
	src.Warn("src warn")
	logger.Error("worker error")
	if strings.Contains(buf.String(), "worker info") || strings.Contains(buf.String(), "src warn") || !strings.Contains(buf.String(), "worker error") {
		t.Fatalf("after root=ERROR the log is:\n%s", buf)
	}

	// OFF silences a logger; cluster scope answers 204 and, with a herder
	// that is no cluster (standalone), sets this worker's levels.
	got = call(t, ts, "PUT", "/admin/loggers/root?scope=cluster", `{"level":"OFF"}`)
	if got.status != 204 || got.body != "" {
		t.Fatalf("PUT root OFF scope=cluster = %d %q", got.status, got.body)
	}
	buf.Reset()
	logger.Error("nothing")
	if buf.Len() != 0 {
		t.Fatalf("with root OFF the log has:\n%s", buf)
	}
	all := map[string]map[string]any{}
	got = call(t, ts, "GET", "/admin/loggers", "")
	if err := json.Unmarshal([]byte(got.body), &all); err != nil {
		t.Fatal(err)
	}
	levels := map[string]string{}
	for name, l := range all {
		levels[name], _ = l["level"].(string)
	}
	if d := cmp.Diff(map[string]string{"root": "OFF", "connector.other": "OFF", "connector.src": "OFF", "connector.src.task-0": "OFF"}, levels); d != "" {
		t.Fatalf("levels (-want +got):\n%s", d)
	}
}

// TestSetLoggerLevelScopes: the scope parameter as Kafka Connect reads it:
// matched in any case, worker when absent, and any other value (an empty
// one included) taken as worker. With a standalone herder, cluster scope
// sets this worker's level and answers 204.
func TestSetLoggerLevelScopes(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		query      string
		wantStatus int
		wantBody   string
	}{
		"absent":         {"", 200, `["connector.src"]`},
		"worker":         {"?scope=worker", 200, `["connector.src"]`},
		"worker, upper":  {"?scope=WORKER", 200, `["connector.src"]`},
		"unknown":        {"?scope=everywhere", 200, `["connector.src"]`},
		"empty":          {"?scope=", 200, `["connector.src"]`},
		"cluster":        {"?scope=cluster", 204, ""},
		"cluster, mixed": {"?scope=Cluster", 204, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts, _, _ := loggersServer(t)
			got := call(t, ts, "PUT", "/admin/loggers/connector.src"+tt.query, `{"level":"trace"}`)
			if got.status != tt.wantStatus {
				t.Fatalf("PUT = %d %s; want %d", got.status, got.body, tt.wantStatus)
			}
			if tt.wantBody == "" {
				if got.body != "" {
					t.Fatalf("PUT answered a body %q; want none", got.body)
				}
			} else if d := jsonDiff(t, tt.wantBody, got.body); d != "" {
				t.Fatalf("PUT (-want +got):\n%s", d)
			}
			got = call(t, ts, "GET", "/admin/loggers/connector.src", "")
			var lvl struct {
				Level        string `json:"level"`
				LastModified *int64 `json:"last_modified"`
			}
			if err := json.Unmarshal([]byte(got.body), &lvl); err != nil || got.status != 200 {
				t.Fatalf("GET = %d %s (%v)", got.status, got.body, err)
			}
			if lvl.Level != "TRACE" || lvl.LastModified == nil {
				t.Fatalf("connector.src after the PUT: %+v; want TRACE, modified", lvl)
			}
		})
	}
}

func TestSetLoggerLevelErrors(t *testing.T) {
	t.Parallel()
	ts, _, _ := loggersServer(t)
	for name, tt := range map[string]struct {
		body       string
		wantStatus int
		wantBody   string
	}{
		"no level":      {`{}`, 400, errBody(400, "Desired 'level' parameter was not specified in request.")},
		"null level":    {`{"level":null}`, 400, errBody(400, "Desired 'level' parameter was not specified in request.")},
		"unknown level": {`{"level":"LOUD"}`, 404, errBody(404, "invalid log level 'LOUD'.")},
		"not an object": {`"DEBUG"`, 400, errBody(400, "Request body must be a JSON object, not a string")},
		"empty body":    {``, 400, errBody(400, "Request body is missing: expected a JSON object")},
	} {
		got := call(t, ts, "PUT", "/admin/loggers/root", tt.body)
		if got.status != tt.wantStatus || jsonDiff(t, tt.wantBody, got.body) != "" {
			t.Errorf("%s: PUT = %d %s; want %d %s", name, got.status, got.body, tt.wantStatus, tt.wantBody)
		}
	}
	got := call(t, ts, "GET", "/admin/loggers/root", "")
	if got.status != 200 || jsonDiff(t, `{"level":"INFO","last_modified":null}`, got.body) != "" {
		t.Fatalf("root after refused requests = %d %s", got.status, got.body)
	}
}

func TestLoggersAbsentWithoutLevels(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(New(seeded(), Options{}).Handler())
	defer ts.Close()
	if got := call(t, ts, "GET", "/admin/loggers", ""); got.status != 404 {
		t.Fatalf("GET /admin/loggers without levels = %d %s", got.status, got.body)
	}
}
