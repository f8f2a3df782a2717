package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/connectd/connectd/framework/herder"
)

// topicsHerder adds active topics, kept in memory, to a memHerder.
type topicsHerder struct {
	*memHerder
	mu                  sync.Mutex
	topics              map[string][]string
	disabled, noResetOK bool
}

func (h *topicsHerder) ConnectorActiveTopics(ctx context.Context, name string) (herder.ActiveTopics, error) {
	if h.disabled {
		return herder.ActiveTopics{}, herder.TopicTrackingDisabled()
	}
	h.memHerder.mu.Lock()
	err := h.memHerder.check(ctx, "ConnectorActiveTopics", name)
	h.memHerder.mu.Unlock()
	if err != nil {
		return herder.ActiveTopics{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return herder.ActiveTopics{Topics: slices.Clone(h.topics[name])}, nil
}

func (h *topicsHerder) ResetConnectorActiveTopics(ctx context.Context, name string) error {
	switch {
	case h.disabled:
		return herder.TopicTrackingDisabled()
	case h.noResetOK:
		return herder.TopicTrackingResetDisabled()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.topics, name)
	return nil
}

// withTopics wraps a memHerder with src's active topics a and b.
func withTopics(disabled, noReset bool) func(*memHerder) herder.Herder {
	return func(mh *memHerder) herder.Herder {
		return &topicsHerder{memHerder: mh, topics: map[string][]string{"src": {"a", "b"}}, disabled: disabled, noResetOK: noReset}
	}
}

func TestTopicsEndpoints(t *testing.T) {
	t.Parallel()
	runEndpointTests(t, map[string]endpointTest{
		"get": {
			method: "GET", path: "/connectors/src/topics", wrap: withTopics(false, false),
			wantStatus: 200, wantBody: `{"src":{"topics":["a","b"]}}`,
		},
		"get none": {
			method: "GET", path: "/connectors/out/topics", wrap: withTopics(false, false),
			wantStatus: 200, wantBody: `{"out":{"topics":[]}}`,
		},
		// Kafka Connect answers an unknown connector with no topics, not 404.
		"get unknown": {
			method: "GET", path: "/connectors/nope/topics", wrap: withTopics(false, false),
			wantStatus: 200, wantBody: `{"nope":{"topics":[]}}`,
		},
		"get escaped name": {
			method: "GET", path: "/connectors/a%2Fb/topics", wrap: withTopics(false, false),
			wantStatus: 200, wantBody: `{"a/b":{"topics":[]}}`,
		},
		"get disabled": {
			method: "GET", path: "/connectors/src/topics", wrap: withTopics(true, false),
			wantStatus: 403, wantBody: errBody(403, "Topic tracking is disabled."),
		},
		"reset": {
			method: "PUT", path: "/connectors/src/topics/reset", wrap: withTopics(false, false),
			wantStatus: 202,
		},
		"reset disabled": {
			method: "PUT", path: "/connectors/src/topics/reset", wrap: withTopics(true, true),
			wantStatus: 403, wantBody: errBody(403, "Topic tracking is disabled."),
		},
		"reset not allowed": {
			method: "PUT", path: "/connectors/src/topics/reset", wrap: withTopics(false, true),
			wantStatus: 403, wantBody: errBody(403, "Topic tracking reset is disabled."),
		},
		"reset with GET": {
			method: "GET", path: "/connectors/src/topics/reset", wrap: withTopics(false, false),
			wantStatus: 405, wantBody: errBody(405, "HTTP 405 Method Not Allowed"),
		},
		"herder without topic tracking": {
			method: "GET", path: "/connectors/src/topics", wrap: hideExtras,
			wantStatus: 404, wantBody: errBody(404, "HTTP 404 Not Found"),
		},
		"rebalancing": {
			method: "GET", path: "/connectors/src/topics", wrap: withTopics(false, false),
			herder:     failing("ConnectorActiveTopics", "src", herder.ErrRebalancing),
			wantStatus: 409, wantBody: errBody(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"),
		},
	})
}

// TestTopicsResetThenGet checks that a reset empties what GET answers.
func TestTopicsResetThenGet(t *testing.T) {
	t.Parallel()
	h := withTopics(false, false)(seeded())
	ts := httptest.NewServer(New(h, Options{}).Handler())
	defer ts.Close()
	if got := call(t, ts, "PUT", "/connectors/src/topics/reset", ""); got.status != 202 || got.body != "" {
		t.Fatalf("reset = %d %q, want 202 and no body", got.status, got.body)
	}
	got := call(t, ts, "GET", "/connectors/src/topics", "")
	if d := jsonDiff(t, `{"src":{"topics":[]}}`, got.body); got.status != 200 || d != "" {
		t.Fatalf("after reset: status %d, body (-want +got):\n%s", got.status, d)
	}
}

// TestClientTopics: the client's calls of the active topics endpoints.
func TestClientTopics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClient(t, withTopics(false, false)(seeded()), Options{})
	got, err := c.ConnectorTopics(ctx, "src")
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ConnectorTopics = %v, %v; want [a b]", got, err)
	}
	if err := c.ResetConnectorTopics(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ConnectorTopics(ctx, "src"); err != nil || len(got) != 0 {
		t.Fatalf("ConnectorTopics after reset = %v, %v; want none", got, err)
	}
	off := newClient(t, withTopics(false, true)(seeded()), Options{})
	var ae *APIError
	if err := off.ResetConnectorTopics(ctx, "src"); !errors.As(err, &ae) || ae.Code != 403 || ae.Message != herder.MsgTopicTrackingResetDisabled {
		t.Fatalf("reset not allowed: %v; want a 403 %q", err, herder.MsgTopicTrackingResetDisabled)
	}
}
