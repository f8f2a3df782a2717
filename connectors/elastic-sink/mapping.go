package elasticsink

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// buildMapping returns the mapping Confluent's connector derives from a
// record's value schema (its Mapping class): struct fields as properties,
// strings as text with a keyword sub-field, Date, Time and Timestamp as
// date, decimals as double, a map as key and value properties, an array as
// its items' type; a field's default becomes its null_value.
func buildMapping(s *connect.Schema) ([]byte, error) {
	if s == nil {
		return nil, errors.New("Cannot infer mapping without schema.")
	}
	if s.Type != connect.Struct {
		return nil, fmt.Errorf("cannot derive an index mapping from a %s value schema: only a struct maps to a document's fields (set %s=true to let Elasticsearch infer the mapping)", s.Type, SchemaIgnoreKey)
	}
	return appendMapping(nil, s, 0)
}

func appendMapping(b []byte, s *connect.Schema, depth int) ([]byte, error) {
	if s == nil {
		return nil, errors.New("Cannot infer mapping without schema.")
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	switch s.Name {
	case connect.DateName, connect.TimeName, connect.TimestampName:
		return appendPrimitive(b, "date", s.Default)
	case connect.DecimalName:
		var dflt any
		if d, ok := s.Default.(connect.Decimal); ok {
			dflt = d.Float64()
		}
		return appendPrimitive(b, "double", dflt)
	}
	switch s.Type {
	case connect.Array:
		return appendMapping(b, s.Items, depth+1)
	case connect.Map:
		b = append(b, `{"properties":{"key":`...)
		var err error
		if b, err = appendMapping(b, s.Keys, depth+1); err != nil {
			return nil, err
		}
		b = append(b, `,"value":`...)
		if b, err = appendMapping(b, s.Values, depth+1); err != nil {
			return nil, err
		}
		return append(b, "}}"...), nil
	case connect.Struct:
		b = append(b, `{"properties":{`...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			var err error
			if b, err = appendMapping(b, f.Schema, depth+1); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return append(b, "}}"...), nil
	}
	t, ok := esTypes[s.Type]
	if !ok {
		return nil, fmt.Errorf("Invalid primitive type %s.", s.Type)
	}
	return appendPrimitive(b, t, s.Default)
}

// esTypes are the Elasticsearch field types of Connect's primitive types.
var esTypes = map[connect.Type]string{
	connect.Boolean: "boolean",
	connect.Int8:    "byte",
	connect.Int16:   "short",
	connect.Int32:   "integer",
	connect.Int64:   "long",
	connect.Float32: "float",
	connect.Float64: "double",
	connect.String:  "text",
	connect.Bytes:   "binary",
}

// appendPrimitive writes one field's mapping; text gets a keyword
// sub-field (ignore_above 256); a default becomes null_value, except for
// text and binary, which Elasticsearch does not allow one.
func appendPrimitive(b []byte, t string, dflt any) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = appendString(b, t)
	if t == "text" {
		b = append(b, `,"fields":{"keyword":{"type":"keyword","ignore_above":256}}`...)
	}
	if dflt != nil && t != "text" && t != "binary" {
		b = append(b, `,"null_value":`...)
		switch v := dflt.(type) {
		case time.Time:
			b = strconv.AppendInt(b, v.UnixMilli(), 10)
		case bool:
			b = strconv.AppendBool(b, v)
		case float32:
			b = appendFloat(b, float64(v), 32)
		case float64:
			b = appendFloat(b, v, 64)
		default:
			n, ok := asInt64(v)
			if !ok {
				return nil, fmt.Errorf("default %v (%T) does not fit type %s", dflt, dflt, t)
			}
			b = strconv.AppendInt(b, n, 10)
		}
	}
	return append(b, '}'), nil
}
