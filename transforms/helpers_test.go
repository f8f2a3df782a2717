package transforms

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectd/connectd/framework/connect"
)

// one builds a chain holding one transform of type class with the given
// keys (without the transforms.x. prefix).
func one(t testing.TB, class string, keys map[string]string, env ...Env) *Chain {
	t.Helper()
	c, err := oneErr(class, keys, env...)
	if err != nil {
		t.Fatalf("building %s: %v", class, err)
	}
	return c
}

func oneErr(class string, keys map[string]string, env ...Env) (*Chain, error) {
	cfg := map[string]string{"transforms": "x", "transforms.x.type": class}
	for k, v := range keys {
		cfg["transforms.x."+k] = v
	}
	var e Env
	if len(env) > 0 {
		e = env[0]
	}
	return NewChain(cfg, e)
}

// apply runs r through c and returns the result or the error's message
// (without the chain's prefix).
func apply(c *Chain, r *connect.Record) (*connect.Record, string) {
	out, err := c.Apply(r)
	if err != nil {
		var te *TransformError
		if ok := asTransformError(err, &te); ok {
			return nil, te.Err.Error()
		}
		return nil, err.Error()
	}
	return out, ""
}

// unwrapMessage is the message of err without the chain's prefix, as
// apply returns it.
func unwrapMessage(err error) string {
	var te *TransformError
	if asTransformError(err, &te) {
		return te.Err.Error()
	}
	return errString(err)
}

func asTransformError(err error, te **TransformError) bool {
	e, ok := err.(*TransformError)
	if ok {
		*te = e
	}
	return ok
}

// view is a record in a form cmp can diff: schemas and values rendered as
// plain data.
type view struct {
	Topic       string
	Partition   int32
	KeySchema   string
	Key         any
	ValueSchema string
	Value       any
	Headers     []string
	Timestamp   int64
}

func viewOf(r *connect.Record) *view {
	if r == nil {
		return nil
	}
	v := &view{Topic: r.Topic, Partition: r.Partition, KeySchema: schemaDesc(r.KeySchema), Key: plain(r.Key),
		ValueSchema: schemaDesc(r.ValueSchema), Value: plain(r.Value)}
	if !r.Timestamp.IsZero() {
		v.Timestamp = r.Timestamp.UnixMilli()
	}
	for _, h := range r.Headers {
		v.Headers = append(v.Headers, fmt.Sprintf("%s=%s:%#v", h.Key, schemaDesc(h.Schema), plain(h.Value)))
	}
	return v
}

// schemaDesc renders every property of a schema.
func schemaDesc(s *connect.Schema) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(string(s.Type))
	if s.Optional {
		b.WriteString("?")
	}
	if s.Name != "" {
		fmt.Fprintf(&b, " name=%s", s.Name)
	}
	if s.Version != 0 {
		fmt.Fprintf(&b, " v=%d", s.Version)
	}
	if s.Doc != "" {
		fmt.Fprintf(&b, " doc=%q", s.Doc)
	}
	if len(s.Parameters) > 0 {
		keys := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, s.Parameters[k])
		}
	}
	if s.Default != nil {
		fmt.Fprintf(&b, " default=%v", plainx(s.Default, false))
	}
	switch s.Type {
	case connect.Struct:
		b.WriteString(" {")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			if f.Index != i {
				fmt.Fprintf(&b, "BAD INDEX %d ", f.Index)
			}
			fmt.Fprintf(&b, "%s: %s", f.Name, schemaDesc(f.Schema))
			if g, ok := s.Field(f.Name); !ok || g.Index != i {
				b.WriteString(" (not indexed)")
			}
		}
		b.WriteString("}")
	case connect.Array:
		fmt.Fprintf(&b, " [%s]", schemaDesc(s.Items))
	case connect.Map:
		fmt.Fprintf(&b, " {%s: %s}", schemaDesc(s.Keys), schemaDesc(s.Values))
	}
	return b.String()
}

// plain renders a Connect value as data cmp can compare.
func plain(v any) any { return plainx(v, true) }

// plainx renders structs with their schema when withSchema is set (not for
// defaults, whose struct may have the very schema being rendered).
func plainx(v any, withSchema bool) any {
	switch x := v.(type) {
	case *connect.StructValue:
		if x == nil {
			return nil
		}
		m := map[string]any{}
		if withSchema {
			m["$schema"] = schemaDesc(x.Schema())
		}
		for _, f := range x.Schema().Fields {
			m[f.Name] = plainx(x.GetIndex(f.Index), withSchema)
		}
		return m
	case connect.Decimal:
		return fmt.Sprintf("decimal(%s, scale %d)", x.Unscaled, x.Scale)
	case time.Time:
		return "time(" + x.UTC().Format(time.RFC3339Nano) + ")"
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

// diffRecords returns a cmp diff of two records, empty when equal.
func diffRecords(want, got *connect.Record) string {
	return cmp.Diff(viewOf(want), viewOf(got), cmpopts.EquateNaNs())
}

// ms is a time at a millisecond since the epoch.
func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

// st builds a struct of schema s from name/value pairs.
func st(s *connect.Schema, kv ...any) *connect.StructValue {
	v := connect.NewStruct(s)
	for i := 0; i < len(kv); i += 2 {
		v.Put(kv[i].(string), kv[i+1])
	}
	return v
}

// deep returns a deep copy of a record's values for checking that a
// transform left its input alone.
func snapshot(r *connect.Record) *view { return viewOf(r) }

// applyCase is one record through one transform.
type applyCase struct {
	class string
	keys  map[string]string
	env   Env
	in    *connect.Record
	// want is the expected record; nil with wantErr empty means dropped.
	want    *connect.Record
	wantErr string
}

// runCases applies each case and checks the result, and that the input
// record was left as it was.
func runCases(t *testing.T, cases map[string]applyCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := one(t, tc.class, tc.keys, tc.env)
			before := snapshot(tc.in)
			got, errMsg := apply(c, tc.in)
			if errMsg != tc.wantErr {
				t.Fatalf("error = %q, want %q", errMsg, tc.wantErr)
			}
			if d := diffRecords(tc.want, got); d != "" {
				t.Errorf("record (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, snapshot(tc.in), cmpopts.EquateNaNs()); d != "" {
				t.Errorf("input record changed (-before +after):\n%s", d)
			}
			// The runtime's source path, which reuses memory from one record
			// to the next, does the same: the second time over the memory
			// the first call used.
			var scratch Scratch
			for i := range 2 {
				got, err := c.ApplyReusing(tc.in, &scratch)
				if msg := unwrapMessage(err); msg != tc.wantErr {
					t.Fatalf("reusing, call %d: error = %q, want %q", i, msg, tc.wantErr)
				}
				if d := diffRecords(tc.want, got); d != "" {
					t.Errorf("reusing, call %d: record (-want +got):\n%s", i, d)
				}
				if d := cmp.Diff(before, snapshot(tc.in), cmpopts.EquateNaNs()); d != "" {
					t.Errorf("reusing, call %d: input record changed (-before +after):\n%s", i, d)
				}
			}
			// The transform on its own, outside a chain, does the same.
			tt, _ := builtin.Transform(tc.class)
			cfg, err := tt.Config.Parse(tc.keys)
			if err != nil {
				t.Fatal(err)
			}
			alone, err := tt.New(cfg, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			got, err = alone.Apply(tc.in)
			if msg := errString(err); msg != tc.wantErr {
				t.Fatalf("alone: error = %q, want %q", msg, tc.wantErr)
			}
			if d := diffRecords(tc.want, got); d != "" {
				t.Errorf("alone: record (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, snapshot(tc.in), cmpopts.EquateNaNs()); d != "" {
				t.Errorf("alone: input record changed (-before +after):\n%s", d)
			}
			// The runtime's sink path, which hands the chain a record of its
			// own to change in place, does the same.
			got, err = c.ApplyOwned(handOverAll(tc.in))
			if msg := unwrapMessage(err); msg != tc.wantErr {
				t.Fatalf("owned: error = %q, want %q", msg, tc.wantErr)
			}
			if d := diffRecords(tc.want, got); d != "" {
				t.Errorf("owned: record (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, snapshot(tc.in), cmpopts.EquateNaNs()); d != "" {
				t.Errorf("owned: input record changed (-before +after):\n%s", d)
			}
		})
	}
}

// handOverAll returns a copy of r whose key and value maps or structs and
// header slice are its own, as a sink task's converter makes them for
// ApplyOwned.
func handOverAll(r *connect.Record) *connect.Record {
	c := handOver(r)
	switch k := r.Key.(type) {
	case map[string]any:
		c.Key = maps.Clone(k)
	case *connect.StructValue:
		if k != nil {
			sv := connect.NewStruct(k.Schema())
			for i := range k.Schema().Fields {
				sv.SetIndex(i, k.GetIndex(i))
			}
			c.Key = sv
		}
	}
	return c
}

// rec builds a record on topic "test", partition 0.
func rec(ks *connect.Schema, k any, vs *connect.Schema, v any) *connect.Record {
	return &connect.Record{Topic: "test", Partition: 0, KeySchema: ks, Key: k, ValueSchema: vs, Value: v}
}

// withTS returns r with timestamp at ms.
func withTS(r *connect.Record, n int64) *connect.Record { r.Timestamp = ms(n); return r }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
