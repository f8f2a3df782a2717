package transforms

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// stepChains builds, from transforms given as alias, type and keys, the
// chain of all of them and a chain of each alone (which never fuses).
func stepChains(t *testing.T, env Env, extra map[string]string, steps ...[3]any) (*Chain, []*Chain) {
	t.Helper()
	build := func(steps ...[3]any) *Chain {
		cfg := map[string]string{}
		var aliases []string
		for _, st := range steps {
			alias := st[0].(string)
			aliases = append(aliases, alias)
			cfg["transforms."+alias+".type"] = st[1].(string)
			for k, v := range st[2].(map[string]string) {
				cfg["transforms."+alias+"."+k] = v
			}
		}
		cfg["transforms"] = strings.Join(aliases, ",")
		maps.Copy(cfg, extra)
		c, err := NewChain(cfg, env)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var alone []*Chain
	for _, st := range steps {
		alone = append(alone, build(st))
	}
	return build(steps...), alone
}

// runLengths returns the length of each fused run of c, by stage alias.
func runLengths(c *Chain) map[string]int {
	out := map[string]int{}
	for _, st := range c.stages {
		if st.run != nil {
			out[st.alias] = len(st.run.mappers)
		}
	}
	return out
}

// TestFusedRunsMatchStepByStep runs chains whose field transforms fuse
// over records that the fused plan covers and records it does not, with
// Apply and ApplyReusing, and checks each result and error against the
// transforms applied one at a time.
func TestFusedRunsMatchStepByStep(t *testing.T) {
	t.Parallel()
	withDef := connect.StructSchema().Name("row").
		Field("id", connect.Int64Schema).
		Field("name", connect.NewSchema(connect.String).Optional().Default("anon").Build()).
		Field("secret", connect.NewSchema(connect.String).Optional().Default("dflt").Build()).
		Field("n", connect.OptionalInt32).
		Field("m", connect.MapSchema(connect.StringSchema, connect.StringSchema).Optional().Build()).
		Build()
	other := connect.StructSchema().Name("other").Field("id", connect.Int64Schema).Field("secret", connect.StringSchema).Build()
	records := []*connect.Record{
		{Topic: "t", Partition: 3, Offset: 7, Timestamp: ms(1700000000000), ValueSchema: withDef,
			Value: connect.NewStruct(withDef).Put("id", int64(1)).Put("name", "ann").Put("secret", "pw").Put("n", int32(5))},
		{Topic: "u", Partition: -1, ValueSchema: withDef, // nulls that have defaults
			Value: connect.NewStruct(withDef).Put("id", int64(2))},
		{Topic: "t", ValueSchema: other, Value: connect.NewStruct(other).Put("id", int64(3)).Put("secret", "x")},
		{Topic: "t", Value: map[string]any{"id": int64(4), "name": "bo", "secret": "pw"}}, // no schema
		{Topic: "t", ValueSchema: withDef}, // null value
		{Topic: "t", ValueSchema: withDef, Value: "not a struct"},
		{Topic: "t", KeySchema: other, Key: connect.NewStruct(other).Put("id", int64(5)).Put("secret", "k"),
			ValueSchema: withDef, Value: connect.NewStruct(withDef).Put("id", int64(5)).Put("m", map[string]any{"a": "b"})},
	}
	cases := map[string]struct {
		steps [][3]any
		runs  map[string]int
		// sourceRuns, when set, are the runs for a source task's records.
		sourceRuns map[string]int
	}{
		"insert, rename, mask": {
			steps: [][3]any{
				{"insert", "InsertField$Value", map[string]string{"static.field": "origin", "static.value": "gen", "topic.field": "topic",
					"partition.field": "p", "timestamp.field": "ts!", "offset.field": "o"}},
				{"rename", "ReplaceField$Value", map[string]string{"renames": "id:key,name:who"}},
				{"mask", "MaskField$Value", map[string]string{"fields": "secret,origin,n,m"}},
			},
			runs: map[string]int{"insert": 3},
			// An offset field fails every source record: InsertField runs alone.
			sourceRuns: map[string]int{"rename": 2},
		},
		"nulls read as defaults in one transform only": {
			steps: [][3]any{
				{"keepnull", "ReplaceField$Value", map[string]string{"renames": "name:nm", "replace.null.with.default": "false"}},
				{"mask", "MaskField$Value", map[string]string{"fields": "secret", "replace.null.with.default": "false"}},
				{"fill", "InsertField$Value", map[string]string{"static.field": "s", "static.value": "v"}},
				{"mask2", "MaskField$Value", map[string]string{"fields": "nm"}},
			},
			runs: map[string]int{"keepnull": 4},
		},
		"a transform that refuses a schema": {
			steps: [][3]any{
				{"insert", "InsertField$Value", map[string]string{"static.field": "secret", "static.value": "v"}}, // duplicate field
				{"rename", "ReplaceField$Value", map[string]string{"renames": "id:key"}},
			},
			runs: map[string]int{"insert": 2},
		},
		"an include list naming a missing field": {
			steps: [][3]any{
				{"rename", "ReplaceField$Value", map[string]string{"renames": "id:key"}},
				{"include", "ReplaceField$Value", map[string]string{"include": "key,name"}},
				{"mask", "MaskField$Value", map[string]string{"fields": "name"}},
			},
			runs: map[string]int{"rename": 3},
		},
		"a mask that refuses a value": {
			steps: [][3]any{
				{"rename", "ReplaceField$Value", map[string]string{"renames": "id:key"}},
				{"badmask", "MaskField$Value", map[string]string{"fields": "m", "replacement": "***"}},
				{"mask", "MaskField$Value", map[string]string{"fields": "key"}},
			},
			runs: map[string]int{"rename": 3},
		},
		"key and value runs": {
			steps: [][3]any{
				{"kins", "InsertField$Key", map[string]string{"static.field": "k", "static.value": "v"}},
				{"kmask", "MaskField$Key", map[string]string{"fields": "secret"}},
				{"vins", "InsertField$Value", map[string]string{"static.field": "k", "static.value": "v"}},
				{"vren", "ReplaceField$Value", map[string]string{"exclude": "m"}},
			},
			runs: map[string]int{"kins": 2, "vins": 2},
		},
		"broken by a predicate and by other transforms": {
			steps: [][3]any{
				{"a", "InsertField$Value", map[string]string{"static.field": "a", "static.value": "1"}},
				{"b", "MaskField$Value", map[string]string{"fields": "secret", "predicate": "isT"}},
				{"c", "ReplaceField$Value", map[string]string{"renames": "a:aa"}},
				{"route", "RegexRouter", map[string]string{"regex": "t", "replacement": "t2"}},
				{"d", "MaskField$Value", map[string]string{"fields": "aa"}},
			},
			runs: map[string]int{"b": 2},
		},
	}
	preds := map[string]string{"predicates": "isT", "predicates.isT.type": "TopicNameMatches", "predicates.isT.pattern": "t"}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, env := range []Env{{Sink: true}, {Sink: false}} {
				c, alone := stepChains(t, env, preds, tc.steps...)
				runs := tc.runs
				if !env.Sink && tc.sourceRuns != nil {
					runs = tc.sourceRuns
				}
				if d := cmp.Diff(runs, runLengths(c)); d != "" {
					t.Errorf("sink %v: fused runs (-want +got):\n%s", env.Sink, d)
				}
				var scratch Scratch
				for i, in := range records {
					before := snapshot(in)
					want, wantErr := in, error(nil)
					for _, a := range alone {
						if want, wantErr = a.Apply(want); wantErr != nil || want == nil {
							break
						}
					}
					for _, reuse := range []bool{false, true} {
						var got *connect.Record
						var err error
						if reuse {
							got, err = c.ApplyReusing(in, &scratch)
						} else {
							got, err = c.Apply(in)
						}
						if errString(err) != errString(wantErr) {
							t.Fatalf("sink %v, reuse %v, record %d: error %q, one at a time %q", env.Sink, reuse, i, errString(err), errString(wantErr))
						}
						if err == nil {
							if d := diffRecords(want, got); d != "" {
								t.Errorf("sink %v, reuse %v, record %d: (-one at a time +chain):\n%s", env.Sink, reuse, i, d)
							}
						}
						if d := cmp.Diff(before, snapshot(in)); d != "" {
							t.Errorf("record %d: input changed (-before +after):\n%s", i, d)
						}
					}
				}
			}
		})
	}
}
