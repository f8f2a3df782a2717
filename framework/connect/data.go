package connect

import (
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// StructValue is a value of a struct schema: one slot per field.
type StructValue struct {
	schema *Schema
	values []any
	frozen bool
}

// NewStruct returns an empty struct of schema s.
func NewStruct(s *Schema) *StructValue {
	if s == nil || s.Type != Struct {
		panic("connect: NewStruct needs a struct schema")
	}
	// The struct and its values in one allocation for the common sizes.
	switch n := len(s.Fields); {
	case n <= 2:
		p := new(structWith[[2]any])
		p.sv = StructValue{schema: s, values: p.vals[:n:n]}
		return &p.sv
	case n <= 4:
		p := new(structWith[[4]any])
		p.sv = StructValue{schema: s, values: p.vals[:n:n]}
		return &p.sv
	case n <= 8:
		p := new(structWith[[8]any])
		p.sv = StructValue{schema: s, values: p.vals[:n:n]}
		return &p.sv
	case n <= 16:
		p := new(structWith[[16]any])
		p.sv = StructValue{schema: s, values: p.vals[:n:n]}
		return &p.sv
	}
	return &StructValue{schema: s, values: make([]any, len(s.Fields))}
}

// structWith is a StructValue allocated with room for its values.
type structWith[A any] struct {
	sv   StructValue
	vals A
}

// Schema returns the struct's schema.
func (v *StructValue) Schema() *Schema { return v.schema }

// Put sets field name to val and returns v, so calls chain. It panics on a
// field the schema does not have: that is a programming error.
func (v *StructValue) Put(name string, val any) *StructValue {
	f, ok := v.schema.Field(name)
	if !ok {
		panic(fmt.Sprintf("connect: %s has no field %q", v.schema, name))
	}
	if v.frozen {
		panic(errFrozen)
	}
	v.values[f.Index] = val
	return v
}

// Get returns field name's value, or its schema default when unset.
func (v *StructValue) Get(name string) any {
	f, ok := v.schema.Field(name)
	if !ok {
		return nil
	}
	if val := v.values[f.Index]; val != nil {
		return val
	}
	return f.Schema.Default
}

// GetIndex returns the value at field index i (no defaulting).
func (v *StructValue) GetIndex(i int) any { return v.values[i] }

// SetIndex sets the value at field index i.
func (v *StructValue) SetIndex(i int, val any) {
	if v.frozen {
		panic(errFrozen)
	}
	v.values[i] = val
}

const errFrozen = "connect: a frozen struct is set"

// Freeze marks v as never changing again, and returns it: Put and SetIndex
// panic on it from then on. The caller promises the same of the values v
// holds. A converter may then keep what it made of v for the next record
// that holds it too: a struct shared by many records, such as the source
// block of a change data capture connector's events, is converted once.
func (v *StructValue) Freeze() *StructValue {
	v.frozen = true
	return v
}

// Frozen reports whether v was frozen (see Freeze).
func (v *StructValue) Frozen() bool { return v.frozen }

// Validate checks every field against its schema.
func (v *StructValue) Validate() error { return Validate(v.schema, v) }

// Decimal is a value of Kafka Connect's Decimal logical type: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// ParseDecimal parses a decimal string such as "-12.340" keeping its scale.
func ParseDecimal(s string) (Decimal, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, fmt.Errorf("connect: %q is not a decimal", s)
	}
	scale := int32(0)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			scale = int32(len(s) - 1 - i)
			break
		}
	}
	num := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	num.Quo(num, r.Denom())
	return Decimal{Unscaled: num, Scale: scale}, nil
}

// String renders d in plain notation, e.g. "-12.340".
func (d Decimal) String() string {
	if d.Unscaled == nil {
		return "0"
	}
	s := new(big.Int).Abs(d.Unscaled).String()
	neg := d.Unscaled.Sign() < 0
	if d.Scale > 0 {
		for int32(len(s)) <= d.Scale {
			s = "0" + s
		}
		s = s[:int32(len(s))-d.Scale] + "." + s[int32(len(s))-d.Scale:]
	} else if d.Scale < 0 {
		for i := int32(0); i < -d.Scale; i++ {
			s += "0"
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Float64 returns d as the nearest float64.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// Bytes returns the big-endian two's-complement encoding of the unscaled
// value, as Kafka Connect's Decimal.fromLogical writes it.
func (d Decimal) Bytes() []byte { return twosComplement(d.Unscaled) }

// AppendBytes appends the encoding Bytes returns to b, without allocating
// when the unscaled value fits an int64.
func (d Decimal) AppendBytes(b []byte) []byte {
	if d.Unscaled == nil || !d.Unscaled.IsInt64() {
		return append(b, d.Bytes()...)
	}
	v := d.Unscaled.Int64()
	// The fewest bytes k with -2^(8k-1) <= v < 2^(8k-1).
	k := 1
	for k < 8 && (v < -(1<<(8*k-1)) || v >= 1<<(8*k-1)) {
		k++
	}
	for i := k - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// DecimalFromBytes decodes the encoding Bytes returns.
func DecimalFromBytes(b []byte, scale int32) Decimal {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return Decimal{Unscaled: n, Scale: scale}
}

func twosComplement(n *big.Int) []byte {
	if n == nil || n.Sign() == 0 {
		return []byte{0}
	}
	if n.Sign() > 0 {
		b := n.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// Negative: 2^(8k) + n for the smallest k with -2^(8k-1) <= n, that is
	// k bytes hold the bits of |n|-1 plus a sign bit (-128 is one byte).
	mag := new(big.Int).Neg(n)
	mag.Sub(mag, big.NewInt(1))
	k := (mag.BitLen() + 8) / 8
	b := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(k)*8), n).Bytes()
	for len(b) < k {
		b = append([]byte{0xff}, b...)
	}
	return b
}

// DecimalScale returns the scale parameter of a Decimal schema.
func DecimalScale(s *Schema) (int32, error) {
	p, ok := s.Parameters[DecimalScaleKey]
	if !ok {
		return 0, fmt.Errorf("connect: decimal schema has no %q parameter", DecimalScaleKey)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("connect: decimal scale %q: %w", p, err)
	}
	return int32(n), nil
}

const msPerDay = 24 * 60 * 60 * 1000

// DateToDays converts a Date value to days since the epoch (UTC).
func DateToDays(t time.Time) int32 { return int32(floorDiv(t.UTC().UnixMilli(), msPerDay)) }

// DaysToDate converts days since the epoch to a Date value.
func DaysToDate(days int32) time.Time { return time.UnixMilli(int64(days) * msPerDay).UTC() }

// TimeToMillis converts a Time value to milliseconds since midnight (UTC).
func TimeToMillis(t time.Time) int32 {
	ms := t.UTC().UnixMilli()
	return int32(ms - floorDiv(ms, msPerDay)*msPerDay)
}

// MillisToTime converts milliseconds since midnight to a Time value on
// 1970-01-01. Values of the Time logical type must fall on that day, as in
// Kafka Connect; the converters refuse other dates.
func MillisToTime(ms int32) time.Time { return time.UnixMilli(int64(ms)).UTC() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Validate checks that value matches schema, recursively.
func Validate(s *Schema, value any) error {
	if s == nil {
		return nil // schemaless: anything goes
	}
	if value == nil {
		if s.Optional || s.Default != nil {
			return nil
		}
		return fmt.Errorf("connect: null value for required schema %s", s)
	}
	switch s.Name {
	case DecimalName:
		if _, ok := value.(Decimal); !ok {
			return typeError(s, value)
		}
		return nil
	case DateName, TimeName, TimestampName:
		if _, ok := value.(time.Time); !ok {
			return typeError(s, value)
		}
		return nil
	}
	ok := true
	switch s.Type {
	case Int8:
		_, ok = value.(int8)
	case Int16:
		_, ok = value.(int16)
	case Int32:
		_, ok = value.(int32)
	case Int64:
		_, ok = value.(int64)
	case Float32:
		_, ok = value.(float32)
	case Float64:
		_, ok = value.(float64)
	case Boolean:
		_, ok = value.(bool)
	case String:
		_, ok = value.(string)
	case Bytes:
		_, ok = value.([]byte)
	case Array:
		a, isArr := value.([]any)
		if !isArr {
			return typeError(s, value)
		}
		for i, e := range a {
			if err := Validate(s.Items, e); err != nil {
				return fmt.Errorf("connect: array element %d: %w", i, err)
			}
		}
	case Map:
		switch m := value.(type) {
		case map[string]any:
			for k, e := range m {
				if err := Validate(s.Values, e); err != nil {
					return fmt.Errorf("connect: map value %q: %w", k, err)
				}
			}
		case map[any]any:
			for k, e := range m {
				if err := Validate(s.Keys, k); err != nil {
					return fmt.Errorf("connect: map key %v: %w", k, err)
				}
				if err := Validate(s.Values, e); err != nil {
					return fmt.Errorf("connect: map value %v: %w", k, err)
				}
			}
		default:
			return typeError(s, value)
		}
	case Struct:
		sv, isStruct := value.(*StructValue)
		if !isStruct {
			return typeError(s, value)
		}
		for _, f := range s.Fields {
			if err := Validate(f.Schema, sv.values[f.Index]); err != nil {
				return fmt.Errorf("connect: field %q: %w", f.Name, err)
			}
		}
	}
	if !ok {
		return typeError(s, value)
	}
	return nil
}

func typeError(s *Schema, v any) error {
	return fmt.Errorf("connect: value of Go type %T does not match schema %s", v, s)
}

// TypeOf is the schema type of a value that has no schema, as Kafka
// Connect's ConnectSchema.schemaType infers it from the value's class: ""
// for a Go type outside the data model's plain types (int, uint64,
// time.Time...).
func TypeOf(v any) Type {
	switch v.(type) {
	case int8:
		return Int8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case float32:
		return Float32
	case float64:
		return Float64
	case bool:
		return Boolean
	case string:
		return String
	case []byte:
		return Bytes
	case []any:
		return Array
	case map[string]any, map[any]any:
		return Map
	case *StructValue:
		return Struct
	}
	return ""
}
