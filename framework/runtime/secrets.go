package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"github.com/connectd/connectd/framework/configprovider"
	"github.com/connectd/connectd/framework/plugin"
)

// Config providers, the worker side (Kafka Connect's KIP-297): connector
// and task configs are stored, and shown by the REST API, with their
// ${provider:path:key} placeholders; a plugin gets them resolved, right
// before it starts. Every resolved value becomes a known secret
// (WorkerConfig.Secrets) that the worker's logs, status traces, dead letter
// queue headers and REST responses hide from then on.

// ResolveConfig returns config with its placeholders resolved by the
// worker's config providers. config itself is left as it is. A config with
// no placeholder is returned unchanged; a placeholder whose provider is not
// configured stays as written, as in Kafka. The error names the key and
// the placeholder, never a value.
func (w *Worker) ResolveConfig(ctx context.Context, config map[string]string) (map[string]string, error) {
	if w.Config.ConfigProviders == nil || !configprovider.HasPlaceholders(config) {
		return config, nil
	}
	resolved, secrets, err := w.Config.ConfigProviders.Resolve(ctx, config)
	if w.Config.Secrets != nil {
		w.Config.Secrets.Add(secrets...)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve config providers: %w", err)
	}
	return resolved, nil
}

// redact hides the known secrets in s.
func (w *Worker) redact(s string) string {
	if w.Config.Secrets == nil {
		return s
	}
	return w.Config.Secrets.Redact(s)
}

// redactErr returns err with the known secrets hidden in its message; it
// still wraps err, for errors.Is and errors.As.
func (w *Worker) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if r := w.redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactingLogger wraps a logger so that the known secrets never reach its
// output, whatever logs them (a plugin's own output included).
func redactingLogger(l *slog.Logger, secrets *configprovider.Redactor) *slog.Logger {
	if secrets == nil {
		return l
	}
	return slog.New(configprovider.NewRedactingHandler(l.Handler(), secrets))
}

// LaunchConnector launches the instance of connector name, whose config is
// config, as its plugin.isolation says (see Worker.launch); its lifecycle
// calls resolve config providers: ConnectorStart gets the resolved config,
// TaskConfigs come back with the connector config's placeholders put back
// (Kafka Connect's reverse transform), so neither the stored task configs
// nor the REST API hold the resolved values; errors have them hidden.
func (w *Worker) LaunchConnector(ctx context.Context, entry *PluginEntry, name string, config map[string]string, logger *slog.Logger) (plugin.Client, error) {
	c, err := w.launch(ctx, entry, name, name, config, logger)
	if err != nil {
		return nil, w.redactErr(err)
	}
	return &secretsClient{Client: c, w: w}, nil
}

// secretsClient is a connector instance's client that resolves its config.
type secretsClient struct {
	plugin.Client
	w   *Worker
	raw map[string]string // the config as stored, placeholders in
}

func (c *secretsClient) ConnectorStart(ctx context.Context, config map[string]string) error {
	resolved, err := c.w.ResolveConfig(ctx, config)
	if err != nil {
		return err
	}
	c.raw = maps.Clone(config)
	return c.w.redactErr(c.Client.ConnectorStart(ctx, resolved))
}

func (c *secretsClient) TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error) {
	cfgs, err := c.Client.TaskConfigs(ctx, maxTasks)
	if err != nil {
		return nil, c.w.redactErr(err)
	}
	if c.raw == nil || !configprovider.HasPlaceholders(c.raw) {
		return cfgs, nil
	}
	return configprovider.ReverseTransform(c.raw, cfgs), nil
}

func (c *secretsClient) ConnectorStop(ctx context.Context) error {
	return c.w.redactErr(c.Client.ConnectorStop(ctx))
}
