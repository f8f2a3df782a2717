package converters

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/javajson"
)

// maxDepth bounds the nesting of JSON values and schemas, in both
// directions, as Jackson's default stream constraints do (1000 levels). It
// turns a cyclic Go value into an error rather than a stack overflow.
const maxDepth = 1000

const msPerDay = 24 * 60 * 60 * 1000

// encoder writes Connect data as the JSON Kafka Connect's JsonConverter
// produces, byte for byte: Jackson's compact layout and escaping, object
// members in Kafka's order, numbers as Java prints them. Go maps have no
// order, so their entries are sorted by key; Kafka writes a Java HashMap's.
type encoder struct {
	buf         []byte
	keys        []string // scratch for sorting map keys; each level uses a tail
	numeric     bool     // decimal.format=NUMERIC
	replaceNull bool
	depth       int

	// What precedes each field's value, by struct schema (see
	// fieldPrefixes), and the last schema looked up.
	prefixes     map[*connect.Schema][]string
	lastSchema   *connect.Schema
	lastPrefixes []string

	// The last decimal schema and its scale; scratch for a decimal's bytes.
	lastDecimal *connect.Schema
	lastScale   int32
	scratch     []byte

	// The last frozen struct written (see connect.StructValue.Freeze), how
	// (its schema, depth and the settings), and what was written for it.
	// Holding the struct keeps its address from being reused.
	frozen frozenEntry
}

// frozenEntry is the JSON of a frozen struct.
type frozenEntry struct {
	sv          *connect.StructValue
	schema      *connect.Schema
	depth       int
	numeric     bool
	replaceNull bool
	json        []byte
}

// maxFrozenJSON bounds the JSON an encoder keeps for a frozen struct.
const maxFrozenJSON = 4 << 10

// maxPrefixSchemas bounds the struct schemas an encoder keeps field
// prefixes for; past it the encoder starts afresh (a source that builds a
// schema per record would otherwise grow it without end).
const maxPrefixSchemas = 64

// fieldPrefixes returns, for each field of struct schema s, what precedes
// its value in the JSON object: a comma for all but the first, the quoted
// and escaped name, a colon. Schemas are not changed once built, so an
// encoder keeps them by schema, and a stream of records with one schema
// looks them up once per struct with a pointer comparison.
func (e *encoder) fieldPrefixes(s *connect.Schema) []string {
	if s == e.lastSchema {
		return e.lastPrefixes
	}
	p, ok := e.prefixes[s]
	if !ok {
		if e.prefixes == nil || len(e.prefixes) >= maxPrefixSchemas {
			e.prefixes = make(map[*connect.Schema][]string, 4)
		}
		p = make([]string, len(s.Fields))
		var b []byte
		for i, f := range s.Fields {
			b = b[:0]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			p[i] = string(append(b, ':'))
		}
		e.prefixes[s] = p
	}
	e.lastSchema, e.lastPrefixes = s, p
	return p
}

// isNil reports whether v is Connect's null: a nil interface or a nil *StructValue.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	sv, ok := v.(*connect.StructValue)
	return ok && sv == nil
}

func hasDefault(s *connect.Schema) bool { return s != nil && !isNil(s.Default) }

// javaType names t as Kafka Connect's Schema.Type enum does, for messages.
func javaType(t connect.Type) string {
	switch t {
	case connect.Float32:
		return "FLOAT32"
	case connect.Float64:
		return "FLOAT64"
	}
	b := []byte(t)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func typeError(s *connect.Schema, v any) error {
	return fmt.Errorf("Invalid type for %s: %T", javaType(s.Type), v)
}

func (e *encoder) push() error {
	e.depth++
	if e.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

// value writes v as described by s; a nil s means schemaless.
func (e *encoder) value(s *connect.Schema, v any) error {
	if isNil(v) {
		switch {
		case s == nil:
		case hasDefault(s) && e.replaceNull:
			return e.value(s, s.Default)
		case !s.Optional:
			return errors.New("Conversion error: null value for field that is required and has no default value")
		}
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if s == nil {
		return e.schemaless(v)
	}
	switch s.Name {
	case connect.DecimalName:
		return e.decimal(s, v)
	case connect.DateName, connect.TimeName, connect.TimestampName:
		return e.temporal(s, v)
	}
	ok := true
	switch s.Type {
	case connect.Int8:
		var x int8
		if x, ok = v.(int8); ok {
			e.buf = strconv.AppendInt(e.buf, int64(x), 10)
		}
	case connect.Int16:
		var x int16
		if x, ok = v.(int16); ok {
			e.buf = strconv.AppendInt(e.buf, int64(x), 10)
		}
	case connect.Int32:
		var x int32
		if x, ok = v.(int32); ok {
			e.buf = strconv.AppendInt(e.buf, int64(x), 10)
		}
	case connect.Int64:
		var x int64
		if x, ok = v.(int64); ok {
			e.buf = strconv.AppendInt(e.buf, x, 10)
		}
	case connect.Float32:
		var x float32
		if x, ok = v.(float32); ok {
			e.float(float64(x), 32)
		}
	case connect.Float64:
		var x float64
		if x, ok = v.(float64); ok {
			e.float(x, 64)
		}
	case connect.Boolean:
		var x bool
		if x, ok = v.(bool); ok {
			e.buf = strconv.AppendBool(e.buf, x)
		}
	case connect.String:
		var x string
		if x, ok = v.(string); ok {
			e.str(x)
		}
	case connect.Bytes:
		var x []byte
		if x, ok = v.([]byte); ok {
			e.bytes(x)
		}
	case connect.Array:
		var x []any
		if x, ok = v.([]any); ok {
			return e.array(s.Items, x)
		}
	case connect.Map:
		return e.mapValue(s, v)
	case connect.Struct:
		var x *connect.StructValue
		if x, ok = v.(*connect.StructValue); ok {
			return e.structValue(s, x)
		}
	default:
		return fmt.Errorf("Couldn't convert %v to JSON: unknown schema type %q", v, s.Type)
	}
	if !ok {
		return typeError(s, v)
	}
	return nil
}

// schemaless writes v, whose JSON type follows from its Go type.
func (e *encoder) schemaless(v any) error {
	switch x := v.(type) {
	case string:
		e.str(x)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case float64:
		e.float(x, 64)
	case float32:
		e.float(float64(x), 32)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case []byte:
		e.bytes(x)
	case []any:
		return e.array(nil, x)
	case map[string]any:
		return e.stringMap(x, nil)
	case map[any]any:
		return e.anyMap(nil, nil, x)
	case *connect.StructValue:
		return e.structValue(x.Schema(), x)
	case json.Number:
		if !validJSONNumber(string(x)) {
			return fmt.Errorf("json.Number %q is not a JSON number", string(x))
		}
		e.buf = append(e.buf, x...)
	case []string:
		e.buf = append(e.buf, '[')
		for i, s := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(s)
		}
		e.buf = append(e.buf, ']')
	case map[string]string:
		base := len(e.keys)
		for k := range x {
			e.keys = append(e.keys, k)
		}
		keys := e.keys[base:]
		slices.Sort(keys)
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(k)
			e.buf = append(e.buf, ':')
			e.str(x[k])
		}
		e.buf = append(e.buf, '}')
		e.keys = e.keys[:base]
	default:
		return fmt.Errorf("Go type %T does not have corresponding schema type", v)
	}
	return nil
}

func (e *encoder) array(items *connect.Schema, a []any) error {
	if err := e.push(); err != nil {
		return err
	}
	e.buf = append(e.buf, '[')
	for i, el := range a {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(items, el); err != nil {
			return fmt.Errorf("array element %d: %w", i, err)
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return nil
}

// mapValue writes a map as a JSON object when its keys are strings, else as
// an array of [key, value] pairs, as Kafka Connect does.
func (e *encoder) mapValue(s *connect.Schema, v any) error {
	switch m := v.(type) {
	case map[string]any:
		if s.Keys == nil || s.Keys.Type == connect.String {
			return e.stringMap(m, s.Values)
		}
		am := make(map[any]any, len(m))
		for k, x := range m {
			am[k] = x
		}
		return e.anyMap(s.Keys, s.Values, am)
	case map[any]any:
		return e.anyMap(s.Keys, s.Values, m)
	}
	return typeError(s, v)
}

func (e *encoder) stringMap(m map[string]any, values *connect.Schema) error {
	if err := e.push(); err != nil {
		return err
	}
	base := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	keys := e.keys[base:] // stays valid if deeper levels grow e.keys
	slices.Sort(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(k)
		e.buf = append(e.buf, ':')
		if err := e.value(values, m[k]); err != nil {
			return fmt.Errorf("map value %q: %w", k, err)
		}
	}
	e.buf = append(e.buf, '}')
	e.keys = e.keys[:base]
	e.depth--
	return nil
}

// anyMap writes m. Without a key schema it is an object if every key is a
// string; with one, if the key schema is a string.
func (e *encoder) anyMap(keys, values *connect.Schema, m map[any]any) error {
	object := keys != nil && keys.Type == connect.String
	if keys == nil {
		object = true
		for k := range m {
			if _, ok := k.(string); !ok {
				object = false
				break
			}
		}
	}
	if object {
		sm := make(map[string]any, len(m))
		for k, v := range m {
			ks, ok := k.(string)
			if !ok {
				return fmt.Errorf("map key: %w", typeError(keys, k))
			}
			sm[ks] = v
		}
		return e.stringMap(sm, values)
	}
	if err := e.push(); err != nil {
		return err
	}
	type pair struct {
		key []byte
		val any
	}
	pairs := make([]pair, 0, len(m))
	for k, v := range m {
		sub := encoder{numeric: e.numeric, replaceNull: e.replaceNull, depth: e.depth}
		if err := sub.value(keys, k); err != nil {
			return fmt.Errorf("map key %v: %w", k, err)
		}
		pairs = append(pairs, pair{sub.buf, v})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return bytes.Compare(a.key, b.key) })
	e.buf = append(e.buf, '[')
	for i, p := range pairs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '[')
		e.buf = append(e.buf, p.key...)
		e.buf = append(e.buf, ',')
		if err := e.value(values, p.val); err != nil {
			return fmt.Errorf("map value for key %s: %w", p.key, err)
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return nil
}

func (e *encoder) structValue(s *connect.Schema, sv *connect.StructValue) error {
	if sv.Schema() == nil {
		return errors.New("struct value has no schema")
	}
	if sv.Schema() != s && !sameSchema(sv.Schema(), s, 0) {
		return errors.New("Mismatching schema.")
	}
	if sv.Frozen() {
		f := &e.frozen
		if f.sv == sv && f.schema == s && f.depth == e.depth && f.numeric == e.numeric && f.replaceNull == e.replaceNull {
			e.buf = append(e.buf, f.json...)
			return nil
		}
		start, depth := len(e.buf), e.depth
		if err := e.structFields(s, sv); err != nil {
			return err
		}
		if n := len(e.buf) - start; n <= maxFrozenJSON {
			*f = frozenEntry{sv: sv, schema: s, depth: depth, numeric: e.numeric, replaceNull: e.replaceNull,
				json: append(f.json[:0], e.buf[start:]...)}
		}
		return nil
	}
	return e.structFields(s, sv)
}

// structFields writes sv as an object.
func (e *encoder) structFields(s *connect.Schema, sv *connect.StructValue) error {
	if err := e.push(); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	prefixes := e.fieldPrefixes(s)
	for i := range s.Fields {
		f := &s.Fields[i]
		e.buf = append(e.buf, prefixes[i]...)
		if err := e.value(f.Schema, sv.GetIndex(i)); err != nil {
			return fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

func (e *encoder) decimal(s *connect.Schema, v any) error {
	d, ok := v.(connect.Decimal)
	if !ok {
		return fmt.Errorf("Invalid type for Decimal, expected connect.Decimal but was %T", v)
	}
	if e.numeric {
		e.buf = appendJavaDecimal(e.buf, d)
		return nil
	}
	scale, err := e.decimalScale(s)
	if err != nil {
		return err
	}
	if d.Scale != scale {
		return fmt.Errorf("Decimal value has mismatching scale for given Decimal schema. Schema has scale %d, value has scale %d.", scale, d.Scale)
	}
	e.scratch = d.AppendBytes(e.scratch[:0])
	e.bytes(e.scratch)
	return nil
}

// decimalScale is connect.DecimalScale, kept for the last decimal schema:
// schemas are not changed once built.
func (e *encoder) decimalScale(s *connect.Schema) (int32, error) {
	if s == e.lastDecimal {
		return e.lastScale, nil
	}
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return 0, err
	}
	e.lastDecimal, e.lastScale = s, scale
	return scale, nil
}

func (e *encoder) temporal(s *connect.Schema, v any) error {
	n, err := temporalNumber(s.Name, v)
	if err != nil {
		return err
	}
	e.buf = strconv.AppendInt(e.buf, n, 10)
	return nil
}

// float writes f as Java prints it; NaN and the infinities become strings,
// as Jackson writes them by default.
func (e *encoder) float(f float64, bitSize int) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.buf = append(e.buf, '"')
		e.buf = appendJavaFloat(e.buf, f, bitSize)
		e.buf = append(e.buf, '"')
		return
	}
	e.buf = appendJavaFloat(e.buf, f, bitSize)
}

func (e *encoder) bytes(b []byte) {
	e.buf = append(e.buf, '"')
	e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
	e.buf = append(e.buf, '"')
}

// str writes s as a JSON string (see appendString).
func (e *encoder) str(s string) { e.buf = appendString(e.buf, s) }

// appendString appends s as a JSON string, escaped as Jackson escapes it
// (see javajson.AppendString).
func appendString(buf []byte, s string) []byte { return javajson.AppendString(buf, s) }

// schema writes s in Kafka Connect's JSON schema form. Members come in the
// order JsonConverter.asJsonSchema adds them; a struct field's schema ends
// with its "field" name.
func (e *encoder) schema(s *connect.Schema, field *string) error {
	if err := e.push(); err != nil {
		return err
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64, connect.Float32, connect.Float64,
		connect.Boolean, connect.String, connect.Bytes, connect.Array, connect.Map, connect.Struct:
	default:
		return fmt.Errorf("Couldn't translate unsupported schema type %q.", s.Type)
	}
	e.buf = append(e.buf, `{"type":"`...)
	e.buf = append(e.buf, s.Type...)
	e.buf = append(e.buf, '"')
	switch s.Type {
	case connect.Array:
		e.buf = append(e.buf, `,"items":`...)
		if err := e.subSchema(s.Items); err != nil {
			return err
		}
	case connect.Map:
		e.buf = append(e.buf, `,"keys":`...)
		if err := e.subSchema(s.Keys); err != nil {
			return err
		}
		e.buf = append(e.buf, `,"values":`...)
		if err := e.subSchema(s.Values); err != nil {
			return err
		}
	case connect.Struct:
		e.buf = append(e.buf, `,"fields":[`...)
		for i := range s.Fields {
			f := &s.Fields[i]
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if f.Schema == nil {
				return fmt.Errorf("field %q has no schema", f.Name)
			}
			if err := e.schema(f.Schema, &f.Name); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, `,"optional":`...)
	e.buf = strconv.AppendBool(e.buf, s.Optional)
	if s.Name != "" {
		e.buf = append(e.buf, `,"name":`...)
		e.str(s.Name)
	}
	if s.Version != 0 {
		e.buf = append(e.buf, `,"version":`...)
		e.buf = strconv.AppendInt(e.buf, int64(s.Version), 10)
	}
	if s.Doc != "" {
		e.buf = append(e.buf, `,"doc":`...)
		e.str(s.Doc)
	}
	if s.Parameters != nil {
		// Kafka keeps the order parameters were added in; a Go map has
		// none, so they are sorted.
		e.buf = append(e.buf, `,"parameters":{`...)
		for i, k := range slices.Sorted(maps.Keys(s.Parameters)) {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(k)
			e.buf = append(e.buf, ':')
			e.str(s.Parameters[k])
		}
		e.buf = append(e.buf, '}')
	}
	if hasDefault(s) {
		e.buf = append(e.buf, `,"default":`...)
		if err := e.value(s, s.Default); err != nil {
			return fmt.Errorf("default value: %w", err)
		}
	}
	if field != nil {
		e.buf = append(e.buf, `,"field":`...)
		e.str(*field)
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

func (e *encoder) subSchema(s *connect.Schema) error {
	if s == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	return e.schema(s, nil)
}

// sameSchema reports whether a and b are equal as Kafka Connect's
// ConnectSchema.equals sees them.
func sameSchema(a, b *connect.Schema, depth int) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || depth > maxDepth {
		return false
	}
	if a.Type != b.Type || a.Optional != b.Optional || a.Name != b.Name || a.Version != b.Version ||
		a.Doc != b.Doc || !maps.Equal(a.Parameters, b.Parameters) || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || !sameSchema(a.Fields[i].Schema, b.Fields[i].Schema, depth+1) {
			return false
		}
	}
	return sameSchema(a.Items, b.Items, depth+1) && sameSchema(a.Keys, b.Keys, depth+1) &&
		sameSchema(a.Values, b.Values, depth+1) && reflect.DeepEqual(a.Default, b.Default)
}

// validJSONNumber reports whether s is a number in strict JSON syntax.
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
