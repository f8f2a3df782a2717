package transforms

import (
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// ExtractField: Kafka Connect's org.apache.kafka.connect.transforms.ExtractField$Key and $Value.

var extractFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "field", Type: connect.TypeString, Required: true, Importance: connect.Medium,
		Doc: "The field to take as the whole key or value."},
	replaceNullKey,
	fieldSyntaxKey,
)

type extractField struct {
	part        part
	path        *fieldPath
	original    string
	withDefault bool
}

func newExtractField(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		f := cfg.String("field")
		path, err := parseFieldPath(f, cfg.String("field.syntax.version"))
		if err != nil {
			return nil, keyError("field", &f, "%v", err)
		}
		return &extractField{part: p, path: path, original: f, withDefault: cfg.Bool("replace.null.with.default")}, nil
	}
}

const extractPurpose = "field extraction"

func (t *extractField) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	s := t.part.schema(r)
	if s == nil {
		if v == nil {
			t.part.set(r, own, nil, nil)
			return true, nil
		}
		m, err := requireMap(v, extractPurpose)
		if err != nil {
			return false, err
		}
		out, err := t.path.fromMap(m)
		if err != nil {
			return false, err
		}
		t.part.set(r, own, nil, out)
		return true, nil
	}
	sv, err := requireStructOrNull(v, extractPurpose)
	if err != nil {
		return false, err
	}
	if s.Type != connect.Struct {
		return false, dataErr("Cannot look up fields on non-struct type")
	}
	f, ok := t.path.field(s)
	if !ok {
		return false, &DataError{Exception: illegalArgument, Msg: "Unknown field: " + t.original}
	}
	if sv == nil {
		t.part.set(r, own, f.Schema, nil)
		return true, nil
	}
	out, err := t.path.fromStruct(sv, t.withDefault)
	if err != nil {
		return false, err
	}
	t.part.set(r, own, f.Schema, out)
	return true, nil
}

// HoistField: Kafka Connect's org.apache.kafka.connect.transforms.HoistField$Key and $Value.

var hoistFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "field", Type: connect.TypeString, Required: true, Importance: connect.Medium,
		Doc: "The name of the one field of the struct (or map) that wraps the key or value."},
)

type hoistField struct {
	part  part
	name  string
	cache schemaCache[*connect.Schema]
}

func newHoistField(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		return &hoistField{part: p, name: cfg.String("field")}, nil
	}
}

func (t *hoistField) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	s := t.part.schema(r)
	if s == nil {
		m := own.newMap(1)
		m[t.name] = v
		t.part.setFresh(r, own, nil, m)
		return true, nil
	}
	if v == nil && !s.Optional {
		return false, dataErr("Invalid value: null used for required field: %q, schema type: %s", t.name, javaType(s.Type))
	}
	out, _ := t.cache.get(s, func(s *connect.Schema) (*connect.Schema, error) {
		return structOf(&connect.Schema{}, []connect.Field{{Name: t.name, Schema: s}}), nil
	})
	sv := own.structToFill(out)
	setField(sv, 0, v)
	t.part.setFresh(r, own, out, sv)
	return true, nil
}

// javaType names a schema type as Kafka Connect's Schema.Type enum does.
func javaType(t connect.Type) string {
	switch t {
	case connect.Float32:
		return "FLOAT32"
	case connect.Float64:
		return "FLOAT64"
	}
	return strings.ToUpper(string(t))
}

// ValueToKey: Kafka Connect's org.apache.kafka.connect.transforms.ValueToKey.

var valueToKeyDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "fields", Type: connect.TypeList, Required: true, Importance: connect.High,
		Validator: nonEmptyList, Doc: "The value's fields that make up the new key."},
	replaceNullKey,
)

type valueToKey struct {
	fields      []string
	withDefault bool
	cache       schemaCache[*valueToKeyPlan]
}

type valueToKeyPlan struct {
	schema *connect.Schema
	from   []connect.Field
}

func newValueToKey(cfg *connect.Config, _ Env) (updater, error) {
	return &valueToKey{fields: cfg.List("fields"), withDefault: cfg.Bool("replace.null.with.default")}, nil
}

const valueToKeyPurpose = "copying fields from value to key"

func (t *valueToKey) update(r *connect.Record, own *owned) (bool, error) {
	if r.ValueSchema == nil {
		m, err := requireMap(r.Value, valueToKeyPurpose)
		if err != nil {
			return false, err
		}
		key := own.newMap(len(t.fields))
		for _, f := range t.fields {
			key[f] = m[f]
		}
		r.KeySchema, r.Key = nil, key
		own.key = true
		return true, nil
	}
	sv, err := requireStruct(r.Value, valueToKeyPurpose)
	if err != nil {
		return false, err
	}
	plan, err := t.cache.get(sv.Schema(), func(in *connect.Schema) (*valueToKeyPlan, error) {
		p := &valueToKeyPlan{}
		fields := make([]connect.Field, 0, len(t.fields))
		for _, name := range t.fields {
			f, ok := in.Field(name)
			if !ok {
				return nil, dataErr("Field does not exist: %s", name)
			}
			fields = append(fields, connect.Field{Name: name, Schema: f.Schema})
			p.from = append(p.from, f)
		}
		s, err := newStructSchema(&connect.Schema{}, fields)
		p.schema = s
		return p, err
	})
	if err != nil {
		return false, err
	}
	key := own.structToFill(plan.schema)
	for i, f := range plan.from {
		setField(key, i, field(sv, f, t.withDefault))
	}
	r.KeySchema, r.Key = plan.schema, key
	own.key = true
	r.ValueSchema = sv.Schema()
	return true, nil
}

// SetSchemaMetadata: Kafka Connect's org.apache.kafka.connect.transforms.SetSchemaMetadata$Key and $Value.

var setSchemaMetadataDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "schema.name", Type: connect.TypeString, Importance: connect.High,
		Doc: "The schema name to set."},
	connect.ConfigKey{Name: "schema.version", Type: connect.TypeInt, Importance: connect.High,
		Doc: "The schema version to set."},
	replaceNullKey,
)

type setSchemaMetadata struct {
	part        part
	name        *string
	version     *int32
	withDefault bool
	cache       schemaCache[*connect.Schema]
}

func newSetSchemaMetadata(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		t := &setSchemaMetadata{part: p, name: optString(cfg, "schema.name"), withDefault: cfg.Bool("replace.null.with.default")}
		if _, ok := cfg.Raw()["schema.version"]; ok {
			v := int32(cfg.Long("schema.version"))
			t.version = &v
		}
		if t.name == nil && t.version == nil {
			return nil, errf("Neither schema name nor version configured")
		}
		return t, nil
	}
}

func (t *setSchemaMetadata) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	s := t.part.schema(r)
	if v == nil && s == nil {
		return true, nil
	}
	if err := requireSchema(s, "updating schema metadata"); err != nil {
		return false, err
	}
	out, _ := t.cache.get(s, func(s *connect.Schema) (*connect.Schema, error) {
		c := *s // a copy shares Fields, Items, Keys and Values, as Kafka Connect's does
		if t.name != nil {
			c.Name = *t.name
		}
		if t.version != nil {
			c.Version = *t.version
		}
		if c.Type == connect.Struct {
			c.Fields = append([]connect.Field(nil), s.Fields...)
			c.Reindex()
		}
		return &c, nil
	})
	if sv, ok := v.(*connect.StructValue); ok && sv != nil && out.Type == connect.Struct {
		ns := own.structToFill(out)
		n := len(sv.Schema().Fields)
		for _, f := range out.Fields {
			var fv any
			if f.Index < n {
				fv = sv.GetIndex(f.Index)
			}
			if fv == nil && t.withDefault {
				fv = f.Schema.Default
			}
			setField(ns, f.Index, fv)
		}
		v = ns
	}
	t.part.set(r, own, out, v)
	return true, nil
}

// HeaderFrom: Kafka Connect's org.apache.kafka.connect.transforms.HeaderFrom$Key and $Value.

var headerFromDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "fields", Type: connect.TypeList, Required: true, Importance: connect.High,
		Validator: nonEmptyList, Doc: "The fields whose values go to headers."},
	connect.ConfigKey{Name: "headers", Type: connect.TypeList, Required: true, Importance: connect.High,
		Validator: nonEmptyList, Doc: "The header names, one for each of fields, in the same order."},
	connect.ConfigKey{Name: "operation", Type: connect.TypeString, Required: true, Importance: connect.High,
		Validator: validString("move", "copy"), Recommended: []string{"move", "copy"},
		Doc: "move removes the fields from the key or value; copy leaves them."},
	replaceNullKey,
)

// validString is Kafka's ConfigDef.ValidString: one of values, exactly.
func validString(values ...string) connect.ValidatorFunc {
	return func(v any) error {
		s, _ := v.(string)
		for _, a := range values {
			if a == s {
				return nil
			}
		}
		return errf("String must be one of: %s", strings.Join(values, ", "))
	}
}

type headerFrom struct {
	part        part
	fields      []string
	headers     []string
	move        bool
	purpose     string
	withDefault bool
	cache       schemaCache[*headerFromPlan]
}

type headerFromPlan struct {
	schema *connect.Schema // the schema after a move
	from   []connect.Field // its fields' sources
}

func newHeaderFrom(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		t := &headerFrom{part: p, fields: cfg.List("fields"), headers: cfg.List("headers"),
			move: cfg.String("operation") == "move", withDefault: cfg.Bool("replace.null.with.default")}
		if len(t.fields) != len(t.headers) {
			return nil, errf("'fields' config must have the same number of elements as 'headers' config.")
		}
		t.purpose = "header " + cfg.String("operation")
		return t, nil
	}
}

func (t *headerFrom) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	s := t.part.schema(r)
	hs := append(own.newHeaders(len(r.Headers)+len(t.fields)), r.Headers...)
	if s == nil {
		m, err := requireMap(v, t.purpose)
		if err != nil {
			return false, err
		}
		out := m
		if t.move {
			out = t.part.writable(m, own)
		}
		for i, f := range t.fields {
			fv := m[f] // before the delete: out may be m itself
			if t.move {
				delete(out, f)
			}
			hs = append(hs, connect.Header{Key: t.headers[i], Value: fv})
		}
		if t.move {
			t.part.setFresh(r, own, nil, out)
		}
		r.Headers = hs
		return true, nil
	}
	sv, err := requireStruct(v, t.purpose)
	if err != nil {
		return false, err
	}
	outSchema, outValue := s, any(sv)
	if t.move {
		plan, _ := t.cache.get(s, func(in *connect.Schema) (*headerFromPlan, error) {
			p := &headerFromPlan{}
			var fields []connect.Field
			for _, f := range in.Fields {
				if !contains(t.fields, f.Name) {
					fields = append(fields, connect.Field{Name: f.Name, Schema: f.Schema})
					p.from = append(p.from, f)
				}
			}
			p.schema = structOf(copyBasics(in, connect.Struct), fields)
			return p, nil
		})
		ns := own.structToFill(plan.schema)
		for i, f := range plan.from {
			setField(ns, i, field(sv, f, t.withDefault))
		}
		outSchema, outValue = plan.schema, ns
	}
	for i, name := range t.fields {
		f, ok := s.Field(name)
		if !ok {
			// Kafka Connect fails here with a NullPointerException.
			return false, &DataError{Exception: nullPointer, Msg: "field " + name + " is not in the schema " + s.String()}
		}
		var fv any
		if vf, ok := sv.Schema().Field(name); ok {
			fv = field(sv, vf, t.withDefault)
		}
		hs = append(hs, connect.Header{Key: t.headers[i], Schema: f.Schema, Value: fv})
	}
	if t.move {
		t.part.setFresh(r, own, outSchema, outValue)
	}
	r.Headers = hs
	return true, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
