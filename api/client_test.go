package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

func newClient(t *testing.T, h herder.Herder, opts Options) *Client {
	t.Helper()
	ts := httptest.NewServer(New(h, opts).Handler())
	t.Cleanup(ts.Close)
	return &Client{BaseURL: ts.URL + "/", HTTP: ts.Client()}
}

var (
	srcTasks = []herder.TaskID{{Connector: "src", Task: 0}, {Connector: "src", Task: 1}}
	srcCfg   = map[string]string{"connector.class": "datagen", "name": "src", "tasks.max": "2", "topic": "t"}
)

func running(id int) herder.TaskState {
	return herder.TaskState{ID: id, State: herder.Running, WorkerID: testWorker}
}

// TestClient calls each method against a Server and checks what it returns.
func TestClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srcInfo := herder.ConnectorInfo{Name: "src", Config: srcCfg, Tasks: srcTasks, Type: herder.Source}
	srcStatus := herder.ConnectorStatus{
		Name:      "src",
		Connector: herder.ConnectorState{State: herder.Running, WorkerID: testWorker},
		Tasks:     []herder.TaskState{running(0), running(1)},
		Type:      herder.Source,
	}
	tests := map[string]struct {
		call      func(c *Client) (any, error)
		want      any
		wantCalls []string
	}{
		"server info": {
			call: func(c *Client) (any, error) { return c.ServerInfo(ctx) },
			want: herder.ServerInfo{Version: "0.1.0", Commit: "abc123", KafkaClusterID: "cluster-1"},
		},
		"health": {
			call: func(c *Client) (any, error) { return c.Health(ctx) },
			want: WorkerStatus{Status: "healthy", Message: healthyMessage},
		},
		"connectors": {
			call: func(c *Client) (any, error) { return c.Connectors(ctx) },
			want: []string{"out", "src"},
		},
		"connectors expanded": {
			call: func(c *Client) (any, error) {
				m, err := c.ConnectorsExpanded(ctx, "status", "info")
				return m["src"], err
			},
			want: ConnectorExpansion{Status: &srcStatus, Info: &srcInfo},
		},
		"connectors expanded with nothing": {
			call: func(c *Client) (any, error) { return c.ConnectorsExpanded(ctx) },
			want: map[string]ConnectorExpansion{"out": {}, "src": {}},
		},
		"create": {
			call: func(c *Client) (any, error) {
				return c.CreateConnector(ctx, "a/b", map[string]string{"connector.class": "datagen", "topic": "t"})
			},
			want: herder.ConnectorInfo{
				Name: "a/b", Config: map[string]string{"connector.class": "datagen", "name": "a/b", "topic": "t"},
				Tasks: []herder.TaskID{{Connector: "a/b", Task: 0}}, Type: herder.Source,
			},
			wantCalls: []string{"put a/b STARTED"},
		},
		"connector": {
			call: func(c *Client) (any, error) { return c.Connector(ctx, "src") },
			want: srcInfo,
		},
		"connector config": {
			call: func(c *Client) (any, error) { return c.ConnectorConfig(ctx, "src") },
			want: srcCfg,
		},
		"put config creates": {
			call: func(c *Client) (any, error) {
				_, created, err := c.PutConnectorConfig(ctx, "new", map[string]string{"connector.class": "datagen", "topic": "t"})
				return created, err
			},
			want: true, wantCalls: []string{"put new STARTED"},
		},
		"put config updates": {
			call: func(c *Client) (any, error) {
				_, created, err := c.PutConnectorConfig(ctx, "src", srcCfg)
				return created, err
			},
			want: false, wantCalls: []string{"put src STARTED"},
		},
		"delete": {
			call:      func(c *Client) (any, error) { return nil, c.DeleteConnector(ctx, "src") },
			wantCalls: []string{"delete src"},
		},
		"status": {
			call: func(c *Client) (any, error) { return c.ConnectorStatus(ctx, "src") },
			want: srcStatus,
		},
		"task configs": {
			call: func(c *Client) (any, error) { return c.TaskConfigs(ctx, "src") },
			want: []herder.TaskInfo{
				{ID: srcTasks[0], Config: map[string]string{"task.id": "0", "topic": "t"}},
				{ID: srcTasks[1], Config: map[string]string{"task.id": "1", "topic": "t"}},
			},
		},
		"task status": {
			call: func(c *Client) (any, error) { return c.TaskStatus(ctx, "src", 1) },
			want: running(1),
		},
		"restart": {
			call: func(c *Client) (any, error) {
				st, err := c.RestartConnector(ctx, "src", false, false)
				return st == nil, err
			},
			want: true, wantCalls: []string{"restart src includeTasks=false onlyFailed=false"},
		},
		"restart with tasks": {
			call: func(c *Client) (any, error) {
				st, err := c.RestartConnector(ctx, "src", true, false)
				if err != nil {
					return nil, err
				}
				return st.Connector.State, nil
			},
			want: herder.Restarting, wantCalls: []string{"restart src includeTasks=true onlyFailed=false"},
		},
		"restart task": {
			call:      func(c *Client) (any, error) { return nil, c.RestartTask(ctx, "src", 0) },
			wantCalls: []string{"restart task src-0"},
		},
		"pause": {
			call:      func(c *Client) (any, error) { return nil, c.PauseConnector(ctx, "src") },
			wantCalls: []string{"target src PAUSED"},
		},
		"resume": {
			call:      func(c *Client) (any, error) { return nil, c.ResumeConnector(ctx, "src") },
			wantCalls: []string{"target src STARTED"},
		},
		"stop": {
			call:      func(c *Client) (any, error) { return nil, c.StopConnector(ctx, "src") },
			wantCalls: []string{"target src STOPPED"},
		},
		"plugins": {
			call: func(c *Client) (any, error) { return c.Plugins(ctx, true) },
			want: []herder.PluginInfo{{Class: "datagen", Type: "source", Version: "0.1.0"}, {Class: "file-sink", Type: "sink", Version: "0.1.0"}},
		},
		"all plugins": {
			call: func(c *Client) (any, error) {
				ps, err := c.Plugins(ctx, false)
				return len(ps), err
			},
			want: 3,
		},
		"plugin config": {
			call: func(c *Client) (any, error) { return c.PluginConfig(ctx, "datagen") },
			want: herder.KeyInfos(datagenDef),
		},
		"validate": {
			call: func(c *Client) (any, error) {
				v, err := c.ValidateConfig(ctx, "datagen", map[string]string{"tasks.max": "2"})
				return v.ErrorCount, err
			},
			want: 1,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := seeded()
			got, err := tt.call(newClient(t, h, Options{}))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("result mismatch (-want +got):\n%s", d)
			}
			if tt.wantCalls != nil {
				if d := cmp.Diff(tt.wantCalls, h.snapshot()); d != "" {
					t.Errorf("herder calls mismatch (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close) // after the parallel subtests
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(empty.Close)

	tests := map[string]struct {
		call         func(c *Client) error
		client       func(t *testing.T) *Client
		want         *APIError
		wantNotFound bool
	}{
		"not found": {
			call:         func(c *Client) error { _, err := c.Connector(ctx, "nope"); return err },
			want:         &APIError{Code: 404, Message: "Connector nope not found"},
			wantNotFound: true,
		},
		"already exists": {
			call: func(c *Client) error {
				_, err := c.CreateConnector(ctx, "src", map[string]string{"connector.class": "datagen", "topic": "t"})
				return err
			},
			want: &APIError{Code: 409, Message: "Connector src already exists"},
		},
		"invalid config": {
			call: func(c *Client) error {
				_, err := c.CreateConnector(ctx, "new", map[string]string{"connector.class": "datagen"})
				return err
			},
			want: &APIError{Code: 400, Message: validationMsg},
		},
		"starting": {
			call:   func(c *Client) error { _, err := c.Health(ctx); return err },
			client: func(t *testing.T) *Client { return newClient(t, seeded(), Options{Ready: notReady}) },
			want:   &APIError{Code: 503, Message: "Worker is still starting up. joining group connect-cluster"},
		},
		"proxy page": {
			call:   func(c *Client) error { _, err := c.Connectors(ctx); return err },
			client: func(t *testing.T) *Client { return &Client{BaseURL: proxy.URL, HTTP: proxy.Client()} },
			want:   &APIError{Code: 502, Message: "upstream unavailable"},
		},
		"no body": {
			call:   func(c *Client) error { return c.PauseConnector(ctx, "src") },
			client: func(t *testing.T) *Client { return &Client{BaseURL: empty.URL, HTTP: empty.Client()} },
			want:   &APIError{Code: 503, Message: "Service Unavailable"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var c *Client
			if tt.client != nil {
				c = tt.client(t)
			} else {
				c = newClient(t, seeded(), Options{})
			}
			err := tt.call(c)
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("error = %v, want an *APIError", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("APIError mismatch (-want +got):\n%s", d)
			}
			if errors.Is(err, herder.ErrNotFound) != tt.wantNotFound {
				t.Errorf("errors.Is(err, herder.ErrNotFound) = %t, want %t", !tt.wantNotFound, tt.wantNotFound)
			}
		})
	}
}

func TestClientTransportError(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	c := &Client{BaseURL: ts.URL, HTTP: ts.Client()}
	ts.Close()
	_, err := c.Connectors(context.Background())
	var apiErr *APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want a transport error", err)
	}
}
