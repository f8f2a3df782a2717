package configprovider

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Worker config keys, as Kafka names them.
const (
	// ConfigProvidersConfig lists the provider names, comma separated.
	ConfigProvidersConfig = "config.providers"
	// AllowedPathsParam restricts the file and directory providers to
	// files under the listed absolute paths (comma separated). Unset or
	// empty, every path is allowed.
	AllowedPathsParam = "allowed.paths"
	// AllowlistPatternParam restricts the env provider to variables whose
	// whole name matches this regular expression. Unset, every variable is
	// allowed.
	AllowlistPatternParam = "allowlist.pattern"
)

// ConfigError is a worker config error of FromWorkerConfig, naming the key
// at fault.
type ConfigError struct {
	// Key is the worker config key, such as config.providers.file.class.
	Key string
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return "configprovider: " + e.Key + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// FromWorkerConfig builds the Resolver that a worker config asks for, with
// the built-in providers of NewRegistry. See Registry.FromWorkerConfig.
func FromWorkerConfig(props map[string]string) (*Resolver, error) {
	return NewRegistry().FromWorkerConfig(props)
}

// FromWorkerConfig builds the Resolver that a worker config asks for:
//
//	config.providers=env,file,dir
//	config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//	config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//	config.providers.file.param.allowed.paths=/etc/connectd/secrets
//	config.providers.dir.class=directory
//
// Without config.providers, the Resolver has no providers and leaves every
// placeholder as written. The error is a *ConfigError naming the key at
// fault. Unlike Kafka, which skips a listed name without a class, a listed
// name without config.providers.<name>.class is an error: skipping it would
// hand connectors the literal placeholder as, say, their password.
func (r *Registry) FromWorkerConfig(props map[string]string) (*Resolver, error) {
	providers := map[string]Provider{}
	fail := func(err error) (*Resolver, error) {
		for _, p := range providers {
			if c, ok := p.(io.Closer); ok {
				_ = c.Close()
			}
		}
		return nil, err
	}
	for _, name := range strings.Split(props[ConfigProvidersConfig], ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if _, dup := providers[name]; dup {
			continue
		}
		if strings.ContainsAny(name, ":}") {
			return fail(&ConfigError{Key: ConfigProvidersConfig, Err: fmt.Errorf(
				"provider name %q holds ':' or '}', so no placeholder can name it", name)})
		}
		prefix := ConfigProvidersConfig + "." + name + "."
		classKey := prefix + "class"
		class := strings.TrimSpace(props[classKey])
		if class == "" {
			return fail(&ConfigError{Key: classKey, Err: fmt.Errorf(
				"missing: provider %q is listed in %s but has no class; set it to a class such as %s",
				name, ConfigProvidersConfig, FileConfigProviderClass)})
		}
		f, ok := r.factory(class)
		if !ok {
			return fail(&ConfigError{Key: classKey, Err: fmt.Errorf(
				"unknown config provider class %q; known: %s", class, strings.Join(r.Classes(), ", "))})
		}
		paramPrefix := prefix + "param."
		params := map[string]string{}
		for k, v := range props {
			if p, ok := strings.CutPrefix(k, paramPrefix); ok {
				params[p] = v
			}
		}
		p, err := f(params)
		if err != nil {
			key := classKey
			if pe, ok := errors.AsType[*ParamError](err); ok {
				key, err = paramPrefix+pe.Param, pe.Err
			}
			return fail(&ConfigError{Key: key, Err: err})
		}
		if p == nil {
			return fail(&ConfigError{Key: classKey, Err: fmt.Errorf("the factory of class %q returned no provider", class)})
		}
		providers[name] = p
	}
	return NewResolver(providers), nil
}
