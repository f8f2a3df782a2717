package transforms

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// chainOf builds a chain from transforms given as alias, type and keys.
func chainOf(t *testing.T, reg *Registry, extra map[string]string, steps ...[3]any) *Chain {
	t.Helper()
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
	for k, v := range extra {
		cfg[k] = v
	}
	if reg == nil {
		reg = builtin
	}
	c, err := reg.NewChain(cfg, Env{Sink: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reuseRecords is a stream of records of changing shapes: with and without
// schemas, partitions, timestamps, headers and fields, so that memory one
// record left in a scratch would show in the next one's result.
func reuseRecords() []*connect.Record {
	s1 := connect.StructSchema().Name("s1").Field("a", connect.Int32Schema).Field("b", connect.OptionalString).
		Field("secret", connect.StringSchema).Field("ts", connect.TimestampSchema().Build()).Build()
	s2 := connect.StructSchema().Name("s2").Field("a", connect.Int32Schema).Field("secret", connect.OptionalString).
		Field("ts", connect.TimestampSchema().Optional().Build()).Build()
	var out []*connect.Record
	for i := range 12 {
		r := &connect.Record{Topic: fmt.Sprint("orders-", i%3), Partition: int32(i%2*5 - 1), Offset: int64(i)}
		if i%4 != 3 {
			r.Timestamp = ms(1700000000000 + int64(i)*86_400_000)
		}
		if i%3 == 0 {
			r.Headers = []connect.Header{{Key: "h", Schema: connect.StringSchema, Value: fmt.Sprint("v", i)}, {Key: "drop", Value: "x"}}
		}
		switch i % 5 {
		case 0:
			r.ValueSchema = s1
			r.Value = connect.NewStruct(s1).Put("a", int32(i)).Put("b", fmt.Sprint("b", i)).Put("secret", "pw").Put("ts", ms(int64(i)))
		case 1:
			r.ValueSchema = s2
			r.Value = connect.NewStruct(s2).Put("a", int32(i)).Put("secret", "pw")
		case 2:
			r.Value = map[string]any{"a": int32(i), "b": fmt.Sprint("b", i), "secret": "pw", "ts": int64(i)}
		case 3:
			m := map[string]any{"a": int32(i), "secret": "pw", "ts": int64(i)}
			for j := range 70 { // larger than a scratch keeps
				m[fmt.Sprint("extra", j)] = j
			}
			r.Value = m
		case 4:
			r.ValueSchema = s1
			r.Value = connect.NewStruct(s1).Put("a", int32(i)).Put("secret", "pw").Put("ts", ms(int64(i)))
		}
		out = append(out, r)
	}
	return out
}

// TestApplyReusingMatchesApply runs streams of records of changing shapes
// through chains with one Scratch, and checks each result, read before the
// next call, against Apply's, and that no input (nor any earlier result
// of Apply) changed.
func TestApplyReusingMatchesApply(t *testing.T) {
	t.Parallel()
	chains := map[string][][3]any{
		"benchmark chain": {
			{"insert", "InsertField$Value", map[string]string{"static.field": "origin", "static.value": "gen"}},
			{"rename", "ReplaceField$Value", map[string]string{"renames": "a:alpha"}},
			{"mask", "MaskField$Value", map[string]string{"fields": "secret"}},
			{"route", "RegexRouter", map[string]string{"regex": "(.*)-1", "replacement": "$1-one"}},
		},
		"record fields that come and go": {
			{"insert", "InsertField$Value", map[string]string{"partition.field": "p", "offset.field": "o", "timestamp.field": "t", "topic.field": "topic"}},
			{"cast", "Cast$Value", map[string]string{"spec": "a:string"}},
			{"ts", "TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "unix"}},
		},
		"headers": {
			{"add", "InsertHeader", map[string]string{"header": "added", "value.literal": "42"}},
			{"drop", "DropHeaders", map[string]string{"headers": "drop"}},
			{"from", "HeaderFrom$Value", map[string]string{"fields": "a", "headers": "a", "operation": "move"}},
		},
		"reshaping": {
			{"include", "ReplaceField$Value", map[string]string{"include": "a,secret", "renames": "secret:s"}},
			{"key", "ValueToKey", map[string]string{"fields": "a"}},
			{"hoist", "HoistField$Value", map[string]string{"field": "wrapped"}},
			{"flatten", "Flatten$Value", map[string]string{"delimiter": "_"}},
			{"insert", "InsertField$Key", map[string]string{"static.field": "k", "static.value": "v"}},
		},
		"under predicates": {
			{"mask", "MaskField$Value", map[string]string{"fields": "secret", "predicate": "one"}},
			{"insert", "InsertField$Value", map[string]string{"static.field": "x", "static.value": "y", "predicate": "one", "negate": "true"}},
			{"meta", "SetSchemaMetadata$Value", map[string]string{"schema.name": "renamed", "predicate": "tomb", "negate": "true"}},
		},
	}
	preds := map[string]string{"predicates": "one,tomb", "predicates.one.type": "TopicNameMatches", "predicates.one.pattern": ".*-1",
		"predicates.tomb.type": "RecordIsTombstone"}
	for name, steps := range chains {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := chainOf(t, nil, preds, steps...)
			if !c.reusable {
				t.Fatal("a chain of built-in transforms does not reuse memory")
			}
			checkStream(t, c, reuseRecords)
		})
	}
}

// checkStream runs the records stream() returns through c with one
// Scratch, and checks each result, read before the next call, against
// Apply's, as ApplyOwned's on the same records made again, and Apply's
// against the transforms applied one by one; and that no input (nor any
// earlier result of Apply) changed. It returns how many records c kept.
func checkStream(t *testing.T, c *Chain, stream func() []*connect.Record) (kept int) {
	t.Helper()
	var scratch Scratch
	var earlier []*connect.Record // Apply's results
	var earlierViews []*view
	handed := stream() // the same records again, for ApplyOwned
	for i, in := range stream() {
		before := snapshot(in)
		want, wantErr := c.Apply(in)
		step, err := stepByStep(c, in)
		if unwrapMessage(err) != unwrapMessage(wantErr) {
			t.Fatalf("record %d: step by step, error %v, Apply's %v", i, err, wantErr)
		}
		if d := diffRecords(step, want); d != "" {
			t.Errorf("record %d: Apply vs step by step (-step +Apply):\n%s", i, d)
		}
		got, err := c.ApplyReusing(in, &scratch)
		if errString(err) != errString(wantErr) {
			t.Fatalf("record %d: error %v, Apply's %v", i, err, wantErr)
		}
		if d := diffRecords(want, got); d != "" {
			t.Errorf("record %d: ApplyReusing vs Apply (-Apply +ApplyReusing):\n%s", i, d)
		}
		gotOwned, err := c.ApplyOwned(handed[i])
		if errString(err) != errString(wantErr) {
			t.Fatalf("record %d: ApplyOwned's error %v, Apply's %v", i, err, wantErr)
		}
		if d := diffRecords(want, gotOwned); d != "" {
			t.Errorf("record %d: ApplyOwned vs Apply (-Apply +ApplyOwned):\n%s", i, d)
		}
		if d := cmp.Diff(before, snapshot(in)); d != "" {
			t.Errorf("record %d: input changed (-before +after):\n%s", i, d)
		}
		for j, e := range earlier {
			if d := cmp.Diff(earlierViews[j], snapshot(e)); d != "" {
				t.Errorf("record %d: Apply's result for record %d changed (-before +after):\n%s", i, j, d)
			}
		}
		if want != nil {
			kept++
		}
		earlier, earlierViews = append(earlier, want), append(earlierViews, snapshot(want))
	}
	return kept
}

// keeper is a plugin's transform that keeps every record it is given, as
// a transform that compares a record with the previous one would.
type keeper struct{ kept *[]*connect.Record }

func (k keeper) Apply(r *connect.Record) (*connect.Record, error) {
	*k.kept = append(*k.kept, r)
	return r, nil
}

// TestApplyReusingWithPluginTransform checks that a chain with a plugin's
// transform does not reuse what that transform was given.
func TestApplyReusingWithPluginTransform(t *testing.T) {
	t.Parallel()
	var kept []*connect.Record
	reg := NewRegistry()
	if err := reg.AddTransform(TransformType{Class: "com.example.Keeper",
		New: func(*connect.Config, Env) (Transform, error) { return keeper{kept: &kept}, nil }}); err != nil {
		t.Fatal(err)
	}
	c := chainOf(t, reg, nil,
		[3]any{"insert", "InsertField$Value", map[string]string{"static.field": "origin", "static.value": "gen"}},
		[3]any{"keep", "com.example.Keeper", map[string]string{}})
	if c.reusable {
		t.Fatal("a chain with a plugin's transform reuses memory")
	}
	var scratch Scratch
	var views []*view
	for _, in := range reuseRecords() {
		out, err := c.ApplyReusing(in, &scratch)
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, snapshot(out))
	}
	for i, r := range kept {
		if d := cmp.Diff(views[i], snapshot(r)); d != "" {
			t.Errorf("record %d that the plugin's transform kept changed (-then +now):\n%s", i, d)
		}
	}
}

// TestApplyReusingAllocatesNothing checks that, once a Scratch has served
// a record of the same shape, the chain of five allocates nothing
// per record, with a schema and without.
func TestApplyReusingAllocatesNothing(t *testing.T) {
	c := chainOf(t, nil, map[string]string{"predicates": "other", "predicates.other.type": "TopicNameMatches", "predicates.other.pattern": "other.*"},
		[3]any{"insert", "InsertField$Value", map[string]string{"static.field": "origin", "static.value": "gen"}},
		[3]any{"rename", "ReplaceField$Value", map[string]string{"renames": "seq:sequence"}},
		[3]any{"mask", "MaskField$Value", map[string]string{"fields": "payload"}},
		[3]any{"keep", "Filter", map[string]string{"predicate": "other"}},
		[3]any{"route", "RegexRouter", map[string]string{"regex": "(.*)", "replacement": "$1-out"}})
	s := connect.StructSchema().Field("id", connect.Int64Schema).Field("seq", connect.Int64Schema).
		Field("payload", connect.StringSchema).Build()
	for name, in := range map[string]*connect.Record{
		"struct": {Topic: "t", ValueSchema: s, Value: connect.NewStruct(s).Put("id", int64(1000)).Put("seq", int64(2000)).Put("payload", "xyz")},
		"map":    {Topic: "t", Value: map[string]any{"id": int64(1000), "seq": int64(2000), "payload": "xyz"}},
	} {
		var scratch Scratch
		var out *connect.Record
		var err error
		if allocs := testing.AllocsPerRun(100, func() { out, err = c.ApplyReusing(in, &scratch) }); allocs != 0 {
			t.Errorf("%s: %v allocations per record", name, allocs)
		}
		if err != nil || out == nil || out.Topic != "t-out" {
			t.Errorf("%s: got %v, %v", name, out, err)
		}
	}
}

// TestChainInPlaceReadsDefaults checks that a transform changing a struct
// an earlier transform made (in place) still reads a null field as its
// default, as it does on its own, when the earlier one kept the null.
func TestChainInPlaceReadsDefaults(t *testing.T) {
	t.Parallel()
	s := connect.StructSchema().Field("a", connect.Int32Schema).
		Field("d", connect.NewSchema(connect.String).Optional().Default("dflt").Build()).
		Field("secret", connect.StringSchema).Build()
	steps := [][3]any{
		{"insert", "InsertField$Value", map[string]string{"static.field": "x", "static.value": "y", "replace.null.with.default": "false"}},
		{"mask", "MaskField$Value", map[string]string{"fields": "secret"}},
	}
	c := chainOf(t, nil, nil, steps...)
	in := &connect.Record{Topic: "t", ValueSchema: s, Value: connect.NewStruct(s).Put("a", int32(1)).Put("secret", "pw")}
	want := in
	for _, st := range steps {
		tt, _ := builtin.Transform(st[1].(string))
		cfg, err := tt.Config.Parse(st[2].(map[string]string))
		if err != nil {
			t.Fatal(err)
		}
		alone, err := tt.New(cfg, Env{Sink: true})
		if err != nil {
			t.Fatal(err)
		}
		if want, err = alone.Apply(want); err != nil {
			t.Fatal(err)
		}
	}
	var scratch Scratch
	for name, apply := range map[string]func() (*connect.Record, error){
		"Apply":        func() (*connect.Record, error) { return c.Apply(in) },
		"ApplyReusing": func() (*connect.Record, error) { return c.ApplyReusing(in, &scratch) },
	} {
		got, err := apply()
		if err != nil {
			t.Fatal(err)
		}
		if d := diffRecords(want, got); d != "" {
			t.Errorf("%s: chain vs step by step (-step +chain):\n%s", name, d)
		}
		if v := got.Value.(*connect.StructValue).GetIndex(1); v != "dflt" {
			t.Errorf("%s: field d is %v, want its default", name, v)
		}
	}
}

// TestCopyRecordCopiesEveryField fills every field of a record, whatever
// fields connect.Record gains, and checks that copyRecord copies them all,
// onto an empty record and onto one that differs in every field.
func TestCopyRecordCopiesEveryField(t *testing.T) {
	t.Parallel()
	fill := func(seed int) *connect.Record {
		r := &connect.Record{}
		v := reflect.ValueOf(r).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString(fmt.Sprint("s", seed, i))
			case reflect.Int32, reflect.Int64:
				f.SetInt(int64(seed*100 + i))
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
			case reflect.Interface:
				f.Set(reflect.ValueOf(fmt.Sprint("v", seed, i)))
			case reflect.Slice:
				f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			case reflect.Map:
				m := reflect.MakeMap(f.Type())
				m.SetMapIndex(reflect.ValueOf(fmt.Sprint("k", seed)), reflect.ValueOf(any(seed)))
				f.Set(m)
			case reflect.Struct:
				if f.Type() != reflect.TypeOf(time.Time{}) {
					t.Fatalf("connect.Record.%s: a struct copyRecord's test cannot fill", v.Type().Field(i).Name)
				}
				f.Set(reflect.ValueOf(time.UnixMilli(int64(seed))))
			default:
				t.Fatalf("connect.Record.%s: a %s copyRecord's test cannot fill", v.Type().Field(i).Name, f.Kind())
			}
		}
		return r
	}
	src := fill(1)
	for name, dst := range map[string]*connect.Record{"empty": {}, "different": fill(2)} {
		copyRecord(dst, src)
		if !reflect.DeepEqual(dst, src) {
			t.Errorf("%s: copyRecord gave %+v, want %+v", name, dst, src)
		}
		// Identity, not just equal contents, where it matters to a reader
		// that keeps the maps or slices.
		if !sameMap(dst.SourceOffset, src.SourceOffset) || !sameMap(dst.SourcePartition, src.SourcePartition) || &dst.Headers[0] != &src.Headers[0] {
			t.Errorf("%s: copyRecord copied contents rather than references", name)
		}
	}
}

// TestApplyOwnedLeavesSharedValues checks that ApplyOwned changes in place
// a record's own value but not a value the record shares with its schema
// (a converter's default for a null) nor a record a chain with a plugin's
// transform is given.
func TestApplyOwnedLeavesSharedValues(t *testing.T) {
	t.Parallel()
	inner := connect.StructSchema().Field("secret", connect.StringSchema).Build()
	def := connect.NewStruct(inner).Put("secret", "default pw")
	s := connect.StructSchema().Field("secret", connect.StringSchema).Optional().Default(def).Build()
	mask := chainOf(t, nil, nil, [3]any{"mask", "MaskField$Value", map[string]string{"fields": "secret"}})

	own := &connect.Record{Topic: "t", ValueSchema: inner, Value: connect.NewStruct(inner).Put("secret", "pw")}
	out, err := mask.ApplyOwned(own)
	if err != nil {
		t.Fatal(err)
	}
	if out != own || own.Value.(*connect.StructValue).GetIndex(0) != "" {
		t.Errorf("the record's own struct was not masked in place: got %v, input now %v", out.Value, own.Value)
	}

	shared := &connect.Record{Topic: "t", ValueSchema: s, Value: s.Default}
	out, err = mask.ApplyOwned(shared)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Value.(*connect.StructValue).GetIndex(0); got != "" {
		t.Errorf("masked value %v, want empty", got)
	}
	if got := def.GetIndex(0); got != "default pw" {
		t.Errorf("the schema's default changed to %v", got)
	}

	var kept []*connect.Record
	reg := NewRegistry()
	if err := reg.AddTransform(TransformType{Class: "com.example.Keeper",
		New: func(*connect.Config, Env) (Transform, error) { return keeper{kept: &kept}, nil }}); err != nil {
		t.Fatal(err)
	}
	mixed := chainOf(t, reg, nil,
		[3]any{"keep", "com.example.Keeper", map[string]string{}},
		[3]any{"mask", "MaskField$Value", map[string]string{"fields": "secret"}})
	in := &connect.Record{Topic: "t", ValueSchema: inner, Value: connect.NewStruct(inner).Put("secret", "pw")}
	if _, err := mixed.ApplyOwned(in); err != nil {
		t.Fatal(err)
	}
	if got := in.Value.(*connect.StructValue).GetIndex(0); got != "pw" {
		t.Errorf("a chain with a plugin's transform changed the record it was handed: secret %v", got)
	}
}
