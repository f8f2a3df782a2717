package configprovider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
)

// NewEnvProvider returns Kafka's EnvVarConfigProvider (KIP-887):
// ${env:NAME} is the value of the worker's environment variable NAME, if
// NAME as a whole matches the regular expression allowlist (".*" allows
// every variable). The expression is Go's RE2 syntax, which agrees with
// Java's for the patterns allow lists are made of (classes, alternation,
// repetition); Java-only constructs such as look-around are refused. A
// placeholder with a path, ${env:path:NAME}, is an error, as in Kafka.
func NewEnvProvider(allowlist string) (Provider, error) {
	// Java's Matcher.matches: the whole name must match.
	re, err := regexp.Compile(`^(?:` + allowlist + `)$`)
	if err != nil {
		return nil, fmt.Errorf("allowlist pattern %q: %w", allowlist, err)
	}
	return &envProvider{allow: re}, nil
}

func envFactory(params map[string]string) (Provider, error) {
	pattern := ".*"
	for k, v := range params {
		if k != AllowlistPatternParam {
			return nil, &ParamError{Param: k, Err: fmt.Errorf("unknown parameter; this provider takes only %s", AllowlistPatternParam)}
		}
		pattern = v
	}
	p, err := NewEnvProvider(pattern)
	if err != nil {
		return nil, &ParamError{Param: AllowlistPatternParam, Err: errors.Unwrap(err)}
	}
	return p, nil
}

type envProvider struct{ allow *regexp.Regexp }

func (p *envProvider) Get(ctx context.Context, path string, keys []string) (map[string]string, error) {
	if path != "" {
		return nil, fmt.Errorf("the env provider takes no path (got %q): write ${env:NAME}", path)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if !p.allow.MatchString(k) {
			continue
		}
		if v, ok := os.LookupEnv(k); ok {
			out[k] = v
		}
	}
	return out, nil
}
