package converters

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/avro"
)

// Names and properties of Confluent's AvroData, which maps Kafka Connect's
// data model to Avro and back.
const (
	avroNamespace          = "io.confluent.connect.avro"
	avroDefaultName        = "ConnectDefault"
	avroDefaultFullName    = avroNamespace + "." + avroDefaultName
	avroMapEntryName       = "MapEntry"
	avroUnionName          = avroNamespace + ".Union"
	avroEnumParam          = avroNamespace + ".Enum"
	avroRecordDocParam     = avroNamespace + ".record.doc"
	avroFieldDocParam      = avroNamespace + ".field.doc."
	avroEnumDocParam       = avroNamespace + ".enum.doc."
	avroEnumDefaultParam   = avroNamespace + ".enum.default."
	avroFieldDefaultFlag   = avroNamespace + ".field.default"
	connectNameProp        = "connect.name"
	connectDocProp         = "connect.doc"
	connectVersionProp     = "connect.version"
	connectDefaultProp     = "connect.default"
	connectParametersProp  = "connect.parameters"
	connectTypeProp        = "connect.type"
	connectInternalType    = "connect.internal.type"
	connectFixedSizeParam  = "connect.fixed.size"
	connectPrecisionParam  = "connect.decimal.precision"
	defaultDecimalPrecison = 64
)

// avroData is Confluent's AvroData with the settings of one converter.
type avroData struct {
	metaData        bool // connect.meta.data
	enhanced        bool // enhanced.avro.schema.support
	flattenUnions   bool // flatten.singleton.unions
	ignoreNullables bool // ignore.default.for.nullables
}

// paramOrder is the order parameters are written in connect.parameters.
// Kafka Connect keeps a schema's parameters in the order they were added;
// a Go map has none, so the keys Kafka Connect and Debezium add come in
// their order (a Decimal's scale before its precision, Debezium's
// column.propagate.source.type parameters as Debezium adds them) and any
// others after them, sorted.
var paramOrder = map[string]int{
	connect.DecimalScaleKey: 1, connectPrecisionParam: 2,
	"__debezium.source.column.type": 3, "__debezium.source.column.length": 4,
	"__debezium.source.column.scale": 5, "__debezium.source.column.comment": 6,
}

func orderedParams(params map[string]string) []string {
	keys := slices.Collect(maps.Keys(params))
	slices.SortFunc(keys, func(a, b string) int {
		ra, rb := paramOrder[a], paramOrder[b]
		switch {
		case ra != 0 && rb != 0:
			return ra - rb
		case ra != 0:
			return -1
		case rb != 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// fromConnectCtx is the state of one Connect-to-Avro schema conversion
// (AvroData's FromConnectContext).
type fromConnectCtx struct {
	d *avroData
	// seen holds the Avro schema made for each non-optional Connect
	// schema, so that an equal schema used again is the same (named)
	// type, written once and referred to by name after.
	seen []struct {
		c *connect.Schema
		a *avro.Schema
	}
	records   map[string]*avro.Schema // struct name -> its record
	seenNamed map[string]bool         // names of field schemas seen
	nameIndex int
	depth     int
}

// fromConnectSchema converts a Connect schema to Avro as Confluent's
// AvroData.fromConnectSchema does. A nil schema is an error: AvroData's
// schemaless form is not supported.
func (d *avroData) fromConnectSchema(s *connect.Schema) (*avro.Schema, error) {
	if s == nil {
		return nil, errors.New("the Avro converter needs a schema: schemaless values are not supported")
	}
	c := &fromConnectCtx{d: d, records: map[string]*avro.Schema{}, seenNamed: map[string]bool{}}
	return c.schema(s, false)
}

func (c *fromConnectCtx) lookup(s *connect.Schema) *avro.Schema {
	for _, e := range c.seen {
		if e.c == s || sameSchema(e.c, s, 0) {
			return e.a
		}
	}
	return nil
}

func isUnionSchema(s *connect.Schema) bool {
	return s.Type == connect.Struct && s.Name == avroUnionName
}

func isFixedSchema(s *connect.Schema) bool {
	_, ok := s.Parameters[connectFixedSizeParam]
	return s.Type == connect.Bytes && s.Name != "" && ok
}

// nameOrDefault splits a Connect schema name into namespace and name; an
// unnamed schema gets ConnectDefault, ConnectDefault2, ... in the
// converter's namespace.
func (c *fromConnectCtx) nameOrDefault(name string) (string, string) {
	if name != "" {
		return avro.SplitName(name)
	}
	c.nameIndex++
	if c.nameIndex > 1 {
		return avroNamespace, avroDefaultName + strconv.Itoa(c.nameIndex)
	}
	return avroNamespace, avroDefaultName
}

func nonOptional(s *connect.Schema) *connect.Schema {
	if !s.Optional {
		return s
	}
	cp := *s
	cp.Optional = false
	cp.Fields = slices.Clone(s.Fields) // Reindex writes the fields' indexes
	return cp.Reindex()
}

func (c *fromConnectCtx) withCycle(s *connect.Schema, ignoreOptional bool) (*avro.Schema, error) {
	if rec, ok := c.records[s.Name]; ok && s.Name != "" {
		if ignoreOptional {
			return rec, nil
		}
		return c.maybeOptional(s, rec), nil
	}
	return c.schema(s, ignoreOptional)
}

func (c *fromConnectCtx) schema(s *connect.Schema, ignoreOptional bool) (*avro.Schema, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	if !isUnionSchema(s) && !s.Optional {
		if a := c.lookup(s); a != nil {
			return a, nil
		}
	}
	var base *avro.Schema
	connectType := ""
	switch s.Type {
	case connect.Int8:
		connectType, base = "int8", avro.Primitive(avro.TypeInt)
	case connect.Int16:
		connectType, base = "int16", avro.Primitive(avro.TypeInt)
	case connect.Int32:
		base = avro.Primitive(avro.TypeInt)
	case connect.Int64:
		base = avro.Primitive(avro.TypeLong)
	case connect.Float32:
		base = avro.Primitive(avro.TypeFloat)
	case connect.Float64:
		base = avro.Primitive(avro.TypeDouble)
	case connect.Boolean:
		base = avro.Primitive(avro.TypeBoolean)
	case connect.String:
		if enumName, ok := s.Parameters[avroEnumParam]; ok && c.d.enhanced {
			_, name := c.nameOrDefault(s.Name)
			ns, short := avro.SplitName(enumName)
			base = &avro.Schema{Type: avro.TypeEnum, Namespace: ns, Name: short}
			for _, k := range slices.Sorted(maps.Keys(s.Parameters)) {
				if sym, ok := strings.CutPrefix(k, avroEnumParam+"."); ok {
					base.Symbols = append(base.Symbols, sym)
				}
			}
			if doc, ok := s.Parameters[avroEnumDocParam+name]; ok {
				base.Doc, base.HasDoc = doc, true
			}
			if def, ok := s.Parameters[avroEnumDefaultParam+name]; ok {
				base.EnumDefault, base.HasEnumDefault = def, true
			}
		} else {
			base = avro.Primitive(avro.TypeString)
		}
	case connect.Bytes:
		if isFixedSchema(s) {
			ns, name := c.nameOrDefault(s.Name)
			size, err := strconv.Atoi(s.Parameters[connectFixedSizeParam])
			if err != nil {
				return nil, fmt.Errorf("%s parameter %q: %w", connectFixedSizeParam, s.Parameters[connectFixedSizeParam], err)
			}
			base = &avro.Schema{Type: avro.TypeFixed, Namespace: ns, Name: name, Size: size}
		} else {
			base = avro.Primitive(avro.TypeBytes)
		}
		if s.Name == connect.DecimalName {
			scale, err := connect.DecimalScale(s)
			if err != nil {
				return nil, err
			}
			precision := defaultDecimalPrecison
			if p, ok := s.Parameters[connectPrecisionParam]; ok {
				if precision, err = strconv.Atoi(p); err != nil {
					return nil, fmt.Errorf("%s parameter %q: %w", connectPrecisionParam, p, err)
				}
			}
			base.AddProp("scale", avro.Int(int64(scale)))
			base.AddProp("precision", avro.Int(int64(precision)))
		}
	case connect.Array:
		if s.Items == nil {
			return nil, errors.New("array schema has no item schema")
		}
		items, err := c.withCycle(s.Items, false)
		if err != nil {
			return nil, err
		}
		base = &avro.Schema{Type: avro.TypeArray, Items: items}
	case connect.Map:
		if s.Keys == nil || s.Values == nil {
			return nil, errors.New("map schema has no key or value schema")
		}
		if s.Keys.Type == connect.String && !s.Keys.Optional {
			values, err := c.withCycle(s.Values, false)
			if err != nil {
				return nil, err
			}
			base = &avro.Schema{Type: avro.TypeMap, Values: values}
			break
		}
		entry := &avro.Schema{Type: avro.TypeRecord, Namespace: avroNamespace, Name: avroMapEntryName}
		if s.Name != "" {
			entry.Namespace, entry.Name = c.nameOrDefault(s.Name)
			entry.AddProp(connectInternalType, avro.String(avroMapEntryName))
		}
		for _, kv := range []struct {
			name string
			s    *connect.Schema
		}{{"key", s.Keys}, {"value", s.Values}} {
			f, err := c.field(kv.name, kv.s, "", false)
			if err != nil {
				return nil, err
			}
			f.Pos = len(entry.Fields)
			entry.Fields = append(entry.Fields, f)
		}
		base = &avro.Schema{Type: avro.TypeArray, Items: entry}
	case connect.Struct:
		switch {
		case isUnionSchema(s):
			base = &avro.Schema{Type: avro.TypeUnion}
			if s.Optional {
				base.Branches = append(base.Branches, avro.Primitive(avro.TypeNull))
			}
			for _, f := range s.Fields {
				b, err := c.withCycle(nonOptional(f.Schema), true)
				if err != nil {
					return nil, fmt.Errorf("union member %q: %w", f.Name, err)
				}
				base.Branches = append(base.Branches, b)
			}
		case s.Optional:
			inner, err := c.withCycle(nonOptional(s), false)
			if err != nil {
				return nil, err
			}
			base = &avro.Schema{Type: avro.TypeUnion, Branches: []*avro.Schema{avro.Primitive(avro.TypeNull), inner}}
		default:
			ns, name := c.nameOrDefault(s.Name)
			base = &avro.Schema{Type: avro.TypeRecord, Namespace: ns, Name: name}
			if doc, ok := s.Parameters[avroRecordDocParam]; ok {
				base.Doc, base.HasDoc = doc, true
			}
			if s.Name != "" {
				c.records[s.Name] = base
			}
			for _, f := range s.Fields {
				if f.Schema == nil {
					return nil, fmt.Errorf("field %q has no schema", f.Name)
				}
				af, err := c.field(f.Name, f.Schema, s.Parameters[avroFieldDocParam+f.Name], true)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f.Name, err)
				}
				af.Pos = len(base.Fields)
				base.Fields = append(base.Fields, af)
			}
		}
	default:
		return nil, fmt.Errorf("Unknown schema type: %s", s.Type)
	}

	final := base
	if base.Type != avro.TypeUnion {
		if err := c.annotate(s, base, connectType); err != nil {
			return nil, err
		}
		if !ignoreOptional {
			final = c.maybeOptional(s, base)
		}
	}
	if !s.Optional {
		c.seen = append(c.seen, struct {
			c *connect.Schema
			a *avro.Schema
		}{s, final})
	}
	return final, nil
}

// annotate adds the properties that carry what Avro cannot say itself:
// Connect's doc, version, parameters, default, name and narrow integer
// types (with connect.meta.data), and the logical types.
func (c *fromConnectCtx) annotate(s *connect.Schema, base *avro.Schema, connectType string) error {
	if c.d.metaData {
		if s.Doc != "" {
			base.AddProp(connectDocProp, avro.String(s.Doc))
		}
		if s.Version != 0 {
			base.AddProp(connectVersionProp, avro.Int(int64(s.Version)))
		}
		if len(s.Parameters) > 0 {
			params := avro.Object()
			for _, k := range orderedParams(s.Parameters) {
				if k != avroFieldDefaultFlag {
					params.Obj = append(params.Obj, avro.Member{Key: k, Val: avro.String(s.Parameters[k])})
				}
			}
			if len(params.Obj) > 0 {
				base.AddProp(connectParametersProp, params)
			}
		}
		if hasDefault(s) {
			if _, flagged := s.Parameters[avroFieldDefaultFlag]; !flagged {
				dv, err := c.d.defaultFromConnect(s, s.Default, 0)
				if err != nil {
					return err
				}
				base.AddProp(connectDefaultProp, dv)
			}
		}
		if s.Name != "" {
			base.AddProp(connectNameProp, avro.String(s.Name))
		}
		if connectType != "" {
			base.AddProp(connectTypeProp, avro.String(connectType))
		}
	}
	legacyDecimal := false
	switch s.Name {
	case connect.DecimalName:
		precision := defaultDecimalPrecison
		if p, ok := s.Parameters[connectPrecisionParam]; ok {
			precision, _ = strconv.Atoi(p)
		}
		scale, _ := strconv.Atoi(s.Parameters[connect.DecimalScaleKey])
		if scale < 0 || scale > precision {
			// Avro's decimal cannot say this: AvroData falls back to
			// its legacy annotation alone.
			legacyDecimal = true
		} else if err := addProps(base, "logicalType", avro.String("decimal"),
			"precision", avro.Int(int64(precision)), "scale", avro.Int(int64(scale))); err != nil {
			return err
		}
		if _, ok := s.Parameters[connectPrecisionParam]; ok || legacyDecimal {
			if err := base.AddProp("logicalType", avro.String("decimal")); err != nil {
				return err
			}
		}
	case connect.TimeName:
		base.AddProp("logicalType", avro.String("time-millis"))
	case connect.TimestampName:
		base.AddProp("logicalType", avro.String("timestamp-millis"))
	case connect.DateName:
		base.AddProp("logicalType", avro.String("date"))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Parameters)) {
		if strings.HasPrefix(k, "avro") {
			if err := base.AddProp(k, avro.String(s.Parameters[k])); err != nil {
				return err
			}
		}
	}
	return nil
}

func addProps(s *avro.Schema, kv ...any) error {
	for i := 0; i < len(kv); i += 2 {
		if err := s.AddProp(kv[i].(string), kv[i+1].(*avro.Value)); err != nil {
			return err
		}
	}
	return nil
}

// maybeOptional wraps base in a union with null: null first, unless the
// schema has a default, which an Avro union's default must match the
// first branch of.
func (c *fromConnectCtx) maybeOptional(s *connect.Schema, base *avro.Schema) *avro.Schema {
	if !s.Optional {
		return base
	}
	null := avro.Primitive(avro.TypeNull)
	if hasDefault(s) {
		return &avro.Schema{Type: avro.TypeUnion, Branches: []*avro.Schema{base, null}}
	}
	return &avro.Schema{Type: avro.TypeUnion, Branches: []*avro.Schema{null, base}}
}

// field makes a record field: its default is the schema's default (an
// optional schema without one defaults to null), dropped when Avro would
// not accept it, as AvroData does.
func (c *fromConnectCtx) field(name string, fs *connect.Schema, doc string, recordField bool) (*avro.Field, error) {
	var def *avro.Value
	if hasDefault(fs) {
		dv, err := c.d.defaultFromConnect(fs, fs.Default, 0)
		if err != nil {
			return nil, err
		}
		def = doublesForFloats(dv)
	} else if fs.Optional {
		def = avro.Null()
	}
	alreadySeen := fs.Name != "" && c.seenNamed[fs.Name]
	if fs.Name != "" {
		c.seenNamed[fs.Name] = true
	}
	t, err := c.schema(fs, false)
	if err != nil {
		return nil, err
	}
	f := &avro.Field{Name: name, Type: t}
	if doc != "" {
		f.Doc, f.HasDoc = doc, true
	}
	if def != nil && avro.ValidDefault(t, def) {
		f.Default = def
	}
	if recordField && c.d.metaData && alreadySeen && len(fs.Parameters) > 0 && namedAvro(t) {
		params := avro.Object()
		for _, k := range orderedParams(fs.Parameters) {
			if k != avroFieldDefaultFlag {
				params.Obj = append(params.Obj, avro.Member{Key: k, Val: avro.String(fs.Parameters[k])})
			}
		}
		if len(params.Obj) > 0 {
			f.Props = append(f.Props, avro.Member{Key: connectParametersProp, Val: params})
		}
	}
	return f, nil
}

func namedAvro(s *avro.Schema) bool {
	if s.Named() {
		return true
	}
	if s.Type == avro.TypeUnion {
		return slices.ContainsFunc(s.Branches, (*avro.Schema).Named)
	}
	return false
}

// doublesForFloats turns float numbers into doubles: a field default goes
// through Avro's JacksonUtils.toObject and back, which reads every
// floating-point number as a Java double (1.1f is written
// 1.100000023841858).
func doublesForFloats(v *avro.Value) *avro.Value {
	switch v.Kind {
	case avro.FloatValue:
		return avro.Float64(v.Num)
	case avro.ArrayValue:
		out := avro.Array()
		for _, e := range v.Arr {
			out.Arr = append(out.Arr, doublesForFloats(e))
		}
		return out
	case avro.ObjectValue:
		out := avro.Object()
		for _, m := range v.Obj {
			out.Obj = append(out.Obj, avro.Member{Key: m.Key, Val: doublesForFloats(m.Val)})
		}
		return out
	}
	return v
}

// latin1 turns bytes into the string Avro's JSON form of bytes uses: one
// character per byte (ISO-8859-1).
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// unlatin1 reverses latin1; false when a character is beyond U+00FF.
func unlatin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// defaultFromConnect converts a Connect default value to Avro's JSON form
// (AvroData.defaultValueFromConnect).
func (d *avroData) defaultFromConnect(s *connect.Schema, v any, depth int) (*avro.Value, error) {
	if isNil(v) {
		return avro.Null(), nil
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("default value nested deeper than %d levels", maxDepth)
	}
	bad := func() error {
		return fmt.Errorf("Invalid type used for default value of %s field: %T", javaType(s.Type), v)
	}
	switch s.Name {
	case connect.DecimalName:
		dec, ok := v.(connect.Decimal)
		if !ok {
			return nil, bad()
		}
		return avro.String(latin1(dec.Bytes())), nil
	case connect.DateName, connect.TimeName, connect.TimestampName:
		n, err := temporalNumber(s.Name, v)
		if err != nil {
			return nil, err
		}
		return avro.Int(n), nil
	}
	switch s.Type {
	case connect.Int8:
		if x, ok := v.(int8); ok {
			return avro.Int(int64(x)), nil
		}
	case connect.Int16:
		if x, ok := v.(int16); ok {
			return avro.Int(int64(x)), nil
		}
	case connect.Int32:
		if x, ok := v.(int32); ok {
			return avro.Int(int64(x)), nil
		}
	case connect.Int64:
		if x, ok := v.(int64); ok {
			return avro.Int(x), nil
		}
	case connect.Float32:
		if x, ok := v.(float32); ok {
			return avro.Float32(x), nil
		}
	case connect.Float64:
		if x, ok := v.(float64); ok {
			return avro.Float64(x), nil
		}
	case connect.Boolean:
		if x, ok := v.(bool); ok {
			return avro.Bool(x), nil
		}
	case connect.String:
		if x, ok := v.(string); ok {
			return avro.String(x), nil
		}
	case connect.Bytes:
		if x, ok := v.([]byte); ok {
			return avro.String(latin1(x)), nil
		}
	case connect.Array:
		a, ok := v.([]any)
		if !ok {
			return nil, bad()
		}
		out := avro.Array()
		for _, e := range a {
			ev, err := d.defaultFromConnect(s.Items, e, depth+1)
			if err != nil {
				return nil, err
			}
			out.Arr = append(out.Arr, ev)
		}
		return out, nil
	case connect.Map:
		m, err := mapEntries(v)
		if err != nil {
			return nil, bad()
		}
		if s.Keys.Type == connect.String && !s.Keys.Optional {
			out := avro.Object()
			for _, e := range m {
				k, _ := e.k.(string)
				ev, err := d.defaultFromConnect(s.Values, e.v, depth+1)
				if err != nil {
					return nil, err
				}
				out.Obj = append(out.Obj, avro.Member{Key: k, Val: ev})
			}
			return out, nil
		}
		out := avro.Array()
		for _, e := range m {
			kv, err := d.defaultFromConnect(s.Keys, e.k, depth+1)
			if err != nil {
				return nil, err
			}
			vv, err := d.defaultFromConnect(s.Values, e.v, depth+1)
			if err != nil {
				return nil, err
			}
			out.Arr = append(out.Arr, avro.Array(kv, vv))
		}
		return out, nil
	case connect.Struct:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return nil, bad()
		}
		out := avro.Object()
		for i, f := range s.Fields {
			fv := sv.GetIndex(i)
			if isNil(fv) {
				fv = f.Schema.Default
			}
			ev, err := d.defaultFromConnect(f.Schema, fv, depth+1)
			if err != nil {
				return nil, err
			}
			if isUnionSchema(s) {
				// AvroData returns the first member's default.
				return ev, nil
			}
			out.Obj = append(out.Obj, avro.Member{Key: f.Name, Val: ev})
		}
		return out, nil
	}
	return nil, bad()
}

// mapEntry is one entry of a Connect map value.
type mapEntry struct{ k, v any }

// mapEntries returns a map value's entries, string keys sorted (Go maps
// have no order; Kafka Connect writes a HashMap's).
func mapEntries(v any) ([]mapEntry, error) {
	switch m := v.(type) {
	case map[string]any:
		out := make([]mapEntry, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, mapEntry{k, m[k]})
		}
		return out, nil
	case map[any]any:
		out := make([]mapEntry, 0, len(m))
		for k, e := range m {
			out = append(out, mapEntry{k, e})
		}
		slices.SortFunc(out, func(a, b mapEntry) int { return strings.Compare(fmt.Sprint(a.k), fmt.Sprint(b.k)) })
		return out, nil
	}
	return nil, fmt.Errorf("a map value is map[string]any or map[any]any, not %T", v)
}

// toConnectCtx is the state of one Avro-to-Connect schema conversion.
type toConnectCtx struct {
	d        *avroData
	inRecord map[*avro.Schema]bool // records being converted: a cycle is refused
	depth    int
}

// toConnectSchema converts an Avro schema to Connect as Confluent's
// AvroData.toConnectSchema does. version, when not 0, is the schema's
// version in the registry, which the top-level Connect schema takes unless
// the Avro schema says connect.version. Recursive Avro types have no
// Connect form here and are an error.
func (d *avroData) toConnectSchema(a *avro.Schema, version int32) (*connect.Schema, error) {
	c := &toConnectCtx{d: d, inRecord: map[*avro.Schema]bool{}}
	return c.schema(a, false, nil, false, version)
}

func (c *toConnectCtx) schema(a *avro.Schema, forceOptional bool, fieldDefault *avro.Value, fieldHasDefault bool, version int32) (*connect.Schema, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	connectType, _ := a.PropString(connectTypeProp)
	logical := a.LogicalType()
	var b *connect.SchemaBuilder
	switch a.Type {
	case avro.TypeBoolean:
		b = connect.NewSchema(connect.Boolean)
	case avro.TypeBytes, avro.TypeFixed:
		if strings.EqualFold(logical, "decimal") {
			scale := int64(0)
			if sv := a.Prop("scale"); sv.IsNumber() {
				scale = int64(sv.Float())
			}
			b = connect.DecimalSchema(int32(scale))
			if pv := a.Prop("precision"); pv != nil {
				if !pv.IsNumber() {
					return nil, errors.New("precision property must be a JSON Integer. https://avro.apache.org/docs/1.9.1/spec.html#Decimal")
				}
				if p := int64(pv.Float()); p != defaultDecimalPrecison {
					b.Parameter(connectPrecisionParam, strconv.FormatInt(p, 10))
				}
			}
		} else {
			b = connect.NewSchema(connect.Bytes)
		}
		if a.Type == avro.TypeFixed {
			b.Parameter(connectFixedSizeParam, strconv.Itoa(a.Size))
		}
	case avro.TypeDouble:
		b = connect.NewSchema(connect.Float64)
	case avro.TypeFloat:
		b = connect.NewSchema(connect.Float32)
	case avro.TypeInt:
		switch {
		case connectType == "" && logical == "":
			b = connect.NewSchema(connect.Int32)
		case logical != "":
			switch strings.ToLower(logical) {
			case "date":
				b = connect.DateSchema()
			case "time-millis":
				b = connect.TimeSchema()
			default:
				b = connect.NewSchema(connect.Int32)
			}
		case connectType == "int8":
			b = connect.NewSchema(connect.Int8)
		case connectType == "int16":
			b = connect.NewSchema(connect.Int16)
		default:
			return nil, errors.New("Connect type annotation for Avro int field is null")
		}
	case avro.TypeLong:
		if strings.EqualFold(logical, "timestamp-millis") {
			b = connect.TimestampSchema()
		} else {
			b = connect.NewSchema(connect.Int64)
		}
	case avro.TypeString:
		b = connect.NewSchema(connect.String)
	case avro.TypeArray:
		if isMapEntry(a.Items) {
			kf, vf := a.Items.Field("key"), a.Items.Field("value")
			if len(a.Items.Fields) != 2 || kf == nil || vf == nil {
				return nil, errors.New("Found map encoded as array of key-value pairs, but array elements do not match the expected format.")
			}
			ks, err := c.d.toConnectSchema(kf.Type, 0)
			if err != nil {
				return nil, err
			}
			vs, err := c.d.toConnectSchema(vf.Type, 0)
			if err != nil {
				return nil, err
			}
			b = connect.MapSchema(ks, vs)
		} else {
			items, err := c.schema(a.Items, false, nil, false, 0)
			if err != nil {
				return nil, err
			}
			b = connect.ArraySchema(items)
		}
	case avro.TypeMap:
		values, err := c.schema(a.Values, false, nil, false, 0)
		if err != nil {
			return nil, err
		}
		b = connect.MapSchema(connect.StringSchema, values)
	case avro.TypeRecord:
		if c.inRecord[a] {
			return nil, fmt.Errorf("Avro record %s refers to itself: recursive schemas are not supported", a.FullName())
		}
		c.inRecord[a] = true
		defer delete(c.inRecord, a)
		b = connect.StructSchema()
		if c.d.metaData && a.HasDoc {
			b.Parameter(avroRecordDocParam, a.Doc)
		}
		for _, f := range a.Fields {
			if c.d.metaData && f.HasDoc {
				b.Parameter(avroFieldDocParam+f.Name, f.Doc)
			}
			fs, err := c.schema(f.Type, false, f.Default, f.Default != nil, 0)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			if p := f.Prop(connectParametersProp); c.d.metaData && p != nil && p.Kind == avro.ObjectValue {
				fs = withParams(fs, p)
			}
			b.Field(f.Name, fs)
		}
	case avro.TypeEnum:
		b = connect.NewSchema(connect.String)
		if c.d.metaData {
			if a.HasDoc {
				b.Parameter(avroEnumDocParam+a.Name, a.Doc)
			}
			if a.HasEnumDefault {
				b.Parameter(avroEnumDefaultParam+a.Name, a.EnumDefault)
			}
		}
		b.Parameter(avroEnumParam, a.FullName())
		for _, sym := range a.Symbols {
			b.Parameter(avroEnumParam+"."+sym, sym)
		}
	case avro.TypeUnion:
		if len(a.Branches) == 1 && c.d.flattenUnions {
			return c.schema(a.Branches[0], false, nil, false, 0)
		}
		if len(a.Branches) == 2 {
			for i, br := range a.Branches {
				if br.Type == avro.TypeNull && len(br.Props) == 0 {
					return c.schema(a.Branches[1-i], true, nil, false, 0)
				}
			}
		}
		b = connect.StructSchema().Name(avroUnionName)
		names := map[string]bool{}
		for i, br := range a.Branches {
			if br.Type == avro.TypeNull {
				b.Optional()
				continue
			}
			name := c.d.unionMemberName(br, i)
			if names[name] {
				return nil, errors.New("Multiple union schemas map to the Connect union field name")
			}
			names[name] = true
			fs, err := c.schema(br, true, nil, false, 0)
			if err != nil {
				return nil, err
			}
			b.Field(name, fs)
		}
	case avro.TypeNull:
		return nil, errors.New("Standalone null schemas are not supported by this converter")
	default:
		return nil, fmt.Errorf("Couldn't translate unsupported schema type %s.", a.Type)
	}

	built := b.Build()
	if doc, ok := a.PropString(connectDocProp); ok && c.d.metaData {
		built.Doc = doc
	}
	v := int64(-1)
	if vv := a.Prop(connectVersionProp); vv != nil {
		if !vv.IsNumber() {
			return nil, fmt.Errorf("Invalid Connect version found: %s", vv)
		}
		v = int64(vv.Float())
	} else if version > 0 {
		v = int64(version)
	}
	if v >= 0 {
		if built.Version != 0 && int64(built.Version) != v {
			return nil, fmt.Errorf("Mismatched versions: version already added to SchemaBuilder (%d) differs from version in source schema (%d)", built.Version, v)
		}
		built.Version = int32(v)
	}
	params := maps.Clone(built.Parameters)
	if p := a.Prop(connectParametersProp); c.d.metaData && p != nil {
		if p.Kind != avro.ObjectValue {
			return nil, fmt.Errorf("Expected JSON object for schema parameters but found: %s", p)
		}
		for _, m := range p.Obj {
			if m.Val.Kind != avro.StringValue {
				return nil, fmt.Errorf("Expected schema parameter values to be strings but found: %s", m.Val)
			}
			if params == nil {
				params = map[string]string{}
			}
			params[m.Key] = m.Val.Str
		}
	}
	for _, m := range a.Props {
		if strings.HasPrefix(m.Key, "avro") {
			if params == nil {
				params = map[string]string{}
			}
			if m.Val.Kind == avro.StringValue {
				params[m.Key] = m.Val.Str
			} else {
				params[m.Key] = m.Val.String()
			}
		}
	}
	connectDefault := a.Prop(connectDefaultProp)
	def, hasDef := fieldDefault, fieldHasDefault
	if !hasDef && connectDefault != nil {
		def, hasDef = connectDefault, true
	} else if hasDef && c.d.metaData && connectDefault == nil {
		if params == nil {
			params = map[string]string{}
		}
		params[avroFieldDefaultFlag] = "true"
	}
	built.Parameters = params

	if nv := a.Prop(connectNameProp); nv != nil {
		if nv.Kind != avro.StringValue {
			return nil, fmt.Errorf("Invalid schema name: %s", nv)
		}
		if err := setName(built, nv.Str); err != nil {
			return nil, err
		}
	} else if a.Type == avro.TypeRecord || a.Type == avro.TypeEnum || (a.Type == avro.TypeFixed && built.Name != connect.DecimalName) {
		if err := setName(built, a.FullName()); err != nil {
			return nil, err
		}
	}
	if forceOptional {
		built.Optional = true
	}
	if hasDef && def.Kind != avro.NullValue {
		// An invalid default is dropped, as AvroData logs and drops it.
		if dv, err := c.d.defaultFromAvro(built, a, def, 0); err == nil {
			built.Default = dv
		}
	}
	return built.Reindex(), nil
}

func setName(s *connect.Schema, name string) error {
	if strings.HasPrefix(name, avroDefaultFullName) {
		return nil
	}
	if s.Name != "" && s.Name != name {
		return fmt.Errorf("Mismatched names: name already added to SchemaBuilder (%s) differs from name in source schema (%s)", s.Name, name)
	}
	s.Name = name
	return nil
}

// withParams returns s with the field-level connect.parameters p added.
func withParams(s *connect.Schema, p *avro.Value) *connect.Schema {
	same := true
	for _, m := range p.Obj {
		if s.Parameters[m.Key] != valueText(m.Val) {
			same = false
		}
	}
	if same {
		return s
	}
	cp := *s
	cp.Fields = slices.Clone(s.Fields) // Reindex writes the fields' indexes
	cp.Parameters = maps.Clone(s.Parameters)
	if cp.Parameters == nil {
		cp.Parameters = map[string]string{}
	}
	for _, m := range p.Obj {
		cp.Parameters[m.Key] = valueText(m.Val)
	}
	return cp.Reindex()
}

func valueText(v *avro.Value) string {
	if v.Kind == avro.StringValue {
		return v.Str
	}
	return v.String()
}

func isMapEntry(a *avro.Schema) bool {
	if a.Type != avro.TypeRecord {
		return false
	}
	if a.Namespace == avroNamespace && a.Name == avroMapEntryName {
		return true
	}
	t, _ := a.PropString(connectInternalType)
	return t == avroMapEntryName
}

// unionMemberName names the Connect union field of an Avro union member:
// a named type's name (its full name with enhanced.avro.schema.support),
// else its type.
func (d *avroData) unionMemberName(a *avro.Schema, _ int) string {
	if a.Named() {
		if d.enhanced {
			return a.FullName()
		}
		return a.Name
	}
	return a.Type
}

// connectUnionMemberName names a Connect union field's Avro member, as
// unionMemberName names it from the Avro side.
func (d *avroData) connectUnionMemberName(s *connect.Schema) string {
	_, isEnum := s.Parameters[avroEnumParam]
	if s.Type == connect.Struct || (s.Type == connect.String && isEnum) || isFixedSchema(s) {
		if d.enhanced {
			return s.Name
		}
		_, short := avro.SplitName(s.Name)
		return short
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32:
		return avro.TypeInt
	case connect.Int64:
		return avro.TypeLong
	case connect.Float32:
		return avro.TypeFloat
	case connect.Float64:
		return avro.TypeDouble
	}
	return string(s.Type)
}

// defaultFromAvro converts an Avro default (JSON) to a Connect value of
// schema s (AvroData.defaultValueFromAvro).
func (d *avroData) defaultFromAvro(s *connect.Schema, a *avro.Schema, v *avro.Value, depth int) (any, error) {
	if v == nil || v.Kind == avro.NullValue {
		return nil, nil
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("default value nested deeper than %d levels", maxDepth)
	}
	bad := fmt.Errorf("invalid default %s for Avro type %s", v, a.Type)
	var out any
	switch a.Type {
	case avro.TypeInt:
		n, ok := v.Int64()
		if !ok {
			if !v.IsNumber() {
				return nil, bad
			}
			n = int64(v.Float())
		}
		switch s.Type {
		case connect.Int8:
			out = int8(n)
		case connect.Int16:
			out = int16(n)
		case connect.Int32:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, bad
			}
			out = int32(n)
		default:
			return nil, nil
		}
	case avro.TypeLong:
		n, ok := v.Int64()
		if !ok {
			if !v.IsNumber() {
				return nil, bad
			}
			n = int64(v.Float())
		}
		out = n
	case avro.TypeFloat:
		if !v.IsNumber() {
			return nil, bad
		}
		out = float32(v.Float())
	case avro.TypeDouble:
		if !v.IsNumber() {
			return nil, bad
		}
		out = v.Float()
	case avro.TypeBoolean:
		out = v.Kind == avro.BoolValue && v.Bool
	case avro.TypeString, avro.TypeEnum:
		if v.Kind != avro.StringValue {
			return nil, bad
		}
		out = v.Str
	case avro.TypeBytes, avro.TypeFixed:
		if v.Kind != avro.StringValue {
			return nil, bad
		}
		b, ok := unlatin1(v.Str)
		if !ok {
			return nil, bad
		}
		out = b
	case avro.TypeArray:
		if v.Kind != avro.ArrayValue {
			return nil, errors.New("Invalid JSON for array default value")
		}
		if s.Type == connect.Map {
			return nil, errors.New("map entries have no default form")
		}
		arr := make([]any, 0, len(v.Arr))
		for _, e := range v.Arr {
			ev, err := d.defaultFromAvro(s.Items, a.Items, e, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, ev)
		}
		return arr, nil
	case avro.TypeMap:
		if v.Kind != avro.ObjectValue {
			return nil, errors.New("Invalid JSON for map default value")
		}
		m := make(map[string]any, len(v.Obj))
		for _, e := range v.Obj {
			ev, err := d.defaultFromAvro(s.Values, a.Values, e.Val, depth+1)
			if err != nil {
				return nil, err
			}
			m[e.Key] = ev
		}
		return m, nil
	case avro.TypeRecord:
		if v.Kind != avro.ObjectValue {
			return nil, errors.New("Invalid JSON for record default value")
		}
		sv := connect.NewStruct(s)
		for _, af := range a.Fields {
			f, ok := s.Field(af.Name)
			if !ok {
				continue
			}
			ev, err := d.defaultFromAvro(f.Schema, af.Type, v.Get(af.Name), depth+1)
			if err != nil {
				return nil, err
			}
			sv.SetIndex(f.Index, ev)
		}
		return sv, nil
	case avro.TypeUnion:
		first := a.Branches[0]
		if first.Type == avro.TypeNull {
			return nil, nil
		}
		if isUnionSchema(s) {
			f, ok := s.Field(d.unionMemberName(first, 0))
			if !ok {
				return nil, bad
			}
			ev, err := d.defaultFromAvro(f.Schema, first, v, depth+1)
			if err != nil {
				return nil, err
			}
			sv := connect.NewStruct(s)
			sv.SetIndex(f.Index, ev)
			return sv, nil
		}
		return d.defaultFromAvro(s, first, v, depth+1)
	default:
		return nil, nil
	}
	return toLogical(s, out)
}

// toLogical converts the underlying value of a logical type to the
// logical value (days to a date, bytes to a decimal...).
func toLogical(s *connect.Schema, v any) (any, error) {
	switch s.Name {
	case connect.DecimalName:
		b, ok := v.([]byte)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Decimal, underlying representation should be bytes but was %T", v)
		}
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		return connect.DecimalFromBytes(b, scale), nil
	case connect.DateName:
		n, ok := v.(int32)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Date, underlying representation should be int32 but was %T", v)
		}
		return connect.DaysToDate(n), nil
	case connect.TimeName:
		n, ok := v.(int32)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Time, underlying representation should be int32 but was %T", v)
		}
		return connect.MillisToTime(n), nil
	case connect.TimestampName:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Timestamp, underlying representation should be int64 but was %T", v)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	return v, nil
}
