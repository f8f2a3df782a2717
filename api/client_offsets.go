package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/connectd/connectd/framework/herder"
)

// PatchConnectorConfig calls PATCH /connectors/{name}/config: the keys of
// patch are merged into the connector's config, a nil value removing its
// key.
func (c *Client) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (herder.ConnectorInfo, error) {
	var out herder.ConnectorInfo
	_, err := c.do(ctx, http.MethodPatch, connectorPath(name, "/config"), nil, patch, &out)
	return out, err
}

// ConnectorOffsets calls GET /connectors/{name}/offsets.
func (c *Client) ConnectorOffsets(ctx context.Context, name string) (herder.ConnectorOffsets, error) {
	var out herder.ConnectorOffsets
	_, err := c.do(ctx, http.MethodGet, connectorPath(name, "/offsets"), nil, nil, &out)
	return out, err
}

// AlterConnectorOffsets calls PATCH /connectors/{name}/offsets. A nil
// Offset removes the partition's offset.
func (c *Client) AlterConnectorOffsets(ctx context.Context, name string, offsets []herder.ConnectorOffset) (herder.Message, error) {
	var out herder.Message
	_, err := c.do(ctx, http.MethodPatch, connectorPath(name, "/offsets"), nil, herder.ConnectorOffsets{Offsets: offsets}, &out)
	return out, err
}

// ResetConnectorOffsets calls DELETE /connectors/{name}/offsets.
func (c *Client) ResetConnectorOffsets(ctx context.Context, name string) (herder.Message, error) {
	var out herder.Message
	_, err := c.do(ctx, http.MethodDelete, connectorPath(name, "/offsets"), nil, nil, &out)
	return out, err
}

// LoggerLevels calls GET /admin/loggers.
func (c *Client) LoggerLevels(ctx context.Context) (map[string]herder.LoggerLevel, error) {
	var out map[string]herder.LoggerLevel
	_, err := c.do(ctx, http.MethodGet, "/admin/loggers", nil, nil, &out)
	return out, err
}

// LoggerLevel calls GET /admin/loggers/{name}.
func (c *Client) LoggerLevel(ctx context.Context, name string) (herder.LoggerLevel, error) {
	var out herder.LoggerLevel
	_, err := c.do(ctx, http.MethodGet, "/admin/loggers/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// SetLoggerLevel calls PUT /admin/loggers/{namespace} with scope=worker
// and returns the loggers it changed.
func (c *Client) SetLoggerLevel(ctx context.Context, namespace, level string) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodPut, "/admin/loggers/"+url.PathEscape(namespace), nil, map[string]string{"level": level}, &out)
	return out, err
}

// SetLoggerLevelScope calls PUT /admin/loggers/{namespace}?scope=scope
// (worker or cluster, KIP-976). With scope worker it returns the loggers
// changed; with cluster the API answers 204 and it returns nil.
func (c *Client) SetLoggerLevelScope(ctx context.Context, namespace, level, scope string) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodPut, "/admin/loggers/"+url.PathEscape(namespace), url.Values{"scope": {scope}}, map[string]string{"level": level}, &out)
	return out, err
}
