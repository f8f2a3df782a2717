package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

const validationMsg = "Connector configuration is invalid and contains the following 1 error(s):\n" +
	`Missing required configuration "topic" which has no default value.` + "\n" +
	"You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"

// hasConfig checks a connector's stored config.
func hasConfig(name string, want map[string]string) func(*testing.T, *memHerder) {
	return func(t *testing.T, h *memHerder) {
		t.Helper()
		h.mu.Lock()
		defer h.mu.Unlock()
		c, ok := h.connectors[name]
		if !ok {
			t.Fatalf("connector %q does not exist", name)
		}
		if d := cmp.Diff(want, c.config); d != "" {
			t.Errorf("config of %q mismatch (-want +got):\n%s", name, d)
		}
	}
}

func TestListConnectors(t *testing.T) {
	t.Parallel()
	runEndpointTests(t, map[string]endpointTest{
		"names":          {method: "GET", path: "/connectors", wantStatus: 200, wantBody: `["out","src"]`},
		"trailing slash": {method: "GET", path: "/connectors/", wantStatus: 200, wantBody: `["out","src"]`},
		"none is an empty list": {
			method: "GET", path: "/connectors", herder: newMemHerder, wantStatus: 200, wantBody: `[]`,
		},
		"expand status": {
			method: "GET", path: "/connectors?expand=status", wantStatus: 200,
			wantBody: `{"out":{"status":` + outStatus + `},"src":{"status":` + srcStatus + `}}`,
		},
		"expand info": {
			method: "GET", path: "/connectors?expand=info", wantStatus: 200,
			wantBody: `{"out":{"info":` + outInfo + `},"src":{"info":` + srcInfo + `}}`,
		},
		"expand both": {
			method: "GET", path: "/connectors?expand=status&expand=info", wantStatus: 200,
			wantBody: `{"out":{"status":` + outStatus + `,"info":` + outInfo + `},"src":{"status":` + srcStatus + `,"info":` + srcInfo + `}}`,
		},
		"expand unknown is ignored": {
			method: "GET", path: "/connectors?expand=bogus", wantStatus: 200, wantBody: `{"out":{},"src":{}}`,
		},
		"expand none": {
			method: "GET", path: "/connectors?expand=status", herder: newMemHerder, wantStatus: 200, wantBody: `{}`,
		},
		"expand skips a connector deleted meanwhile": {
			method: "GET", path: "/connectors?expand=status",
			herder:     failing("ConnectorStatus", "out", herder.NotFound("No status found for connector out")),
			wantStatus: 200, wantBody: `{"src":{"status":` + srcStatus + `}}`,
		},
		"expand herder error": {
			method: "GET", path: "/connectors?expand=info",
			herder:     failing("ConnectorInfo", "out", errors.New("config log: broken")),
			wantStatus: 500, wantBody: errBody(500, "config log: broken"),
		},
		"rebalancing": {
			method: "GET", path: "/connectors", herder: failing("Connectors", "", herder.ErrRebalancing),
			wantStatus: 409, wantBody: errBody(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"),
		},
	})
}

func TestCreateConnector(t *testing.T) {
	t.Parallel()
	newInfo := `{"name":"new","config":{"connector.class":"datagen","name":"new","topic":"t"},"tasks":[{"connector":"new","task":0}],"type":"source"}`
	runEndpointTests(t, map[string]endpointTest{
		"created": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"}}`,
			wantStatus: 201, wantBody: newInfo,
			wantHeader: http.Header{"Location": {"/connectors/new"}},
			wantCalls:  []string{"put new STARTED"},
			check:      hasConfig("new", map[string]string{"connector.class": "datagen", "name": "new", "topic": "t"}),
		},
		"name in config too": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t","name":"new"}}`,
			wantStatus: 201, wantBody: newInfo,
		},
		"name only in config": {
			method: "POST", path: "/connectors",
			body:       `{"config":{"connector.class":"datagen","topic":"t","name":"new"}}`,
			wantStatus: 201, wantBody: newInfo,
		},
		"name trimmed as Kafka Connect does": {
			method: "POST", path: "/connectors",
			body:       `{"name":"  new\t","config":{"connector.class":"datagen","topic":"t"}}`,
			wantStatus: 201, wantBody: newInfo, wantHeader: http.Header{"Location": {"/connectors/new"}},
		},
		"name needing escapes": {
			method: "POST", path: "/connectors",
			body:       `{"name":"a/b c","config":{"connector.class":"datagen","topic":"t"}}`,
			wantStatus: 201,
			wantBody:   `{"name":"a/b c","config":{"connector.class":"datagen","name":"a/b c","topic":"t"},"tasks":[{"connector":"a/b c","task":0}],"type":"source"}`,
			wantHeader: http.Header{"Location": {"/connectors/a%2Fb%20c"}},
		},
		"numbers and booleans are taken as text": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t","tasks.max":3,"rate":1.50,"flag":true}}`,
			wantStatus: 201,
			wantBody: `{"name":"new","config":{"connector.class":"datagen","name":"new","topic":"t","tasks.max":"3","rate":"1.50","flag":"true"},` +
				`"tasks":[{"connector":"new","task":0},{"connector":"new","task":1},{"connector":"new","task":2}],"type":"source"}`,
		},
		"initial state paused": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"},"initial_state":"paused"}`,
			wantStatus: 201, wantBody: newInfo, wantCalls: []string{"put new PAUSED"},
		},
		"initial state stopped": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"},"initial_state":"STOPPED"}`,
			wantStatus: 201,
			wantBody:   `{"name":"new","config":{"connector.class":"datagen","name":"new","topic":"t"},"tasks":[],"type":"source"}`,
			wantCalls:  []string{"put new STOPPED"},
		},
		"initial state running": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"},"initial_state":"RUNNING"}`,
			wantStatus: 201, wantBody: newInfo, wantCalls: []string{"put new STARTED"},
		},
		"initial state the herder cannot honour": {
			method: "POST", path: "/connectors", wrap: hideExtras,
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"},"initial_state":"PAUSED"}`,
			wantStatus: 400, wantBody: errBody(400, "This worker cannot create a connector in initial_state PAUSED"),
			wantCalls: []string{},
		},
		"initial state unknown": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"},"initial_state":"ASLEEP"}`,
			wantStatus: 400, wantBody: errBody(400, `Invalid value "ASLEEP" for field "initial_state": must be one of RUNNING, PAUSED, STOPPED`),
		},
		"already exists": {
			method: "POST", path: "/connectors",
			body:       `{"name":"src","config":{"connector.class":"datagen","topic":"t"}}`,
			wantStatus: 409, wantBody: errBody(409, "Connector src already exists"),
		},
		"invalid config": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen"}}`,
			wantStatus: 400, wantBody: errBody(400, validationMsg),
		},
		"herder request error": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"nope"}}`,
			wantStatus: 400, wantBody: errBody(400, "Failed to find any class that implements Connector and which name matches nope"),
		},
		"rebalancing": {
			method: "POST", path: "/connectors", herder: failing("PutConnectorConfig", "new", herder.ErrRebalancing),
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"}}`,
			wantStatus: 409, wantBody: errBody(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"),
		},
		"herder failure": {
			method: "POST", path: "/connectors",
			herder:     failing("PutConnectorConfig", "new", errors.New("config log: write: not leader")),
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":"t"}}`,
			wantStatus: 500, wantBody: errBody(500, "config log: write: not leader"),
		},
		"name mismatch": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","name":"other"}}`,
			wantStatus: 400, wantBody: errBody(400, "Connector name configuration (other) doesn't match connector name in the URL (new)"),
		},
		"name mismatch after trim": {
			method: "POST", path: "/connectors",
			body:       `{"name":" new","config":{"connector.class":"datagen","name":" new"}}`,
			wantStatus: 400, wantBody: errBody(400, "Connector name configuration ( new) doesn't match connector name in the URL (new)"),
		},
		"missing name": {
			method: "POST", path: "/connectors", body: `{"config":{"connector.class":"datagen"}}`,
			wantStatus: 400, wantBody: errBody(400, `Missing required field "name": the connector's name`),
		},
		"null name": {
			method: "POST", path: "/connectors", body: `{"name":null,"config":{"connector.class":"datagen"}}`,
			wantStatus: 400, wantBody: errBody(400, `Missing required field "name": the connector's name`),
		},
		"empty name": {
			method: "POST", path: "/connectors", body: `{"name":"  ","config":{"connector.class":"datagen"}}`,
			wantStatus: 400, wantBody: errBody(400, `Invalid value "" for configuration name: String may not be empty`),
		},
		"name not a string": {
			method: "POST", path: "/connectors", body: `{"name":5,"config":{}}`,
			wantStatus: 400, wantBody: errBody(400, `Field "name" must be a string, not a number`),
		},
		"name with control characters": {
			method: "POST", path: "/connectors", body: `{"name":"a\u0001b\u007f","config":{"connector.class":"datagen"}}`,
			wantStatus: 400,
			wantBody:   errBody(400, `Invalid value "a\x01b\x7f" for configuration name: String may not contain control sequences but had the following ASCII chars: 1, 127`),
		},
		"missing config": {
			method: "POST", path: "/connectors", body: `{"name":"new"}`,
			wantStatus: 400, wantBody: errBody(400, `Missing required field "config": the connector's configuration, a JSON object of strings`),
		},
		"config not an object": {
			method: "POST", path: "/connectors", body: `{"name":"new","config":["a"]}`,
			wantStatus: 400, wantBody: errBody(400, `Field "config" must be a JSON object of strings, not an array`),
		},
		"non-string config values": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"connector.class":"datagen","topic":{"a":1},"x":null,"list":[1]}}`,
			wantStatus: 400, wantBody: errBody(400, `Config values must be strings: "list" is an array, "topic" is an object, "x" is null`),
		},
		"malformed JSON": {
			method: "POST", path: "/connectors", body: `{"name":"new",`,
			wantStatus: 400, wantBody: errBody(400, "Malformed JSON in request body at byte 14: unexpected end of JSON input"),
		},
		"malformed JSON inside": {
			method: "POST", path: "/connectors", body: `{"name":"new","config":{"a":tru}}`,
			wantStatus: 400, wantBody: errBody(400, "Malformed JSON in request body at byte 32: invalid character '}' in literal true (expecting 'e')"),
		},
		"trailing data": {
			method: "POST", path: "/connectors", body: `{"name":"new"} {}`,
			wantStatus: 400, wantBody: errBody(400, "Malformed JSON in request body at byte 16: invalid character '{' after top-level value"),
		},
		"empty body": {
			method: "POST", path: "/connectors", body: ``,
			wantStatus: 400, wantBody: errBody(400, "Request body is missing: expected a JSON object"),
		},
		"null body": {
			method: "POST", path: "/connectors", body: `null`,
			wantStatus: 400, wantBody: errBody(400, "Request body is missing: expected a JSON object"),
		},
		"body not an object": {
			method: "POST", path: "/connectors", body: `["new"]`,
			wantStatus: 400, wantBody: errBody(400, "Request body must be a JSON object, not an array"),
		},
		"body too large": {
			method: "POST", path: "/connectors",
			body:       `{"name":"new","config":{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`,
			wantStatus: 413, wantBody: errBody(413, "Request body is larger than the limit of 10485760 bytes"),
		},
	})
}

func TestConnectorEndpoints(t *testing.T) {
	t.Parallel()
	notFound := errBody(404, "Connector nope not found")
	runEndpointTests(t, map[string]endpointTest{
		"get":              {method: "GET", path: "/connectors/src", wantStatus: 200, wantBody: srcInfo},
		"get unknown":      {method: "GET", path: "/connectors/nope", wantStatus: 404, wantBody: notFound},
		"get escaped name": {method: "GET", path: "/connectors/no%2Fpe", wantStatus: 404, wantBody: errBody(404, "Connector no/pe not found")},
		"get bare sentinel is worded": {
			method: "GET", path: "/connectors/src", herder: failing("ConnectorInfo", "src", herder.ErrNotFound),
			wantStatus: 404, wantBody: errBody(404, "Connector src not found"),
		},
		"get config":         {method: "GET", path: "/connectors/src/config", wantStatus: 200, wantBody: srcConfig},
		"get config unknown": {method: "GET", path: "/connectors/nope/config", wantStatus: 404, wantBody: notFound},
		"delete": {
			method: "DELETE", path: "/connectors/src", wantStatus: 204, wantCalls: []string{"delete src"},
		},
		"delete unknown": {method: "DELETE", path: "/connectors/nope", wantStatus: 404, wantBody: notFound},
		"delete rebalancing": {
			method: "DELETE", path: "/connectors/src", herder: failing("DeleteConnector", "src", herder.ErrRebalancing),
			wantStatus: 409, wantBody: errBody(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"),
		},
		"status":         {method: "GET", path: "/connectors/src/status", wantStatus: 200, wantBody: srcStatus},
		"status unknown": {method: "GET", path: "/connectors/nope/status", wantStatus: 404, wantBody: errBody(404, "No status found for connector nope")},
		"status with a failed task": {
			method: "GET", path: "/connectors/out/status",
			herder: func() *memHerder {
				h := seeded()
				h.failedTasks[herder.TaskID{Connector: "out", Task: 0}] = true
				return h
			},
			wantStatus: 200,
			wantBody: `{"name":"out","connector":{"state":"RUNNING","worker_id":"worker-1:8083"},"tasks":[` +
				`{"id":0,"state":"FAILED","worker_id":"worker-1:8083","trace":"boom"}],"type":"sink"}`,
		},
		"tasks": {
			method: "GET", path: "/connectors/src/tasks", wantStatus: 200,
			wantBody: `[{"id":{"connector":"src","task":0},"config":{"task.id":"0","topic":"t"}},` +
				`{"id":{"connector":"src","task":1},"config":{"task.id":"1","topic":"t"}}]`,
		},
		"tasks unknown": {method: "GET", path: "/connectors/nope/tasks", wantStatus: 404, wantBody: notFound},
		"tasks of a stopped connector": {
			method: "GET", path: "/connectors/src/tasks",
			herder: func() *memHerder {
				h := seeded()
				h.connectors["src"].target = herder.TargetStopped
				return h
			},
			wantStatus: 200, wantBody: `[]`,
		},
		"task status": {
			method: "GET", path: "/connectors/src/tasks/1/status", wantStatus: 200,
			wantBody: `{"id":1,"state":"RUNNING","worker_id":"worker-1:8083"}`,
		},
		"task status unknown task": {
			method: "GET", path: "/connectors/src/tasks/9/status", wantStatus: 404,
			wantBody: errBody(404, "No status found for task src-9"),
		},
		"task status bad id": {
			method: "GET", path: "/connectors/src/tasks/one/status", wantStatus: 404,
			wantBody: errBody(404, `Task ID "one" is not an integer`),
		},
		"task status id overflows": {
			method: "GET", path: "/connectors/src/tasks/2147483648/status", wantStatus: 404,
			wantBody: errBody(404, `Task ID "2147483648" is not an integer`),
		},
		"restart": {
			method: "POST", path: "/connectors/src/restart", wantStatus: 204,
			wantCalls: []string{"restart src includeTasks=false onlyFailed=false"},
		},
		"restart with explicit false": {
			method: "POST", path: "/connectors/src/restart?includeTasks=false&onlyFailed=false", wantStatus: 204,
			wantCalls: []string{"restart src includeTasks=false onlyFailed=false"},
		},
		"restart with tasks": {
			method: "POST", path: "/connectors/src/restart?includeTasks=true", wantStatus: 202,
			wantBody: `{"name":"src","connector":{"state":"RESTARTING","worker_id":"worker-1:8083"},"tasks":[` +
				`{"id":0,"state":"RESTARTING","worker_id":"worker-1:8083"},{"id":1,"state":"RESTARTING","worker_id":"worker-1:8083"}],"type":"source"}`,
			wantCalls: []string{"restart src includeTasks=true onlyFailed=false"},
		},
		"restart only failed": {
			method: "POST", path: "/connectors/src/restart?includeTasks=TRUE&onlyFailed=true",
			herder: func() *memHerder {
				h := seeded()
				h.failedTasks[herder.TaskID{Connector: "src", Task: 1}] = true
				return h
			},
			wantStatus: 202,
			wantBody: `{"name":"src","connector":{"state":"RUNNING","worker_id":"worker-1:8083"},"tasks":[` +
				`{"id":0,"state":"RUNNING","worker_id":"worker-1:8083"},{"id":1,"state":"RESTARTING","worker_id":"worker-1:8083"}],"type":"source"}`,
			wantCalls: []string{"restart src includeTasks=true onlyFailed=true"},
		},
		"restart with a flag that is not true": {
			method: "POST", path: "/connectors/src/restart?includeTasks=yes", wantStatus: 204,
			wantCalls: []string{"restart src includeTasks=false onlyFailed=false"},
		},
		"restart unknown": {method: "POST", path: "/connectors/nope/restart", wantStatus: 404, wantBody: notFound},
		"restart task": {
			method: "POST", path: "/connectors/src/tasks/1/restart", wantStatus: 204,
			wantCalls: []string{"restart task src-1"},
		},
		"restart task unknown task": {
			method: "POST", path: "/connectors/src/tasks/7/restart", wantStatus: 404,
			wantBody: errBody(404, "Unknown task: src-7"),
		},
		"restart task unknown connector": {
			method: "POST", path: "/connectors/nope/tasks/0/restart", wantStatus: 404, wantBody: notFound,
		},
		"restart task bad id": {
			method: "POST", path: "/connectors/src/tasks/x/restart", wantStatus: 404,
			wantBody: errBody(404, `Task ID "x" is not an integer`), wantCalls: []string{},
		},
		"restart task bare sentinel is worded": {
			method: "POST", path: "/connectors/src/tasks/0/restart",
			herder:     failing("RestartTask", "src", herder.ErrNotFound),
			wantStatus: 404, wantBody: errBody(404, "Task src-0 not found"),
		},
		"pause": {
			method: "PUT", path: "/connectors/src/pause", wantStatus: 202, wantCalls: []string{"target src PAUSED"},
		},
		"pause unknown": {method: "PUT", path: "/connectors/nope/pause", wantStatus: 404, wantBody: notFound},
		"resume": {
			method: "PUT", path: "/connectors/src/resume", wantStatus: 202, wantCalls: []string{"target src STARTED"},
		},
		"resume unknown": {method: "PUT", path: "/connectors/nope/resume", wantStatus: 404, wantBody: notFound},
		"stop": {
			method: "PUT", path: "/connectors/src/stop", wantStatus: 204, wantCalls: []string{"target src STOPPED"},
		},
		"stop unknown": {method: "PUT", path: "/connectors/nope/stop", wantStatus: 404, wantBody: notFound},
	})
}

func TestPutConnectorConfig(t *testing.T) {
	t.Parallel()
	runEndpointTests(t, map[string]endpointTest{
		"creates": {
			method: "PUT", path: "/connectors/new/config", body: `{"connector.class":"datagen","topic":"t"}`,
			wantStatus: 201,
			wantBody:   `{"name":"new","config":{"connector.class":"datagen","name":"new","topic":"t"},"tasks":[{"connector":"new","task":0}],"type":"source"}`,
			wantHeader: http.Header{"Location": {"/connectors/new"}},
			check:      hasConfig("new", map[string]string{"connector.class": "datagen", "name": "new", "topic": "t"}),
		},
		"updates": {
			method: "PUT", path: "/connectors/src/config", body: `{"connector.class":"datagen","topic":"u","tasks.max":"1","name":"src"}`,
			wantStatus: 200,
			wantBody:   `{"name":"src","config":{"connector.class":"datagen","name":"src","topic":"u","tasks.max":"1"},"tasks":[{"connector":"src","task":0}],"type":"source"}`,
			wantHeader: http.Header{"Location": nil},
		},
		"escaped name": {
			method: "PUT", path: "/connectors/a%2Fb/config", body: `{"connector.class":"datagen","topic":"t"}`,
			wantStatus: 201,
			wantBody:   `{"name":"a/b","config":{"connector.class":"datagen","name":"a/b","topic":"t"},"tasks":[{"connector":"a/b","task":0}],"type":"source"}`,
			wantHeader: http.Header{"Location": {"/connectors/a%2Fb"}},
		},
		"name mismatch": {
			method: "PUT", path: "/connectors/src/config", body: `{"connector.class":"datagen","name":"other"}`,
			wantStatus: 400, wantBody: errBody(400, "Connector name configuration (other) doesn't match connector name in the URL (src)"),
		},
		"name with surrounding whitespace": {
			method: "PUT", path: "/connectors/%20src/config", body: `{"connector.class":"datagen","topic":"t"}`,
			wantStatus: 400, wantBody: errBody(400, `Invalid value " src" for configuration name: String may not begin or end with whitespace`),
		},
		"name with control characters": {
			method: "PUT", path: "/connectors/a%0Ab/config", body: `{"connector.class":"datagen","topic":"t"}`,
			wantStatus: 400,
			wantBody:   errBody(400, `Invalid value "a\nb" for configuration name: String may not contain control sequences but had the following ASCII chars: 10`),
		},
		"invalid config": {
			method: "PUT", path: "/connectors/src/config", body: `{"connector.class":"datagen"}`,
			wantStatus: 400, wantBody: errBody(400, validationMsg),
		},
		"create request shape by mistake": {
			method: "PUT", path: "/connectors/src/config", body: `{"name":"src","config":{"connector.class":"datagen"}}`,
			wantStatus: 400, wantBody: errBody(400, `Config values must be strings: "config" is an object`),
		},
		"non-string value": {
			method: "PUT", path: "/connectors/src/config", body: `{"connector.class":"datagen","topics":["a","b"]}`,
			wantStatus: 400, wantBody: errBody(400, `Config values must be strings: "topics" is an array`),
		},
		"body not an object": {
			method: "PUT", path: "/connectors/src/config", body: `"datagen"`,
			wantStatus: 400, wantBody: errBody(400, "Request body must be a JSON object of strings, not a string"),
		},
		"empty body": {
			method: "PUT", path: "/connectors/src/config",
			wantStatus: 400, wantBody: errBody(400, "Request body is missing: expected a JSON object"),
		},
		"malformed JSON": {
			method: "PUT", path: "/connectors/src/config", body: `{"a":"b"`,
			wantStatus: 400, wantBody: errBody(400, "Malformed JSON in request body at byte 8: unexpected end of JSON input"),
		},
		"rebalancing": {
			method: "PUT", path: "/connectors/src/config", body: `{"connector.class":"datagen","topic":"t"}`,
			herder:     failing("PutConnectorConfig", "src", herder.ErrRebalancing),
			wantStatus: 409, wantBody: errBody(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"),
		},
	})
}
