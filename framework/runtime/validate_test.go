package runtime

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/herder"
)

func findConfig(infos herder.ConfigInfos, name string) (herder.ConfigInfo, bool) {
	for _, c := range infos.Configs {
		if c.Definition.Name == name {
			return c, true
		}
	}
	return herder.ConfigInfo{}, false
}

// TestValidateTransformsAndErrorHandling: the validate response lists the
// framework's keys in Kafka Connect's groups, each transform's and
// predicate's keys under its alias, and errors that name the transform and
// the key.
func TestValidateTransformsAndErrorHandling(t *testing.T) {
	e := newEnv(t, "none")
	ctx := context.Background()
	base := map[string]string{"connector.class": "counter", "name": "x", "topic": "t"}
	with := func(kv ...string) map[string]string {
		c := map[string]string{}
		for k, v := range base {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return c
	}

	good := with("transforms", "mask,route", "transforms.mask.type", "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.mask.fields", "payload", "transforms.route.type", "RegexRouter", "transforms.route.regex", "(.*)",
		"transforms.route.replacement", "$1-out", "transforms.route.predicate", "isT", "predicates", "isT",
		"predicates.isT.type", "TopicNameMatches", "predicates.isT.pattern", "t")
	infos, err := e.h.Validate(ctx, "counter", good)
	if err != nil {
		t.Fatal(err)
	}
	if infos.ErrorCount != 0 {
		t.Fatalf("a valid chain has %d errors: %+v", infos.ErrorCount, infos)
	}
	for _, g := range []string{"Common", "Transforms", "Predicates", "Error Handling", "Transforms: mask", "Transforms: route", "Predicates: isT"} {
		if !slices.Contains(infos.Groups, g) {
			t.Errorf("groups %v lack %q", infos.Groups, g)
		}
	}
	for key, group := range map[string]string{
		"transforms": "Transforms", "predicates": "Predicates", "errors.tolerance": "Error Handling", "errors.retry.timeout": "Error Handling",
		"errors.deadletterqueue.topic.name": "Error Handling", "transforms.mask.type": "Transforms: mask",
		"transforms.mask.fields": "Transforms: mask", "transforms.mask.replacement": "Transforms: mask",
		"transforms.route.predicate": "Transforms: route", "transforms.route.negate": "Transforms: route",
		"transforms.route.regex": "Transforms: route", "predicates.isT.type": "Predicates: isT", "predicates.isT.pattern": "Predicates: isT",
	} {
		c, ok := findConfig(infos, key)
		if !ok {
			t.Errorf("no entry for %s", key)
			continue
		}
		if c.Definition.Group == nil || *c.Definition.Group != group {
			t.Errorf("%s in group %v, want %q", key, c.Definition.Group, group)
		}
	}
	if c, _ := findConfig(infos, "errors.tolerance"); c.Definition.DefaultValue == nil || *c.Definition.DefaultValue != "none" {
		t.Errorf("errors.tolerance default %v, want none", c.Definition.DefaultValue)
	}
	if c, _ := findConfig(infos, "transforms.mask.type"); !c.Definition.Required || c.Definition.Type != "CLASS" || c.Definition.DisplayName != "Transformation type for mask" {
		t.Errorf("transforms.mask.type definition: %+v", c.Definition)
	}

	for name, tc := range map[string]struct {
		config   map[string]string
		key, msg string
	}{
		"unknown transform": {with("transforms", "x", "transforms.x.type", "NoSuchTransform"),
			"transforms.x.type", "Invalid value NoSuchTransform for configuration transforms.x.type: Class NoSuchTransform could not be found"},
		"missing type": {with("transforms", "x"), "transforms.x.type", `Missing required configuration "transforms.x.type"`},
		"missing field": {with("transforms", "cast", "transforms.cast.type", "Cast$Value"),
			"transforms.cast.spec", "transforms.cast.spec"},
		"undefined predicate": {with("transforms", "f", "transforms.f.type", "Filter", "transforms.f.predicate", "p"),
			"transforms.f.predicate", "refers to predicate \"p\", which is not defined"},
		"duplicate alias": {with("transforms", "f,f", "transforms.f.type", "Filter"), "transforms", "Duplicate alias provided."},
		"bad tolerance":   {with("errors.tolerance", "some"), "errors.tolerance", "Invalid value some for configuration errors.tolerance: String must be one of: none, all"},
	} {
		t.Run(name, func(t *testing.T) {
			infos, err := e.h.Validate(ctx, "counter", tc.config)
			if err != nil {
				t.Fatal(err)
			}
			if !hasError(infos, tc.key, tc.msg) {
				t.Fatalf("no error %q on %s: %+v", tc.msg, tc.key, errorsOf(infos))
			}
			c, _ := findConfig(infos, tc.key)
			if n := len(c.Value.Errors); n != len(uniq(c.Value.Errors)) {
				t.Fatalf("a message is repeated on %s: %v", tc.key, c.Value.Errors)
			}
			_, _, err = e.h.PutConnectorConfig(ctx, "bad", tc.config, false)
			if _, ok := err.(*herder.ValidationError); !ok || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("create with this config: %v", err)
			}
		})
	}

	// A sink's dead letter queue may not be one of its topics.
	infos, err = e.h.Validate(ctx, "collect", map[string]string{"connector.class": "collect", "name": "s", "file": "/tmp/x",
		"topics": "a,dlq", "errors.deadletterqueue.topic.name": "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasError(infos, "topics", "The DLQ topic 'dlq' may not be included in the list of topics ('topics=[a, dlq]') consumed by the connector") {
		t.Fatalf("DLQ among the topics: %+v", errorsOf(infos))
	}
	infos, err = e.h.Validate(ctx, "collect", map[string]string{"connector.class": "collect", "name": "s", "file": "/tmp/x",
		"topics.regex": "d.*", "errors.deadletterqueue.topic.name": "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasError(infos, "topics.regex", "The DLQ topic 'dlq' may not be matched by the regex for the topics ('topics.regex=d.*') consumed by the connector") {
		t.Fatalf("DLQ matched by topics.regex: %+v", errorsOf(infos))
	}
}

func errorsOf(infos herder.ConfigInfos) map[string][]string {
	out := map[string][]string{}
	for _, c := range infos.Configs {
		if len(c.Value.Errors) > 0 {
			out[c.Definition.Name] = c.Value.Errors
		}
	}
	return out
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
