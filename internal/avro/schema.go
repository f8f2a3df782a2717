package avro

import (
	"errors"
	"fmt"
	"strings"

	twmb "github.com/twmb/avro"
)

// The Avro types, as a schema's "type" names them.
const (
	TypeNull    = "null"
	TypeBoolean = "boolean"
	TypeInt     = "int"
	TypeLong    = "long"
	TypeFloat   = "float"
	TypeDouble  = "double"
	TypeBytes   = "bytes"
	TypeString  = "string"
	TypeRecord  = "record"
	TypeEnum    = "enum"
	TypeArray   = "array"
	TypeMap     = "map"
	TypeUnion   = "union"
	TypeFixed   = "fixed"
)

// Schema is an Avro schema as Apache Avro's Java library holds it: named
// types with a name and a namespace, custom properties in the order they
// were added, field defaults as JSON. A named type used more than once is
// one *Schema referenced from each place, so a recursive type is a cycle.
type Schema struct {
	Type string
	// Name and Namespace of a record, enum or fixed; Namespace "" is the
	// null namespace.
	Name, Namespace string
	Doc             string
	HasDoc          bool
	// Aliases of a named type, as full names.
	Aliases []string
	IsError bool // a record declared as "error"

	Fields   []*Field  // record
	Symbols  []string  // enum
	Size     int       // fixed
	Items    *Schema   // array
	Values   *Schema   // map
	Branches []*Schema // union

	EnumDefault    string
	HasEnumDefault bool

	// Props are the custom properties (logicalType, precision and scale
	// included), in order.
	Props []Member
}

// Field is one field of a record.
type Field struct {
	Name    string
	Type    *Schema
	Doc     string
	HasDoc  bool
	Default *Value // nil: no default
	Order   string // "" is ascending
	Aliases []string
	Props   []Member
	Pos     int
}

// Named reports whether s is a record, an enum or a fixed.
func (s *Schema) Named() bool {
	return s.Type == TypeRecord || s.Type == TypeEnum || s.Type == TypeFixed
}

// FullName returns the full name of a named type, or the type's name.
func (s *Schema) FullName() string {
	if !s.Named() {
		return s.Type
	}
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "." + s.Name
}

// Prop returns the custom property key, or nil.
func (s *Schema) Prop(key string) *Value { return getProp(s.Props, key) }

// PropString returns the custom property key when it is a string.
func (s *Schema) PropString(key string) (string, bool) {
	v := s.Prop(key)
	if v == nil || v.Kind != StringValue {
		return "", false
	}
	return v.Str, true
}

// LogicalType returns the logicalType property, or "".
func (s *Schema) LogicalType() string {
	lt, _ := s.PropString("logicalType")
	return lt
}

// AddProp adds a custom property; as Avro's JsonProperties.addProp, it
// keeps the first value of a key (adding the same value again is allowed;
// a different one is an error).
func (s *Schema) AddProp(key string, v *Value) error {
	if old := s.Prop(key); old != nil {
		if Equal(old, v) {
			return nil
		}
		return fmt.Errorf("Can't overwrite property: %s", key)
	}
	s.Props = append(s.Props, Member{Key: key, Val: v})
	return nil
}

// Field returns the field named name, or nil.
func (s *Schema) Field(name string) *Field {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Prop returns the custom property key of the field, or nil.
func (f *Field) Prop(key string) *Value { return getProp(f.Props, key) }

func getProp(props []Member, key string) *Value {
	for _, m := range props {
		if m.Key == key {
			return m.Val
		}
	}
	return nil
}

// Primitive returns a new schema of a primitive type.
func Primitive(t string) *Schema { return &Schema{Type: t} }

// SplitName splits a full name into namespace and name at its last dot.
func SplitName(full string) (namespace, name string) {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

var primitives = map[string]bool{
	TypeNull: true, TypeBoolean: true, TypeInt: true, TypeLong: true, TypeFloat: true,
	TypeDouble: true, TypeBytes: true, TypeString: true,
}

// Keys a schema object or a field uses for itself; all others are custom
// properties (Avro's SCHEMA_RESERVED, ENUM_RESERVED, FIELD_RESERVED).
var (
	schemaReserved = map[string]bool{"doc": true, "fields": true, "items": true, "name": true, "namespace": true,
		"size": true, "symbols": true, "values": true, "type": true, "aliases": true}
	fieldReserved = map[string]bool{"default": true, "doc": true, "name": true, "order": true, "type": true, "aliases": true}
)

// Parse parses a schema's JSON text. The text is checked against the Avro
// specification (names, defaults, unions) first, by github.com/twmb/avro;
// the result keeps what Apache Avro's Java parser keeps, in its order, so
// that String gives the text Confluent's registry stores.
func Parse(text string) (*Schema, error) {
	if _, err := twmb.Parse(text); err != nil {
		return nil, fmt.Errorf("avro: invalid schema: %w", err)
	}
	return ParseUnchecked(text)
}

// ParseUnchecked parses a schema's JSON text without the specification
// checks of Parse, for text known to be valid.
func ParseUnchecked(text string) (*Schema, error) {
	v, err := ParseJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("avro: schema is not JSON: %w", err)
	}
	p := parser{names: map[string]*Schema{}}
	s, err := p.schema(v, "", 0)
	if err != nil {
		return nil, fmt.Errorf("avro: %w", err)
	}
	return s, nil
}

type parser struct {
	names map[string]*Schema
}

func (p *parser) lookup(ref, ns string) (*Schema, bool) {
	if !strings.Contains(ref, ".") && ns != "" {
		if s, ok := p.names[ns+"."+ref]; ok {
			return s, true
		}
	}
	s, ok := p.names[ref]
	return s, ok
}

func (p *parser) schema(v *Value, ns string, depth int) (*Schema, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	switch v.Kind {
	case StringValue:
		if primitives[v.Str] {
			return Primitive(v.Str), nil
		}
		if s, ok := p.lookup(v.Str, ns); ok {
			return s, nil
		}
		return nil, fmt.Errorf("undefined name: %s", v.Str)
	case ArrayValue:
		u := &Schema{Type: TypeUnion}
		for _, b := range v.Arr {
			bs, err := p.schema(b, ns, depth+1)
			if err != nil {
				return nil, err
			}
			u.Branches = append(u.Branches, bs)
		}
		return u, nil
	case ObjectValue:
	default:
		return nil, fmt.Errorf("not a schema: %s", v)
	}
	tv := v.Get("type")
	if tv == nil {
		return nil, errors.New("no type")
	}
	if tv.Kind != StringValue {
		return p.schema(tv, ns, depth+1)
	}
	t := tv.Str
	var s *Schema
	switch {
	case primitives[t]:
		s = Primitive(t)
	case t == TypeRecord || t == "error" || t == TypeEnum || t == TypeFixed:
		s = &Schema{Type: t, IsError: t == "error"}
		if t == "error" {
			s.Type = TypeRecord
		}
		name := v.Get("name")
		if name == nil || name.Kind != StringValue {
			return nil, errors.New("no name in schema")
		}
		space := ns
		if nsv := v.Get("namespace"); nsv != nil && nsv.Kind == StringValue {
			space = nsv.Str
		}
		s.Namespace, s.Name = qualify(name.Str, space)
		if d := v.Get("doc"); d != nil && d.Kind == StringValue {
			s.Doc, s.HasDoc = d.Str, true
		}
		if al := v.Get("aliases"); al != nil && al.Kind == ArrayValue {
			for _, a := range al.Arr {
				if a.Kind == StringValue {
					ans, an := qualify(a.Str, s.Namespace)
					if ans != "" {
						an = ans + "." + an
					}
					s.Aliases = append(s.Aliases, an)
				}
			}
		}
		full := s.FullName()
		if _, dup := p.names[full]; dup {
			return nil, fmt.Errorf("Can't redefine: %s", full)
		}
		p.names[full] = s
		switch t {
		case TypeEnum:
			if sy := v.Get("symbols"); sy != nil && sy.Kind == ArrayValue {
				for _, e := range sy.Arr {
					s.Symbols = append(s.Symbols, e.Str)
				}
			}
			if d := v.Get("default"); d != nil && d.Kind == StringValue {
				s.EnumDefault, s.HasEnumDefault = d.Str, true
			}
		case TypeFixed:
			n, _ := v.Get("size").Int64()
			s.Size = int(n)
		default:
			fv := v.Get("fields")
			if fv == nil || fv.Kind != ArrayValue {
				return nil, errors.New("record has no fields")
			}
			for i, fj := range fv.Arr {
				f, err := p.field(fj, s.Namespace, depth)
				if err != nil {
					return nil, fmt.Errorf("record %s: %w", full, err)
				}
				f.Pos = i
				s.Fields = append(s.Fields, f)
			}
		}
	case t == TypeArray:
		iv := v.Get("items")
		if iv == nil {
			return nil, errors.New("array has no items")
		}
		items, err := p.schema(iv, ns, depth+1)
		if err != nil {
			return nil, err
		}
		s = &Schema{Type: TypeArray, Items: items}
	case t == TypeMap:
		vv := v.Get("values")
		if vv == nil {
			return nil, errors.New("map has no values")
		}
		values, err := p.schema(vv, ns, depth+1)
		if err != nil {
			return nil, err
		}
		s = &Schema{Type: TypeMap, Values: values}
	default:
		// A named type written as {"type": "Name"}.
		ref, ok := p.lookup(t, ns)
		if !ok {
			return nil, fmt.Errorf("undefined name: %s", t)
		}
		return ref, nil
	}
	reserved := schemaReserved
	for _, m := range v.Obj {
		if reserved[m.Key] || (s.Type == TypeEnum && m.Key == "default") {
			continue
		}
		if s.Prop(m.Key) == nil {
			s.Props = append(s.Props, m)
		}
	}
	return s, nil
}

func (p *parser) field(v *Value, ns string, depth int) (*Field, error) {
	if v.Kind != ObjectValue {
		return nil, errors.New("field is not an object")
	}
	name := v.Get("name")
	if name == nil || name.Kind != StringValue {
		return nil, errors.New("field has no name")
	}
	tv := v.Get("type")
	if tv == nil {
		return nil, fmt.Errorf("field %s has no type", name.Str)
	}
	t, err := p.schema(tv, ns, depth+1)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", name.Str, err)
	}
	f := &Field{Name: name.Str, Type: t, Default: v.Get("default")}
	if d := v.Get("doc"); d != nil && d.Kind == StringValue {
		f.Doc, f.HasDoc = d.Str, true
	}
	if o := v.Get("order"); o != nil && o.Kind == StringValue && o.Str != "ascending" {
		f.Order = o.Str
	}
	if al := v.Get("aliases"); al != nil && al.Kind == ArrayValue {
		for _, a := range al.Arr {
			f.Aliases = append(f.Aliases, a.Str)
		}
	}
	for _, m := range v.Obj {
		if !fieldReserved[m.Key] && getProp(f.Props, m.Key) == nil {
			f.Props = append(f.Props, m)
		}
	}
	return f, nil
}

// qualify splits name into namespace and short name: a dotted name carries
// its own namespace, others take space.
func qualify(name, space string) (string, string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return space, name
}
