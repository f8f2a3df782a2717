package transforms

import (
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Flatten: Kafka Connect's org.apache.kafka.connect.transforms.Flatten$Key and $Value.

var flattenDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "delimiter", Type: connect.TypeString, Default: ".", Importance: connect.Medium,
		Doc: "What to put between the names of a nested field and its parents in the new field's name."},
)

type flatten struct {
	part  part
	delim string
	cache schemaCache[*flattenPlan]
}

// flattenPlan is the flat schema for one input schema and, for each of its
// fields, the path of field indexes that leads to its value.
type flattenPlan struct {
	schema *connect.Schema
	paths  [][]int
}

func newFlatten(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		// Kafka Connect trims STRING values, so a blank delimiter is "".
		return &flatten{part: p, delim: cfg.String("delimiter")}, nil
	}
}

const flattenPurpose = "flattening"

func (t *flatten) name(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + t.delim + field
}

func (t *flatten) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	if v == nil {
		return true, nil
	}
	s := t.part.schema(r)
	if s == nil {
		m, err := requireMap(v, flattenPurpose)
		if err != nil {
			return false, err
		}
		out := own.newMap(len(m))
		if err := t.flattenMap(m, "", out); err != nil {
			return false, err
		}
		t.part.setFresh(r, own, nil, out)
		return true, nil
	}
	sv, err := requireStruct(v, flattenPurpose)
	if err != nil {
		return false, err
	}
	plan, err := t.cache.get(s, t.buildPlan)
	if err != nil {
		return false, err
	}
	out := own.newStruct(plan.schema)
	for i, path := range plan.paths {
		cur := sv
		for _, idx := range path[:len(path)-1] {
			f := cur.Schema().Fields[idx]
			next, _ := field(cur, f, true).(*connect.StructValue)
			if next == nil {
				cur = nil
				break
			}
			cur = next
		}
		if cur != nil {
			out.SetIndex(i, field(cur, cur.Schema().Fields[path[len(path)-1]], true))
		}
	}
	t.part.setFresh(r, own, plan.schema, out)
	return true, nil
}

func (t *flatten) flattenMap(m map[string]any, prefix string, out map[string]any) error {
	for k, v := range m {
		name := t.name(prefix, k)
		switch x := v.(type) {
		case nil, int8, int16, int32, int64, float32, float64, bool, string, []byte, []any:
			out[name] = v
		case map[string]any:
			if err := t.flattenMap(x, name, out); err != nil {
				return err
			}
		case *connect.StructValue, map[any]any:
			return dataErr("Flatten transformation does not support %s for record without schemas (for field %s).", javaClass(v), name)
		case connect.Decimal, time.Time:
			return dataErr("Flatten transformation was passed a value of type %s which is not supported by Connect's data API", javaClass(v))
		default:
			return dataErr("Flatten transformation was passed a value of type %s which is not supported by Connect's data API", javaClass(v))
		}
	}
	return nil
}

func (t *flatten) buildPlan(in *connect.Schema) (*flattenPlan, error) {
	p := &flattenPlan{}
	var fields []connect.Field
	var walk func(s *connect.Schema, prefix string, optional bool, parentDefault *connect.StructValue, path []int) error
	walk = func(s *connect.Schema, prefix string, optional bool, parentDefault *connect.StructValue, path []int) error {
		for _, f := range s.Fields {
			name := t.name(prefix, f.Name)
			opt := optional || f.Schema.Optional
			dflt := f.Schema.Default
			if dflt == nil && parentDefault != nil {
				dflt = field(parentDefault, f, true)
			}
			fp := append(append([]int(nil), path...), f.Index)
			switch f.Schema.Type {
			case connect.Struct:
				sd, _ := dflt.(*connect.StructValue)
				if err := walk(f.Schema, name, opt, sd, fp); err != nil {
					return err
				}
			case connect.Map:
				return dataErr("Flatten transformation does not support %s for record with schemas (for field %s).", javaType(f.Schema.Type), name)
			default:
				fs := copyBasics(f.Schema, f.Schema.Type)
				fs.Items = f.Schema.Items
				fs.Optional = opt
				fs.Default = dflt
				fields = append(fields, connect.Field{Name: name, Schema: fs})
				p.paths = append(p.paths, fp)
			}
		}
		return nil
	}
	dflt, _ := in.Default.(*connect.StructValue)
	if err := walk(in, "", in.Optional, dflt, nil); err != nil {
		return nil, err
	}
	s, err := newStructSchema(in, fields)
	if err != nil {
		return nil, err
	}
	p.schema = s
	return p, nil
}
