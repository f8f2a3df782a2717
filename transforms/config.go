package transforms

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// The connector config keys that define a chain, as Kafka Connect names them.
const (
	KeyTransforms = "transforms"
	KeyPredicates = "predicates"
	// Each transform alias a has transforms.a.type, its own keys under
	// transforms.a., and optionally transforms.a.predicate and
	// transforms.a.negate; each predicate alias p has predicates.p.type
	// and its own keys under predicates.p.
	KeyType      = "type"
	KeyPredicate = "predicate"
	KeyNegate    = "negate"
)

var emptyDef = connect.NewConfigDef()

// NewChain builds the chain that a connector config defines, with the
// built-in transform and predicate types. It returns a nil chain (which
// passes records through) when the config sets no transforms. Every problem
// is reported in one *connect.ConfigError keyed by the full config key
// (transforms.mask.fields), each message naming that key.
func NewChain(config map[string]string, env Env) (*Chain, error) {
	return builtin.NewChain(config, env)
}

// Validate checks the transforms and predicates of a connector config with
// the built-in types and returns every problem, keyed by config key: for
// the REST API's validate endpoint. It returns nil when there is none. It
// builds each transform and predicate as NewChain would, so that checks
// spanning several keys are made too.
func Validate(config map[string]string) map[string][]string {
	return builtin.Validate(config)
}

// NewChain builds the chain a connector config defines; see the
// package-level NewChain.
func (r *Registry) NewChain(config map[string]string, env Env) (*Chain, error) {
	c, errs := r.parse(config, env)
	if len(errs) > 0 {
		return nil, &connect.ConfigError{Errs: errs}
	}
	if len(c.stages) == 0 {
		return nil, nil
	}
	return c, nil
}

// Validate checks a connector config; see the package-level Validate.
func (r *Registry) Validate(config map[string]string) map[string][]string {
	_, errs := r.parse(config, Env{})
	if len(errs) == 0 {
		return nil
	}
	return errs
}

type problems map[string][]string

func (p problems) add(key, format string, args ...any) {
	p[key] = append(p[key], fmt.Sprintf(format, args...))
}

// aliases splits a list of aliases and reports duplicates as Kafka
// Connect's aliasValidator does.
func aliases(config map[string]string, key string, errs problems) []string {
	list := connect.SplitList(config[key])
	seen := make(map[string]bool, len(list))
	out := list[:0:0]
	dup := false
	for _, a := range list {
		if seen[a] {
			dup = true
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	if dup {
		errs.add(key, "Invalid value %s for configuration %s: Duplicate alias provided.", config[key], key)
	}
	return out
}

func (r *Registry) parse(config map[string]string, env Env) (*Chain, problems) {
	errs := problems{}
	tAliases := aliases(config, KeyTransforms, errs)
	pAliases := aliases(config, KeyPredicates, errs)

	preds := make(map[string]Predicate, len(pAliases))
	defined := make(map[string]bool, len(pAliases))
	for _, alias := range pAliases {
		defined[alias] = true
		prefix := KeyPredicates + "." + alias + "."
		typeKey := prefix + KeyType
		name, ok := config[typeKey]
		if !ok {
			errs.add(typeKey, "Missing required configuration %q which has no default value.", typeKey)
			continue
		}
		name = strings.TrimSpace(name)
		pt, ok := r.predicates[name]
		if !ok {
			errs.add(typeKey, "Invalid value %s for configuration %s: Class %s could not be found. Known predicates: %s.",
				name, typeKey, name, r.predicateNames())
			continue
		}
		cfg := subConfig(config, prefix, pt.Config, errs, nil)
		if cfg == nil {
			continue
		}
		p, err := pt.New(cfg, env)
		if err != nil {
			reportBuildError(errs, prefix, typeKey, "Predicate", alias, pt.Class, err)
			continue
		}
		preds[alias] = p
	}

	c := &Chain{stages: make([]stage, 0, len(tAliases))}
	for _, alias := range tAliases {
		prefix := KeyTransforms + "." + alias + "."
		typeKey := prefix + KeyType
		predKey, negKey := prefix+KeyPredicate, prefix+KeyNegate

		st := stage{alias: alias}
		ok := true
		predAlias, hasPred := config[predKey]
		predAlias = strings.TrimSpace(predAlias)
		if negRaw, set := config[negKey]; set {
			switch strings.ToLower(strings.TrimSpace(negRaw)) {
			case "true":
				st.negate = true
			case "false":
			default:
				errs.add(negKey, "Invalid value %s for configuration %s: Expected value to be either true or false", negRaw, negKey)
				ok = false
			}
			if !hasPred {
				errs.add(negKey, "Config '%s' was provided but there is no config '%s' defining a predicate to be negated.", negKey, predKey)
				ok = false
			}
		}
		if hasPred {
			switch {
			case !defined[predAlias]:
				errs.add(predKey, "Invalid value %s for configuration %s: transform %q refers to predicate %q, which is not defined: list it in %s and set %s%s.%s",
					predAlias, predKey, alias, predAlias, KeyPredicates, KeyPredicates+".", predAlias, KeyType)
				ok = false
			case preds[predAlias] == nil:
				ok = false // the predicate's own problems are reported
			default:
				st.predicate = preds[predAlias]
			}
		}

		name, set := config[typeKey]
		if !set {
			errs.add(typeKey, "Missing required configuration %q which has no default value.", typeKey)
			continue
		}
		name = strings.TrimSpace(name)
		tt, found := r.transforms[name]
		if !found {
			errs.add(typeKey, "Invalid value %s for configuration %s: Class %s could not be found. Known transformations: %s.",
				name, typeKey, name, r.transformNames())
			continue
		}
		st.class = tt.Class
		cfg := subConfig(config, prefix, tt.Config, errs, map[string]bool{KeyPredicate: true, KeyNegate: true})
		if cfg == nil {
			continue
		}
		t, err := tt.New(cfg, env)
		if err != nil {
			reportBuildError(errs, prefix, typeKey, "Transformation", alias, tt.Class, err)
			continue
		}
		st.transform = t
		if b, isBuiltin := t.(builtinTransform); isBuiltin {
			st.updater = b.u
			_, st.drop = b.u.(filter)
		}
		if ok {
			c.stages = append(c.stages, st)
		}
	}
	c.reusable = reusableWith(c.stages)
	fuse(c.stages)
	return c, errs
}

// subConfig parses the keys under prefix with def. Problems go to errs
// under the full key, with the full key in the message, and it returns nil.
// skip names keys under prefix that belong to the chain, not to the plugin.
func subConfig(config map[string]string, prefix string, def *connect.ConfigDef, errs problems, skip map[string]bool) *connect.Config {
	sub := map[string]string{}
	for k, v := range config {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != KeyType && !skip[rest] {
			sub[k[len(prefix):]] = v
		}
	}
	cfg, err := def.Parse(sub)
	if err == nil {
		return cfg
	}
	// Parse again with the full key names, so that messages name them.
	full := connect.NewConfigDef()
	for _, k := range def.Keys() {
		if skip[k.Name] {
			continue
		}
		k.Name = prefix + k.Name
		full.Define(k)
	}
	_, ferr := full.Parse(config)
	var ce *connect.ConfigError
	if errors.As(ferr, &ce) {
		for key, msgs := range ce.Errs {
			errs[key] = append(errs[key], msgs...)
		}
	} else {
		errs.add(prefix+KeyType, "%v", err)
	}
	return nil
}

// reportBuildError files an error from a plugin's New under the key it
// concerns, or under its type key.
func reportBuildError(errs problems, prefix, typeKey, kind, alias, class string, err error) {
	var ke *KeyError
	if errors.As(err, &ke) && ke.Key != "" {
		errs[prefix+ke.Key] = append(errs[prefix+ke.Key], ke.message(prefix+ke.Key))
		return
	}
	var ce *connect.ConfigError
	if errors.As(err, &ce) {
		keys := make([]string, 0, len(ce.Errs))
		for k := range ce.Errs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			errs[prefix+k] = append(errs[prefix+k], ce.Errs[k]...)
		}
		return
	}
	errs.add(typeKey, "%s %q (%s): %v", kind, alias, class, err)
}
