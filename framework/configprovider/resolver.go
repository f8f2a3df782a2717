package configprovider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// ErrKeyNotFound is the error, inside a *ResolveError, for a placeholder
// whose provider is configured but whose path does not hold its key: a
// property missing from the file, a file missing from the directory, an
// unset (or not allow-listed) environment variable.
//
// Kafka leaves such a placeholder in the value as written, so a connector
// starts with, say, the password "${file:/etc/secrets.properties:pasword}"
// and fails later with an authentication error that does not say why.
// Resolve fails instead, naming the config key and the placeholder.
var ErrKeyNotFound = errors.New("key not found")

// ResolveError is why one placeholder could not be resolved. It names the
// connector config key and the placeholder as written, never a value.
type ResolveError struct {
	// ConfigKey is the connector config key whose value holds the placeholder.
	ConfigKey string
	// Placeholder is the placeholder as written in the value, such as
	// ${file:/etc/secrets.properties:password}.
	Placeholder string
	// Err is ErrKeyNotFound or the provider's error.
	Err error
}

// Error implements error.
func (e *ResolveError) Error() string {
	return fmt.Sprintf("configprovider: config %q: resolve %s: %v", e.ConfigKey, e.Placeholder, e.Err)
}

// Unwrap returns the underlying error.
func (e *ResolveError) Unwrap() error { return e.Err }

// Resolver replaces placeholders in connector configs with the values its
// providers look up, as Kafka Connect's worker does before it hands a config
// to a connector or task. A Resolver is safe for concurrent use.
type Resolver struct {
	providers map[string]Provider
}

// NewResolver returns a Resolver with the given providers, keyed by the
// names placeholders use. Most callers want FromWorkerConfig; this is for
// tests and for embedding with providers built in code.
func NewResolver(providers map[string]Provider) *Resolver {
	return &Resolver{providers: maps.Clone(providers)}
}

// Providers returns the configured provider names, sorted.
func (r *Resolver) Providers() []string {
	return slices.Sorted(maps.Keys(r.providers))
}

// Close closes the providers that implement io.Closer.
func (r *Resolver) Close() error {
	var errs []error
	for _, name := range r.Providers() {
		if c, ok := r.providers[name].(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("configprovider: close provider %q: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Resolve returns config with its placeholders replaced, as Kafka's
// ConfigTransformer does:
//
//   - Every value is scanned once (see FindPlaceholders); what a placeholder
//     resolves to is not scanned again.
//   - Each provider is asked once per path, for all the keys the config
//     wants of that path.
//   - A placeholder naming a provider that is not configured stays as
//     written, as in Kafka: a value may legitimately contain "${x:y}".
//   - Config keys are never changed.
//
// Unlike Kafka, a placeholder whose provider is configured but cannot
// resolve it (missing key, unreadable file, path outside allowed.paths)
// fails the whole call: err joins one *ResolveError per such placeholder,
// sorted by config key, and resolved is nil, so that no connector starts with
// half its secrets.
//
// secrets holds the distinct non-empty values that placeholders were
// replaced with, sorted; add them to a Redactor so logs never show them.
// config is not modified.
func (r *Resolver) Resolve(ctx context.Context, config map[string]string) (resolved map[string]string, secrets []string, err error) {
	type pathRef struct{ provider, path string }
	type lookup struct {
		data map[string]string
		err  error
	}
	found := map[string][]Placeholder{}
	wanted := map[pathRef]map[string]bool{}
	for k, v := range config {
		if !strings.Contains(v, "${") {
			continue
		}
		ps := FindPlaceholders(v)
		for _, p := range ps {
			if _, ok := r.providers[p.Provider]; !ok {
				continue
			}
			ref := pathRef{p.Provider, p.Path}
			if wanted[ref] == nil {
				wanted[ref] = map[string]bool{}
			}
			wanted[ref][p.Key] = true
		}
		if len(ps) > 0 {
			found[k] = ps
		}
	}

	lookups := make(map[pathRef]lookup, len(wanted))
	for _, ref := range slices.SortedFunc(maps.Keys(wanted), func(a, b pathRef) int {
		return cmp.Or(strings.Compare(a.provider, b.provider), strings.Compare(a.path, b.path))
	}) {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("configprovider: resolve: %w", err)
		}
		keys := slices.Sorted(maps.Keys(wanted[ref]))
		data, err := r.providers[ref.provider].Get(ctx, ref.path, keys)
		if err != nil && ctx.Err() != nil {
			return nil, nil, fmt.Errorf("configprovider: resolve: provider %q: %w", ref.provider, err)
		}
		lookups[ref] = lookup{data, err}
	}

	resolved = maps.Clone(config)
	if resolved == nil {
		resolved = map[string]string{}
	}
	used := map[string]bool{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(found)) {
		v := config[k]
		var b strings.Builder
		last := 0
		for _, p := range found[k] {
			l, ok := lookups[pathRef{p.Provider, p.Path}]
			if !ok {
				continue // provider not configured: leave the text as written
			}
			text := v[p.Start:p.End]
			if l.err != nil {
				errs = append(errs, &ResolveError{ConfigKey: k, Placeholder: text, Err: l.err})
				continue
			}
			val, ok := l.data[p.Key]
			if !ok {
				errs = append(errs, &ResolveError{ConfigKey: k, Placeholder: text, Err: notFound(p)})
				continue
			}
			b.WriteString(v[last:p.Start])
			b.WriteString(val)
			last = p.End
			if val != "" {
				used[val] = true
			}
		}
		if last > 0 {
			b.WriteString(v[last:])
			resolved[k] = b.String()
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return resolved, slices.Sorted(maps.Keys(used)), nil
}

func notFound(p Placeholder) error {
	if p.Path == "" {
		return fmt.Errorf("%w: provider %q has no value for key %q", ErrKeyNotFound, p.Provider, p.Key)
	}
	return fmt.Errorf("%w: provider %q has no value for key %q at path %q", ErrKeyNotFound, p.Provider, p.Key, p.Path)
}
