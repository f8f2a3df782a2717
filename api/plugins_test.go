package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The datagen definitions as GET /connector-plugins/datagen/config shows them.
const (
	defClass = `{"name":"connector.class","type":"CLASS","required":true,"default_value":null,"importance":"HIGH",` +
		`"documentation":"The plugin.","group":null,"order_in_group":0,"width":"NONE","display_name":"connector.class","dependents":[],"order":1}`
	defTasks = `{"name":"tasks.max","type":"INT","required":false,"default_value":"1","importance":"HIGH",` +
		`"documentation":"Most tasks.","group":null,"order_in_group":0,"width":"NONE","display_name":"tasks.max","dependents":[],"order":2}`
	defTopic = `{"name":"topic","type":"STRING","required":true,"default_value":null,"importance":"HIGH",` +
		`"documentation":"Where records go.","group":"Output","order_in_group":1,"width":"NONE","display_name":"topic","dependents":[],"order":3}`
)

func TestPluginEndpoints(t *testing.T) {
	t.Parallel()
	valid := `{"name":"datagen","error_count":0,"groups":["Output"],"configs":[` +
		`{"definition":` + defClass + `,"value":{"name":"connector.class","value":"datagen","recommended_values":[],"errors":[],"visible":true}},` +
		`{"definition":` + defTasks + `,"value":{"name":"tasks.max","value":"2","recommended_values":[],"errors":[],"visible":true}},` +
		`{"definition":` + defTopic + `,"value":{"name":"topic","value":"t","recommended_values":[],"errors":[],"visible":true}}]}`
	runEndpointTests(t, map[string]endpointTest{
		"list connectors only": {
			method: "GET", path: "/connector-plugins", wantStatus: 200,
			wantBody: `[{"class":"datagen","type":"source","version":"0.1.0"},{"class":"file-sink","type":"sink","version":"0.1.0"}]`,
		},
		"list connectors only, explicitly": {
			method: "GET", path: "/connector-plugins?connectorsOnly=true", wantStatus: 200,
			wantBody: `[{"class":"datagen","type":"source","version":"0.1.0"},{"class":"file-sink","type":"sink","version":"0.1.0"}]`,
		},
		"list all": {
			method: "GET", path: "/connector-plugins?connectorsOnly=false", wantStatus: 200,
			wantBody: `[{"class":"datagen","type":"source","version":"0.1.0"},{"class":"file-sink","type":"sink","version":"0.1.0"},` +
				`{"class":"org.apache.kafka.connect.transforms.InsertField$Value","type":"transformation"}]`,
		},
		"list none": {
			method: "GET", path: "/connector-plugins",
			herder:     func() *memHerder { h := newMemHerder(); h.plugins = nil; return h },
			wantStatus: 200, wantBody: `[]`,
		},
		"config": {
			method: "GET", path: "/connector-plugins/datagen/config", wantStatus: 200,
			wantBody: `[` + defClass + `,` + defTasks + `,` + defTopic + `]`,
		},
		"config unknown plugin": {
			method: "GET", path: "/connector-plugins/nope/config", wantStatus: 404,
			wantBody: errBody(404, "Unknown plugin nope."),
		},
		"validate": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate",
			body:       `{"connector.class":"datagen","tasks.max":"2","topic":"t"}`,
			wantStatus: 200, wantBody: valid,
		},
		"validate fills in connector.class": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate",
			body:       `{"tasks.max":2,"topic":"t"}`,
			wantStatus: 200, wantBody: valid,
			check: func(t *testing.T, h *memHerder) {
				want := map[string]string{"connector.class": "datagen", "tasks.max": "2", "topic": "t"}
				if d := cmp.Diff(want, h.validated); d != "" {
					t.Errorf("validated config mismatch (-want +got):\n%s", d)
				}
			},
		},
		"validate with errors is still a 200": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate",
			body:       `{"connector.class":"datagen","tasks.max":"0"}`,
			wantStatus: 200,
			wantBody: `{"name":"datagen","error_count":2,"groups":["Output"],"configs":[` +
				`{"definition":` + defClass + `,"value":{"name":"connector.class","value":"datagen","recommended_values":[],"errors":[],"visible":true}},` +
				`{"definition":` + defTasks + `,"value":{"name":"tasks.max","value":"0","recommended_values":[],"errors":["Invalid value 0 for configuration tasks.max: Value must be at least 1"],"visible":true}},` +
				`{"definition":` + defTopic + `,"value":{"name":"topic","value":null,"recommended_values":[],"errors":["Missing required configuration \"topic\" which has no default value."],"visible":true}}]}`,
		},
		"validate class mismatch": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate",
			body:       `{"connector.class":"file-sink"}`,
			wantStatus: 400, wantBody: errBody(400, "Included connector type file-sink does not match request type datagen"),
		},
		"validate unknown plugin": {
			method: "PUT", path: "/connector-plugins/nope/config/validate", body: `{}`,
			wantStatus: 404, wantBody: errBody(404, "Unknown plugin nope."),
		},
		"validate without a body": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate",
			wantStatus: 400, wantBody: errBody(400, "Request body is missing: expected a JSON object"),
		},
		"validate malformed JSON": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate", body: `{"topic":}`,
			wantStatus: 400, wantBody: errBody(400, "Malformed JSON in request body at byte 10: invalid character '}' looking for beginning of value"),
		},
		"validate non-string value": {
			method: "PUT", path: "/connector-plugins/datagen/config/validate", body: `{"topic":{"name":"t"}}`,
			wantStatus: 400, wantBody: errBody(400, `Config values must be strings: "topic" is an object`),
		},
	})
}

func TestFillPluginClass(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		plugin string
		config map[string]string
		want   string
	}{
		"absent class comes from the path": {plugin: "datagen", config: map[string]string{}, want: "datagen"},
		// An alias is resolved by the herder, so it is passed on as it is.
		"present class is kept": {plugin: "postgres-cdc", config: map[string]string{connectorClassConfig: "io.debezium.connector.postgresql.PostgresConnector"}, want: "io.debezium.connector.postgresql.PostgresConnector"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fillPluginClass(tt.plugin, tt.config)
			if got := tt.config[connectorClassConfig]; got != tt.want {
				t.Errorf("connector.class = %q, want %q", got, tt.want)
			}
		})
	}
}
