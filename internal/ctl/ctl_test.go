package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/connectd/connectd/api"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadConnectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.json", `{"name":"a","config":{"connector.class":"datagen","tasks.max":2,"enabled":true}}`)
	writeFile(t, dir, "b.properties", "name=b\nconnector.class=file-sink\ntopics=t\n")
	writeFile(t, dir, "c.json", `[{"name":"c1","connector.class":"datagen"},{"name":"c2","config":{"connector.class":"datagen"}}]`)
	writeFile(t, dir, "notes.txt", "ignored")
	got, err := readConnectors([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []connectorFile{
		{Path: filepath.Join(dir, "a.json"), Name: "a", Config: map[string]string{"name": "a", "connector.class": "datagen", "tasks.max": "2", "enabled": "true"}},
		{Path: filepath.Join(dir, "b.properties"), Name: "b", Config: map[string]string{"name": "b", "connector.class": "file-sink", "topics": "t"}},
		{Path: filepath.Join(dir, "c.json") + "[0]", Name: "c1", Config: map[string]string{"name": "c1", "connector.class": "datagen"}},
		{Path: filepath.Join(dir, "c.json") + "[1]", Name: "c2", Config: map[string]string{"name": "c2", "connector.class": "datagen"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("connectors (-want +got):\n%s", diff)
	}

	for name, tt := range map[string]struct{ file, data, err string }{
		"no name":        {"x.json", `{"connector.class":"datagen"}`, "no connector name"},
		"nested value":   {"x.json", `{"name":"x","config":{"k":{"a":1}}}`, "k: a config value must be a string"},
		"names differ":   {"x.json", `{"name":"x","config":{"name":"y"}}`, `name "x" and config name "y" differ`},
		"bad json":       {"x.json", `{"name":`, "x.json: unexpected end"},
		"properties":     {"x.properties", "connector.class=datagen\n", "no name key"},
		"duplicate name": {"d.json", `[{"name":"d"},{"name":"d"}]`, "connector d is in both"},
	} {
		d := t.TempDir()
		p := writeFile(t, d, tt.file, tt.data)
		if _, err := readConnectors([]string{p}, nil); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q", name, err, tt.err)
		}
	}
}

func TestDiffConfigs(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	live := map[string]string{"name": "x", "rate": "10", "topic": "a", "db.password": "old", "gone": "1"}
	want := map[string]string{"name": "x", "rate": "20", "topic": "a", "db.password": "new", "added": "y"}
	got := diffConfigs(live, want, func(k string) bool { return k == "db.password" })
	exp := []change{
		{Key: "added", New: s("y")},
		{Key: "db.password", Live: s("[hidden]"), New: s("[hidden]")},
		{Key: "gone", Live: s("1")},
		{Key: "rate", Live: s("10"), New: s("20")},
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{&api.APIError{Code: 404}, exitNotFound},
		{fmt.Errorf("x: %w", &api.APIError{Code: 401}), exitRefused},
		{&api.APIError{Code: 403}, exitRefused},
		{&api.APIError{Code: 409}, exitConflict},
		{&api.APIError{Code: 500}, exitFailed},
		{fmt.Errorf("rest client: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), exitUnreachable},
		{usageErr("x"), exitUsage},
		{&exitError{exitInvalid, errors.New("x")}, exitInvalid},
		{errors.New("decode"), exitFailed},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestContexts: contexts are saved in the config file, and the current one,
// another named by --context or CONNECTD_CONTEXT, and --url or
// CONNECTD_URL decide where a command goes, flags first.
func TestContexts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ctl.json")
	envs := map[string]string{"CONNECTD_CTL_CONFIG": cfgPath}
	getenv := func(k string) string { return envs[k] }
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, getenv)
		return code, out.String(), errOut.String()
	}
	if code, _, e := run("config", "set-context", "prod", "--url", "https://prod:8443", "--user", "alice", "--password", "pw"); code != 0 {
		t.Fatalf("set-context: %d %s", code, e)
	}
	if code, _, e := run("config", "set-context", "dev", "--url", "http://127.0.0.1:1", "--token", "tok"); code != 0 {
		t.Fatalf("set-context: %d %s", code, e)
	}
	if _, out, _ := run("config", "current-context"); strings.TrimSpace(out) != "prod" {
		t.Errorf("current context %q, want prod (the first set)", out)
	}
	if code, _, _ := run("config", "use-context", "dev"); code != 0 {
		t.Fatal("use-context dev")
	}
	_, out, _ := run("config", "get-contexts")
	for _, want := range []string{"*  ", "dev", "token", "prod", "basic (alice)"} {
		if !strings.Contains(out, want) {
			t.Errorf("get-contexts lacks %q:\n%s", want, out)
		}
	}
	fi, err := os.Stat(cfgPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v (%v), want 0600: it holds passwords", fi.Mode(), err)
	}

	resolve := func(args ...string) *Context {
		e := &env{ctx: context.Background(), getenv: getenv}
		if _, err := e.parse(e.flagSet("info"), args); err != nil {
			t.Fatal(err)
		}
		if err := e.connect(); err != nil {
			t.Fatal(err)
		}
		return e.resolved
	}
	if c := resolve(); c.URL != "http://127.0.0.1:1" || c.Token != "tok" {
		t.Errorf("current context: %+v", c)
	}
	if c := resolve("--context", "prod"); c.URL != "https://prod:8443" || c.User != "alice" {
		t.Errorf("--context prod: %+v", c)
	}
	if c := resolve("--context", "prod", "--user", "bob"); c.User != "bob" || c.Password != "pw" {
		t.Errorf("--context prod --user bob: %+v", c)
	}
	envs["CONNECTD_URL"] = "http://env:8083"
	if c := resolve(); c.URL != "http://env:8083" || c.Token != "" {
		t.Errorf("CONNECTD_URL: %+v, want the URL alone", c)
	}
	if c := resolve("--url", "http://flag:8083"); c.URL != "http://flag:8083" {
		t.Errorf("--url over CONNECTD_URL: %+v", c)
	}
	if c := resolve("--context", "prod"); c.URL != "https://prod:8443" {
		t.Errorf("--context over CONNECTD_URL: %+v", c)
	}
	delete(envs, "CONNECTD_URL")
	envs["CONNECTD_CONTEXT"] = "prod"
	if c := resolve(); c.URL != "https://prod:8443" {
		t.Errorf("CONNECTD_CONTEXT: %+v", c)
	}

	// An API that cannot be reached exits 6; a bad flag 2.
	delete(envs, "CONNECTD_CONTEXT")
	if code, _, e := run("get", "connectors"); code != exitUnreachable {
		t.Errorf("unreachable: exit %d (%s), want 6", code, e)
	}
	if code, _, _ := run("get", "connectors", "--bogus"); code != exitUsage {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if code, _, _ := run("frobnicate"); code != exitUsage {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
