package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// ConnectorSpec is what the worker needs to run one connector instance.
type ConnectorSpec struct {
	Name   string
	Entry  *PluginEntry
	Config map[string]string
	Report StateFunc
}

// Connector is one running connector instance: its plugin process, and a
// watcher that starts it again with exponential backoff when the process
// dies, without touching the connector's tasks.
type Connector struct {
	w      *Worker
	spec   ConnectorSpec
	logger *slog.Logger

	metrics *connectorMetrics

	mu     sync.Mutex
	client plugin.Client
	paused bool

	stop chan struct{}
	done chan struct{}
}

// StartConnector launches the connector's plugin instance and starts the
// connector in it. It reports RUNNING (or PAUSED) once started; on error
// nothing is left running and the caller reports the failure.
func (w *Worker) StartConnector(ctx context.Context, spec ConnectorSpec, paused bool) (*Connector, error) {
	class := spec.Config[KeyConnectorClass]
	typ, version := "", ""
	if spec.Entry != nil {
		typ, version = string(ConnectorType(spec.Entry)), spec.Entry.Info.Version
	}
	cm := w.Metrics.startConnector(spec.Name, class, typ, version)
	report := spec.Report
	spec.Report = func(s herder.State, trace string) {
		cm.state.Store(s)
		report(s, trace)
	}
	c := &Connector{
		w: w, spec: spec, paused: paused, metrics: cm,
		logger: w.Logger.With("connector", spec.Name, "worker", w.ID),
		stop:   make(chan struct{}), done: make(chan struct{}),
	}
	spec.Report(herder.Unassigned, "")
	sctx, cancel := startCtx(ctx)
	defer cancel()
	client, err := c.launch(sctx)
	if err != nil {
		// The herder reports the failure; the worker no longer runs it.
		w.Metrics.connStart.done(false)
		w.Metrics.removeConnector(spec.Name, cm)
		return nil, err
	}
	w.Metrics.connStart.done(true)
	c.client = client
	c.reportRunning()
	go c.watch(client)
	c.logger.Info("connector started")
	return c, nil
}

func (c *Connector) launch(ctx context.Context) (plugin.Client, error) {
	client, err := c.w.LaunchConnector(ctx, c.spec.Entry, c.spec.Name, c.logger)
	if err != nil {
		return nil, err
	}
	if err := client.ConnectorStart(ctx, c.spec.Config); err != nil {
		client.Close()
		return nil, fmt.Errorf("start: %w", err)
	}
	return client, nil
}

func (c *Connector) reportRunning() {
	c.mu.Lock()
	paused := c.paused
	c.mu.Unlock()
	if paused {
		c.spec.Report(herder.Paused, "")
	} else {
		c.spec.Report(herder.Running, "")
	}
}

// TaskConfigs asks the connector for at most tasks.max task configs and
// returns them merged into full task configs (see Worker.TaskConfig).
func (c *Connector) TaskConfigs(ctx context.Context) ([]map[string]string, error) {
	maxTasks, _ := strconv.Atoi(c.spec.Config[KeyTasksMax])
	if maxTasks < 1 {
		maxTasks = 1
	}
	c.mu.Lock()
	client := c.client
	c.mu.Unlock()
	if client == nil {
		return nil, fmt.Errorf("connector %s is not running", c.spec.Name)
	}
	sctx, cancel := startCtx(ctx)
	defer cancel()
	own, err := client.TaskConfigs(sctx, maxTasks)
	if err != nil {
		return nil, fmt.Errorf("task configs: %w", err)
	}
	if len(own) > maxTasks {
		own = own[:maxTasks]
	}
	out := make([]map[string]string, len(own))
	for i, o := range own {
		out[i] = c.w.TaskConfig(c.spec.Config, o)
	}
	return out, nil
}

// SetPaused records the target state and reports it, unless the connector
// is between crashes (it then reports on its next start).
func (c *Connector) SetPaused(p bool) {
	c.mu.Lock()
	c.paused = p
	running := c.client != nil
	c.mu.Unlock()
	if running {
		c.reportRunning()
	}
}

// Stop stops the connector and ends its plugin instance.
func (c *Connector) Stop() {
	close(c.stop)
	<-c.done
	defer c.w.Metrics.removeConnector(c.spec.Name, c.metrics)
	c.mu.Lock()
	client := c.client
	c.client = nil
	c.mu.Unlock()
	if client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.w.Config.ShutdownTimeout)
	defer cancel()
	if err := client.ConnectorStop(ctx); err != nil {
		c.logger.Warn("connector stop failed", "error", err)
	}
	client.Close()
}

// watch restarts the instance with backoff whenever its process dies.
func (c *Connector) watch(client plugin.Client) {
	defer close(c.done)
	attempt := 0
	for {
		select {
		case <-c.stop:
			return
		case <-client.Exited():
		}
		attempt++
		delay := backoff(attempt, c.w.Config.RestartBackoff)
		err := fmt.Errorf("%w: %v", plugin.ErrPluginExited, client.ExitErr())
		c.logger.Error("plugin process died; restarting connector", "error", err, "attempt", attempt, "delay", delay)
		c.spec.Report(herder.Failed, fmt.Sprintf("%s\nThe worker restarts the connector in %s (attempt %d).", trace(err), delay, attempt))
		select {
		case <-c.stop:
			return
		case <-time.After(delay):
		}
		ctx, cancel := startCtx(context.Background())
		nc, err := c.launch(ctx)
		cancel()
		if err != nil {
			c.spec.Report(herder.Failed, trace(err))
			continue
		}
		c.mu.Lock()
		old := c.client
		c.client = nc
		c.mu.Unlock()
		old.Close()
		client = nc
		c.reportRunning()
	}
}

// TaskConfig is what a task is started with: the connector's config, the
// worker's converter defaults where the connector sets none, and the task's
// own keys on top.
func (w *Worker) TaskConfig(connector, own map[string]string) map[string]string {
	out := maps.Clone(connector)
	for k, v := range w.Config.ConverterDefaults() {
		if out[k] == "" {
			out[k] = v
		}
	}
	maps.Copy(out, own)
	return out
}
