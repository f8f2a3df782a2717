package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
)

// authFiles writes a users file (alice: admin, grafana: read-only) and a
// tokens file (ci: admin token "ci-token", ro: read-only "ro-token").
func authFiles(t *testing.T) (users, tokens string) {
	t.Helper()
	dir := t.TempDir()
	alice, err := HashPassword("alice", "wonderland", RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	grafana, err := HashPassword("grafana", "dashboards", RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	users, tokens = filepath.Join(dir, "users"), filepath.Join(dir, "tokens")
	write(t, users, "# REST users\n"+alice+"\n"+grafana+"\n")
	write(t, tokens, HashToken("ci", "ci-token", RoleAdmin)+"\n"+HashToken("ro", "ro-token", RoleReadOnly)+"\n")
	return users, tokens
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// route is one endpoint of the API, with its parameters filled in.
type route struct{ method, path string }

// routes lists every endpoint the server's router serves.
func routes(t *testing.T, s *Server) []route {
	t.Helper()
	var out []route
	fill := strings.NewReplacer("{connector}", "src", "{task}", "0", "{plugin}", "datagen", "{logger}", "root", "/*", "")
	err := chi.Walk(s.router, func(method, path string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		p := strings.TrimSuffix(fill.Replace(path), "/")
		if p == "" {
			p = "/"
		}
		out = append(out, route{method, p})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 30 {
		t.Fatalf("only %d routes found: %v", len(out), out)
	}
	return out
}

func do(t *testing.T, ts *httptest.Server, method, path, auth string, headers ...string) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete {
		body = strings.NewReader(`{}`)
	}
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func securedServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	users, tokens := authFiles(t)
	a, err := NewAuthenticator(users, tokens)
	if err != nil {
		t.Fatal(err)
	}
	opts.Auth = a
	opts.Loggers = runtime.NewLogLevels(slog.LevelInfo)
	opts.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "kafka_connect_worker_connector_count 2\n")
	})
	s := New(seeded(), opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// TestAuthEveryEndpoint: every endpoint but the health probes answers 401
// without valid credentials, the same body whatever was wrong; the
// read-only role reads but is refused every write with 403; admins and
// tokens get through.
func TestAuthEveryEndpoint(t *testing.T) {
	t.Parallel()
	s, ts := securedServer(t, Options{})
	unauthorized := `{"error_code":401,"message":"Unauthorized"}`
	bad := []string{
		"",
		BasicAuth("alice", "wrong"),
		BasicAuth("mallory", "wonderland"),
		BasicAuth("alice", ""),
		"Basic !!!",
		BearerAuth("nope"),
		BearerAuth(""),
		"Digest alice",
	}
	for _, r := range routes(t, s) {
		if openPaths[r.path] {
			if code, _, _ := do(t, ts, r.method, r.path, ""); code == http.StatusUnauthorized {
				t.Errorf("%s %s: 401, want the probe to answer without credentials", r.method, r.path)
			}
			continue
		}
		for _, auth := range bad {
			code, body, h := do(t, ts, r.method, r.path, auth)
			if code != http.StatusUnauthorized || r.method != http.MethodHead && strings.TrimSpace(body) != unauthorized {
				t.Errorf("%s %s with %q: %d %s, want 401 %s", r.method, r.path, auth, code, body, unauthorized)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s %s: WWW-Authenticate %q", r.method, r.path, h.Values("WWW-Authenticate"))
			}
		}
		for _, auth := range []string{BasicAuth("grafana", "dashboards"), BearerAuth("ro-token")} {
			code, body, _ := do(t, ts, r.method, r.path, auth)
			write := r.method != http.MethodGet && r.method != http.MethodHead
			switch {
			case write && code != http.StatusForbidden:
				t.Errorf("read-only %s %s: %d %s, want 403", r.method, r.path, code, body)
			case !write && (code == http.StatusForbidden || code == http.StatusUnauthorized):
				t.Errorf("read-only %s %s: %d %s, want it served", r.method, r.path, code, body)
			}
		}
		for _, auth := range []string{BasicAuth("alice", "wonderland"), BearerAuth("ci-token")} {
			if code, body, _ := do(t, ts, r.method, r.path, auth); code == http.StatusForbidden || code == http.StatusUnauthorized {
				t.Errorf("admin %s %s: %d %s", r.method, r.path, code, body)
			}
		}
	}
}

// TestAuthInternalRequests: a worker's signed internal requests reach the
// herder without user credentials (it checks the signature); without a
// signature they need credentials like any other request.
func TestAuthInternalRequests(t *testing.T) {
	t.Parallel()
	_, ts := securedServer(t, Options{})
	if code, _, _ := do(t, ts, http.MethodPost, "/connectors/src/tasks", ""); code != http.StatusUnauthorized {
		t.Errorf("unsigned task configs: %d, want 401", code)
	}
	code, body, _ := do(t, ts, http.MethodPost, "/connectors/src/tasks", "", herder.SignatureHeader, "c2lnbmF0dXJl", herder.SignatureAlgorithmHeader, "HmacSHA256")
	if code == http.StatusUnauthorized {
		t.Errorf("signed task configs: %d %s, want them handed to the herder", code, body)
	}
	// A signature does not open any other endpoint.
	if code, _, _ := do(t, ts, http.MethodDelete, "/connectors/src", "", herder.SignatureHeader, "c2lnbmF0dXJl"); code != http.StatusUnauthorized {
		t.Errorf("signed delete: %d, want 401", code)
	}
}

// TestAuthFiles: plain-text passwords and tokens are refused, with the
// file and line; a changed file is read again.
func TestAuthFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct{ users, tokens, err string }{
		{"alice:wonderland\n", "", "line 1: user alice: the password is not a bcrypt hash"},
		{"alice:$2a$10$abc:superuser\n", "", `role "superuser"`},
		{"", "ci:ci-secret-token\n", "line 1: token ci: \"ci-s…\" is not a SHA-256 in hex"},
		{"nocolon\n", "", "expected name:bcrypt-hash"},
	} {
		users, tokens := "", ""
		if tt.users != "" {
			users = filepath.Join(dir, "u")
			write(t, users, tt.users)
		}
		if tt.tokens != "" {
			tokens = filepath.Join(dir, "t")
			write(t, tokens, tt.tokens)
		}
		_, err := NewAuthenticator(users, tokens)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q %q: error %v, want %q", tt.users, tt.tokens, err, tt.err)
		}
		if err != nil && (strings.Contains(err.Error(), "wonderland") || strings.Contains(err.Error(), "secret")) {
			t.Errorf("error %q shows the password", err)
		}
	}

	users, tokens := authFiles(t)
	a, err := NewAuthenticator(users, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := a.Authenticate(BasicAuth("bob", "builder")); ok {
		t.Fatal("bob let in before he was added")
	}
	bob, _ := HashPassword("bob", "builder", RoleReadOnly)
	time.Sleep(10 * time.Millisecond) // a new modification time
	write(t, users, bob+"\n")
	a.mu.Lock()
	a.checked = time.Time{} // as if a second had passed
	a.mu.Unlock()
	name, role, ok, _ := a.Authenticate(BasicAuth("bob", "builder"))
	if !ok || name != "bob" || role != RoleReadOnly {
		t.Errorf("after the file changed: %q %v %v, want bob read-only", name, role, ok)
	}
	if _, _, ok, _ := a.Authenticate(BasicAuth("alice", "wonderland")); ok {
		t.Error("alice still let in after she was removed")
	}
}

// TestAuthCachedPassword: a password checked once is not checked against
// bcrypt again, and a different password is still refused.
func TestAuthCachedPassword(t *testing.T) {
	t.Parallel()
	users, tokens := authFiles(t)
	a, err := NewAuthenticator(users, tokens)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, ok, _ := a.Authenticate(BasicAuth("alice", "wonderland")); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if _, _, ok, _ := a.Authenticate(BasicAuth("alice", "wonderlanD")); ok {
		t.Error("a different password let in after the right one was cached")
	}
}

// TestCORS: preflights from allowed origins are answered without
// credentials; other origins get no CORS headers.
func TestCORS(t *testing.T) {
	t.Parallel()
	_, ts := securedServer(t, Options{CORS: CORS{AllowOrigin: "https://ui.example.com, https://other.example.com"}})
	code, _, h := do(t, ts, http.MethodOptions, "/connectors", "", "Origin", "https://ui.example.com", "Access-Control-Request-Method", "POST")
	got := map[string]string{"code": http.StatusText(code), "origin": h.Get("Access-Control-Allow-Origin"), "methods": h.Get("Access-Control-Allow-Methods")}
	want := map[string]string{"code": "No Content", "origin": "https://ui.example.com", "methods": "GET,POST,HEAD"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preflight (-want +got):\n%s", diff)
	}
	if _, _, h := do(t, ts, http.MethodGet, "/connectors", BasicAuth("alice", "wonderland"), "Origin", "https://evil.example.com"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin allowed: %q", h.Get("Access-Control-Allow-Origin"))
	}
	if _, _, h := do(t, ts, http.MethodGet, "/connectors", BasicAuth("alice", "wonderland"), "Origin", "https://other.example.com"); h.Get("Access-Control-Allow-Origin") != "https://other.example.com" {
		t.Errorf("allowed origin: %q", h.Get("Access-Control-Allow-Origin"))
	}
}

// TestAdminEndpoints: admin.listeners moves /admin/* to a server of its
// own, which serves nothing else.
func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	levels := runtime.NewLogLevels(slog.LevelInfo)
	serve := func(mode AdminEndpoints) *httptest.Server {
		ts := httptest.NewServer(New(seeded(), Options{Loggers: levels, Admin: mode}).Handler())
		t.Cleanup(ts.Close)
		return ts
	}
	got := map[string]int{}
	for name, mode := range map[string]AdminEndpoints{"here": AdminHere, "elsewhere": AdminElsewhere, "only": AdminOnly} {
		ts := serve(mode)
		got[name+" loggers"], _, _ = do(t, ts, http.MethodGet, "/admin/loggers", "")
		got[name+" connectors"], _, _ = do(t, ts, http.MethodGet, "/connectors", "")
	}
	want := map[string]int{"here loggers": 200, "here connectors": 200, "elsewhere loggers": 404, "elsewhere connectors": 200, "only loggers": 200, "only connectors": 404}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status codes (-want +got):\n%s", diff)
	}
}

// TestClientSendsCredentials: the Client sends its Authorization, and a
// request forwarded with a caller's credentials in its context sends the
// caller's instead.
func TestClientSendsCredentials(t *testing.T) {
	t.Parallel()
	_, ts := securedServer(t, Options{})
	c := &Client{BaseURL: ts.URL}
	if _, err := c.Connectors(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("no credentials: %v, want 401", err)
	}
	c.Authorization = BasicAuth("grafana", "dashboards")
	if _, err := c.Connectors(context.Background()); err != nil {
		t.Errorf("read-only list: %v", err)
	}
	if err := c.PauseConnector(context.Background(), "src"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("read-only pause: %v, want 403", err)
	}
	ctx := WithAuthorization(context.Background(), BasicAuth("alice", "wonderland"))
	if err := c.PauseConnector(ctx, "src"); err != nil {
		t.Errorf("pause with the caller's admin credentials: %v", err)
	}
	var ae *APIError
	_, err := (&Client{BaseURL: ts.URL, Authorization: BasicAuth("alice", "nope")}).Connectors(context.Background())
	if b, _ := json.Marshal(err); err == nil || !strings.Contains(err.Error(), "Unauthorized") || b == nil {
		t.Errorf("wrong password: %v", err)
	}
	_ = ae
}
