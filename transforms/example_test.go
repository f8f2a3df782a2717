package transforms_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/transforms"
)

// A chain configured as in Kafka Connect: insert a field, mask another,
// and route the topic, skipping tombstones.
func ExampleNewChain() {
	chain, err := transforms.NewChain(map[string]string{
		"transforms":                     "insert,mask,route",
		"transforms.insert.type":         "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.insert.static.field": "source",
		"transforms.insert.static.value": "orders-db",
		"transforms.mask.type":           "MaskField$Value",
		"transforms.mask.fields":         "email",
		"transforms.mask.predicate":      "tombstone",
		"transforms.mask.negate":         "true",
		"transforms.route.type":          "RegexRouter",
		"transforms.route.regex":         "(.*)-raw",
		"transforms.route.replacement":   "$1",
		"predicates":                     "tombstone",
		"predicates.tombstone.type":      "RecordIsTombstone",
	}, transforms.Env{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := chain.Apply(&connect.Record{Topic: "orders-raw", Value: map[string]any{"id": int64(7), "email": "a@b.example"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := out.Value.(map[string]any)
	fmt.Println(out.Topic, v["id"], v["email"] == "", v["source"])
	// Output: orders 7 true orders-db
}

// Validate reports every problem, keyed by the config key it concerns.
func ExampleValidate() {
	problems := transforms.Validate(map[string]string{
		"transforms":                   "mask,route",
		"transforms.mask.type":         "MaskField$Value",
		"transforms.route.type":        "RegexRouter",
		"transforms.route.regex":       "(.*",
		"transforms.route.replacement": "$1",
	})
	keys := make([]string, 0, len(problems))
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(k, "->", strings.Join(problems[k], "; "))
	}
	// Output:
	// transforms.mask.fields -> Missing required configuration "transforms.mask.fields" which has no default value.
	// transforms.route.regex -> Invalid value (.* for configuration transforms.route.regex: Invalid regex: error parsing regexp: missing closing ): `(.*`
}

// redact is a custom transform: it replaces the value of every record with
// a fixed string.
type redact struct{ text string }

func (r redact) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil {
		return rec, nil
	}
	c := *rec
	c.ValueSchema, c.Value = connect.StringSchema, r.text
	return &c, nil
}

// A plugin adds its own transform type to a registry and builds chains
// from it.
func ExampleRegistry_AddTransform() {
	reg := transforms.NewRegistry()
	err := reg.AddTransform(transforms.TransformType{
		Class: "com.example.Redact",
		Name:  "Redact",
		Doc:   "Replaces every value with a fixed text.",
		Config: connect.NewConfigDef(connect.ConfigKey{Name: "text", Type: connect.TypeString, Default: "***",
			Doc: "The text that replaces the value."}),
		New: func(cfg *connect.Config, _ transforms.Env) (transforms.Transform, error) {
			return redact{text: cfg.String("text")}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	chain, err := reg.NewChain(map[string]string{"transforms": "r", "transforms.r.type": "Redact"}, transforms.Env{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := chain.Apply(&connect.Record{Topic: "t", Value: "secret"})
	fmt.Println(out.Value)
	// Output: ***
}

// A failing record's error names the transform, for the dead letter queue.
func ExampleTransformError() {
	chain, _ := transforms.NewChain(map[string]string{
		"transforms": "extract", "transforms.extract.type": "ExtractField$Value", "transforms.extract.field": "id",
	}, transforms.Env{})
	_, err := chain.Apply(&connect.Record{Topic: "t", Value: "not a map"})
	var te *transforms.TransformError
	if errors.As(err, &te) {
		fmt.Println(te.Alias)
		fmt.Println(te.Class)
		fmt.Println(te.ExceptionClass())
		fmt.Println(te.Err)
	}
	// Output:
	// extract
	// org.apache.kafka.connect.transforms.ExtractField$Value
	// org.apache.kafka.connect.errors.DataException
	// Only Map objects supported in absence of schema for [field extraction], found: java.lang.String
}
