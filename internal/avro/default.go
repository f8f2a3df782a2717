package avro

import "math"

// ValidDefault reports whether v is a valid default for a field of schema
// s, by Apache Avro's rules (Schema.isValidDefault, Avro 1.12): strings
// for string, bytes, enum and fixed; integers within range for int and
// long; any number for float and double; for a union, a value valid for
// any of its branches; for a record, an object whose members (or the
// fields' own defaults) are valid.
func ValidDefault(s *Schema, v *Value) bool { return validDefault(s, v, 0) }

func validDefault(s *Schema, v *Value, depth int) bool {
	if v == nil || depth > maxDepth {
		return false
	}
	switch s.Type {
	case TypeString, TypeBytes, TypeEnum, TypeFixed:
		return v.Kind == StringValue
	case TypeInt:
		n, ok := v.Int64()
		return ok && n >= math.MinInt32 && n <= math.MaxInt32
	case TypeLong:
		_, ok := v.Int64()
		return ok
	case TypeFloat, TypeDouble:
		return v.IsNumber()
	case TypeBoolean:
		return v.Kind == BoolValue
	case TypeNull:
		return v.Kind == NullValue
	case TypeArray:
		if v.Kind != ArrayValue {
			return false
		}
		for _, e := range v.Arr {
			if !validDefault(s.Items, e, depth+1) {
				return false
			}
		}
		return true
	case TypeMap:
		if v.Kind != ObjectValue {
			return false
		}
		for _, m := range v.Obj {
			if !validDefault(s.Values, m.Val, depth+1) {
				return false
			}
		}
		return true
	case TypeUnion:
		return validValue(s, v, depth)
	case TypeRecord:
		if v.Kind != ObjectValue {
			return false
		}
		for _, f := range s.Fields {
			fv := v.Get(f.Name)
			if fv == nil {
				fv = f.Default
			}
			if !validValue(f.Type, fv, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func validValue(s *Schema, v *Value, depth int) bool {
	if v == nil {
		return false
	}
	if s.Type == TypeUnion {
		for _, b := range s.Branches {
			if validDefault(b, v, depth+1) {
				return true
			}
		}
		return false
	}
	return validDefault(s, v, depth)
}
