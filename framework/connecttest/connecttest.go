package connecttest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/plugin"
)

// ServeIfPlugin serves p and exits when the test binary was started as a
// plugin process by the suite. Call it first in TestMain.
func ServeIfPlugin(ps ...plugin.Plugin) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		for _, p := range ps {
			if p.Name == os.Args[3] {
				plugin.Serve(p)
				os.Exit(0)
			}
		}
		os.Exit(4)
	}
}

// Mode is how the suite reaches the connector.
type Mode string

const (
	InProcess Mode = "in-process"
	// Process: a plugin process for every instance (plugin.isolation=task).
	Process Mode = "process"
	// Shared: one plugin process per test hosts every instance the test
	// opens, the connector's and its tasks' (plugin.isolation=connector).
	Shared Mode = "shared"
)

// Modes are every way, as every connector must pass the suite in each.
var Modes = []Mode{InProcess, Process, Shared}

// Open returns a client for a fresh instance of p. In Process and Shared
// mode the test binary is re-executed as `<test> plugin serve NAME`, so the
// package's TestMain must call ServeIfPlugin.
func Open(t testing.TB, p plugin.Plugin, mode Mode) plugin.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c plugin.Client
	var err error
	switch mode {
	case InProcess:
		c = plugin.NewLocal(p)
	case Shared:
		c, err = sharedHost(t, p).Open(ctx, p.Name)
	default:
		c, err = plugin.Launch(ctx, pluginCommand(p), pluginLogger())
	}
	if err != nil {
		t.Fatalf("launch plugin %s: %v", p.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func pluginCommand(p plugin.Plugin) *exec.Cmd {
	return exec.Command(os.Args[0], "plugin", "serve", p.Name)
}

func pluginLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// hosts holds each running test's shared plugin process (Shared mode).
var hosts sync.Map // testing.TB → *plugin.Host

// sharedHost returns t's plugin process serving p, launching it on first
// use; it ends after the instances opened in it are closed.
func sharedHost(t testing.TB, p plugin.Plugin) *plugin.Host {
	t.Helper()
	if h, ok := hosts.Load(t); ok {
		return h.(*plugin.Host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := plugin.LaunchHost(ctx, pluginCommand(p), pluginLogger())
	if err != nil {
		t.Fatalf("launch plugin %s: %v", p.Name, err)
	}
	hosts.Store(t, h)
	t.Cleanup(func() {
		hosts.Delete(t)
		h.Close()
	})
	return h
}

// jsonConverters makes records readable in the suite: JSON, no schemas.
var jsonConverters = map[string]string{
	"key.converter":                  "org.apache.kafka.connect.json.JsonConverter",
	"key.converter.schemas.enable":   "false",
	"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
	"value.converter.schemas.enable": "false",
}

func withConverters(cfg map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range jsonConverters {
		out[k] = v
	}
	for k, v := range cfg {
		out[k] = v
	}
	return out
}

// checkInfo checks what every plugin must describe about itself.
func checkInfo(t *testing.T, c plugin.Client, p plugin.Plugin, kind plugin.Kind, cfg map[string]string) {
	t.Helper()
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Name != p.Name || info.Kind != kind {
		t.Fatalf("Info = %s/%s, want %s/%s", info.Name, info.Kind, p.Name, kind)
	}
	for _, k := range info.Config.Keys() {
		if k.Doc == "" {
			t.Errorf("config key %s has no documentation", k.Name)
		}
	}
	values, extra, err := c.Validate(ctx, cfg)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, v := range values {
		if len(v.Errors) > 0 {
			t.Errorf("Validate(valid config): %s: %v", v.Name, v.Errors)
		}
	}
	for k, msgs := range extra {
		if len(msgs) > 0 {
			t.Errorf("Validate(valid config): %s: %v", k, msgs)
		}
	}
	// An empty config must be answered, not crash the plugin; every
	// required key must be named.
	values, _, err = c.Validate(ctx, map[string]string{})
	if err != nil {
		t.Fatalf("Validate(empty): %v", err)
	}
	errs := map[string]bool{}
	for _, v := range values {
		if len(v.Errors) > 0 {
			errs[v.Name] = true
		}
	}
	for _, k := range info.Config.Keys() {
		if k.Required && !errs[k.Name] {
			t.Errorf("Validate(empty) does not name required key %s", k.Name)
		}
	}
}

// taskConfigs starts the connector and asks for up to maxTasks configs.
func taskConfigs(t *testing.T, c plugin.Client, cfg map[string]string, maxTasks int) []map[string]string {
	t.Helper()
	ctx := context.Background()
	if err := c.ConnectorStart(ctx, cfg); err != nil {
		t.Fatalf("ConnectorStart: %v", err)
	}
	tcs, err := c.TaskConfigs(ctx, maxTasks)
	if err != nil {
		t.Fatalf("TaskConfigs: %v", err)
	}
	if len(tcs) == 0 || len(tcs) > maxTasks {
		t.Fatalf("TaskConfigs(%d) returned %d configs", maxTasks, len(tcs))
	}
	if err := c.ConnectorStop(ctx); err != nil {
		t.Fatalf("ConnectorStop: %v", err)
	}
	return tcs
}

func merge(base, own map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}

func isJSON(b []byte) bool {
	var v any
	return json.Unmarshal(b, &v) == nil
}
