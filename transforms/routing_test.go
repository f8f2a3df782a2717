package transforms

import (
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestRegexRouter(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ regex, replacement, topic, want string }{
		"static replacement":            {"foo", "bar", "foo", "bar"},
		"does not match":                {"foo", "bar", "orig", "orig"},
		"must match the whole name":     {"foo", "bar", "foobar", "foobar"},
		"identity":                      {"(.*)", "$1", "orig", "orig"},
		"prefix":                        {"(.*)", "prefix-$1", "orig", "prefix-orig"},
		"suffix":                        {"(.*)", "$1-suffix", "orig", "orig-suffix"},
		"slice":                         {`(.*)-(\d\d\d\d\d\d\d\d)`, "$1", "index-20160117", "index"},
		"named group":                   {`(?P<base>.*)-raw`, "${base}-clean", "orders-raw", "orders-clean"},
		"escaped dollar":                {`(.*)`, `\$$1`, "x", "$x"},
		"group number as Java reads it": {`(a)(b)`, "$12", "ab", "a2"},
		// matches() accepts the topic through the second alternative, but
		// replaceFirst replaces the first match find() sees: "a".
		"replaceFirst after matches": {"a|ab", "X", "ab", "Xb"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := one(t, "RegexRouter", map[string]string{"regex": tc.regex, "replacement": tc.replacement})
			for i := 0; i < 2; i++ { // the second time from the topic memo
				r := &connect.Record{Topic: tc.topic, Partition: 3, Value: "v"}
				got, err := c.Apply(r)
				if err != nil {
					t.Fatal(err)
				}
				if got.Topic != tc.want || got.Partition != 3 || got.Value != "v" || r.Topic != tc.topic {
					t.Fatalf("topic %q -> %q (partition %d), want %q", tc.topic, got.Topic, got.Partition, tc.want)
				}
			}
		})
	}
}

func TestRegexRouterConfigErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		keys map[string]string
		key  string
		want string
	}{
		"bad regex": {map[string]string{"regex": "(", "replacement": "x"}, "transforms.x.regex",
			"Invalid value ( for configuration transforms.x.regex: Invalid regex: error parsing regexp: missing closing ): `(`"},
		"no such group": {map[string]string{"regex": "(a)", "replacement": "$2"}, "transforms.x.replacement",
			"Invalid value $2 for configuration transforms.x.replacement: No group 2"},
		"no such name": {map[string]string{"regex": "(a)", "replacement": "${b}"}, "transforms.x.replacement",
			"Invalid value ${b} for configuration transforms.x.replacement: No group with name {b}"},
		"trailing backslash": {map[string]string{"regex": "a", "replacement": `x\`}, "transforms.x.replacement",
			`Invalid value x\ for configuration transforms.x.replacement: character to be escaped is missing`},
		"illegal reference": {map[string]string{"regex": "a", "replacement": "$x"}, "transforms.x.replacement",
			"Invalid value $x for configuration transforms.x.replacement: Illegal group reference"},
	}
	for name, tc := range tests {
		_, err := oneErr("RegexRouter", tc.keys)
		errs := Validate(chainConfig("RegexRouter", tc.keys))
		if err == nil || len(errs[tc.key]) != 1 || errs[tc.key][0] != tc.want {
			t.Errorf("%s: Validate = %v, want %s: %q", name, errs, tc.key, tc.want)
		}
	}
}

func chainConfig(class string, keys map[string]string) map[string]string {
	cfg := map[string]string{"transforms": "x", "transforms.x.type": class}
	for k, v := range keys {
		cfg["transforms.x."+k] = v
	}
	return cfg
}

func TestTimestampRouter(t *testing.T) {
	t.Parallel()
	runCases(t, map[string]applyCase{
		"defaults": {
			class: "TimestampRouter",
			in:    withTS(rec(nil, nil, nil, nil), 1483425001864),
			want: func() *connect.Record {
				r := withTS(rec(nil, nil, nil, nil), 1483425001864)
				r.Topic = "test-20170103"
				return r
			}(),
		},
		"formats": {
			class: "org.apache.kafka.connect.transforms.TimestampRouter",
			keys:  map[string]string{"topic.format": "${timestamp}/${topic}/${topic}", "timestamp.format": "yyyy-MM-dd'T'HH:mm:ss.SSS 'at' EEE MMM"},
			in:    withTS(rec(nil, nil, nil, nil), 1483425001864),
			want: func() *connect.Record {
				r := withTS(rec(nil, nil, nil, nil), 1483425001864)
				r.Topic = "2017-01-03T06:30:01.864 at Tue Jan/test/test"
				return r
			}(),
		},
		"a placeholder made of literal text and the topic": {
			class: "TimestampRouter",
			keys:  map[string]string{"topic.format": "${${topic}}", "timestamp.format": "yyyy"},
			in: func() *connect.Record {
				r := withTS(rec(nil, nil, nil, nil), 1483425001864)
				r.Topic = "timestamp"
				return r
			}(),
			want: func() *connect.Record {
				r := withTS(rec(nil, nil, nil, nil), 1483425001864)
				r.Topic = "2017"
				return r
			}(),
		},
		"a topic holding a placeholder": {
			class: "TimestampRouter",
			keys:  map[string]string{"topic.format": "${topic}.${timestamp}", "timestamp.format": "yyyy"},
			in: func() *connect.Record {
				r := withTS(rec(nil, nil, nil, nil), 1483425001864)
				r.Topic = "a${timestamp}"
				return r
			}(),
			want: func() *connect.Record {
				r := withTS(rec(nil, nil, nil, nil), 1483425001864)
				r.Topic = "a2017.2017"
				return r
			}(),
		},
		"no timestamp": {
			class:   "TimestampRouter",
			in:      rec(nil, nil, nil, nil),
			wantErr: "Timestamp missing on record: Record{topic=test, kafkaPartition=0, keySchema=<none>, valueSchema=<none>, timestamp=null}",
		},
	})
	if errs := Validate(chainConfig("TimestampRouter", map[string]string{"timestamp.format": "yyyy-bb"})); len(errs["transforms.x.timestamp.format"]) != 1 {
		t.Errorf("a bad timestamp.format was accepted: %v", errs)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	hs := func(kv ...string) []connect.Header {
		var out []connect.Header
		for i := 0; i < len(kv); i += 2 {
			out = append(out, connect.Header{Key: kv[i], Schema: connect.StringSchema, Value: kv[i+1]})
		}
		return out
	}
	withH := func(h []connect.Header) *connect.Record { r := rec(nil, nil, nil, "v"); r.Headers = h; return r }
	runCases(t, map[string]applyCase{
		"drop some": {
			class: "DropHeaders", keys: map[string]string{"headers": "a, c"},
			in:   withH(hs("a", "1", "b", "2", "a", "3", "c", "4", "d", "5")),
			want: withH(hs("b", "2", "d", "5")),
		},
		"drop none": {
			class: "org.apache.kafka.connect.transforms.DropHeaders", keys: map[string]string{"headers": "x"},
			in:   withH(hs("a", "1")),
			want: withH(hs("a", "1")),
		},
		"insert string": {
			class: "InsertHeader", keys: map[string]string{"header": "h", "value.literal": "hello world"},
			in:   withH(hs("a", "1")),
			want: withH(hs("a", "1", "h", "hello world")),
		},
		"insert a number, as Values.parseString reads it": {
			class: "InsertHeader", keys: map[string]string{"header": "h", "value.literal": "42"},
			in:   withH(nil),
			want: withH([]connect.Header{{Key: "h", Schema: connect.Int8Schema, Value: int8(42)}}),
		},
		"insert a boolean": {
			class: "InsertHeader", keys: map[string]string{"header": "h", "value.literal": "true"},
			in:   withH(nil),
			want: withH([]connect.Header{{Key: "h", Schema: connect.BooleanSchema, Value: true}}),
		},
		"filter": {
			class: "Filter",
			in:    withH(nil),
		},
	})
	if errs := Validate(chainConfig("DropHeaders", map[string]string{"headers": ""})); len(errs["transforms.x.headers"]) != 1 {
		t.Errorf("empty headers accepted: %v", errs)
	}
	if errs := Validate(chainConfig("InsertHeader", map[string]string{"header": "h"})); len(errs["transforms.x.value.literal"]) != 1 {
		t.Errorf("missing value.literal accepted: %v", errs)
	}
}

func TestPredicates(t *testing.T) {
	t.Parallel()
	build := func(typ string, keys map[string]string) Predicate {
		cfg := map[string]string{"predicates": "p", "predicates.p.type": typ}
		for k, v := range keys {
			cfg["predicates.p."+k] = v
		}
		if errs := Validate(cfg); len(errs) > 0 {
			t.Fatalf("%s: %v", typ, errs)
		}
		pt, _ := builtin.Predicate(typ)
		c, err := pt.Config.Parse(keys)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pt.New(c, Env{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := map[string]struct {
		p    Predicate
		r    *connect.Record
		want bool
	}{
		"topic matches":          {build("TopicNameMatches", map[string]string{"pattern": "my-prefix-.*"}), &connect.Record{Topic: "my-prefix-foo"}, true},
		"topic must match whole": {build("TopicNameMatches", map[string]string{"pattern": "my-prefix-.*"}), &connect.Record{Topic: "x-my-prefix-"}, false},
		"header present":         {build("HasHeaderKey", map[string]string{"name": "h"}), &connect.Record{Headers: []connect.Header{{Key: "x"}, {Key: "h"}}}, true},
		"header absent":          {build("HasHeaderKey", map[string]string{"name": "h"}), &connect.Record{Headers: []connect.Header{{Key: "x"}}}, false},
		"tombstone":              {build("RecordIsTombstone", nil), &connect.Record{ValueSchema: connect.OptionalString}, true},
		"not a tombstone":        {build("RecordIsTombstone", nil), &connect.Record{Value: "v"}, false},
	}
	for name, tc := range tests {
		if got := tc.p.Test(tc.r); got != tc.want {
			t.Errorf("%s: Test = %v, want %v", name, got, tc.want)
		}
	}
	for name, keys := range map[string]map[string]string{
		"TopicNameMatches": {"pattern": ""},
		"HasHeaderKey":     {"name": ""},
	} {
		cfg := map[string]string{"predicates": "p", "predicates.p.type": name}
		for k, v := range keys {
			cfg["predicates.p."+k] = v
		}
		if errs := Validate(cfg); len(errs) != 1 {
			t.Errorf("%s with an empty key: Validate = %v", name, errs)
		}
	}
}
