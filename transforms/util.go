package transforms

import (
	"fmt"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// part is the half of a record a $Key or $Value transform works on.
type part bool

const (
	keyPart   part = true
	valuePart part = false
)

// suffix is the class name suffix of the variant: "$Key" or "$Value".
func (p part) suffix() string {
	if p == keyPart {
		return "$Key"
	}
	return "$Value"
}

func (p part) schema(r *connect.Record) *connect.Schema {
	if p == keyPart {
		return r.KeySchema
	}
	return r.ValueSchema
}

func (p part) value(r *connect.Record) any {
	if p == keyPart {
		return r.Key
	}
	return r.Value
}

// set replaces this part of r, a record the transform may write (see
// updater), with a value the chain does not own.
func (p part) set(r *connect.Record, own *owned, s *connect.Schema, v any) {
	p.setFresh(r, own, s, v)
	if p == keyPart {
		own.key = false
	} else {
		own.value = false
	}
}

// setFresh replaces this part of r with a map or struct the transform
// made, which later transforms of the chain may change in place.
func (p part) setFresh(r *connect.Record, own *owned, s *connect.Schema, v any) {
	schema, value := &r.ValueSchema, &r.Value
	if p == keyPart {
		schema, value = &r.KeySchema, &r.Key
		own.key = true
	} else {
		own.value = true
	}
	// Written only where they change: see copyRecord.
	if *schema != s {
		*schema = s
	}
	if !sameAny(*value, v) {
		*value = v
	}
}

// owns reports whether this part's map or struct was made by an earlier
// transform of the chain, so that it may be changed in place.
func (p part) owns(own *owned) bool {
	if p == keyPart {
		return own.key
	}
	return own.value
}

// writable returns m itself when the chain owns it, else a copy to change.
func (p part) writable(m map[string]any, own *owned) map[string]any {
	if p.owns(own) {
		return m
	}
	if m == nil {
		return own.newMap(0)
	}
	return own.cloneMap(m)
}

// requireMap is Kafka's Requirements.requireMap: the schemaless form of a
// key or value must be a map.
func requireMap(v any, purpose string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, dataErr("Only Map objects supported in absence of schema for [%s], found: %s", purpose, javaClassName(v))
	}
	return m, nil
}

// requireStruct is Kafka's Requirements.requireStruct.
func requireStruct(v any, purpose string) (*connect.StructValue, error) {
	s, ok := v.(*connect.StructValue)
	if !ok || s == nil {
		return nil, dataErr("Only Struct objects supported for [%s], found: %s", purpose, javaClassName(v))
	}
	return s, nil
}

// requireStructOrNull accepts a nil value too.
func requireStructOrNull(v any, purpose string) (*connect.StructValue, error) {
	if v == nil {
		return nil, nil
	}
	return requireStruct(v, purpose)
}

// requireSchema is Kafka's Requirements.requireSchema.
func requireSchema(s *connect.Schema, purpose string) error {
	if s == nil {
		return dataErr("Schema required for [%s]", purpose)
	}
	return nil
}

// javaClassName names the Java class Kafka Connect would hold for a Go
// value, so error messages read as Kafka Connect's do.
func javaClassName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case int8:
		return "java.lang.Byte"
	case int16:
		return "java.lang.Short"
	case int32:
		return "java.lang.Integer"
	case int64:
		return "java.lang.Long"
	case float32:
		return "java.lang.Float"
	case float64:
		return "java.lang.Double"
	case bool:
		return "java.lang.Boolean"
	case []byte:
		return "[B"
	case []any:
		return "java.util.ArrayList"
	case map[string]any, map[any]any:
		return "java.util.HashMap"
	case *connect.StructValue:
		if x == nil {
			return "null"
		}
		return "org.apache.kafka.connect.data.Struct"
	case connect.Decimal:
		return "java.math.BigDecimal"
	case time.Time:
		return "java.util.Date"
	}
	return fmt.Sprintf("%T", v)
}

// javaClass is javaClassName as Java's Class.toString writes it.
func javaClass(v any) string { return "class " + javaClassName(v) }

// field returns field i of sv; with withDefault, a null value reads as the
// field's default (Kafka's Struct.get against getWithoutDefault).
func field(sv *connect.StructValue, f connect.Field, withDefault bool) any {
	v := sv.GetIndex(f.Index)
	if v == nil && withDefault {
		return f.Schema.Default
	}
	return v
}

// copyBasics starts a schema of type t with s's name, version, doc and
// parameters: Kafka's SchemaUtil.copySchemaBasics.
func copyBasics(s *connect.Schema, t connect.Type) *connect.Schema {
	return &connect.Schema{Type: t, Name: s.Name, Version: s.Version, Doc: s.Doc, Parameters: s.Parameters}
}

// structOf builds a struct schema from a literal: it fixes field indexes.
func structOf(s *connect.Schema, fields []connect.Field) *connect.Schema {
	s.Type = connect.Struct
	s.Fields = fields
	return s.Reindex()
}

// errf returns an error with a message for the user, for validators.
func errf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// recordString describes r briefly, for messages about a whole record.
func recordString(r *connect.Record) string {
	return fmt.Sprintf("Record{topic=%s, kafkaPartition=%d, keySchema=%s, valueSchema=%s, timestamp=%s}",
		r.Topic, r.Partition, r.KeySchema, r.ValueSchema, timestampString(r.Timestamp))
}

func timestampString(t time.Time) string {
	if t.IsZero() {
		return "null"
	}
	return fmt.Sprint(t.UnixMilli())
}
