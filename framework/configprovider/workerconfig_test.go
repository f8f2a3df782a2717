package configprovider

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromWorkerConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]struct {
		props     map[string]string
		providers []string // on success
		badKey    string   // on failure: the key the error names
	}{
		"nothing configured": {props: map[string]string{"bootstrap.servers": "x"}, providers: nil},
		"empty list":         {props: map[string]string{"config.providers": " , "}, providers: nil},
		"Kafka class names": {props: map[string]string{
			"config.providers":            "env, file,dir",
			"config.providers.env.class":  EnvVarConfigProviderClass,
			"config.providers.file.class": " " + FileConfigProviderClass + " ",
			"config.providers.dir.class":  DirectoryConfigProviderClass,
		}, providers: []string{"dir", "env", "file"}},
		"short names and params": {props: map[string]string{
			"config.providers":                             "e,f,d,d2",
			"config.providers.e.class":                     "env",
			"config.providers.e.param.allowlist.pattern":   "PG_.*",
			"config.providers.f.class":                     "file",
			"config.providers.f.param.allowed.paths":       dir + ", " + dir,
			"config.providers.d.class":                     "directory",
			"config.providers.d2.class":                    "dir",
			"config.providers.unlisted.class":              "no.such.Class",
			"config.providers.unlisted.param.allowed.path": "ignored: not listed",
		}, providers: []string{"d", "d2", "e", "f"}},
		"listed without class": {props: map[string]string{
			"config.providers": "file,vault", "config.providers.file.class": "file",
		}, badKey: "config.providers.vault.class"},
		"unknown class": {props: map[string]string{
			"config.providers": "vault", "config.providers.vault.class": "io.confluent.VaultConfigProvider",
		}, badKey: "config.providers.vault.class"},
		"misspelt param": {props: map[string]string{
			"config.providers": "file", "config.providers.file.class": "file",
			"config.providers.file.param.allowed.path": dir,
		}, badKey: "config.providers.file.param.allowed.path"},
		"relative allowed path": {props: map[string]string{
			"config.providers": "file", "config.providers.file.class": "file",
			"config.providers.file.param.allowed.paths": "etc/secrets",
		}, badKey: "config.providers.file.param.allowed.paths"},
		"missing allowed path": {props: map[string]string{
			"config.providers": "dir", "config.providers.dir.class": "dir",
			"config.providers.dir.param.allowed.paths": filepath.Join(dir, "nope"),
		}, badKey: "config.providers.dir.param.allowed.paths"},
		"bad allowlist": {props: map[string]string{
			"config.providers": "env", "config.providers.env.class": "env",
			"config.providers.env.param.allowlist.pattern": "(",
		}, badKey: "config.providers.env.param.allowlist.pattern"},
		"name no placeholder can use": {props: map[string]string{
			"config.providers": "a:b", "config.providers.a:b.class": "env",
		}, badKey: "config.providers"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := FromWorkerConfig(tc.props)
			if tc.badKey != "" {
				ce, ok := errors.AsType[*ConfigError](err)
				if !ok {
					t.Fatalf("FromWorkerConfig = %v, %v; want a *ConfigError", r, err)
				}
				if ce.Key != tc.badKey || !strings.Contains(err.Error(), tc.badKey) {
					t.Errorf("error %q names key %q, want %q", err, ce.Key, tc.badKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if d := cmp.Diff(tc.providers, r.Providers()); d != "" {
				t.Errorf("Providers (-want +got):\n%s", d)
			}
		})
	}
}

type staticProvider struct {
	data   map[string]string
	closed bool
}

func (p *staticProvider) Get(_ context.Context, path string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := p.data[path+"/"+k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (p *staticProvider) Close() error { p.closed = true; return nil }

func TestRegistryCustomProvider(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	var made *staticProvider
	err := reg.Register("com.example.VaultConfigProvider", func(params map[string]string) (Provider, error) {
		for k := range params {
			if k != "prefix" {
				return nil, &ParamError{Param: k, Err: errors.New("unknown parameter")}
			}
		}
		made = &staticProvider{data: map[string]string{"secret/db/password": params["prefix"] + "pw"}}
		return made, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(FileConfigProviderClass, func(map[string]string) (Provider, error) { return nil, nil }); err == nil {
		t.Error("registering a built-in class twice succeeded")
	}
	if err := reg.Register("", func(map[string]string) (Provider, error) { return nil, nil }); err == nil {
		t.Error("registering an empty class succeeded")
	}

	res, err := reg.FromWorkerConfig(map[string]string{
		"config.providers":                    "vault",
		"config.providers.vault.class":        "com.example.VaultConfigProvider",
		"config.providers.vault.param.prefix": "x-",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, secrets, err := res.Resolve(context.Background(), map[string]string{"password": "${vault:secret/db:password}"})
	if err != nil {
		t.Fatal(err)
	}
	if got["password"] != "x-pw" || !slicesEqual(secrets, []string{"x-pw"}) {
		t.Errorf("Resolve = %v, %v; want password x-pw", got, secrets)
	}
	if err := res.Close(); err != nil || !made.closed {
		t.Errorf("Close = %v, closed = %v; want the provider closed", err, made.closed)
	}

	_, err = reg.FromWorkerConfig(map[string]string{
		"config.providers":               "vault",
		"config.providers.vault.class":   "com.example.VaultConfigProvider",
		"config.providers.vault.param.x": "y",
	})
	if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Key != "config.providers.vault.param.x" {
		t.Errorf("FromWorkerConfig with a bad custom param = %v, want a *ConfigError naming config.providers.vault.param.x", err)
	}
	// The package-level FromWorkerConfig does not see custom classes.
	if _, err := FromWorkerConfig(map[string]string{
		"config.providers": "vault", "config.providers.vault.class": "com.example.VaultConfigProvider",
	}); err == nil {
		t.Error("FromWorkerConfig knew a class registered on another Registry")
	}
}

func slicesEqual(a, b []string) bool { return cmp.Equal(a, b) }
