package converters

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/avro"
	"github.com/connectd/connectd/internal/jsonschema"
)

// The JSON Schema converter's own keys (Confluent's JsonSchemaDataConfig).
const (
	jsonSchemaConverterClass  = "io.confluent.connect.json.JsonSchemaConverter"
	objectAdditionalConfig    = "object.additional.properties"
	optionalForNonRequiredCfg = "use.optional.for.nonrequired"
	jsonSchemaNamespace       = "io.confluent.connect.json"
	jsonOneOfName             = jsonSchemaNamespace + ".OneOf"
	jsonEnumParam             = jsonSchemaNamespace + ".Enum"
)

var jsonSchemaConfigDef = connect.NewConfigDef(append([]connect.ConfigKey{converterTypeKey}, append(registryKeys(),
	connect.ConfigKey{Name: dataCacheConfig, Type: connect.TypeInt, Default: "1000", Importance: connect.Low,
		Doc: "Size of the converted schemas cache"},
	connect.ConfigKey{Name: objectAdditionalConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Whether to allow additional properties for object schemas."},
	connect.ConfigKey{Name: optionalForNonRequiredCfg, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low,
		Doc: "Whether to set non-required properties to be optional."},
	connect.ConfigKey{Name: decimalFormatConfig, Type: connect.TypeString, Default: "BASE64", Importance: connect.Low,
		Doc:       "Controls which format this converter will serialize decimals in. This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'",
		Validator: connect.OneOf("BASE64", "NUMERIC"), Recommended: []string{"BASE64", "NUMERIC"}},
	connect.ConfigKey{Name: flattenUnionsConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Whether to flatten singleton unions"},
	notSupported("generalized.sum.type.support"),
	notSupported(ignoreNullablesConfig),
	notSupported("ignore.modern.dialects"),
	notSupported("preserve.additional.properties"),
)...)...)

// jsonSchemaConverter is Confluent's io.confluent.connect.json.JsonSchemaConverter:
// the value as JSON, its schema as a JSON Schema (mapped as Confluent's
// JsonSchemaData maps Connect schemas) registered in the registry, in the
// registry's wire format (magic byte 0, the 4-byte schema id, the JSON).
type jsonSchemaConverter struct {
	isKey       bool
	numeric     bool // decimal.format=NUMERIC
	additional  bool // object.additional.properties
	optNonReq   bool
	flatten     bool
	reg         *registry
	from        *lru[fromKey, *jsonFrom]
	lastFrom    atomic.Pointer[jsonFrom]
	to          *lru[toKey, *jsonTo]
	schemaTexts *lru[*connect.Schema, *avro.Value]
}

type jsonFrom struct {
	key    fromKey
	header [wireHeaderLen]byte
}

type jsonTo struct {
	key    toKey
	schema *connect.Schema
}

func newJSONSchema() *jsonSchemaConverter { return &jsonSchemaConverter{} }

func (c *jsonSchemaConverter) Configure(config map[string]string, isKey bool) error {
	cfg, err := parseConfig(jsonSchemaConfigDef, config, converterType(isKey))
	if err != nil {
		return fmt.Errorf("json schema converter: %w", err)
	}
	reg, err := newRegistry(cfg, isKey)
	if err != nil {
		return fmt.Errorf("json schema converter: %w", err)
	}
	size := max(1, cfg.Int(dataCacheConfig))
	c.isKey, c.reg = isKey, reg
	c.numeric = strings.EqualFold(cfg.String(decimalFormatConfig), "NUMERIC")
	c.additional = cfg.Bool(objectAdditionalConfig)
	c.optNonReq = cfg.Bool(optionalForNonRequiredCfg)
	c.flatten = cfg.Bool(flattenUnionsConfig)
	c.from = newLRU[fromKey, *jsonFrom](size)
	c.to = newLRU[toKey, *jsonTo](size)
	c.schemaTexts = newLRU[*connect.Schema, *avro.Value](size)
	c.lastFrom.Store(nil)
	return nil
}

// FromConnect writes value as JsonSchemaData writes it, after the wire
// header of its schema's id. A nil value is a null record.
func (c *jsonSchemaConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if isNil(value) && (schema == nil || !hasDefault(schema)) {
		return nil, nil
	}
	if schema == nil {
		return nil, fmt.Errorf("json schema converter: topic %q: the JSON Schema converter needs a schema", topic)
	}
	f := c.lastFrom.Load()
	if f == nil || f.key.schema != schema || f.key.topic != topic {
		var err error
		if f, err = c.writerFor(topic, schema); err != nil {
			return nil, fmt.Errorf("json schema converter: topic %q: %w", topic, err)
		}
	}
	e := encoderPool.Get().(*encoder)
	defer putEncoder(e)
	b := append(e.buf[:0], f.header[:]...)
	b, err := c.appendValue(b, schema, value, 0)
	if err != nil {
		return nil, fmt.Errorf("json schema converter: topic %q: %w", topic, err)
	}
	e.buf = b
	return append([]byte(nil), b...), nil
}

func (c *jsonSchemaConverter) writerFor(topic string, schema *connect.Schema) (*jsonFrom, error) {
	key := fromKey{schema, topic}
	if f, ok := c.from.get(key); ok {
		c.lastFrom.Store(f)
		return f, nil
	}
	doc, ok := c.schemaTexts.get(schema)
	if !ok {
		var err error
		if doc, err = c.fromConnectSchema(schema, -1, false, 0); err != nil {
			return nil, err
		}
		c.schemaTexts.put(schema, doc)
	}
	title := ""
	if t := doc.Get("title"); t != nil && schema.Type == connect.Struct {
		title = t.Str
	}
	subject, err := c.reg.subject(topic, title)
	if err != nil {
		return nil, err
	}
	id, err := c.reg.id(subject, sr.Schema{Schema: doc.String(), Type: sr.TypeJSON})
	if err != nil {
		return nil, err
	}
	f := &jsonFrom{key: key}
	copy(f.header[:], appendWireHeader(nil, id))
	c.from.put(key, f)
	c.lastFrom.Store(f)
	return f, nil
}

func jmember(k string, v *avro.Value) avro.Member { return avro.Member{Key: k, Val: v} }

// fromConnectSchema maps a Connect schema to a JSON Schema as
// JsonSchemaData does: numbers with connect.type, optional schemas as
// oneOf null, structs as objects whose properties carry connect.index,
// maps as objects (string keys) or arrays of key/value objects.
func (c *jsonSchemaConverter) fromConnectSchema(s *connect.Schema, index int, ignoreOptional bool, depth int) (*avro.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	obj := avro.Object()
	connectType := ""
	combined := false
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		obj.Obj = append(obj.Obj, jmember("type", avro.String("integer")))
		connectType = string(s.Type)
	case connect.Float32, connect.Float64:
		obj.Obj = append(obj.Obj, jmember("type", avro.String("number")))
		connectType = map[connect.Type]string{connect.Float32: "float32", connect.Float64: "float64"}[s.Type]
	case connect.Boolean:
		obj.Obj = append(obj.Obj, jmember("type", avro.String("boolean")))
	case connect.String:
		if _, ok := s.Parameters[jsonEnumParam]; ok {
			var vals []*avro.Value
			for _, k := range slices.Sorted(maps.Keys(s.Parameters)) {
				if sym, ok := strings.CutPrefix(k, jsonEnumParam+"."); ok {
					vals = append(vals, avro.String(sym))
				}
			}
			obj.Obj = append(obj.Obj, jmember("type", avro.String("string")), jmember("enum", avro.Array(vals...)))
		} else {
			obj.Obj = append(obj.Obj, jmember("type", avro.String("string")))
		}
	case connect.Bytes:
		t := "string"
		if s.Name == connect.DecimalName && c.numeric {
			t = "number"
		}
		obj.Obj = append(obj.Obj, jmember("type", avro.String(t)))
		connectType = "bytes"
	case connect.Array:
		items, err := c.fromConnectSchema(s.Items, -1, false, depth+1)
		if err != nil {
			return nil, err
		}
		obj.Obj = append(obj.Obj, jmember("type", avro.String("array")), jmember("items", items))
	case connect.Map:
		if s.Keys.Type == connect.String && !s.Keys.Optional {
			values, err := c.fromConnectSchema(s.Values, -1, false, depth+1)
			if err != nil {
				return nil, err
			}
			obj.Obj = append(obj.Obj, jmember("type", avro.String("object")), jmember("additionalProperties", values))
		} else {
			k, err := c.fromConnectSchema(s.Keys, 0, false, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := c.fromConnectSchema(s.Values, 1, false, depth+1)
			if err != nil {
				return nil, err
			}
			entry := avro.Object(jmember("type", avro.String("object")),
				jmember("properties", avro.Object(jmember("key", k), jmember("value", v))))
			obj.Obj = append(obj.Obj, jmember("type", avro.String("array")), jmember("items", entry))
		}
		connectType = "map"
	case connect.Struct:
		switch {
		case s.Name == jsonOneOfName || s.Name == avroUnionName:
			combined = true
			var subs []*avro.Value
			if s.Optional {
				subs = append(subs, avro.Object(jmember("type", avro.String("null"))))
			}
			for i, f := range s.Fields {
				sub, err := c.fromConnectSchema(nonOptional(f.Schema), i, true, depth+1)
				if err != nil {
					return nil, err
				}
				subs = append(subs, sub)
			}
			obj.Obj = append(obj.Obj, jmember("oneOf", avro.Array(subs...)))
		case s.Optional && !ignoreOptional:
			inner, err := c.fromConnectSchema(nonOptional(s), -1, false, depth+1)
			if err != nil {
				return nil, err
			}
			obj.Obj = append(obj.Obj, jmember("oneOf", avro.Array(avro.Object(jmember("type", avro.String("null"))), inner)))
			if index >= 0 {
				obj.Obj = append(obj.Obj, jmember("connect.index", avro.Int(int64(index))))
			}
			return obj, nil
		default:
			props := avro.Object()
			for i, f := range s.Fields {
				fs, err := c.fromConnectSchema(f.Schema, i, false, depth+1)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f.Name, err)
				}
				props.Obj = append(props.Obj, jmember(f.Name, fs))
			}
			obj.Obj = append(obj.Obj, jmember("type", avro.String("object")), jmember("properties", props))
			if !c.additional {
				obj.Obj = append(obj.Obj, jmember("additionalProperties", avro.Bool(false)))
			}
		}
	default:
		return nil, fmt.Errorf("Unsupported type %s", s.Type)
	}
	if !combined {
		if s.Name != "" {
			obj.Obj = append(obj.Obj, jmember("title", avro.String(s.Name)))
		}
		if s.Doc != "" {
			obj.Obj = append(obj.Obj, jmember("description", avro.String(s.Doc)))
		}
		if hasDefault(s) {
			var dv []byte
			var err error
			if dv, err = c.appendValue(nil, s, s.Default, depth); err != nil {
				return nil, fmt.Errorf("default: %w", err)
			}
			v, err := avro.ParseJSON(dv)
			if err != nil {
				return nil, err
			}
			obj.Obj = append(obj.Obj, jmember("default", v))
		}
		if connectType != "" {
			obj.Obj = append(obj.Obj, jmember("connect.type", avro.String(connectType)))
		}
		if s.Version != 0 {
			obj.Obj = append(obj.Obj, jmember("connect.version", avro.Int(int64(s.Version))))
		}
		params := avro.Object()
		for _, k := range orderedParams(s.Parameters) {
			if !strings.HasPrefix(k, jsonSchemaNamespace) {
				params.Obj = append(params.Obj, jmember(k, avro.String(s.Parameters[k])))
			}
		}
		if len(params.Obj) > 0 {
			obj.Obj = append(obj.Obj, jmember("connect.parameters", params))
		}
		if s.Optional && !ignoreOptional {
			wrapped := avro.Object(jmember("oneOf", avro.Array(avro.Object(jmember("type", avro.String("null"))), obj)))
			if index >= 0 {
				wrapped.Obj = append(wrapped.Obj, jmember("connect.index", avro.Int(int64(index))))
			}
			return wrapped, nil
		}
	}
	if index >= 0 {
		obj.Obj = append(obj.Obj, jmember("connect.index", avro.Int(int64(index))))
	}
	return obj, nil
}

// appendValue writes v as JsonSchemaData writes it: Connect's types as
// JSON, bytes and BASE64 decimals as base64 strings, dates, times and
// timestamps as numbers, a null struct field as null (optional) or left
// out, a null with a default as the default.
func (c *jsonSchemaConverter) appendValue(b []byte, s *connect.Schema, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	if isNil(v) {
		if hasDefault(s) {
			return c.appendValue(b, s, s.Default, depth+1)
		}
		return append(b, "null"...), nil
	}
	bad := func() error { return typeError(s, v) }
	switch s.Name {
	case connect.DecimalName:
		d, ok := v.(connect.Decimal)
		if !ok {
			return nil, bad()
		}
		if c.numeric {
			return appendJavaDecimal(b, d), nil
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, d.Bytes())
		return append(b, '"'), nil
	case connect.DateName, connect.TimeName, connect.TimestampName:
		n, err := temporalNumber(s.Name, v)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(b, n, 10), nil
	}
	ok := true
	switch s.Type {
	case connect.Int8:
		var x int8
		if x, ok = v.(int8); ok {
			b = strconv.AppendInt(b, int64(x), 10)
		}
	case connect.Int16:
		var x int16
		if x, ok = v.(int16); ok {
			b = strconv.AppendInt(b, int64(x), 10)
		}
	case connect.Int32:
		var x int32
		if x, ok = v.(int32); ok {
			b = strconv.AppendInt(b, int64(x), 10)
		}
	case connect.Int64:
		var x int64
		if x, ok = v.(int64); ok {
			b = strconv.AppendInt(b, x, 10)
		}
	case connect.Float32, connect.Float64:
		var f float64
		bits := 64
		if x, isF := v.(float32); isF && s.Type == connect.Float32 {
			f, bits = float64(x), 32
		} else if x, isD := v.(float64); isD && s.Type == connect.Float64 {
			f = x
		} else {
			return nil, bad()
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, '"')
			b = appendJavaFloat(b, f, bits)
			return append(b, '"'), nil
		}
		b = appendJavaFloat(b, f, bits)
	case connect.Boolean:
		var x bool
		if x, ok = v.(bool); ok {
			b = strconv.AppendBool(b, x)
		}
	case connect.String:
		var x string
		if x, ok = v.(string); ok {
			b = appendString(b, x)
		}
	case connect.Bytes:
		var x []byte
		if x, ok = v.([]byte); ok {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, x)
			b = append(b, '"')
		}
	case connect.Array:
		a, isArr := v.([]any)
		if !isArr {
			return nil, bad()
		}
		b = append(b, '[')
		var err error
		for i, e := range a {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = c.appendValue(b, s.Items, e, depth+1); err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		b = append(b, ']')
	case connect.Map:
		entries, err := mapEntries(v)
		if err != nil {
			return nil, bad()
		}
		object := s.Keys.Type == connect.String && !s.Keys.Optional
		if object {
			b = append(b, '{')
		} else {
			b = append(b, '[')
		}
		for i, e := range entries {
			if i > 0 {
				b = append(b, ',')
			}
			if object {
				k, _ := e.k.(string)
				b = appendString(b, k)
				b = append(b, ':')
			} else {
				b = append(b, `{"key":`...)
				if b, err = c.appendValue(b, s.Keys, e.k, depth+1); err != nil {
					return nil, err
				}
				b = append(b, `,"value":`...)
			}
			if b, err = c.appendValue(b, s.Values, e.v, depth+1); err != nil {
				return nil, err
			}
			if !object {
				b = append(b, '}')
			}
		}
		if object {
			b = append(b, '}')
		} else {
			b = append(b, ']')
		}
	case connect.Struct:
		sv, isStruct := v.(*connect.StructValue)
		if !isStruct {
			return nil, bad()
		}
		if s.Name == jsonOneOfName || s.Name == avroUnionName {
			for i, f := range s.Fields {
				if fv := sv.GetIndex(i); !isNil(fv) {
					return c.appendValue(b, f.Schema, fv, depth+1)
				}
			}
			return append(b, "null"...), nil
		}
		b = append(b, '{')
		first := true
		var err error
		for i, f := range s.Fields {
			fv := sv.GetIndex(i)
			if isNil(fv) && !hasDefault(f.Schema) && !f.Schema.Optional {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, f.Name)
			b = append(b, ':')
			if b, err = c.appendValue(b, f.Schema, fv, depth+1); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		b = append(b, '}')
	default:
		return nil, fmt.Errorf("Unknown schema type: %s", s.Type)
	}
	if !ok {
		return nil, bad()
	}
	return b, nil
}

// ToConnect reads data in the wire format: the schema its id names, as a
// Connect schema, and the JSON as a value of it.
func (c *jsonSchemaConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	id, payload, err := wireID(data)
	if err != nil {
		return nil, nil, fmt.Errorf("json schema converter: topic %q: %w", topic, err)
	}
	key := toKey{id, topic}
	t, ok := c.to.get(key)
	if !ok {
		if t, err = c.readerFor(topic, id); err != nil {
			return nil, nil, fmt.Errorf("json schema converter: topic %q: schema id %d: %w", topic, id, err)
		}
		c.to.put(key, t)
	}
	doc, err := avro.ParseJSON(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("json schema converter: topic %q: schema id %d: the payload is not JSON: %w", topic, id, err)
	}
	v, err := c.toConnectValue(t.schema, doc, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("json schema converter: topic %q: schema id %d: %w", topic, id, err)
	}
	return t.schema, v, nil
}

func (c *jsonSchemaConverter) readerFor(topic string, id int) (*jsonTo, error) {
	ws, err := c.reg.schemaByID(id)
	if err != nil {
		return nil, err
	}
	if ws.Type != sr.TypeJSON {
		return nil, fmt.Errorf("the schema is of type %s, not JSON", ws.Type)
	}
	js, err := jsonschema.Parse(ws.Schema)
	if err != nil {
		return nil, err
	}
	title := ""
	if t := js.Doc.Get("title"); t != nil && t.Kind == avro.StringValue && len(jsonschema.Types(js.Doc)) == 1 && jsonschema.Types(js.Doc)[0] == "object" {
		title = t.Str
	}
	subject, err := c.reg.subject(topic, title)
	if err != nil {
		return nil, err
	}
	version, err := c.reg.version(subject, id, ws)
	if err != nil {
		return nil, err
	}
	s, err := c.toConnectSchema(js.Doc, int32(version), false, 0)
	if err != nil {
		return nil, err
	}
	return &jsonTo{key: toKey{id, topic}, schema: s}, nil
}

// toConnectSchema maps a JSON Schema to Connect as JsonSchemaData does,
// for the keywords Connect's mapping uses (type, connect.type, properties
// with connect.index, additionalProperties, items, oneOf/anyOf, enum,
// title, description, default, connect.version, connect.parameters).
func (c *jsonSchemaConverter) toConnectSchema(j *avro.Value, version int32, forceOptional bool, depth int) (*connect.Schema, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	if j.Kind == avro.BoolValue {
		return nil, errors.New("boolean JSON Schemas have no Connect form")
	}
	connectType := ""
	if t := j.Get("connect.type"); t != nil {
		connectType = t.Str
	}
	var b *connect.SchemaBuilder
	if subs := firstOf(j, "oneOf", "anyOf"); subs != nil {
		if len(subs.Arr) == 1 && c.flatten {
			return c.toConnectSchema(subs.Arr[0], version, forceOptional, depth+1)
		}
		if len(subs.Arr) == 2 {
			for i, sub := range subs.Arr {
				if ts := jsonschema.Types(sub); len(ts) == 1 && ts[0] == "null" {
					return c.toConnectSchema(subs.Arr[1-i], version, true, depth+1)
				}
			}
		}
		b = connect.StructSchema().Name(jsonOneOfName)
		n := 0
		for _, sub := range subs.Arr {
			if ts := jsonschema.Types(sub); len(ts) == 1 && ts[0] == "null" {
				b.Optional()
				continue
			}
			fs, err := c.toConnectSchema(sub, 0, true, depth+1)
			if err != nil {
				return nil, err
			}
			b.Field(fmt.Sprintf("%s.field.%d", jsonOneOfName, n), fs)
			n++
		}
	} else {
		ts := jsonschema.Types(j)
		t := ""
		if len(ts) == 1 {
			t = ts[0]
		}
		switch {
		case j.Get("enum") != nil:
			b = connect.NewSchema(connect.String).Parameter(jsonEnumParam, "")
			for _, e := range j.Get("enum").Arr {
				sym := "<NULL>"
				if e.Kind != avro.NullValue {
					sym = valueText(e)
				}
				b.Parameter(jsonEnumParam+"."+sym, sym)
			}
		case t == "boolean":
			b = connect.NewSchema(connect.Boolean)
		case t == "integer" || t == "number":
			switch connectType {
			case "int8":
				b = connect.NewSchema(connect.Int8)
			case "int16":
				b = connect.NewSchema(connect.Int16)
			case "int32":
				b = connect.NewSchema(connect.Int32)
			case "int64":
				b = connect.NewSchema(connect.Int64)
			case "float32":
				b = connect.NewSchema(connect.Float32)
			case "float64":
				b = connect.NewSchema(connect.Float64)
			case "bytes":
				b = connect.NewSchema(connect.Bytes)
			case "":
				if t == "integer" {
					b = connect.NewSchema(connect.Int64)
				} else {
					b = connect.NewSchema(connect.Float64)
				}
			default:
				return nil, fmt.Errorf("Unsupported type %s", connectType)
			}
		case t == "string":
			if connectType == "bytes" {
				b = connect.NewSchema(connect.Bytes)
			} else {
				b = connect.NewSchema(connect.String)
			}
		case t == "array":
			items := j.Get("items")
			if items == nil {
				return nil, errors.New("Array schema did not specify the items type")
			}
			if connectType == "map" {
				props := items.Get("properties")
				k, v := props.Get("key"), props.Get("value")
				if k == nil || v == nil {
					return nil, errors.New("map entries need key and value properties")
				}
				ks, err := c.toConnectSchema(k, 0, false, depth+1)
				if err != nil {
					return nil, err
				}
				vs, err := c.toConnectSchema(v, 0, false, depth+1)
				if err != nil {
					return nil, err
				}
				b = connect.MapSchema(ks, vs)
			} else {
				is, err := c.toConnectSchema(items, 0, false, depth+1)
				if err != nil {
					return nil, err
				}
				b = connect.ArraySchema(is)
			}
		case t == "object":
			if connectType == "map" {
				ap := j.Get("additionalProperties")
				if ap == nil || ap.Kind != avro.ObjectValue {
					return nil, errors.New("a map schema needs additionalProperties")
				}
				vs, err := c.toConnectSchema(ap, 0, false, depth+1)
				if err != nil {
					return nil, err
				}
				b = connect.MapSchema(connect.StringSchema, vs)
				break
			}
			b = connect.StructSchema()
			props := j.Get("properties")
			required := map[string]bool{}
			if r := j.Get("required"); r != nil {
				for _, e := range r.Arr {
					required[e.Str] = true
				}
			}
			type prop struct {
				name  string
				index int
				s     *avro.Value
			}
			var list []prop
			if props != nil {
				for i, m := range props.Obj {
					idx := i
					if ci := m.Val.Get("connect.index"); ci != nil {
						n, _ := ci.Int64()
						idx = int(n)
					}
					list = append(list, prop{m.Key, idx, m.Val})
				}
			}
			slices.SortStableFunc(list, func(a, b prop) int { return a.index - b.index })
			for _, p := range list {
				fs, err := c.toConnectSchema(p.s, 0, c.optNonReq && !required[p.name], depth+1)
				if err != nil {
					return nil, fmt.Errorf("property %s: %w", p.name, err)
				}
				b.Field(p.name, fs)
			}
		default:
			return nil, fmt.Errorf("JSON Schema of type %v has no Connect form here", ts)
		}
	}
	if t := j.Get("title"); t != nil && t.Kind == avro.StringValue && b.Build().Name == "" {
		b.Name(t.Str)
	}
	if v := j.Get("connect.version"); v != nil {
		n, _ := v.Int64()
		b.Version(int32(n))
	} else if version > 0 {
		b.Version(version)
	}
	if d := j.Get("description"); d != nil && d.Kind == avro.StringValue {
		b.Doc(d.Str)
	}
	if p := j.Get("connect.parameters"); p != nil && p.Kind == avro.ObjectValue {
		for _, m := range p.Obj {
			b.Parameter(m.Key, valueText(m.Val))
		}
	}
	if forceOptional {
		b.Optional()
	}
	s := b.Build()
	if s.Name == connect.DecimalName && s.Type == connect.Bytes {
		s.Version = 1
	}
	if d := j.Get("default"); d != nil && d.Kind != avro.NullValue {
		if v, err := c.toConnectValue(s, d, depth+1); err == nil {
			s.Default = v
		}
	}
	return s.Reindex(), nil
}

func firstOf(j *avro.Value, keys ...string) *avro.Value {
	for _, k := range keys {
		if v := j.Get(k); v != nil && v.Kind == avro.ArrayValue {
			return v
		}
	}
	return nil
}

// toConnectValue converts a JSON value to a value of s.
func (c *jsonSchemaConverter) toConnectValue(s *connect.Schema, v *avro.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	if v == nil || v.Kind == avro.NullValue {
		switch {
		case hasDefault(s):
			return s.Default, nil
		case s.Optional || v == nil:
			return nil, nil
		}
		return nil, fmt.Errorf("Invalid null value for required %s field", javaType(s.Type))
	}
	mismatch := func() error { return fmt.Errorf("Invalid value %s for %s schema", v, javaType(s.Type)) }
	integer := func(lo, hi int64) (int64, error) {
		n, ok := v.Int64()
		if !ok {
			if v.Kind == avro.DoubleValue && v.Num == math.Trunc(v.Num) && math.Abs(v.Num) < 1<<62 {
				n = int64(v.Num)
			} else {
				return 0, mismatch()
			}
		}
		if n < lo || n > hi {
			return 0, fmt.Errorf("%d is out of range for %s", n, javaType(s.Type))
		}
		return n, nil
	}
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		switch v.Kind {
		case avro.StringValue:
			raw, err := base64.StdEncoding.DecodeString(v.Str)
			if err != nil || len(raw) == 0 {
				return nil, fmt.Errorf("Invalid bytes for Decimal field: %q", v.Str)
			}
			return connect.DecimalFromBytes(raw, scale), nil
		case avro.IntValue, avro.DoubleValue:
			lit := v.Int
			if v.Kind == avro.DoubleValue {
				lit = strconv.FormatFloat(v.Num, 'f', -1, 64)
			}
			d, err := connect.ParseDecimal(lit)
			if err != nil {
				return nil, err
			}
			return rescale(d, scale), nil
		}
		return nil, mismatch()
	case connect.DateName:
		n, err := integer(math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		return connect.DaysToDate(int32(n)), nil
	case connect.TimeName:
		n, err := integer(0, msPerDay)
		if err != nil {
			return nil, err
		}
		return connect.MillisToTime(int32(n)), nil
	case connect.TimestampName:
		n, err := integer(math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		return time.UnixMilli(n).UTC(), nil
	}
	switch s.Type {
	case connect.Int8:
		n, err := integer(math.MinInt8, math.MaxInt8)
		return int8(n), err
	case connect.Int16:
		n, err := integer(math.MinInt16, math.MaxInt16)
		return int16(n), err
	case connect.Int32:
		n, err := integer(math.MinInt32, math.MaxInt32)
		return int32(n), err
	case connect.Int64:
		return integer(math.MinInt64, math.MaxInt64)
	case connect.Float32, connect.Float64:
		var f float64
		switch {
		case v.IsNumber():
			f = v.Float()
		case v.Kind == avro.StringValue && (v.Str == "NaN" || v.Str == "Infinity" || v.Str == "-Infinity"):
			f, _ = strconv.ParseFloat(strings.TrimSuffix(v.Str, "inity"), 64)
		default:
			return nil, mismatch()
		}
		if s.Type == connect.Float32 {
			return float32(f), nil
		}
		return f, nil
	case connect.Boolean:
		if v.Kind != avro.BoolValue {
			return nil, mismatch()
		}
		return v.Bool, nil
	case connect.String:
		if v.Kind != avro.StringValue {
			return nil, mismatch()
		}
		return v.Str, nil
	case connect.Bytes:
		if v.Kind != avro.StringValue {
			return nil, mismatch()
		}
		raw, err := base64.StdEncoding.DecodeString(v.Str)
		if err != nil {
			return nil, fmt.Errorf("Invalid bytes field: %w", err)
		}
		return raw, nil
	case connect.Array:
		if v.Kind != avro.ArrayValue {
			return nil, mismatch()
		}
		out := make([]any, 0, len(v.Arr))
		for i, e := range v.Arr {
			ev, err := c.toConnectValue(s.Items, e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
			out = append(out, ev)
		}
		return out, nil
	case connect.Map:
		if s.Keys.Type == connect.String && !s.Keys.Optional {
			if v.Kind != avro.ObjectValue {
				return nil, fmt.Errorf("Maps with string fields should be encoded as JSON objects, but found %s", v)
			}
			out := make(map[string]any, len(v.Obj))
			for _, m := range v.Obj {
				ev, err := c.toConnectValue(s.Values, m.Val, depth+1)
				if err != nil {
					return nil, fmt.Errorf("map value %q: %w", m.Key, err)
				}
				out[m.Key] = ev
			}
			return out, nil
		}
		if v.Kind != avro.ArrayValue {
			return nil, fmt.Errorf("Maps with non-string fields should be encoded as JSON array of objects, but found %s", v)
		}
		out := make(map[any]any, len(v.Arr))
		for _, e := range v.Arr {
			if e.Kind != avro.ObjectValue || len(e.Obj) != 2 {
				return nil, fmt.Errorf("Found invalid map entry: %s", e)
			}
			k, err := c.toConnectValue(s.Keys, e.Get("key"), depth+1)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case []byte, []any, map[string]any, map[any]any, nil:
				return nil, fmt.Errorf("map key of Go type %T cannot be a Go map key", k)
			}
			ev, err := c.toConnectValue(s.Values, e.Get("value"), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	case connect.Struct:
		if s.Name == jsonOneOfName {
			for i, f := range s.Fields {
				if ev, err := c.toConnectValue(f.Schema, v, depth+1); err == nil {
					sv := connect.NewStruct(s)
					sv.SetIndex(i, ev)
					return sv, nil
				}
			}
			return nil, errors.New("Did not find matching oneof field for data")
		}
		if v.Kind != avro.ObjectValue {
			return nil, fmt.Errorf("Structs should be encoded as JSON objects, but found %s", v)
		}
		sv := connect.NewStruct(s)
		for i, f := range s.Fields {
			ev, err := c.toConnectValue(f.Schema, v.Get(f.Name), depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
			sv.SetIndex(i, ev)
		}
		return sv, nil
	}
	return nil, fmt.Errorf("Unknown schema type: %s", s.Type)
}

// rescale gives d the scale scale (exactly, when its digits allow).
func rescale(d connect.Decimal, scale int32) connect.Decimal {
	if d.Scale == scale {
		return d
	}
	n := new(big.Int).Set(d.Unscaled)
	if scale > d.Scale {
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.Scale)), nil))
	} else {
		n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale-scale)), nil))
	}
	return connect.Decimal{Unscaled: n, Scale: scale}
}
