package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/connectd/connectd/internal/javajson"
)

// ValueKind is the kind of a JSON value, with the number kinds Jackson
// keeps apart: an integer, a float (written as Java's Float.toString) and
// a double (Double.toString).
type ValueKind uint8

// The kinds of Value.
const (
	NullValue ValueKind = iota
	BoolValue
	IntValue
	FloatValue
	DoubleValue
	StringValue
	ArrayValue
	ObjectValue
)

// Value is a JSON value whose objects keep their members in order, as
// Jackson's tree model does. Avro schemas carry such values as field
// defaults and custom properties; the order of an object's members is
// part of the schema's text.
type Value struct {
	Kind ValueKind
	Bool bool
	// Int is the decimal text of an IntValue, without leading zeros.
	Int string
	// Num is the number of a FloatValue or DoubleValue.
	Num float64
	Str string
	Arr []*Value
	Obj []Member
}

// Member is one member of a JSON object.
type Member struct {
	Key string
	Val *Value
}

// Constructors for Values.
func Null() *Value               { return &Value{Kind: NullValue} }
func Bool(b bool) *Value         { return &Value{Kind: BoolValue, Bool: b} }
func Int(n int64) *Value         { return &Value{Kind: IntValue, Int: strconv.FormatInt(n, 10)} }
func Float32(f float32) *Value   { return &Value{Kind: FloatValue, Num: float64(f)} }
func Float64(f float64) *Value   { return &Value{Kind: DoubleValue, Num: f} }
func String(s string) *Value     { return &Value{Kind: StringValue, Str: s} }
func Array(vs ...*Value) *Value  { return &Value{Kind: ArrayValue, Arr: vs} }
func Object(ms ...Member) *Value { return &Value{Kind: ObjectValue, Obj: ms} }

// Get returns the value of the object member key (the last one, as
// Jackson keeps), or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != ObjectValue {
		return nil
	}
	for i := len(v.Obj) - 1; i >= 0; i-- {
		if v.Obj[i].Key == key {
			return v.Obj[i].Val
		}
	}
	return nil
}

// Int64 returns an IntValue as an int64; false if v is not an integer or
// does not fit.
func (v *Value) Int64() (int64, bool) {
	if v == nil || v.Kind != IntValue {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Int, 10, 64)
	return n, err == nil
}

// IsNumber reports whether v is a number of any kind.
func (v *Value) IsNumber() bool {
	return v != nil && (v.Kind == IntValue || v.Kind == FloatValue || v.Kind == DoubleValue)
}

// Float returns a number as a float64.
func (v *Value) Float() float64 {
	switch v.Kind {
	case IntValue:
		f, _ := strconv.ParseFloat(v.Int, 64)
		return f
	case FloatValue, DoubleValue:
		return v.Num
	}
	return 0
}

// Equal reports whether a and b are the same JSON value, as Jackson's
// JsonNode.equals sees them (numbers of different kinds differ).
func Equal(a, b *Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case BoolValue:
		return a.Bool == b.Bool
	case IntValue:
		return a.Int == b.Int
	case FloatValue, DoubleValue:
		return a.Num == b.Num || (math.IsNaN(a.Num) && math.IsNaN(b.Num))
	case StringValue:
		return a.Str == b.Str
	case ArrayValue:
		if len(a.Arr) != len(b.Arr) {
			return false
		}
		for i := range a.Arr {
			if !Equal(a.Arr[i], b.Arr[i]) {
				return false
			}
		}
	case ObjectValue:
		if len(a.Obj) != len(b.Obj) {
			return false
		}
		for _, m := range a.Obj {
			if !Equal(m.Val, b.Get(m.Key)) {
				return false
			}
		}
	}
	return true
}

// AppendJSON appends v as compact JSON, as Jackson writes a tree: strings
// escaped as Jackson escapes them, floats as Java prints them.
func AppendJSON(b []byte, v *Value) []byte {
	switch v.Kind {
	case NullValue:
		return append(b, "null"...)
	case BoolValue:
		return strconv.AppendBool(b, v.Bool)
	case IntValue:
		return append(b, v.Int...)
	case FloatValue, DoubleValue:
		bits := 64
		if v.Kind == FloatValue {
			bits = 32
		}
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			// Jackson quotes the non-numeric numbers by default.
			b = append(b, '"')
			b = javajson.AppendFloat(b, v.Num, bits)
			return append(b, '"')
		}
		return javajson.AppendFloat(b, v.Num, bits)
	case StringValue:
		return javajson.AppendString(b, v.Str)
	case ArrayValue:
		b = append(b, '[')
		for i, e := range v.Arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	case ObjectValue:
		b = append(b, '{')
		for i, m := range v.Obj {
			if i > 0 {
				b = append(b, ',')
			}
			b = javajson.AppendString(b, m.Key)
			b = append(b, ':')
			b = AppendJSON(b, m.Val)
		}
		return append(b, '}')
	}
	return b
}

// String returns v as compact JSON.
func (v *Value) String() string { return string(AppendJSON(nil, v)) }

// maxDepth bounds the nesting of parsed JSON and of schemas.
const maxDepth = 1000

// ParseJSON parses one JSON document into a Value, keeping object members
// in order. Numbers with a fraction or an exponent are doubles, others
// integers, as Jackson reads them into a tree.
func ParseJSON(data []byte) (*Value, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := parseValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func parseValue(d *json.Decoder, depth int) (*Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
	}
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("unexpected end of JSON")
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return Null(), nil
	case bool:
		return Bool(t), nil
	case string:
		return String(t), nil
	case json.Number:
		return number(string(t))
	case json.Delim:
		switch t {
		case '[':
			arr := &Value{Kind: ArrayValue, Arr: []*Value{}}
			for d.More() {
				e, err := parseValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				arr.Arr = append(arr.Arr, e)
			}
			_, err := d.Token()
			return arr, err
		case '{':
			obj := &Value{Kind: ObjectValue, Obj: []Member{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				e, err := parseValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				obj.Obj = append(obj.Obj, Member{Key: kt.(string), Val: e})
			}
			_, err := d.Token()
			return obj, err
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func number(lit string) (*Value, error) {
	if strings.ContainsAny(lit, ".eE") {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, err
		}
		return Float64(f), nil
	}
	n, ok := new(big.Int).SetString(lit, 10)
	if !ok {
		return nil, fmt.Errorf("invalid number %q", lit)
	}
	return &Value{Kind: IntValue, Int: n.String()}, nil
}
