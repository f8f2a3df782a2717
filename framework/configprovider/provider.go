package configprovider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Provider looks up the values that placeholders refer to, as a Kafka
// ConfigProvider does. A Provider that holds resources may also implement
// io.Closer; Resolver.Close calls it.
type Provider interface {
	// Get returns the values of keys at path. Resolve calls it once per
	// path it needs, with every key the config asks of that path, sorted and
	// without duplicates; path is "" for placeholders written without one.
	// Get may be called from several goroutines at once, for different
	// connectors, and should return early when ctx is done.
	//
	// A key left out of the result is one the path does not hold, which
	// Resolve reports as ErrKeyNotFound. An error means the path could not
	// be read at all (unreadable file, path outside allowed.paths). Errors
	// must never contain the values looked up: they reach logs and the REST
	// API.
	Get(ctx context.Context, path string, keys []string) (map[string]string, error)
}

// Factory builds a Provider from its parameters: the worker keys
// config.providers.<name>.param.<param>, with params keyed by <param>. A
// Factory should reject parameters it does not know, with a *ParamError, so
// that a misspelt restriction such as "allowed.path" stops the worker
// instead of being ignored.
type Factory func(params map[string]string) (Provider, error)

// ParamError is the error a Factory returns for a bad parameter, so that the
// worker's error names the full key config.providers.<name>.param.<Param>.
type ParamError struct {
	// Param is the parameter's name without the config.providers.<name>.param.
	// prefix, such as "allowed.paths".
	Param string
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *ParamError) Error() string { return e.Param + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ParamError) Unwrap() error { return e.Err }

// Class names of the built-in providers: Kafka's, so worker configs written
// for Kafka Connect work unchanged. The short names "file", "directory",
// "dir" and "env" are accepted too.
const (
	FileConfigProviderClass      = "org.apache.kafka.common.config.provider.FileConfigProvider"
	DirectoryConfigProviderClass = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
	EnvVarConfigProviderClass    = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
)

// Registry maps provider class names to factories. NewRegistry holds the
// built-in providers; Register adds custom ones. A Registry is safe for
// concurrent use.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// NewRegistry returns a Registry holding the built-in providers under Kafka's
// class names and their short names: FileConfigProvider ("file"),
// DirectoryConfigProvider ("directory", "dir") and EnvVarConfigProvider
// ("env").
func NewRegistry() *Registry {
	r := &Registry{factories: map[string]Factory{}}
	for _, b := range []struct {
		f       Factory
		classes []string
	}{
		{fileFactory, []string{FileConfigProviderClass, "file"}},
		{directoryFactory, []string{DirectoryConfigProviderClass, "directory", "dir"}},
		{envFactory, []string{EnvVarConfigProviderClass, "env"}},
	} {
		for _, c := range b.classes {
			r.factories[c] = b.f
		}
	}
	return r
}

// Register adds a provider under a class name, the value that
// config.providers.<name>.class names it by. It fails if class is empty or
// already registered.
func (r *Registry) Register(class string, f Factory) error {
	if strings.TrimSpace(class) != class || class == "" {
		return fmt.Errorf("configprovider: register %q: a class name must be non-empty and have no surrounding spaces", class)
	}
	if f == nil {
		return fmt.Errorf("configprovider: register %q: nil factory", class)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.factories[class]; ok {
		return fmt.Errorf("configprovider: register %q: a provider of that class is already registered", class)
	}
	r.factories[class] = f
	return nil
}

// Classes returns the registered class names, sorted.
func (r *Registry) Classes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.factories))
	for c := range r.factories {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) factory(class string) (Factory, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.factories[class]
	return f, ok
}
