package s3sink

import (
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

// sameShape reports whether a value of schema s can be projected to cur:
// the same types (numbers may widen), names and parameters, recursively,
// as Confluent's StorageSchemaCompatibility checks them.
func sameShape(s, cur *connect.Schema, depth int) bool {
	if depth > 64 || s == nil || cur == nil {
		return s == cur
	}
	if s.Type != cur.Type && !promotable(s.Type, cur.Type) {
		return false
	}
	if s.Name != cur.Name || len(s.Parameters) != len(cur.Parameters) {
		return false
	}
	for k, v := range s.Parameters {
		if cur.Parameters[k] != v {
			return false
		}
	}
	switch s.Type {
	case connect.Array:
		return sameShape(s.Items, cur.Items, depth+1)
	case connect.Map:
		return sameShape(s.Keys, cur.Keys, depth+1) && sameShape(s.Values, cur.Values, depth+1)
	case connect.Struct:
		for _, f := range cur.Fields {
			if sf, ok := s.Field(f.Name); ok && !sameShape(sf.Schema, f.Schema, depth+1) {
				return false
			}
		}
	}
	return true
}

var numberRank = map[connect.Type]int{connect.Int8: 1, connect.Int16: 2, connect.Int32: 3, connect.Int64: 4, connect.Float32: 5, connect.Float64: 6}

func promotable(from, to connect.Type) bool {
	a, b := numberRank[from], numberRank[to]
	return a > 0 && b > 0 && a <= b
}

// project converts value of schema s to schema target as Kafka Connect's
// SchemaProjector does: fields missing from the value take the target's
// default (or null when optional), fields the target lacks are dropped,
// numbers widen.
func project(s *connect.Schema, value any, target *connect.Schema) (any, error) {
	if value == nil {
		if target.Optional || target.Default != nil {
			return target.Default, nil
		}
		return nil, fmt.Errorf("null value for required schema %s", target)
	}
	switch target.Type {
	case connect.Struct:
		sv, ok := value.(*connect.StructValue)
		if !ok {
			return nil, fmt.Errorf("value of Go type %T is not a struct", value)
		}
		out := connect.NewStruct(target)
		for i, f := range target.Fields {
			sf, ok := s.Field(f.Name)
			if !ok {
				if f.Schema.Default == nil && !f.Schema.Optional {
					return nil, fmt.Errorf("field %q is missing and has no default in schema %s", f.Name, target)
				}
				out.SetIndex(i, f.Schema.Default)
				continue
			}
			v, err := project(sf.Schema, sv.GetIndex(sf.Index), f.Schema)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
			out.SetIndex(i, v)
		}
		return out, nil
	case connect.Array:
		a, ok := value.([]any)
		if !ok {
			return nil, fmt.Errorf("value of Go type %T is not an array", value)
		}
		out := make([]any, len(a))
		for i, e := range a {
			v, err := project(s.Items, e, target.Items)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case connect.Map:
		switch m := value.(type) {
		case map[string]any:
			out := make(map[string]any, len(m))
			for k, e := range m {
				v, err := project(s.Values, e, target.Values)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, nil
		case map[any]any:
			out := make(map[any]any, len(m))
			for k, e := range m {
				v, err := project(s.Values, e, target.Values)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, nil
		}
		return nil, fmt.Errorf("value of Go type %T is not a map", value)
	}
	if s.Type == target.Type {
		return value, nil
	}
	return widen(value, target.Type)
}

func widen(v any, to connect.Type) (any, error) {
	var i int64
	var f float64
	isFloat := false
	switch x := v.(type) {
	case int8:
		i = int64(x)
	case int16:
		i = int64(x)
	case int32:
		i = int64(x)
	case int64:
		i = x
	case float32:
		f, isFloat = float64(x), true
	default:
		return nil, fmt.Errorf("cannot widen %T to %s", v, to)
	}
	if !isFloat {
		f = float64(i)
	}
	switch to {
	case connect.Int16:
		return int16(i), nil
	case connect.Int32:
		return int32(i), nil
	case connect.Int64:
		return i, nil
	case connect.Float32:
		return float32(f), nil
	case connect.Float64:
		return f, nil
	}
	return nil, fmt.Errorf("cannot widen %T to %s", v, to)
}
