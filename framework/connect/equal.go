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
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
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
		if s.Fields[i].Name != o.Fields[i].Name || !s.Fields[i].Schema.Equal(o.Fields[i].Schema) {
			return false
		}
	}
	return s.Items.Equal(o.Items) && s.Keys.Equal(o.Keys) && s.Values.Equal(o.Values) &&
		ValuesEqual(s.Default, o.Default)
}

// ValuesEqual reports whether a and b are equal Connect values (see Schema
// for the Go types): bytes by content, Decimals by value and scale, times by
// instant, structs by schema and fields, arrays and maps element by element.
func ValuesEqual(a, b any) bool {
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
		if !ok || x == nil || y == nil {
			return ok && x == y
		}
		if !x.schema.Equal(y.schema) {
			return false
		}
		for i := range x.values {
			if !ValuesEqual(x.values[i], y.values[i]) {
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
			if !ValuesEqual(x[i], y[i]) {
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
			if !ok || !ValuesEqual(v, w) {
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
			if !ok || !ValuesEqual(v, w) {
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
