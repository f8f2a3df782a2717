package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/properties"
)

// connectorFile is one connector read from a file.
type connectorFile struct {
	Path   string
	Name   string
	Config map[string]string
}

// readConnectors reads connectors from files and directories (their
// .json and .properties files, sorted by name); "-" reads JSON from in.
func readConnectors(paths []string, in io.Reader) ([]connectorFile, error) {
	var out []connectorFile
	for _, p := range paths {
		if p == "-" {
			b, err := io.ReadAll(in)
			if err != nil {
				return nil, err
			}
			cs, err := parseConnectorJSON("stdin", b)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		files := []string{p}
		if fi.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			files = nil
			for _, en := range entries {
				ext := strings.ToLower(filepath.Ext(en.Name()))
				if !en.IsDir() && (ext == ".json" || ext == ".properties") {
					files = append(files, filepath.Join(p, en.Name()))
				}
			}
			sort.Strings(files)
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: no .json or .properties files", p)
			}
		}
		for _, f := range files {
			cs, err := readConnectorFile(f)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
	}
	seen := map[string]string{}
	for _, c := range out {
		if prev, ok := seen[c.Name]; ok {
			return nil, fmt.Errorf("connector %s is in both %s and %s", c.Name, prev, c.Path)
		}
		seen[c.Name] = c.Path
	}
	return out, nil
}

func readConnectorFile(path string) ([]connectorFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".properties") {
		cfg, err := properties.Parse(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if cfg["name"] == "" {
			return nil, fmt.Errorf("%s: no name key", path)
		}
		return []connectorFile{{Path: path, Name: cfg["name"], Config: cfg}}, nil
	}
	return parseConnectorJSON(path, b)
}

// parseConnectorJSON reads the REST API's {"name":…,"config":{…}}, a flat
// config with a name, or an array of either. Values that are JSON numbers
// or booleans are taken as their text, as Kafka Connect takes them.
func parseConnectorJSON(path string, b []byte) ([]connectorFile, error) {
	b = bytes.TrimSpace(b)
	var items []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		items = []json.RawMessage{b}
	}
	var out []connectorFile
	for i, item := range items {
		where := path
		if len(items) > 1 {
			where = fmt.Sprintf("%s[%d]", path, i)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(item, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		flat := obj
		name := ""
		if raw, ok := obj["config"]; ok {
			flat = nil
			if err := json.Unmarshal(raw, &flat); err != nil {
				return nil, fmt.Errorf("%s: config: %w", where, err)
			}
			if raw, ok := obj["name"]; ok {
				if err := json.Unmarshal(raw, &name); err != nil {
					return nil, fmt.Errorf("%s: name: %w", where, err)
				}
			}
		}
		cfg := map[string]string{}
		for k, raw := range flat {
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				cfg[k] = s
				continue
			}
			t := strings.TrimSpace(string(raw))
			if t == "" || t[0] == '{' || t[0] == '[' || t == "null" {
				return nil, fmt.Errorf("%s: %s: a config value must be a string, number or boolean", where, k)
			}
			cfg[k] = t
		}
		if name == "" {
			name = cfg["name"]
		}
		if name == "" {
			return nil, fmt.Errorf("%s: no connector name (\"name\")", where)
		}
		if n, ok := cfg["name"]; ok && n != name {
			return nil, fmt.Errorf("%s: name %q and config name %q differ", where, name, n)
		}
		cfg["name"] = name
		out = append(out, connectorFile{Path: where, Name: name, Config: cfg})
	}
	return out, nil
}

// change is one key's difference between the live config and a file's.
type change struct {
	Key  string  `json:"key"`
	Live *string `json:"live"`
	New  *string `json:"new"`
}

// diffConfigs lists the keys whose values differ, sorted; secret keys'
// values are masked.
func diffConfigs(live, want map[string]string, secret func(string) bool) []change {
	keys := map[string]bool{}
	for k := range live {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var out []change
	for _, k := range sortedKeys(keys) {
		l, lok := live[k]
		w, wok := want[k]
		if lok && wok && l == w {
			continue
		}
		c := change{Key: k}
		if lok {
			c.Live = mask(l, secret(k))
		}
		if wok {
			c.New = mask(w, secret(k))
		}
		out = append(out, c)
	}
	return out
}

func mask(v string, secret bool) *string {
	if secret && v != "" && !strings.HasPrefix(v, "${") {
		v = "[hidden]"
	}
	return &v
}

// plan is what apply does, or would do, to one connector.
type plan struct {
	Name       string              `json:"name"`
	File       string              `json:"file"`
	Action     string              `json:"action"` // create, update, unchanged
	Changes    []change            `json:"changes,omitempty"`
	Validation herder.ConfigInfos  `json:"validation"`
	Errors     map[string][]string `json:"errors,omitempty"`
}

func (e *env) apply(args []string) error {
	if len(args) > 0 || len(e.files) == 0 {
		return usageErr("apply -f FILE|DIR [-f ...] [--dry-run]")
	}
	conns, err := readConnectors(e.files, e.stdin)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	// Validate everything first: nothing is applied unless every config
	// is valid.
	var plans []plan
	invalid := false
	for _, c := range conns {
		class := c.Config["connector.class"]
		if class == "" {
			return usageErr("%s: connector %s has no connector.class", c.Path, c.Name)
		}
		v, err := e.client.ValidateConfig(e.ctx, class, c.Config)
		if err != nil {
			return fmt.Errorf("validate connector %s (%s): %w", c.Name, c.Path, err)
		}
		p := plan{Name: c.Name, File: c.Path, Validation: v, Errors: validationErrors(v)}
		invalid = invalid || v.ErrorCount > 0
		secret := secretKeys(v)
		live, err := e.client.ConnectorConfig(e.ctx, c.Name)
		switch {
		case errors.Is(err, herder.ErrNotFound):
			p.Action = "create"
			p.Changes = diffConfigs(nil, c.Config, secret)
		case err != nil:
			return err
		default:
			p.Changes = diffConfigs(live, c.Config, secret)
			p.Action = "update"
			if len(p.Changes) == 0 {
				p.Action = "unchanged"
			}
		}
		plans = append(plans, p)
	}
	if invalid || e.dryRun {
		if err := e.printPlans(plans); err != nil {
			return err
		}
		if invalid {
			return &exitError{exitInvalid, errors.New("apply: some configs are not valid; nothing was applied")}
		}
		return nil
	}
	for i, c := range conns {
		p := plans[i]
		if p.Action == "unchanged" {
			fmt.Fprintf(e.stdout, "connector %s unchanged\n", c.Name)
			continue
		}
		_, created, err := e.client.PutConnectorConfig(e.ctx, c.Name, c.Config)
		if err != nil {
			return fmt.Errorf("connector %s (%s): %w", c.Name, c.Path, err)
		}
		if created {
			fmt.Fprintf(e.stdout, "connector %s created\n", c.Name)
		} else {
			fmt.Fprintf(e.stdout, "connector %s configured\n", c.Name)
		}
	}
	return nil
}

func (e *env) printPlans(plans []plan) error {
	var v any = plans
	return e.print(v, func(w *tabwriter.Writer) {
		for _, p := range plans {
			verb := map[string]string{"create": "would be created", "update": "would be updated", "unchanged": "unchanged"}[p.Action]
			if len(p.Errors) > 0 {
				verb = "is not valid"
			}
			fmt.Fprintf(w, "connector %s (%s) %s\n", p.Name, p.File, verb)
			for _, k := range sortedKeys(p.Errors) {
				for _, m := range p.Errors[k] {
					fmt.Fprintf(w, "  ! %s:\t%s\n", k, m)
				}
			}
			if len(p.Errors) > 0 {
				continue
			}
			for _, c := range p.Changes {
				switch {
				case c.Live == nil:
					fmt.Fprintf(w, "  + %s\t= %s\n", c.Key, *c.New)
				case c.New == nil:
					fmt.Fprintf(w, "  - %s\t= %s\n", c.Key, *c.Live)
				default:
					fmt.Fprintf(w, "  ~ %s\t= %s -> %s\n", c.Key, *c.Live, *c.New)
				}
			}
		}
	})
}

// validationErrors collects a validation's errors by key.
func validationErrors(v herder.ConfigInfos) map[string][]string {
	out := map[string][]string{}
	for _, c := range v.Configs {
		if len(c.Value.Errors) > 0 {
			out[c.Value.Name] = append(out[c.Value.Name], c.Value.Errors...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// secretKeys says which keys hold passwords, by their definitions.
func secretKeys(v herder.ConfigInfos) func(string) bool {
	s := map[string]bool{}
	for _, c := range v.Configs {
		if strings.EqualFold(c.Definition.Type, "PASSWORD") {
			s[c.Definition.Name] = true
		}
	}
	return func(k string) bool {
		return s[k] || strings.HasSuffix(k, "sasl.jaas.config") || strings.Contains(k, "password")
	}
}

// validate validates a config from a file, or a class and key=value
// pairs, and exits 3 when it has errors.
func (e *env) validate(args []string) error {
	var cfg map[string]string
	switch {
	case len(e.files) == 1 && len(args) == 0:
		conns, err := readConnectors(e.files, e.stdin)
		if err != nil {
			return &exitError{exitUsage, err}
		}
		if len(conns) != 1 {
			return usageErr("validate: %s holds %d connectors; give one", e.files[0], len(conns))
		}
		cfg = conns[0].Config
	case len(e.files) == 0 && len(args) >= 1:
		// Kafka Connect requires a name to validate; one is made up when
		// none is given.
		cfg = map[string]string{"connector.class": args[0], "name": "validate"}
		for _, kv := range args[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return usageErr("validate: %q: expected key=value", kv)
			}
			cfg[k] = v
		}
	default:
		return usageErr("validate -f FILE | validate CLASS key=value ...")
	}
	v, err := e.client.ValidateConfig(e.ctx, cfg["connector.class"], cfg)
	if err != nil {
		return err
	}
	errs := validationErrors(v)
	if err := e.print(v, func(w *tabwriter.Writer) {
		if len(errs) == 0 {
			fmt.Fprintf(w, "valid (%s)\n", v.Name)
			return
		}
		fmt.Fprintf(w, "%d errors (%s)\nKEY\tERROR\n", v.ErrorCount, v.Name)
		for _, k := range sortedKeys(errs) {
			for _, m := range errs[k] {
				fmt.Fprintf(w, "%s\t%s\n", k, m)
			}
		}
	}); err != nil {
		return err
	}
	if v.ErrorCount > 0 {
		return &exitError{exitInvalid, fmt.Errorf("%d validation errors", v.ErrorCount)}
	}
	return nil
}
