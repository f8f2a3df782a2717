package converters

import (
	"errors"
	"fmt"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/avro"
)

// encOp is what an encPlan node writes.
type encOp uint8

const (
	encInt8 encOp = iota
	encInt16
	encInt32
	encInt64
	encFloat32
	encFloat64
	encBoolean
	encString
	encEnum
	encBytes
	encFixed
	encDecimal
	encDecimalFixed
	encDate
	encTime
	encTimestamp
	encArray
	encMap
	encMapEntries
	encStruct
	encUnion // a Connect union struct
	encConst // a record field the Connect struct lacks: its default
)

// encPlan writes values of one Connect schema in the Avro binary encoding
// of the schema AvroData made from it. Plans are compiled once per schema
// and shared: they hold no per-record state.
type encPlan struct {
	op     encOp
	schema *connect.Schema
	// optional: the value sits in a union with null; nullIdx and valIdx
	// are the branch indexes.
	optional        bool
	nullIdx, valIdx int64

	scale   int32          // decimals
	size    int            // fixed
	symbols map[string]int // enum
	fields  []*encPlan     // struct; union members
	members []int64        // union: the Avro branch of each member
	items   *encPlan       // array; map values; map entry values
	keys    *encPlan       // map entry keys
	// valueFirst: the map entry record has its value before its key.
	valueFirst bool
	index      int    // a struct field's index in the Connect struct
	konst      []byte // encConst: the bytes to write
}

// compileEncoder builds the plan that writes values of s as Avro schema
// a: the schema fromConnectSchema made from s, or (use.latest.version) a
// schema registered by others, which s's values are fitted to: record
// fields by name (a field s lacks is written as its default), int32 as
// long, strings and bytes either way.
func compileEncoder(s *connect.Schema, a *avro.Schema, depth int) (*encPlan, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	p := &encPlan{schema: s}
	if a.Type == avro.TypeUnion && !isUnionSchema(s) {
		p.optional, p.nullIdx, p.valIdx = true, -1, -1
		for i, b := range a.Branches {
			switch {
			case b.Type == avro.TypeNull:
				if p.nullIdx < 0 {
					p.nullIdx = int64(i)
				}
			case p.valIdx < 0 && fits(s, b):
				p.valIdx = int64(i)
			}
		}
		if p.valIdx < 0 {
			return nil, fmt.Errorf("no branch of Avro union %s takes Connect schema %s", a, s)
		}
		a = a.Branches[p.valIdx]
	} else if !fits(s, a) {
		return nil, fmt.Errorf("Connect schema %s cannot be written as Avro %s", s, a)
	}
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		p.op, p.scale = encDecimal, scale
		if a.Type == avro.TypeFixed {
			p.op, p.size = encDecimalFixed, a.Size
		}
		return p, nil
	case connect.DateName:
		p.op = encDate
		return p, nil
	case connect.TimeName:
		p.op = encTime
		return p, nil
	case connect.TimestampName:
		p.op = encTimestamp
		return p, nil
	}
	switch s.Type {
	case connect.Int8:
		p.op = encInt8
	case connect.Int16:
		p.op = encInt16
	case connect.Int32:
		p.op = encInt32
	case connect.Int64:
		p.op = encInt64
	case connect.Float32:
		p.op = encFloat32
	case connect.Float64:
		p.op = encFloat64
	case connect.Boolean:
		p.op = encBoolean
	case connect.String:
		p.op = encString
		if a.Type == avro.TypeEnum {
			p.op = encEnum
			p.symbols = make(map[string]int, len(a.Symbols))
			for i, sym := range a.Symbols {
				p.symbols[sym] = i
			}
		}
	case connect.Bytes:
		p.op = encBytes
		if a.Type == avro.TypeFixed {
			p.op, p.size = encFixed, a.Size
		}
	case connect.Array:
		items, err := compileEncoder(s.Items, a.Items, depth+1)
		if err != nil {
			return nil, err
		}
		p.op, p.items = encArray, items
	case connect.Map:
		if a.Type == avro.TypeMap {
			values, err := compileEncoder(s.Values, a.Values, depth+1)
			if err != nil {
				return nil, err
			}
			p.op, p.items = encMap, values
			break
		}
		entry := a.Items
		kf, vf := entry.Field("key"), entry.Field("value")
		if kf == nil || vf == nil || len(entry.Fields) != 2 {
			return nil, fmt.Errorf("Avro %s is not an array of map entries", a)
		}
		keys, err := compileEncoder(s.Keys, kf.Type, depth+1)
		if err != nil {
			return nil, err
		}
		values, err := compileEncoder(s.Values, vf.Type, depth+1)
		if err != nil {
			return nil, err
		}
		p.op, p.keys, p.items = encMapEntries, keys, values
		p.valueFirst = entry.Fields[0] == vf
	case connect.Struct:
		if isUnionSchema(s) {
			p.op = encUnion
			p.optional = s.Optional
			p.nullIdx = -1
			for i, b := range a.Branches {
				if b.Type == avro.TypeNull {
					p.nullIdx = int64(i)
					break
				}
			}
			for _, f := range s.Fields {
				member := nonOptional(f.Schema)
				idx := -1
				for i, b := range a.Branches {
					if b.Type != avro.TypeNull && fits(member, b) {
						idx = i
						break
					}
				}
				if idx < 0 {
					return nil, fmt.Errorf("union member %q: no branch of Avro union %s takes it", f.Name, a)
				}
				fp, err := compileEncoder(member, a.Branches[idx], depth+1)
				if err != nil {
					return nil, err
				}
				p.fields = append(p.fields, fp)
				p.members = append(p.members, int64(idx))
			}
			break
		}
		p.op = encStruct
		for _, af := range a.Fields {
			f, ok := s.Field(af.Name)
			if !ok {
				if af.Default == nil {
					return nil, fmt.Errorf("Avro record %s has field %q, which Connect schema %s lacks, and no default for it", a.FullName(), af.Name, s)
				}
				def, err := appendAvroDefault(nil, af.Type, af.Default, 0)
				if err != nil {
					return nil, fmt.Errorf("field %q: default: %w", af.Name, err)
				}
				p.fields = append(p.fields, &encPlan{op: encConst, konst: def, index: -1})
				continue
			}
			fp, err := compileEncoder(f.Schema, af.Type, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
			fp.index = f.Index
			p.fields = append(p.fields, fp)
		}
	default:
		return nil, fmt.Errorf("Unknown schema type: %s", s.Type)
	}
	return p, nil
}

// fits reports whether values of Connect schema s can be written as Avro
// schema a without loss.
func fits(s *connect.Schema, a *avro.Schema) bool {
	switch s.Name {
	case connect.DecimalName:
		return a.Type == avro.TypeBytes || a.Type == avro.TypeFixed
	case connect.DateName, connect.TimeName:
		return a.Type == avro.TypeInt || a.Type == avro.TypeLong
	case connect.TimestampName:
		return a.Type == avro.TypeLong
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32:
		return a.Type == avro.TypeInt || a.Type == avro.TypeLong
	case connect.Int64:
		return a.Type == avro.TypeLong
	case connect.Float32:
		return a.Type == avro.TypeFloat
	case connect.Float64:
		return a.Type == avro.TypeDouble
	case connect.Boolean:
		return a.Type == avro.TypeBoolean
	case connect.String:
		return a.Type == avro.TypeString || a.Type == avro.TypeBytes || a.Type == avro.TypeEnum
	case connect.Bytes:
		return a.Type == avro.TypeBytes || a.Type == avro.TypeString || a.Type == avro.TypeFixed
	case connect.Array:
		return a.Type == avro.TypeArray && !isMapEntry(a.Items)
	case connect.Map:
		return a.Type == avro.TypeMap || (a.Type == avro.TypeArray && isMapEntry(a.Items))
	case connect.Struct:
		if isUnionSchema(s) {
			return a.Type == avro.TypeUnion
		}
		if a.Type != avro.TypeRecord {
			return false
		}
		cn, _ := a.PropString(connectNameProp)
		return s.Name == "" || s.Name == a.FullName() || s.Name == cn
	}
	return false
}

// appendAvroDefault appends the binary encoding of a field default (Avro's
// JSON form of a value of schema a).
func appendAvroDefault(b []byte, a *avro.Schema, v *avro.Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("default nested deeper than %d levels", maxDepth)
	}
	bad := fmt.Errorf("default %s does not fit Avro %s", v, a.Type)
	switch a.Type {
	case avro.TypeNull:
		if v.Kind != avro.NullValue {
			return nil, bad
		}
		return b, nil
	case avro.TypeBoolean:
		if v.Kind != avro.BoolValue {
			return nil, bad
		}
		if v.Bool {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case avro.TypeInt, avro.TypeLong:
		n, ok := v.Int64()
		if !ok {
			return nil, bad
		}
		return avro.AppendLong(b, n), nil
	case avro.TypeFloat:
		if !v.IsNumber() {
			return nil, bad
		}
		return avro.AppendFloat(b, float32(v.Float())), nil
	case avro.TypeDouble:
		if !v.IsNumber() {
			return nil, bad
		}
		return avro.AppendDouble(b, v.Float()), nil
	case avro.TypeString:
		if v.Kind != avro.StringValue {
			return nil, bad
		}
		return avro.AppendString(b, v.Str), nil
	case avro.TypeBytes, avro.TypeFixed:
		raw, ok := unlatin1(v.Str)
		if v.Kind != avro.StringValue || !ok || (a.Type == avro.TypeFixed && len(raw) != a.Size) {
			return nil, bad
		}
		if a.Type == avro.TypeFixed {
			return append(b, raw...), nil
		}
		return avro.AppendBytes(b, raw), nil
	case avro.TypeEnum:
		for i, sym := range a.Symbols {
			if v.Kind == avro.StringValue && sym == v.Str {
				return avro.AppendLong(b, int64(i)), nil
			}
		}
		return nil, bad
	case avro.TypeArray:
		if v.Kind != avro.ArrayValue {
			return nil, bad
		}
		if len(v.Arr) > 0 {
			b = avro.AppendLong(b, int64(len(v.Arr)))
			var err error
			for _, e := range v.Arr {
				if b, err = appendAvroDefault(b, a.Items, e, depth+1); err != nil {
					return nil, err
				}
			}
		}
		return append(b, 0), nil
	case avro.TypeMap:
		if v.Kind != avro.ObjectValue {
			return nil, bad
		}
		if len(v.Obj) > 0 {
			b = avro.AppendLong(b, int64(len(v.Obj)))
			var err error
			for _, m := range v.Obj {
				b = avro.AppendString(b, m.Key)
				if b, err = appendAvroDefault(b, a.Values, m.Val, depth+1); err != nil {
					return nil, err
				}
			}
		}
		return append(b, 0), nil
	case avro.TypeRecord:
		if v.Kind != avro.ObjectValue {
			return nil, bad
		}
		var err error
		for _, f := range a.Fields {
			fv := v.Get(f.Name)
			if fv == nil {
				fv = f.Default
			}
			if fv == nil {
				return nil, bad
			}
			if b, err = appendAvroDefault(b, f.Type, fv, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case avro.TypeUnion:
		for i, br := range a.Branches {
			if avro.ValidDefault(br, v) {
				return appendAvroDefault(avro.AppendLong(b, int64(i)), br, v, depth+1)
			}
		}
	}
	return nil, bad
}

var errNullRequired = errors.New("Found null value for non-optional schema")

// encode appends v.
func (p *encPlan) encode(b []byte, v any, depth int) ([]byte, error) {
	if isNil(v) {
		switch {
		case p.op == encUnion && p.optional:
			return avro.AppendLong(b, p.nullIdx), nil
		case p.optional:
			return avro.AppendLong(b, p.nullIdx), nil
		}
		return nil, errNullRequired
	}
	if p.optional && p.op != encUnion {
		b = avro.AppendLong(b, p.valIdx)
	}
	return p.encodeValue(b, v, depth)
}

// encodeValue appends non-nil v without the union index of an optional schema.
func (p *encPlan) encodeValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	ok := true
	switch p.op {
	case encInt8:
		var x int8
		if x, ok = v.(int8); ok {
			b = avro.AppendLong(b, int64(x))
		}
	case encInt16:
		var x int16
		if x, ok = v.(int16); ok {
			b = avro.AppendLong(b, int64(x))
		}
	case encInt32:
		var x int32
		if x, ok = v.(int32); ok {
			b = avro.AppendLong(b, int64(x))
		}
	case encInt64:
		var x int64
		if x, ok = v.(int64); ok {
			b = avro.AppendLong(b, x)
		}
	case encFloat32:
		var x float32
		if x, ok = v.(float32); ok {
			b = avro.AppendFloat(b, x)
		}
	case encFloat64:
		var x float64
		if x, ok = v.(float64); ok {
			b = avro.AppendDouble(b, x)
		}
	case encBoolean:
		var x bool
		if x, ok = v.(bool); ok {
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	case encString:
		var x string
		if x, ok = v.(string); ok {
			b = avro.AppendString(b, x)
		}
	case encEnum:
		var x string
		if x, ok = v.(string); ok {
			i, found := p.symbols[x]
			if !found {
				return nil, fmt.Errorf("%q is not a symbol of the enum", x)
			}
			b = avro.AppendLong(b, int64(i))
		}
	case encBytes:
		var x []byte
		if x, ok = v.([]byte); ok {
			b = avro.AppendBytes(b, x)
		}
	case encFixed:
		var x []byte
		if x, ok = v.([]byte); ok {
			if len(x) != p.size {
				return nil, fmt.Errorf("a value of %d bytes for a fixed of %d", len(x), p.size)
			}
			b = append(b, x...)
		}
	case encDecimal, encDecimalFixed:
		u, err := p.decimalBytes(v)
		if err != nil {
			return nil, err
		}
		if p.op == encDecimal {
			return avro.AppendBytes(b, u), nil
		}
		return padFixed(b, u, p.size)
	case encDate, encTime, encTimestamp:
		n, err := temporalNumber(p.schema.Name, v)
		if err != nil {
			return nil, err
		}
		return avro.AppendLong(b, n), nil
	case encArray:
		a, isArr := v.([]any)
		if !isArr {
			return nil, typeError(p.schema, v)
		}
		if len(a) > 0 {
			b = avro.AppendLong(b, int64(len(a)))
			var err error
			for i, e := range a {
				if b, err = p.items.encode(b, e, depth+1); err != nil {
					return nil, fmt.Errorf("array element %d: %w", i, err)
				}
			}
		}
		return append(b, 0), nil
	case encMap, encMapEntries:
		entries, err := mapEntries(v)
		if err != nil {
			return nil, typeError(p.schema, v)
		}
		if len(entries) > 0 {
			b = avro.AppendLong(b, int64(len(entries)))
			for _, e := range entries {
				if p.op == encMap {
					k, isStr := e.k.(string)
					if !isStr {
						return nil, fmt.Errorf("map key: %w", typeError(connect.StringSchema, e.k))
					}
					b = avro.AppendString(b, k)
				} else if p.valueFirst {
					if b, err = p.items.encode(b, e.v, depth+1); err != nil {
						return nil, fmt.Errorf("map value %v: %w", e.k, err)
					}
					if b, err = p.keys.encode(b, e.k, depth+1); err != nil {
						return nil, fmt.Errorf("map key %v: %w", e.k, err)
					}
					continue
				} else if b, err = p.keys.encode(b, e.k, depth+1); err != nil {
					return nil, fmt.Errorf("map key %v: %w", e.k, err)
				}
				if b, err = p.items.encode(b, e.v, depth+1); err != nil {
					return nil, fmt.Errorf("map value %v: %w", e.k, err)
				}
			}
		}
		return append(b, 0), nil
	case encStruct:
		sv, isStruct := v.(*connect.StructValue)
		if !isStruct {
			return nil, typeError(p.schema, v)
		}
		if s := sv.Schema(); s != p.schema && !sameSchema(s, p.schema, 0) {
			return nil, errors.New("Mismatching struct schema")
		}
		var err error
		for _, fp := range p.fields {
			if fp.op == encConst {
				b = append(b, fp.konst...)
				continue
			}
			fv := sv.GetIndex(fp.index)
			if isNil(fv) {
				fv = fp.schema.Default // as Struct.get does
			}
			if b, err = fp.encode(b, fv, depth+1); err != nil {
				return nil, fmt.Errorf("field %q: %w", p.schema.Fields[fp.index].Name, err)
			}
		}
	case encUnion:
		sv, isStruct := v.(*connect.StructValue)
		if !isStruct {
			return nil, typeError(p.schema, v)
		}
		for i, fp := range p.fields {
			fv := sv.GetIndex(i)
			if isNil(fv) {
				fv = fp.schema.Default
			}
			if !isNil(fv) {
				b = avro.AppendLong(b, p.members[i])
				return fp.encodeValue(b, fv, depth+1)
			}
		}
		if !p.optional {
			return nil, errNullRequired
		}
		return avro.AppendLong(b, p.nullIdx), nil
	}
	if !ok {
		return nil, typeError(p.schema, v)
	}
	return b, nil
}

// decimalBytes checks a Decimal against the schema's scale and returns
// its unscaled value's bytes, as Kafka Connect's Decimal.fromLogical.
func (p *encPlan) decimalBytes(v any) ([]byte, error) {
	d, ok := v.(connect.Decimal)
	if !ok {
		return nil, fmt.Errorf("Invalid type for Decimal, expected connect.Decimal but was %T", v)
	}
	if d.Scale != p.scale {
		return nil, fmt.Errorf("BigDecimal has mismatching scale value for given Decimal schema: schema scale %d, value scale %d", p.scale, d.Scale)
	}
	return d.Bytes(), nil
}

// padFixed appends u sign-extended to size bytes.
func padFixed(b, u []byte, size int) ([]byte, error) {
	if len(u) > size {
		return nil, fmt.Errorf("Unscaled value byte array length %d is greater than fixed size %d", len(u), size)
	}
	fill := byte(0)
	if len(u) > 0 && u[0]&0x80 != 0 {
		fill = 0xFF
	}
	for i := len(u); i < size; i++ {
		b = append(b, fill)
	}
	return append(b, u...), nil
}

// rawBytes is the payload Confluent's serializer writes for a schema whose
// Avro type is bytes: the bytes themselves, with no length (a Connect bytes
// or Decimal schema that is not optional).
func (p *encPlan) rawBytes(v any) ([]byte, error) {
	switch p.op {
	case encBytes:
		x, ok := v.([]byte)
		if !ok {
			return nil, typeError(p.schema, v)
		}
		return x, nil
	case encDecimal:
		return p.decimalBytes(v)
	}
	return nil, fmt.Errorf("not a bytes schema")
}
