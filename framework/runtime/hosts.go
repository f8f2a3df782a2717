package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// The worker's plugin processes. With plugin.isolation=connector, one
// process on this worker hosts a connector's instance and every task of it
// that runs here: the first of them to start launches it, the others open
// their instance in it, and the last to stop ends it. Every instance in it
// is a Client of its own (its own data channel, converters, transforms and
// error policy); the process is shared, so its death fails every one of
// them, each then restarted as a task whose process died (task.go).

// hostPool holds the worker's shared plugin processes, by connector.
type hostPool struct {
	mu    sync.Mutex
	hosts map[string]*pooledHost
}

// pooledHost is one shared process and the instances open in it.
type pooledHost struct {
	key   string
	ready chan struct{} // closed once launched, or failed to
	host  *plugin.Host
	err   error
	refs  int  // instances open, and launches waiting for it
	gone  bool // no longer in the pool: dead, or its last instance closed
}

func newHostPool() *hostPool { return &hostPool{hosts: map[string]*pooledHost{}} }

// acquire returns the process for key, counting one more user, and
// whether the caller must launch it.
func (p *hostPool) acquire(key string) (ph *pooledHost, launch bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ph = p.hosts[key]; ph != nil {
		select {
		case <-ph.ready:
			if ph.err == nil && !exited(ph.host) {
				ph.refs++
				return ph, false
			}
			// Dead or never started: its users let go of it in their
			// own time; a new process takes its place.
			ph.gone = true
			delete(p.hosts, key)
		default:
			ph.refs++ // launching: wait for it
			return ph, false
		}
	}
	ph = &pooledHost{key: key, ready: make(chan struct{}), refs: 1}
	p.hosts[key] = ph
	return ph, true
}

// release counts one user less; the last one ends the process.
func (p *hostPool) release(ph *pooledHost) {
	p.mu.Lock()
	ph.refs--
	last := ph.refs == 0
	if last && !ph.gone {
		ph.gone = true
		delete(p.hosts, ph.key)
	}
	p.mu.Unlock()
	if last && ph.host != nil {
		ph.host.Close()
	}
}

func exited(h *plugin.Host) bool {
	select {
	case <-h.Exited():
		return true
	default:
		return false
	}
}

// open opens an instance named instance in the process for key, launching
// it when none runs.
func (p *hostPool) open(ctx context.Context, key, instance string, launch func(context.Context) (*plugin.Host, error)) (plugin.Client, error) {
	ph, launcher := p.acquire(key)
	if launcher {
		ph.host, ph.err = launch(ctx)
		close(ph.ready)
	} else {
		select {
		case <-ph.ready:
		case <-ctx.Done():
			p.release(ph)
			return nil, ctx.Err()
		}
	}
	if ph.err != nil {
		p.release(ph)
		return nil, ph.err
	}
	c, err := ph.host.Open(ctx, instance)
	if err != nil {
		p.release(ph)
		return nil, err
	}
	return &pooledClient{Client: c, release: func() { p.release(ph) }}, nil
}

// pooledClient is an instance in a shared process; closing it lets go of
// the process.
type pooledClient struct {
	plugin.Client
	once    sync.Once
	release func()
}

func (c *pooledClient) Close() error {
	c.once.Do(func() {
		c.Client.Close()
		c.release()
	})
	return nil
}

// Recycle passes on to the instance's client (plugin.Recycler).
func (c *pooledClient) Recycle(batch []plugin.Record) {
	if r, ok := c.Client.(plugin.Recycler); ok {
		r.Recycle(batch)
	}
}

var _ plugin.Recycler = (*pooledClient)(nil)

// launch starts an instance of entry for the connector with config, as
// its plugin.isolation says: in the worker's process, in the connector's
// shared process on this worker, or in a process of its own. instance
// names it: the connector, <connector>-<task>, or what it is for.
func (w *Worker) launch(ctx context.Context, entry *PluginEntry, connector, instance string, config map[string]string, logger *slog.Logger) (plugin.Client, error) {
	iso := w.isolationOf(config)
	if entry.Command == nil || (iso == IsolationNone && entry.Local != nil) {
		if entry.Local == nil {
			return nil, fmt.Errorf("plugin %s has no way to run", entry.Info.Name)
		}
		return plugin.NewLocal(*entry.Local), nil
	}
	if iso == IsolationConnector && entry.Shared {
		// The process is named after the connector: `ps` shows which
		// connector it serves.
		key := entry.Info.Name + "\x00" + connector
		return w.hosts.open(ctx, key, instance, func(ctx context.Context) (*plugin.Host, error) {
			cmd, err := entry.Command(connector)
			if err != nil {
				return nil, err
			}
			return plugin.LaunchHost(ctx, cmd, w.Logger.With("connector", connector, "worker", w.ID))
		})
	}
	cmd, err := entry.Command(instance)
	if err != nil {
		return nil, err
	}
	return plugin.Launch(ctx, cmd, logger)
}

// launchTask starts the instance of task id.
func (w *Worker) launchTask(ctx context.Context, entry *PluginEntry, id herder.TaskID, config map[string]string, logger *slog.Logger) (plugin.Client, error) {
	return w.launch(ctx, entry, id.Connector, id.String(), config, logger)
}

// launchValidation starts an instance that validates config: in the
// worker's process when the connector would run there, else in a process
// of its own, which ends with it.
func (w *Worker) launchValidation(ctx context.Context, entry *PluginEntry, config map[string]string) (plugin.Client, error) {
	if w.isolationOf(config) == IsolationNone || entry.Command == nil {
		return w.launch(ctx, entry, "", "validate", map[string]string{KeyPluginIsolation: ""}, w.Logger)
	}
	return w.launch(ctx, entry, "", "validate", map[string]string{KeyPluginIsolation: string(IsolationTask)}, w.Logger)
}
