package api

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

// memHerder serves the offsets endpoints from memory: source partitions
// are whole JSON objects, changed only while the connector is stopped.

func (h *memHerder) ConnectorOffsets(ctx context.Context, name string) (herder.ConnectorOffsets, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.get(ctx, "ConnectorOffsets", name); err != nil {
		return herder.ConnectorOffsets{}, err
	}
	return herder.ConnectorOffsets{Offsets: h.offsets[name]}, nil
}

func (h *memHerder) AlterConnectorOffsets(ctx context.Context, name string, offsets []herder.ConnectorOffset) (herder.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "AlterConnectorOffsets", name)
	if err != nil {
		return herder.Message{}, err
	}
	if c.target != herder.TargetStopped {
		return herder.Message{}, herder.BadRequest("%s", herder.MsgNotStopped(name))
	}
	for _, o := range offsets {
		kept := h.offsets[name][:0]
		for _, e := range h.offsets[name] {
			if string(e.Partition) != string(o.Partition) {
				kept = append(kept, e)
			}
		}
		if o.Offset != nil {
			kept = append(kept, o)
		}
		h.offsets[name] = kept
	}
	h.calls = append(h.calls, "alter offsets "+name)
	return herder.Message{Message: herder.MsgOffsetsAltered}, nil
}

func (h *memHerder) ResetConnectorOffsets(ctx context.Context, name string) (herder.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(ctx, "ResetConnectorOffsets", name)
	if err != nil {
		return herder.Message{}, err
	}
	if c.target != herder.TargetStopped {
		return herder.Message{}, herder.BadRequest("%s", herder.MsgNotStopped(name))
	}
	delete(h.offsets, name)
	h.calls = append(h.calls, "reset offsets "+name)
	return herder.Message{Message: herder.MsgOffsetsReset}, nil
}

// withOffsets returns a seeded herder whose src has offsets, stopped if
// asked.
func withOffsets(stopped bool) func() *memHerder {
	return func() *memHerder {
		h := seeded()
		h.offsets["src"] = []herder.ConnectorOffset{
			{Partition: json.RawMessage(`{"file":"a"}`), Offset: json.RawMessage(`{"line":5}`)},
			{Partition: json.RawMessage(`{"file":"b"}`), Offset: json.RawMessage(`{"line":7}`)},
		}
		if stopped {
			h.connectors["src"].target = herder.TargetStopped
		}
		return h
	}
}

func hasOffsets(name string, want string) func(*testing.T, *memHerder) {
	return func(t *testing.T, h *memHerder) {
		t.Helper()
		b, err := json.Marshal(h.offsets[name])
		if err != nil {
			t.Fatal(err)
		}
		if d := jsonDiff(t, want, string(b)); d != "" {
			t.Errorf("offsets of %s (-want +got):\n%s", name, d)
		}
	}
}

func TestOffsetsEndpoints(t *testing.T) {
	t.Parallel()
	const notStopped = "Connectors must be in the STOPPED state before their offsets can be modified. " +
		"This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint"
	runEndpointTests(t, map[string]endpointTest{
		"get": {
			method: "GET", path: "/connectors/src/offsets", herder: withOffsets(false),
			wantStatus: 200,
			wantBody:   `{"offsets":[{"partition":{"file":"a"},"offset":{"line":5}},{"partition":{"file":"b"},"offset":{"line":7}}]}`,
		},
		"get none": {
			method: "GET", path: "/connectors/out/offsets",
			wantStatus: 200, wantBody: `{"offsets":[]}`,
		},
		"get unknown": {
			method: "GET", path: "/connectors/nope/offsets",
			wantStatus: 404, wantBody: errBody(404, "Connector nope not found"),
		},
		"alter": {
			method: "PATCH", path: "/connectors/src/offsets", herder: withOffsets(true),
			body:       `{"offsets":[{"partition":{"file":"a"},"offset":{"line":1}},{"partition":{"file":"b"},"offset":null},{"partition":{"file":"c"},"offset":{"line":3}}]}`,
			wantStatus: 200, wantBody: `{"message":"The offsets for this connector have been altered successfully"}`,
			wantCalls: []string{"alter offsets src"},
			check:     hasOffsets("src", `[{"partition":{"file":"a"},"offset":{"line":1}},{"partition":{"file":"c"},"offset":{"line":3}}]`),
		},
		"alter a running connector": {
			method: "PATCH", path: "/connectors/src/offsets", herder: withOffsets(false),
			body:       `{"offsets":[{"partition":{"file":"a"},"offset":{"line":1}}]}`,
			wantStatus: 400, wantBody: errBody(400, notStopped),
			wantCalls: []string{},
		},
		"alter without offsets": {
			method: "PATCH", path: "/connectors/src/offsets", herder: withOffsets(true), body: `{}`,
			wantStatus: 400, wantBody: errBody(400, "Partitions / offsets need to be provided for an alter offsets request"),
		},
		"alter with empty offsets": {
			method: "PATCH", path: "/connectors/src/offsets", herder: withOffsets(true), body: `{"offsets":[]}`,
			wantStatus: 400, wantBody: errBody(400, "Partitions / offsets need to be provided for an alter offsets request"),
		},
		"alter with a partition not an object": {
			method: "PATCH", path: "/connectors/src/offsets", herder: withOffsets(true), body: `{"offsets":[{"partition":"a","offset":{"x":1}}]}`,
			wantStatus: 400, wantBody: errBody(400, `Field "partition" of element 0 of "offsets" must be a JSON object or null, not a string`),
		},
		"alter with offsets not a list": {
			method: "PATCH", path: "/connectors/src/offsets", herder: withOffsets(true), body: `{"offsets":{"partition":{}}}`,
			wantStatus: 400, wantBody: errBody(400, `Field "offsets" must be a JSON array of {"partition": {...}, "offset": {...}} objects, not an object`),
		},
		"alter unknown": {
			method: "PATCH", path: "/connectors/nope/offsets", body: `{"offsets":[{"partition":{"a":1},"offset":null}]}`,
			wantStatus: 404, wantBody: errBody(404, "Connector nope not found"),
		},
		"reset": {
			method: "DELETE", path: "/connectors/src/offsets", herder: withOffsets(true),
			wantStatus: 200, wantBody: `{"message":"The offsets for this connector have been reset successfully"}`,
			wantCalls: []string{"reset offsets src"},
			check:     hasOffsets("src", `null`),
		},
		"reset a running connector": {
			method: "DELETE", path: "/connectors/src/offsets", herder: withOffsets(false),
			wantStatus: 400, wantBody: errBody(400, notStopped),
			check: hasOffsets("src", `[{"partition":{"file":"a"},"offset":{"line":5}},{"partition":{"file":"b"},"offset":{"line":7}}]`),
		},
		"herder without offsets": {
			method: "GET", path: "/connectors/src/offsets", wrap: hideExtras,
			wantStatus: 404, wantBody: errBody(404, "HTTP 404 Not Found"),
		},
		"rebalancing": {
			method: "DELETE", path: "/connectors/src/offsets",
			herder:     failing("ResetConnectorOffsets", "src", herder.ErrRebalancing),
			wantStatus: 409, wantBody: errBody(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"),
		},
	})
}

func TestParseOffsetsRequestNullOffset(t *testing.T) {
	t.Parallel()
	got, err := parseOffsetsRequest([]byte(`{"offsets":[{"partition":{"p":1}},{"partition":{"p":2},"offset":null},{"partition":{"p":3},"offset":{"o":"x"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []herder.ConnectorOffset{
		{Partition: json.RawMessage(`{"p":1}`)},
		{Partition: json.RawMessage(`{"p":2}`)},
		{Partition: json.RawMessage(`{"p":3}`), Offset: json.RawMessage(`{"o":"x"}`)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("parsed (-want +got):\n%s", d)
	}
}
