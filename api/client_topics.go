package api

import (
	"context"
	"net/http"

	"github.com/connectd/connectd/framework/herder"
)

// ConnectorTopics calls GET /connectors/{name}/topics and returns the
// connector's active topics.
func (c *Client) ConnectorTopics(ctx context.Context, name string) ([]string, error) {
	var out map[string]herder.ActiveTopics
	if _, err := c.do(ctx, http.MethodGet, connectorPath(name, "/topics"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out[name].Topics, nil
}

// ResetConnectorTopics calls PUT /connectors/{name}/topics/reset.
func (c *Client) ResetConnectorTopics(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/topics/reset"), nil, nil, nil)
	return err
}
