package api

import (
	"encoding/json"
	"golang.org/x/crypto/bcrypt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/connectd/connectd/framework/herder"
)

func TestMain(m *testing.M) {
	// Tests hash passwords at bcrypt's lowest cost, to stay quick under
	// the race detector; the code paths are the same.
	hashCost = bcrypt.MinCost
	goleak.VerifyTestMain(m)
}

// endpointTest is one request against a Server backed by a memHerder.
type endpointTest struct {
	method, path, body string
	// herder builds the herder; nil means seeded().
	herder func() *memHerder
	// wrap hides memHerder behind another herder.Herder, when set.
	wrap func(*memHerder) herder.Herder
	opts Options

	wantStatus int
	// wantBody is the JSON the response must equal; "" means no body.
	wantBody string
	// wantHeader lists headers the response must have, with these values.
	wantHeader http.Header
	// wantCalls, when not nil, are the mutating calls the herder must see.
	wantCalls []string
	// check, when set, inspects the herder afterwards.
	check func(t *testing.T, h *memHerder)
}

func runEndpointTests(t *testing.T, tests map[string]endpointTest) {
	t.Helper()
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			newHerder := tt.herder
			if newHerder == nil {
				newHerder = seeded
			}
			mh := newHerder()
			var h herder.Herder = mh
			if tt.wrap != nil {
				h = tt.wrap(mh)
			}
			ts := httptest.NewServer(New(h, tt.opts).Handler())
			defer ts.Close()

			got := call(t, ts, tt.method, tt.path, tt.body)
			if got.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			}
			if tt.wantBody == "" {
				if got.body != "" && tt.method != http.MethodHead {
					t.Errorf("body = %q, want none", got.body)
				}
			} else {
				if ct := got.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if d := jsonDiff(t, tt.wantBody, got.body); d != "" {
					t.Errorf("body mismatch (-want +got):\n%s", d)
				}
			}
			for k, want := range tt.wantHeader {
				if d := cmp.Diff(want, got.header.Values(k)); d != "" {
					t.Errorf("header %s mismatch (-want +got):\n%s", k, d)
				}
			}
			if tt.wantCalls != nil {
				if d := cmp.Diff(tt.wantCalls, mh.snapshot(), cmpopts.EquateEmpty()); d != "" {
					t.Errorf("herder calls mismatch (-want +got):\n%s", d)
				}
			}
			if tt.check != nil {
				tt.check(t, mh)
			}
		})
	}
}

type exchange struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, ts *httptest.Server, method, path, body string) exchange {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchange{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// jsonDiff compares two JSON texts as values, so that key order and
// spacing do not matter but every field and type does.
func jsonDiff(t *testing.T, want, got string) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON %q: %v", want, err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return "response is not JSON: " + got
	}
	return cmp.Diff(w, g)
}

// errBody is the JSON error body for code and message.
func errBody(code int, msg string) string {
	b, err := json.Marshal(APIError{Code: code, Message: msg})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// JSON of the seeded connectors, as Kafka Connect shapes it.
const (
	srcConfig = `{"connector.class":"datagen","name":"src","tasks.max":"2","topic":"t"}`
	srcInfo   = `{"name":"src","config":` + srcConfig + `,"tasks":[{"connector":"src","task":0},{"connector":"src","task":1}],"type":"source"}`
	outInfo   = `{"name":"out","config":{"connector.class":"file-sink","name":"out","topic":"t"},"tasks":[{"connector":"out","task":0}],"type":"sink"}`
	srcStatus = `{"name":"src","connector":{"state":"RUNNING","worker_id":"worker-1:8083"},"tasks":[` +
		`{"id":0,"state":"RUNNING","worker_id":"worker-1:8083"},{"id":1,"state":"RUNNING","worker_id":"worker-1:8083"}],"type":"source"}`
	outStatus = `{"name":"out","connector":{"state":"RUNNING","worker_id":"worker-1:8083"},"tasks":[` +
		`{"id":0,"state":"RUNNING","worker_id":"worker-1:8083"}],"type":"sink"}`
)

// hideExtras hides memHerder's optional interfaces.
func hideExtras(h *memHerder) herder.Herder { return struct{ herder.Herder }{h} }

// failing returns a herder constructor that injects err into method for
// connector name ("" for any).
func failing(method, name string, err error) func() *memHerder {
	return func() *memHerder {
		h := seeded()
		h.fail[method+"/"+name] = err
		return h
	}
}
