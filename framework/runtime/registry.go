package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/plugin"
)

// Launcher starts a fresh plugin instance. instance names it (a connector
// name, or <connector>-<task>) in the process's arguments, so `ps` shows
// which process runs what.
type Launcher func(ctx context.Context, instance string, logger *slog.Logger) (plugin.Client, error)

// PluginEntry is one connector plugin the worker can run.
type PluginEntry struct {
	Info plugin.Info
	// Launch starts an instance on its own: in the worker's process for a
	// built-in of a registry that runs them there, else in a process of
	// its own. The worker launches through Worker.launch, which applies
	// plugin.isolation.
	Launch Launcher
	// External is true for executables found under plugin.path.
	External bool
	// Local is the built-in plugin, which can run in the worker's
	// process; nil for an external one.
	Local *plugin.Plugin
	// Command is how a process serving the plugin is started, its last
	// argument naming what it runs (a connector, or <connector>-<task>);
	// nil when the plugin runs only in the worker's process.
	Command func(instance string) (*exec.Cmd, error)
	// Shared says a process of the plugin can host several instances (a
	// plugin built before that hosts one).
	Shared bool
}

// Registry resolves connector.class values to plugins.
type Registry struct {
	entries []*PluginEntry
	byName  map[string]*PluginEntry
}

// SelfCommand returns how a built-in plugin is served out of process: the
// running executable, re-executed as `<self> plugin serve NAME INSTANCE`.
func SelfCommand(name, instance string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("runtime: find own executable: %w", err)
	}
	return exec.Command(self, "plugin", "serve", name, instance), nil
}

// NewRegistry lists builtins and the plugin executables under pluginPath.
// With isolated, a built-in can also run as a plugin process, by
// re-executing this binary (which must serve it: cmd/connectd, or a test
// binary calling connecttest.ServeIfPlugin); without, only in the
// worker's process, whatever plugin.isolation says.
func NewRegistry(ctx context.Context, builtins map[string]plugin.Plugin, isolated bool, pluginPath []string, logger *slog.Logger) (*Registry, error) {
	r := &Registry{byName: map[string]*PluginEntry{}}
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := builtins[n]
		info, err := plugin.NewLocal(p).Info(ctx)
		if err != nil {
			return nil, err
		}
		e := &PluginEntry{Info: info, Local: &p}
		if isolated {
			name := n
			e.Command = func(instance string) (*exec.Cmd, error) { return SelfCommand(name, instance) }
			e.Shared = true // the same binary as the worker's
			e.Launch = func(ctx context.Context, instance string, logger *slog.Logger) (plugin.Client, error) {
				cmd, err := SelfCommand(name, instance)
				if err != nil {
					return nil, err
				}
				return plugin.Launch(ctx, cmd, logger)
			}
		} else {
			e.Launch = func(context.Context, string, *slog.Logger) (plugin.Client, error) { return plugin.NewLocal(p), nil }
		}
		if err := r.add(e); err != nil {
			return nil, err
		}
	}
	for _, dir := range pluginPath {
		paths, err := executables(dir)
		if err != nil {
			return nil, fmt.Errorf("runtime: plugin.path %s: %w", dir, err)
		}
		for _, path := range paths {
			e, err := probe(ctx, path, logger)
			if err != nil {
				logger.Warn("not a connectd plugin, skipped", "path", path, "error", err)
				continue
			}
			if err := r.add(e); err != nil {
				logger.Warn("plugin skipped", "path", path, "error", err)
			}
		}
	}
	return r, nil
}

// probe starts an external plugin once to learn what it is, and whether
// a process of it hosts several instances.
func probe(ctx context.Context, path string, logger *slog.Logger) (*PluginEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := plugin.LaunchHost(ctx, exec.Command(path), logger)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	c, err := h.Open(ctx, "probe")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	info, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &PluginEntry{
		Info: info, External: true, Shared: h.Shared(),
		Command: func(instance string) (*exec.Cmd, error) { return exec.Command(path, instance), nil },
		Launch: func(ctx context.Context, instance string, logger *slog.Logger) (plugin.Client, error) {
			return plugin.Launch(ctx, exec.Command(path, instance), logger)
		},
	}, nil
}

// executables lists the executable files in dir and its direct subfolders.
func executables(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.Count(strings.TrimPrefix(path, dir), string(filepath.Separator)) > 1 {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, path)
		}
		return nil
	})
	return out, err
}

func (r *Registry) add(e *PluginEntry) error {
	for _, n := range names(e.Info) {
		if prev, ok := r.byName[n]; ok && prev != e {
			return fmt.Errorf("runtime: plugin name %q used by both %s and %s", n, prev.Info.Name, e.Info.Name)
		}
	}
	for _, n := range names(e.Info) {
		r.byName[n] = e
	}
	r.entries = append(r.entries, e)
	return nil
}

// names lists what connector.class may say to pick a plugin: its name, its
// aliases, and for Java class-name aliases the simple name with and without
// the Connector suffix, as Kafka Connect accepts.
func names(info plugin.Info) []string {
	out := []string{info.Name}
	for _, a := range info.Aliases {
		out = append(out, a)
		if i := strings.LastIndexByte(a, '.'); i >= 0 {
			simple := a[i+1:]
			out = append(out, simple)
			if s := strings.TrimSuffix(simple, "Connector"); s != simple {
				out = append(out, s)
			}
		}
	}
	return out
}

// Lookup resolves a connector.class value.
func (r *Registry) Lookup(class string) (*PluginEntry, error) {
	if e, ok := r.byName[strings.TrimSpace(class)]; ok {
		return e, nil
	}
	var avail []string
	for _, e := range r.entries {
		avail = append(avail, e.Info.Name)
		avail = append(avail, e.Info.Aliases...)
	}
	return nil, fmt.Errorf("Failed to find any class that implements Connector and which name matches %s, available connectors are: %s", class, strings.Join(avail, ", "))
}

// Entries lists the plugins in registration order.
func (r *Registry) Entries() []*PluginEntry { return r.entries }
