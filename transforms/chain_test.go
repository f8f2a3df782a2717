package transforms

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestNoTransforms(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]map[string]string{
		"unset":     {"connector.class": "file"},
		"empty":     {"transforms": ""},
		"blank":     {"transforms": " , "},
		"predicate": {"predicates": "p", "predicates.p.type": "RecordIsTombstone"},
	} {
		c, err := NewChain(cfg, Env{})
		if err != nil || c != nil {
			t.Errorf("%s: NewChain = %v, %v; want nil, nil", name, c, err)
		}
		r := rec(nil, nil, nil, "v")
		if got, err := c.Apply(r); got != r || err != nil {
			t.Errorf("%s: nil chain Apply = %v, %v; want the record itself", name, got, err)
		}
		if c.Len() != 0 {
			t.Errorf("%s: Len = %d", name, c.Len())
		}
	}
}

func TestChainAppliesInOrderWithPredicates(t *testing.T) {
	t.Parallel()
	cfg := map[string]string{
		"transforms":                   "route, drop ,tag",
		"transforms.route.type":        "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":       "(.*)-raw",
		"transforms.route.replacement": "$1",
		"transforms.drop.type":         "Filter",
		"transforms.drop.predicate":    "tomb",
		"transforms.tag.type":          "InsertHeader",
		"transforms.tag.header":        "seen",
		"transforms.tag.value.literal": "yes",
		"transforms.tag.predicate":     "orders",
		"transforms.tag.negate":        "true",
		"predicates":                   "tomb,orders",
		"predicates.tomb.type":         "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
		"predicates.orders.type":       "TopicNameMatches",
		"predicates.orders.pattern":    "orders",
	}
	c, err := NewChain(cfg, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"route", "drop", "tag"}, c.Aliases()); d != "" {
		t.Errorf("aliases (-want +got):\n%s", d)
	}
	tests := map[string]struct {
		in   *connect.Record
		want *connect.Record
	}{
		"routed, not tagged": {
			in:   &connect.Record{Topic: "orders-raw", Value: "v"},
			want: &connect.Record{Topic: "orders", Value: "v"},
		},
		"routed and tagged": {
			in: &connect.Record{Topic: "users-raw", Value: "v"},
			want: &connect.Record{Topic: "users", Value: "v",
				Headers: []connect.Header{{Key: "seen", Schema: connect.StringSchema, Value: "yes"}}},
		},
		"tombstone dropped": {
			in: &connect.Record{Topic: "users-raw"},
		},
	}
	for name, tc := range tests {
		got, err := c.Apply(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := diffRecords(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}

func TestChainConfigErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  map[string]string
		want map[string][]string
	}{
		"duplicate alias": {
			cfg: map[string]string{"transforms": "a,a", "transforms.a.type": "Filter"},
			want: map[string][]string{"transforms": {
				"Invalid value a,a for configuration transforms: Duplicate alias provided."}},
		},
		"missing type": {
			cfg: map[string]string{"transforms": "a"},
			want: map[string][]string{"transforms.a.type": {
				`Missing required configuration "transforms.a.type" which has no default value.`}},
		},
		"unknown type lists the known ones": {
			cfg: map[string]string{"transforms": "a", "transforms.a.type": "com.example.Nope"},
			want: map[string][]string{"transforms.a.type": {
				"Invalid value com.example.Nope for configuration transforms.a.type: Class com.example.Nope could not be found. Known transformations: " +
					builtin.transformNames() + "."}},
		},
		"missing required key": {
			cfg: map[string]string{"transforms": "mask", "transforms.mask.type": "MaskField$Value"},
			want: map[string][]string{"transforms.mask.fields": {
				`Missing required configuration "transforms.mask.fields" which has no default value.`}},
		},
		"empty list": {
			cfg: map[string]string{"transforms": "mask", "transforms.mask.type": "MaskField$Value", "transforms.mask.fields": ""},
			want: map[string][]string{"transforms.mask.fields": {
				`Invalid value  for configuration transforms.mask.fields: Empty list`}},
		},
		"bad boolean": {
			cfg: map[string]string{"transforms": "mask", "transforms.mask.type": "MaskField$Value", "transforms.mask.fields": "a",
				"transforms.mask.replace.null.with.default": "yes"},
			want: map[string][]string{"transforms.mask.replace.null.with.default": {
				`Invalid value yes for configuration transforms.mask.replace.null.with.default: Expected value to be either true or false`}},
		},
		"check across keys": {
			cfg: map[string]string{"transforms": "ins", "transforms.ins.type": "InsertField$Value"},
			want: map[string][]string{"transforms.ins.type": {
				`Transformation "ins" (org.apache.kafka.connect.transforms.InsertField$Value): No field insertion configured`}},
		},
		"key error from the transform": {
			cfg: map[string]string{"transforms": "ins", "transforms.ins.type": "InsertField$Value", "transforms.ins.static.field": "f"},
			want: map[string][]string{"transforms.ins.static.value": {
				`Invalid value null for configuration transforms.ins.static.value: No value specified for static field: f`}},
		},
		"negate without predicate": {
			cfg: map[string]string{"transforms": "f", "transforms.f.type": "Filter", "transforms.f.negate": "true"},
			want: map[string][]string{"transforms.f.negate": {
				"Config 'transforms.f.negate' was provided but there is no config 'transforms.f.predicate' defining a predicate to be negated."}},
		},
		"bad negate": {
			cfg: map[string]string{"transforms": "f", "transforms.f.type": "Filter", "transforms.f.negate": "maybe",
				"transforms.f.predicate": "p", "predicates": "p", "predicates.p.type": "RecordIsTombstone"},
			want: map[string][]string{"transforms.f.negate": {
				"Invalid value maybe for configuration transforms.f.negate: Expected value to be either true or false"}},
		},
		"predicate not defined": {
			cfg: map[string]string{"transforms": "f", "transforms.f.type": "Filter", "transforms.f.predicate": "p"},
			want: map[string][]string{"transforms.f.predicate": {
				`Invalid value p for configuration transforms.f.predicate: transform "f" refers to predicate "p", which is not defined: list it in predicates and set predicates.p.type`}},
		},
		"predicate type missing and unknown": {
			cfg: map[string]string{"predicates": "p,q", "predicates.q.type": "Nope"},
			want: map[string][]string{
				"predicates.p.type": {`Missing required configuration "predicates.p.type" which has no default value.`},
				"predicates.q.type": {"Invalid value Nope for configuration predicates.q.type: Class Nope could not be found. Known predicates: HasHeaderKey, RecordIsTombstone, TopicNameMatches."},
			},
		},
		"predicate key": {
			cfg: map[string]string{"predicates": "p", "predicates.p.type": "TopicNameMatches", "predicates.p.pattern": "(a"},
			want: map[string][]string{"predicates.p.pattern": {
				"Invalid value (a for configuration predicates.p.pattern: Invalid regex: error parsing regexp: missing closing ): `(a`"}},
		},
		"several problems at once": {
			cfg: map[string]string{"transforms": "a,b", "transforms.a.type": "RegexRouter", "transforms.b.type": "DropHeaders"},
			want: map[string][]string{
				"transforms.a.regex":       {`Missing required configuration "transforms.a.regex" which has no default value.`},
				"transforms.a.replacement": {`Missing required configuration "transforms.a.replacement" which has no default value.`},
				"transforms.b.headers":     {`Missing required configuration "transforms.b.headers" which has no default value.`},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if d := cmp.Diff(tc.want, Validate(tc.cfg)); d != "" {
				t.Errorf("Validate (-want +got):\n%s", d)
			}
			c, err := NewChain(tc.cfg, Env{})
			var ce *connect.ConfigError
			if c != nil || !errors.As(err, &ce) {
				t.Fatalf("NewChain = %v, %v; want a *connect.ConfigError", c, err)
			}
			if d := cmp.Diff(tc.want, ce.Errs); d != "" {
				t.Errorf("NewChain error (-want +got):\n%s", d)
			}
		})
	}
}

func TestTransformErrorNamesTheTransform(t *testing.T) {
	t.Parallel()
	c, err := NewChain(map[string]string{"transforms": "keep,mask", "transforms.keep.type": "DropHeaders",
		"transforms.keep.headers": "h", "transforms.mask.type": "MaskField$Value", "transforms.mask.fields": "f"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Apply(rec(nil, nil, nil, "not a map"))
	var te *TransformError
	if !errors.As(err, &te) {
		t.Fatalf("Apply error %v is not a *TransformError", err)
	}
	want := &TransformError{Alias: "mask", Class: "org.apache.kafka.connect.transforms.MaskField$Value",
		Err: &DataError{Exception: "org.apache.kafka.connect.errors.DataException",
			Msg: "Only Map objects supported in absence of schema for [mask fields], found: java.lang.String"}}
	if d := cmp.Diff(want, te); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
	if got := te.ExceptionClass(); got != "org.apache.kafka.connect.errors.DataException" {
		t.Errorf("ExceptionClass = %q", got)
	}
	if !strings.Contains(err.Error(), `"mask"`) || !strings.Contains(err.Error(), "MaskField$Value") {
		t.Errorf("message %q does not name the transform", err)
	}
}

// upper is a custom transform that upper-cases string values.
type upper struct{ prefix string }

func (u upper) Apply(r *connect.Record) (*connect.Record, error) {
	s, ok := r.Value.(string)
	if !ok {
		return nil, errors.New("upper: value is not a string")
	}
	c := *r
	c.Value = u.prefix + strings.ToUpper(s)
	return &c, nil
}

func TestRegistryCustomTransform(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	def := connect.NewConfigDef(connect.ConfigKey{Name: "prefix", Type: connect.TypeString, Required: true})
	err := reg.AddTransform(TransformType{Class: "com.example.Upper", Name: "Upper", Config: def,
		New: func(cfg *connect.Config, _ Env) (Transform, error) { return upper{prefix: cfg.String("prefix")}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]TransformType{
		"class taken":    {Class: "org.apache.kafka.connect.transforms.Filter", New: asTransform(newFilter)},
		"name taken":     {Class: "com.example.Filter", Name: "Filter", New: asTransform(newFilter)},
		"predicate name": {Class: "com.example.X", Name: "TopicNameMatches", New: asTransform(newFilter)},
		"no class":       {Name: "X", New: asTransform(newFilter)},
		"no New":         {Class: "com.example.Y"},
	} {
		if err := reg.AddTransform(tt); err == nil {
			t.Errorf("%s: AddTransform accepted it", name)
		}
	}
	c, err := reg.NewChain(map[string]string{"transforms": "u", "transforms.u.type": "Upper", "transforms.u.prefix": ">"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Apply(rec(nil, nil, nil, "abc"))
	if err != nil || got.Value != ">ABC" {
		t.Fatalf("Apply = %v, %v", got, err)
	}
	_, err = c.Apply(rec(nil, nil, nil, 1))
	var te *TransformError
	if !errors.As(err, &te) || te.Class != "com.example.Upper" || te.Alias != "u" || te.ExceptionClass() != "" {
		t.Errorf("error = %#v", err)
	}
	if _, ok := builtin.Transform("Upper"); ok {
		t.Error("adding to a new registry changed the built-in one")
	}
	if errs := reg.Validate(map[string]string{"transforms": "u", "transforms.u.type": "com.example.Upper"}); len(errs["transforms.u.prefix"]) != 1 {
		t.Errorf("Validate = %v; want the missing prefix", errs)
	}
}

// TestChainMixesBuiltinAndCustom runs built-in transforms (which update the
// chain's own copy) around a custom one (which returns new records).
func TestChainMixesBuiltinAndCustom(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	if err := reg.AddTransform(TransformType{Class: "com.example.Upper",
		New: func(*connect.Config, Env) (Transform, error) { return upper{}, nil }}); err != nil {
		t.Fatal(err)
	}
	c, err := reg.NewChain(map[string]string{
		"transforms":            "route,up,tag,route2",
		"transforms.route.type": "RegexRouter", "transforms.route.regex": "a(.*)", "transforms.route.replacement": "b$1",
		"transforms.up.type":  "com.example.Upper",
		"transforms.tag.type": "InsertHeader", "transforms.tag.header": "h", "transforms.tag.value.literal": "v",
		"transforms.route2.type": "RegexRouter", "transforms.route2.regex": "b(.*)", "transforms.route2.replacement": "c$1",
	}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	in := &connect.Record{Topic: "a1", Value: "x", Headers: []connect.Header{{Key: "k", Value: "1"}}}
	before := snapshot(in)
	got, err := c.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &connect.Record{Topic: "c1", Value: "X", Headers: []connect.Header{{Key: "k", Value: "1"},
		{Key: "h", Schema: connect.StringSchema, Value: "v"}}}
	if d := diffRecords(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, snapshot(in)); d != "" {
		t.Errorf("input changed (-before +after):\n%s", d)
	}
}

// TestChainConcurrentUse applies one chain from several goroutines, with
// schemas that come and go, for the race detector.
func TestChainConcurrentUse(t *testing.T) {
	t.Parallel()
	c, err := NewChain(map[string]string{
		"transforms": "ins,cast,route", "transforms.ins.type": "InsertField$Value", "transforms.ins.topic.field": "t",
		"transforms.cast.type": "Cast$Value", "transforms.cast.spec": "n:string",
		"transforms.route.type": "RegexRouter", "transforms.route.regex": "(.*)", "transforms.route.replacement": "x-$1",
	}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(g int) {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				s := connect.StructSchema().Name(fmt.Sprint("s", (g+i)%20)).Field("n", connect.Int32Schema).Build()
				var out *connect.Record
				out, err = c.Apply(&connect.Record{Topic: fmt.Sprint("t", i%7), ValueSchema: s, Value: connect.NewStruct(s).Put("n", int32(i))})
				if err == nil && (out.Value.(*connect.StructValue).Get("n") != fmt.Sprint(i) || out.Topic != fmt.Sprint("x-t", i%7)) {
					err = fmt.Errorf("got %v on %s", out.Value, out.Topic)
				}
			}
			done <- err
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestChainMatchesStepByStep checks the chain's in-place updates (of its own
// copy of the record, and of maps and structs an earlier transform made)
// against applying each transform on its own, which never works in place,
// and that the input record is left as it was.
func TestChainMatchesStepByStep(t *testing.T) {
	t.Parallel()
	steps := [][2]any{
		{"InsertField$Value", map[string]string{"static.field": "dc", "static.value": "eu", "topic.field": "topic"}},
		{"ReplaceField$Value", map[string]string{"renames": "a:b,b:a", "exclude": "drop"}},
		{"MaskField$Value", map[string]string{"fields": "secret"}},
		{"Cast$Value", map[string]string{"spec": "n:string"}},
		{"TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "unix"}},
		{"HeaderFrom$Value", map[string]string{"fields": "dc", "headers": "dc", "operation": "move"}},
		{"ValueToKey", map[string]string{"fields": "a"}},
		{"InsertField$Key", map[string]string{"static.field": "k", "static.value": "v"}},
		{"ReplaceField$Key", map[string]string{"renames": "k:kk"}},
		{"MaskField$Value", map[string]string{"fields": "b"}},
		{"Flatten$Value", map[string]string{"delimiter": "_"}},
		{"MaskField$Value", map[string]string{"fields": "nested_x"}},
		{"HoistField$Value", map[string]string{"field": "wrapped"}},
		{"InsertField$Value", map[string]string{"static.field": "after", "static.value": "hoist"}},
	}
	cfg := map[string]string{}
	var aliases []string
	var alone []Transform
	for i, st := range steps {
		alias := fmt.Sprint("s", i)
		aliases = append(aliases, alias)
		cfg["transforms."+alias+".type"] = st[0].(string)
		for k, v := range st[1].(map[string]string) {
			cfg["transforms."+alias+"."+k] = v
		}
		tt, _ := builtin.Transform(st[0].(string))
		pc, err := tt.Config.Parse(st[1].(map[string]string))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := tt.New(pc, Env{})
		if err != nil {
			t.Fatal(err)
		}
		alone = append(alone, tr)
	}
	cfg["transforms"] = strings.Join(aliases, ",")
	c, err := NewChain(cfg, Env{})
	if err != nil {
		t.Fatal(err)
	}
	nestedS := connect.StructSchema().Field("x", connect.Int32Schema).Build()
	schema := connect.StructSchema().Field("a", connect.Int32Schema).Field("b", connect.StringSchema).
		Field("drop", connect.Int8Schema).Field("secret", connect.StringSchema).Field("n", connect.Int64Schema).
		Field("ts", connect.TimestampSchema().Build()).Field("nested", nestedS).Build()
	records := map[string]func() *connect.Record{
		"schemaless": func() *connect.Record {
			return &connect.Record{Topic: "t", Key: map[string]any{"k0": "v0"}, Value: map[string]any{"a": int32(1), "b": "B", "drop": int8(1),
				"secret": "s3cr3t", "n": int64(42), "ts": ms(5000), "nested": map[string]any{"x": int32(9)}}}
		},
		"schema": func() *connect.Record {
			return &connect.Record{Topic: "t", ValueSchema: schema, Value: connect.NewStruct(schema).Put("a", int32(1)).Put("b", "B").
				Put("drop", int8(1)).Put("secret", "s3cr3t").Put("n", int64(42)).Put("ts", ms(5000)).
				Put("nested", connect.NewStruct(nestedS).Put("x", int32(9)))}
		},
	}
	for name, mk := range records {
		in := mk()
		before := snapshot(in)
		got, err := c.Apply(in)
		if err != nil {
			t.Fatalf("%s: chain: %v", name, err)
		}
		want := mk()
		for i, tr := range alone {
			if want, err = tr.Apply(want); err != nil {
				t.Fatalf("%s: step %d alone: %v", name, i, err)
			}
		}
		if d := diffRecords(want, got); d != "" {
			t.Errorf("%s: chain vs step by step (-step +chain):\n%s", name, d)
		}
		if d := cmp.Diff(before, snapshot(in)); d != "" {
			t.Errorf("%s: input changed (-before +after):\n%s", name, d)
		}
	}
}
