package api

import (
	"context"
	"testing"

	"github.com/connectd/connectd/framework/herder"
)

// PatchConnectorConfig makes memHerder a herder.ConfigPatcher.
func (h *memHerder) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (herder.ConnectorInfo, error) {
	h.mu.Lock()
	c, err := h.get(ctx, "PatchConnectorConfig", name)
	if err != nil {
		h.mu.Unlock()
		return herder.ConnectorInfo{}, err
	}
	merged := herder.PatchConfig(c.config, patch)
	merged["name"] = name
	h.calls = append(h.calls, "patch "+name)
	h.mu.Unlock()
	info, _, err := h.put(ctx, name, merged, true, herder.TargetStarted)
	return info, err
}

func TestPatchConnectorConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]endpointTest{
		"merges and removes": {
			method: "PATCH", path: "/connectors/src/config", body: `{"topic":"u","tasks.max":null,"rate":5}`,
			wantStatus: 200,
			wantBody:   `{"name":"src","config":{"connector.class":"datagen","name":"src","topic":"u","rate":"5"},"tasks":[{"connector":"src","task":0}],"type":"source"}`,
			check:      hasConfig("src", map[string]string{"connector.class": "datagen", "name": "src", "topic": "u", "rate": "5"}),
		},
		"empty patch keeps the config": {
			method: "PATCH", path: "/connectors/src/config", body: `{}`,
			wantStatus: 200,
			wantBody:   srcInfo,
		},
		"same name allowed": {
			method: "PATCH", path: "/connectors/src/config", body: `{"name":"src","topic":"v"}`,
			wantStatus: 200,
			check:      hasConfig("src", map[string]string{"connector.class": "datagen", "name": "src", "topic": "v", "tasks.max": "2"}),
			wantBody:   `{"name":"src","config":{"connector.class":"datagen","name":"src","topic":"v","tasks.max":"2"},"tasks":[{"connector":"src","task":0},{"connector":"src","task":1}],"type":"source"}`,
		},
		"unknown connector": {
			method: "PATCH", path: "/connectors/nope/config", body: `{"topic":"u"}`,
			wantStatus: 404, wantBody: errBody(404, "Connector nope not found"),
			wantCalls: []string{},
		},
		"invalid result": {
			method: "PATCH", path: "/connectors/src/config", body: `{"topic":null}`,
			wantStatus: 400, wantBody: errBody(400, validationMsg),
			check: hasConfig("src", map[string]string{"connector.class": "datagen", "name": "src", "tasks.max": "2", "topic": "t"}),
		},
		"rename refused": {
			method: "PATCH", path: "/connectors/src/config", body: `{"name":"other"}`,
			wantStatus: 400, wantBody: errBody(400, "Connector name configuration (other) doesn't match connector name in the URL (src)"),
			wantCalls: []string{},
		},
		"non-string value": {
			method: "PATCH", path: "/connectors/src/config", body: `{"topics":["a"],"x":{}}`,
			wantStatus: 400, wantBody: errBody(400, `Config values must be strings or null: "topics" is an array, "x" is an object`),
		},
		"body not an object": {
			method: "PATCH", path: "/connectors/src/config", body: `[]`,
			wantStatus: 400, wantBody: errBody(400, "Request body must be a JSON object of strings or nulls, not an array"),
		},
		"empty body": {
			method: "PATCH", path: "/connectors/src/config",
			wantStatus: 400, wantBody: errBody(400, "Request body is missing: expected a JSON object"),
		},
	}
	// Each case runs against a herder that patches in one step and one that
	// does not, which the API serves by reading and replacing.
	all := map[string]endpointTest{}
	for name, tt := range tests {
		all[name] = tt
		tt.wrap = hideExtras
		all[name+" (read and replace)"] = tt
	}
	runEndpointTests(t, all)
}
