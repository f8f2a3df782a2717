package ctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Context is one cluster and how to reach it: a context of the config
// file, or what flags and the environment say.
type Context struct {
	URL      string `json:"url"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
	// CAFile is a PEM file of the CA that signed the API's certificate,
	// for https URLs (the system's roots otherwise).
	CAFile string `json:"ca-file,omitempty"`
	// CertFile and KeyFile are a client certificate, for APIs that ask
	// for one (ssl.client.auth).
	CertFile string `json:"cert-file,omitempty"`
	KeyFile  string `json:"key-file,omitempty"`
	// Insecure skips verifying the API's certificate.
	Insecure bool `json:"insecure,omitempty"`
}

// Config is the config file: named contexts and the current one.
type Config struct {
	CurrentContext string              `json:"current-context"`
	Contexts       map[string]*Context `json:"contexts"`
}

// defaultConfigPath is $CONNECTD_CTL_CONFIG, else
// $XDG_CONFIG_HOME/connectd/ctl.json, else ~/.config/connectd/ctl.json.
func defaultConfigPath(getenv func(string) string) string {
	if p := getenv("CONNECTD_CTL_CONFIG"); p != "" {
		return p
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "connectd", "ctl.json")
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig(path string) (*Config, error) {
	cfg := &Config{Contexts: map[string]*Context{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]*Context{}
	}
	return cfg, nil
}

// save writes the config file, readable only by its user: it may hold
// passwords and tokens.
func (c *Config) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func (c *Config) names() []string {
	out := make([]string, 0, len(c.Contexts))
	for n := range c.Contexts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
