package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/connectd/connectd/framework/herder"
)

// Client calls a connectd (or Kafka Connect) REST API. Its methods mirror
// the endpoints and return the herder package's types. A response with a
// status of 400 or more is returned as an *APIError; other failures (the
// connection, a body that does not decode) are wrapped errors.
//
// A Client is safe for concurrent use once its fields are set.
type Client struct {
	// BaseURL is the worker's address, e.g. "http://localhost:8083".
	BaseURL string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Sign, when set, signs the internal requests (PutTaskConfigs,
	// FenceZombies): it returns the headers that carry the body's
	// signature (KIP-507; herder.SignatureHeader). Workers set it.
	Sign func(body []byte) (http.Header, error)
	// Authorization, when set, is sent as every request's Authorization
	// header (see BasicAuth and BearerAuth). A request whose context
	// carries a caller's credentials (WithAuthorization: a request a
	// worker forwards) sends those instead.
	Authorization string
}

// BasicAuth returns an Authorization header value for HTTP basic auth.
func BasicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// BearerAuth returns an Authorization header value for a bearer token.
func BearerAuth(token string) string { return "Bearer " + token }

// ForwardedHeader marks a request one worker forwards to another (see
// herder.WithForwarded).
const ForwardedHeader = "X-Connectd-Forwarded"

// ServerInfo calls GET /.
func (c *Client) ServerInfo(ctx context.Context) (herder.ServerInfo, error) {
	var out herder.ServerInfo
	_, err := c.do(ctx, http.MethodGet, "/", nil, nil, &out)
	return out, err
}

// Health calls GET /health. A worker still starting answers 503, returned
// as an *APIError whose message is the status message.
func (c *Client) Health(ctx context.Context) (WorkerStatus, error) {
	var out WorkerStatus
	_, err := c.do(ctx, http.MethodGet, "/health", nil, nil, &out)
	return out, err
}

// Connectors calls GET /connectors.
func (c *Client) Connectors(ctx context.Context) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodGet, "/connectors", nil, nil, &out)
	return out, err
}

// ConnectorsExpanded calls GET /connectors with an expand parameter for
// each of expand ("status", "info").
func (c *Client) ConnectorsExpanded(ctx context.Context, expand ...string) (map[string]ConnectorExpansion, error) {
	q := url.Values{"expand": expand}
	if len(expand) == 0 {
		q.Set("expand", "")
	}
	var out map[string]ConnectorExpansion
	_, err := c.do(ctx, http.MethodGet, "/connectors", q, nil, &out)
	return out, err
}

// CreateConnector calls POST /connectors. An existing connector is an
// *APIError with code 409.
func (c *Client) CreateConnector(ctx context.Context, name string, config map[string]string) (herder.ConnectorInfo, error) {
	req := struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}{name, config}
	var out herder.ConnectorInfo
	_, err := c.do(ctx, http.MethodPost, "/connectors", nil, req, &out)
	return out, err
}

// CreateConnectorInState calls POST /connectors with an initial_state
// (RUNNING, PAUSED or STOPPED, as Kafka Connect names them).
func (c *Client) CreateConnectorInState(ctx context.Context, name string, config map[string]string, state herder.TargetState) (herder.ConnectorInfo, error) {
	in := map[string]any{"name": name, "config": config, "initial_state": initialStateName(state)}
	var out herder.ConnectorInfo
	_, err := c.do(ctx, http.MethodPost, "/connectors", nil, in, &out)
	return out, err
}

// PutTaskConfigs calls POST /connectors/{c}/tasks, the endpoint through
// which workers of a cluster hand generated task configs to the leader.
func (c *Client) PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	_, err := c.send(ctx, http.MethodPost, connectorPath(name, "/tasks"), nil, configs, nil, true)
	return err
}

// FenceZombies calls PUT /connectors/{c}/fence, Kafka Connect's internal
// endpoint through which a worker asks the leader to fence out a source
// connector's older tasks before it starts the current ones exactly once.
// The request has no body; it is signed like PutTaskConfigs.
func (c *Client) FenceZombies(ctx context.Context, name string) error {
	_, err := c.send(ctx, http.MethodPut, connectorPath(name, "/fence"), nil, nil, nil, true)
	return err
}

// Connector calls GET /connectors/{name}.
func (c *Client) Connector(ctx context.Context, name string) (herder.ConnectorInfo, error) {
	var out herder.ConnectorInfo
	_, err := c.do(ctx, http.MethodGet, connectorPath(name, ""), nil, nil, &out)
	return out, err
}

// ConnectorConfig calls GET /connectors/{name}/config.
func (c *Client) ConnectorConfig(ctx context.Context, name string) (map[string]string, error) {
	var out map[string]string
	_, err := c.do(ctx, http.MethodGet, connectorPath(name, "/config"), nil, nil, &out)
	return out, err
}

// PutConnectorConfig calls PUT /connectors/{name}/config, which creates the
// connector or replaces its config; created says which.
func (c *Client) PutConnectorConfig(ctx context.Context, name string, config map[string]string) (info herder.ConnectorInfo, created bool, err error) {
	status, err := c.do(ctx, http.MethodPut, connectorPath(name, "/config"), nil, config, &info)
	return info, status == http.StatusCreated, err
}

// DeleteConnector calls DELETE /connectors/{name}.
func (c *Client) DeleteConnector(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, connectorPath(name, ""), nil, nil, nil)
	return err
}

// ConnectorStatus calls GET /connectors/{name}/status.
func (c *Client) ConnectorStatus(ctx context.Context, name string) (herder.ConnectorStatus, error) {
	var out herder.ConnectorStatus
	_, err := c.do(ctx, http.MethodGet, connectorPath(name, "/status"), nil, nil, &out)
	return out, err
}

// TaskConfigs calls GET /connectors/{name}/tasks.
func (c *Client) TaskConfigs(ctx context.Context, name string) ([]herder.TaskInfo, error) {
	var out []herder.TaskInfo
	_, err := c.do(ctx, http.MethodGet, connectorPath(name, "/tasks"), nil, nil, &out)
	return out, err
}

// TaskStatus calls GET /connectors/{name}/tasks/{task}/status.
func (c *Client) TaskStatus(ctx context.Context, name string, task int) (herder.TaskState, error) {
	var out herder.TaskState
	_, err := c.do(ctx, http.MethodGet, taskPath(name, task, "/status"), nil, nil, &out)
	return out, err
}

// RestartConnector calls POST /connectors/{name}/restart. The plain restart
// (both flags false) answers with no body, and the status returned is nil;
// otherwise it is the connector's status with the restarting instances
// marked RESTARTING.
func (c *Client) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (*herder.ConnectorStatus, error) {
	q := url.Values{
		"includeTasks": {strconv.FormatBool(includeTasks)},
		"onlyFailed":   {strconv.FormatBool(onlyFailed)},
	}
	var out herder.ConnectorStatus
	status, err := c.do(ctx, http.MethodPost, connectorPath(name, "/restart"), q, nil, &out)
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	return &out, nil
}

// RestartTask calls POST /connectors/{name}/tasks/{task}/restart.
func (c *Client) RestartTask(ctx context.Context, name string, task int) error {
	_, err := c.do(ctx, http.MethodPost, taskPath(name, task, "/restart"), nil, nil, nil)
	return err
}

// PauseConnector calls PUT /connectors/{name}/pause.
func (c *Client) PauseConnector(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/pause"), nil, nil, nil)
	return err
}

// ResumeConnector calls PUT /connectors/{name}/resume.
func (c *Client) ResumeConnector(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/resume"), nil, nil, nil)
	return err
}

// StopConnector calls PUT /connectors/{name}/stop.
func (c *Client) StopConnector(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/stop"), nil, nil, nil)
	return err
}

// Plugins calls GET /connector-plugins; with connectorsOnly false it lists
// transforms, converters and predicates too.
func (c *Client) Plugins(ctx context.Context, connectorsOnly bool) ([]herder.PluginInfo, error) {
	q := url.Values{"connectorsOnly": {strconv.FormatBool(connectorsOnly)}}
	var out []herder.PluginInfo
	_, err := c.do(ctx, http.MethodGet, "/connector-plugins", q, nil, &out)
	return out, err
}

// PluginConfig calls GET /connector-plugins/{plugin}/config.
func (c *Client) PluginConfig(ctx context.Context, plugin string) ([]herder.ConfigKeyInfo, error) {
	var out []herder.ConfigKeyInfo
	_, err := c.do(ctx, http.MethodGet, "/connector-plugins/"+url.PathEscape(plugin)+"/config", nil, nil, &out)
	return out, err
}

// ValidateConfig calls PUT /connector-plugins/{plugin}/config/validate. A
// config with errors is not an error: the errors are in the result, with
// ErrorCount set.
func (c *Client) ValidateConfig(ctx context.Context, plugin string, config map[string]string) (herder.ConfigInfos, error) {
	if config == nil {
		config = map[string]string{}
	}
	var out herder.ConfigInfos
	_, err := c.do(ctx, http.MethodPut, "/connector-plugins/"+url.PathEscape(plugin)+"/config/validate", nil, config, &out)
	return out, err
}

func connectorPath(name, rest string) string {
	return "/connectors/" + url.PathEscape(name) + rest
}

func taskPath(name string, task int, rest string) string {
	return connectorPath(name, "/tasks/"+strconv.Itoa(task)+rest)
}

// do sends one request and decodes a successful response into out (unless
// it has no body). It returns the HTTP status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	return c.send(ctx, method, path, query, in, out, false)
}

// send is do, signing the request with Sign when internal is set.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in, out any, internal bool) (int, error) {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	var raw []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("rest client: encode %s %s: %w", method, path, err)
		}
		body, raw = bytes.NewReader(b), b
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("rest client: %s %s: %w", method, path, err)
	}
	if internal && c.Sign != nil {
		h, err := c.Sign(raw)
		if err != nil {
			return 0, fmt.Errorf("rest client: sign %s %s: %w", method, path, err)
		}
		for k, v := range h {
			req.Header[k] = v
		}
	}
	req.Header.Set("Accept", "application/json")
	if a := authorizationFrom(ctx); a != "" {
		req.Header.Set("Authorization", a)
	} else if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	if herder.Forwarded(ctx) {
		req.Header.Set(ForwardedHeader, "true")
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("rest client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("rest client: %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, responseError(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(data)) == 0 {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("rest client: %s %s: decode response: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// responseError makes an *APIError from an error response. Kafka Connect's
// body is {"error_code","message"}; the health endpoints answer with
// {"status","message"}; anything else (a proxy's page) keeps its text.
func responseError(status int, data []byte) *APIError {
	var body struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		if body.Code == 0 {
			body.Code = status
		}
		return &APIError{Code: body.Code, Message: body.Message}
	}
	msg := strings.TrimSpace(string(data))
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Code: status, Message: msg}
}
