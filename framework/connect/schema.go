package connect

import (
	"fmt"
	"strings"
)

// Type is the type of a schema, named as Kafka Connect names it.
type Type string

// The schema types of Kafka Connect's data model.
const (
	Int8    Type = "int8"
	Int16   Type = "int16"
	Int32   Type = "int32"
	Int64   Type = "int64"
	Float32 Type = "float"
	Float64 Type = "double"
	Boolean Type = "boolean"
	String  Type = "string"
	Bytes   Type = "bytes"
	Array   Type = "array"
	Map     Type = "map"
	Struct  Type = "struct"
)

// Primitive reports whether t is neither array, map nor struct.
func (t Type) Primitive() bool { return t != Array && t != Map && t != Struct }

// Logical type names, as Kafka Connect writes them in schemas.
const (
	DecimalName     = "org.apache.kafka.connect.data.Decimal"
	DecimalScaleKey = "scale"
	DateName        = "org.apache.kafka.connect.data.Date"
	TimeName        = "org.apache.kafka.connect.data.Time"
	TimestampName   = "org.apache.kafka.connect.data.Timestamp"
)

// Schema describes the shape of a key, value or header.
//
// Values that match a schema have these Go types: int8, int16, int32, int64,
// float32, float64, bool, string, []byte; []any for arrays; map[string]any
// for maps with string keys and map[any]any for others; *StructValue for
// structs. The logical types use Decimal (bytes), time.Time (Date, Time,
// Timestamp). A nil value is allowed only for optional schemas. Decimal
// holds a *big.Int, so two equal decimals are different map keys.
//
// Schemas are immutable once built: share them freely between goroutines.
type Schema struct {
	Type       Type
	Optional   bool
	Default    any
	Name       string
	Version    int32 // 0 means none
	Doc        string
	Parameters map[string]string

	Fields []Field // struct
	Items  *Schema // array
	Keys   *Schema // map
	Values *Schema // map

	fieldIndex map[string]int
}

// Field is one field of a struct schema.
type Field struct {
	Name   string
	Index  int
	Schema *Schema
}

// Field returns the field named name, or false.
func (s *Schema) Field(name string) (Field, bool) {
	if s == nil || s.Type != Struct {
		return Field{}, false
	}
	if s.fieldIndex != nil {
		i, ok := s.fieldIndex[name]
		if !ok {
			return Field{}, false
		}
		return s.Fields[i], true
	}
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// String renders the schema compactly, for error messages.
func (s *Schema) String() string {
	if s == nil {
		return "<none>"
	}
	var b strings.Builder
	if s.Name != "" {
		b.WriteString(s.Name)
		b.WriteString(":")
	}
	b.WriteString(string(s.Type))
	if s.Optional {
		b.WriteString("?")
	}
	return b.String()
}

// SchemaBuilder builds a Schema. The zero value is not usable: start with
// one of the constructors (NewSchema, StructSchema, ArraySchema, MapSchema).
type SchemaBuilder struct{ s Schema }

// NewSchema starts a schema of a primitive type.
func NewSchema(t Type) *SchemaBuilder { return &SchemaBuilder{s: Schema{Type: t}} }

// StructSchema starts a struct schema; add fields with Field.
func StructSchema() *SchemaBuilder { return &SchemaBuilder{s: Schema{Type: Struct}} }

// ArraySchema starts an array schema of items.
func ArraySchema(items *Schema) *SchemaBuilder {
	return &SchemaBuilder{s: Schema{Type: Array, Items: items}}
}

// MapSchema starts a map schema.
func MapSchema(keys, values *Schema) *SchemaBuilder {
	return &SchemaBuilder{s: Schema{Type: Map, Keys: keys, Values: values}}
}

// DecimalSchema starts Kafka Connect's Decimal logical type with scale.
func DecimalSchema(scale int32) *SchemaBuilder {
	return NewSchema(Bytes).Name(DecimalName).Version(1).Parameter(DecimalScaleKey, fmt.Sprint(scale))
}

// DateSchema starts Kafka Connect's Date logical type (days since the epoch).
func DateSchema() *SchemaBuilder { return NewSchema(Int32).Name(DateName).Version(1) }

// TimeSchema starts Kafka Connect's Time logical type (milliseconds since midnight).
func TimeSchema() *SchemaBuilder { return NewSchema(Int32).Name(TimeName).Version(1) }

// TimestampSchema starts Kafka Connect's Timestamp logical type (milliseconds since the epoch).
func TimestampSchema() *SchemaBuilder { return NewSchema(Int64).Name(TimestampName).Version(1) }

func (b *SchemaBuilder) Optional() *SchemaBuilder       { b.s.Optional = true; return b }
func (b *SchemaBuilder) Default(v any) *SchemaBuilder   { b.s.Default = v; return b }
func (b *SchemaBuilder) Name(n string) *SchemaBuilder   { b.s.Name = n; return b }
func (b *SchemaBuilder) Version(v int32) *SchemaBuilder { b.s.Version = v; return b }
func (b *SchemaBuilder) Doc(d string) *SchemaBuilder    { b.s.Doc = d; return b }
func (b *SchemaBuilder) Parameter(k, v string) *SchemaBuilder {
	if b.s.Parameters == nil {
		b.s.Parameters = map[string]string{}
	}
	b.s.Parameters[k] = v
	return b
}

// Field appends a field to a struct schema.
func (b *SchemaBuilder) Field(name string, s *Schema) *SchemaBuilder {
	b.s.Fields = append(b.s.Fields, Field{Name: name, Index: len(b.s.Fields), Schema: s})
	return b
}

// Build returns the finished schema.
func (b *SchemaBuilder) Build() *Schema {
	s := b.s
	if s.Type == Struct {
		s.Fields = append([]Field(nil), s.Fields...)
		s.fieldIndex = make(map[string]int, len(s.Fields))
		for i := range s.Fields {
			s.Fields[i].Index = i
			s.fieldIndex[s.Fields[i].Name] = i
		}
	}
	return &s
}

// Reindex prepares a struct schema assembled as a literal (rather than with a
// SchemaBuilder) for fast field lookups. It returns s.
func (s *Schema) Reindex() *Schema {
	if s.Type == Struct {
		s.fieldIndex = make(map[string]int, len(s.Fields))
		for i := range s.Fields {
			s.Fields[i].Index = i
			s.fieldIndex[s.Fields[i].Name] = i
		}
	}
	return s
}

// Optional schemas of the primitive types, for convenience.
var (
	OptionalInt8    = NewSchema(Int8).Optional().Build()
	OptionalInt16   = NewSchema(Int16).Optional().Build()
	OptionalInt32   = NewSchema(Int32).Optional().Build()
	OptionalInt64   = NewSchema(Int64).Optional().Build()
	OptionalFloat32 = NewSchema(Float32).Optional().Build()
	OptionalFloat64 = NewSchema(Float64).Optional().Build()
	OptionalBoolean = NewSchema(Boolean).Optional().Build()
	OptionalString  = NewSchema(String).Optional().Build()
	OptionalBytes   = NewSchema(Bytes).Optional().Build()

	Int8Schema    = NewSchema(Int8).Build()
	Int16Schema   = NewSchema(Int16).Build()
	Int32Schema   = NewSchema(Int32).Build()
	Int64Schema   = NewSchema(Int64).Build()
	Float32Schema = NewSchema(Float32).Build()
	Float64Schema = NewSchema(Float64).Build()
	BooleanSchema = NewSchema(Boolean).Build()
	StringSchema  = NewSchema(String).Build()
	BytesSchema   = NewSchema(Bytes).Build()
)
