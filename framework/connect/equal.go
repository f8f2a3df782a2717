package connect

import (
	"bytes"
	"reflect"
	"time"
)

// Equal reports whether s and o describe the same schema, as Kafka
// Connect's ConnectSchema.equals does: type, optionality, default value,
// name, version, doc, parameters, and the field, item, key and value
// schemas, recursively. Two nil schemas are equal; a nil and an empty
// Parameters map are equal.
//
// Transforms use it to share a schema rebuilt for one input schema with an
// equal input schema that is a different pointer.
func (s *Schema) Equal(o *Schema) bool { return schemaEqual(s, o, 0) }

// maxEqualDepth bounds the recursion of Equal and ValuesEqual: a struct
// schema's default may be a struct of that same schema, a cycle.
const maxEqualDepth = 64

func schemaEqual(s, o *Schema, depth int) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil || depth > maxEqualDepth {
		return false
	}
	depth++
	if s.Type != o.Type || s.Optional != o.Optional || s.Name != o.Name ||
		s.Version != o.Version || s.Doc != o.Doc || len(s.Parameters) != len(o.Parameters) ||
		len(s.Fields) != len(o.Fields) {
		return false
	}
	for k, v := range s.Parameters {
		if w, ok := o.Parameters[k]; !ok || w != v {
			return false
		}
	}
	for i := range s.Fields {
		if s.Fields[i].Name != o.Fields[i].Name || !schemaEqual(s.Fields[i].Schema, o.Fields[i].Schema, depth) {
			return false
		}
	}
	return schemaEqual(s.Items, o.Items, depth) && schemaEqual(s.Keys, o.Keys, depth) &&
		schemaEqual(s.Values, o.Values, depth) && valuesEqual(s.Default, o.Default, depth)
}

// ValuesEqual reports whether a and b are equal Connect values (see Schema
// for the Go types): bytes by content, Decimals by value and scale, times by
// instant, structs by schema and fields, arrays and maps element by element.
func ValuesEqual(a, b any) bool { return valuesEqual(a, b, 0) }

func valuesEqual(a, b any, depth int) bool {
	if depth > maxEqualDepth {
		return false
	}
	depth++
	switch x := a.(type) {
	case nil:
		return b == nil
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case Decimal:
		y, ok := b.(Decimal)
		if !ok || x.Scale != y.Scale {
			return false
		}
		if x.Unscaled == nil || y.Unscaled == nil {
			return (x.Unscaled == nil || x.Unscaled.Sign() == 0) && (y.Unscaled == nil || y.Unscaled.Sign() == 0)
		}
		return x.Unscaled.Cmp(y.Unscaled) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *StructValue:
		y, ok := b.(*StructValue)
		if !ok || x == nil || y == nil || x == y {
			return ok && x == y
		}
		if !schemaEqual(x.schema, y.schema, depth) {
			return false
		}
		for i := range x.values {
			if !valuesEqual(x.values[i], y.values[i], depth) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i], depth) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valuesEqual(v, w, depth) {
				return false
			}
		}
		return true
	case map[any]any:
		y, ok := b.(map[any]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valuesEqual(v, w, depth) {
				return false
			}
		}
		return true
	}
	return comparableEqual(a, b)
}

// comparableEqual compares values of comparable Go types, and reports
// false for others (which would make == panic).
func comparableEqual(a, b any) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb || !ta.Comparable() {
		return false
	}
	return a == b
}
