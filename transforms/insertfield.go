package transforms

import (
	"maps"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// InsertField: Kafka Connect's org.apache.kafka.connect.transforms.InsertField$Key and $Value.

const optionalityDoc = " End the name with ! to make the field required, or ? to keep it optional (the default)."

var insertFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic.field", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "Field to hold the record's Kafka topic." + optionalityDoc},
	connect.ConfigKey{Name: "partition.field", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "Field to hold the record's Kafka partition." + optionalityDoc},
	connect.ConfigKey{Name: "offset.field", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "Field to hold the record's Kafka offset; sink connectors only." + optionalityDoc},
	connect.ConfigKey{Name: "timestamp.field", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "Field to hold the record's timestamp." + optionalityDoc},
	connect.ConfigKey{Name: "static.field", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "Field to hold static.value." + optionalityDoc},
	connect.ConfigKey{Name: "static.value", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "The value of static.field, the same for every record."},
	replaceNullKey,
)

// replaceNullKey is the replace.null.with.default key that most of Kafka
// Connect's field transforms have.
var replaceNullKey = connect.ConfigKey{Name: "replace.null.with.default", Type: connect.TypeBoolean, Default: "true",
	Importance: connect.Medium,
	Doc:        "Whether a null field that has a default value reads as that default (true) or stays null (false)."}

// insertionSpec is a field name with its optionality suffix parsed.
type insertionSpec struct {
	name     string
	optional bool
}

// optString returns a STRING key's value, or nil when the key is unset
// (Kafka Connect's null default).
func optString(cfg *connect.Config, key string) *string {
	if _, ok := cfg.Raw()[key]; !ok {
		return nil
	}
	v := cfg.String(key)
	return &v
}

func parseInsertionSpec(v *string) *insertionSpec {
	if v == nil {
		return nil
	}
	s := *v
	switch {
	case strings.HasSuffix(s, "?"):
		return &insertionSpec{name: s[:len(s)-1], optional: true}
	case strings.HasSuffix(s, "!"):
		return &insertionSpec{name: s[:len(s)-1]}
	}
	return &insertionSpec{name: s, optional: true}
}

type insertField struct {
	part                                    part
	sink                                    bool
	topic, partition, offset, ts, staticFld *insertionSpec
	staticValue                             any // a string, boxed once
	withDefault                             bool
	cache                                   schemaCache[*connect.Schema]
	topics                                  topicMemo[any] // each topic boxed once
	count                                   int            // fields inserted
}

func newInsertField(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, env Env) (updater, error) {
		t := &insertField{
			part:        p,
			sink:        env.Sink,
			topic:       parseInsertionSpec(optString(cfg, "topic.field")),
			partition:   parseInsertionSpec(optString(cfg, "partition.field")),
			offset:      parseInsertionSpec(optString(cfg, "offset.field")),
			ts:          parseInsertionSpec(optString(cfg, "timestamp.field")),
			staticFld:   parseInsertionSpec(optString(cfg, "static.field")),
			withDefault: cfg.Bool("replace.null.with.default"),
		}
		if t.topic == nil && t.partition == nil && t.offset == nil && t.ts == nil && t.staticFld == nil {
			return nil, errf("No field insertion configured")
		}
		for _, f := range []*insertionSpec{t.topic, t.partition, t.offset, t.ts, t.staticFld} {
			if f != nil {
				t.count++
			}
		}
		sv := optString(cfg, "static.value")
		if t.staticFld != nil && sv == nil {
			return nil, keyError("static.value", nil, "No value specified for static field: %s", t.staticFld.name)
		}
		if sv != nil {
			t.staticValue = *sv
		} else {
			t.staticValue = ""
		}
		return t, nil
	}
}

const insertPurpose = "field insertion"

// smallMap is how many entries a Go map holds before it needs a table.
const smallMap = 8

func (t *insertField) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	if v == nil {
		return true, nil
	}
	if t.offset != nil && !t.sink {
		return false, dataErr("Only SinkRecord supported for [%s], found: org.apache.kafka.connect.source.SourceRecord", insertPurpose)
	}
	if t.part.schema(r) == nil {
		m, err := requireMap(v, insertPurpose)
		if err != nil {
			return false, err
		}
		// Sized for the new fields: cloning m and then growing it costs
		// more. A map of ours is filled in place, unless the new fields
		// take it past the eight entries of Go's small map: growing it
		// into a table then costs more than a new one of the right size.
		out := m
		if !t.part.owns(own) || len(m) <= smallMap && len(m)+t.count > smallMap {
			out = own.newMap(len(m) + t.count)
			maps.Copy(out, m)
		}
		if t.topic != nil {
			out[t.topic.name] = t.topics.get(r.Topic, boxTopic)
		}
		if t.partition != nil && r.Partition >= 0 {
			out[t.partition.name] = r.Partition
		}
		if t.offset != nil {
			out[t.offset.name] = r.Offset
		}
		if t.ts != nil && !r.Timestamp.IsZero() {
			out[t.ts.name] = r.Timestamp.UnixMilli()
		}
		if t.staticFld != nil {
			out[t.staticFld.name] = t.staticValue
		}
		t.part.setFresh(r, own, nil, out)
		return true, nil
	}
	sv, err := requireStruct(v, insertPurpose)
	if err != nil {
		return false, err
	}
	in := sv.Schema()
	schema, err := t.cache.get(in, t.buildSchema)
	if err != nil {
		return false, err
	}
	out := own.structToFill(schema)
	for _, f := range in.Fields {
		setField(out, f.Index, field(sv, f, t.withDefault))
	}
	i := len(in.Fields)
	if t.topic != nil {
		setField(out, i, t.topics.get(r.Topic, boxTopic))
		i++
	}
	if t.partition != nil {
		var p any // null for a record without a partition
		if r.Partition >= 0 {
			p = r.Partition
		}
		setField(out, i, p)
		i++
	}
	if t.offset != nil {
		setField(out, i, r.Offset)
		i++
	}
	if t.ts != nil {
		var ts any
		if !r.Timestamp.IsZero() {
			ts = time.UnixMilli(r.Timestamp.UnixMilli()).UTC()
		}
		setField(out, i, ts)
		i++
	}
	if t.staticFld != nil {
		setField(out, i, t.staticValue)
	}
	t.part.setFresh(r, own, schema, out)
	return true, nil
}

var (
	optionalTimestamp = connect.TimestampSchema().Optional().Build()
	requiredTimestamp = connect.TimestampSchema().Build()
)

func (t *insertField) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	fields := append(make([]connect.Field, 0, len(in.Fields)+5), in.Fields...)
	add := func(spec *insertionSpec, opt, req *connect.Schema) {
		if spec == nil {
			return
		}
		s := req
		if spec.optional {
			s = opt
		}
		fields = append(fields, connect.Field{Name: spec.name, Schema: s})
	}
	add(t.topic, connect.OptionalString, connect.StringSchema)
	add(t.partition, connect.OptionalInt32, connect.Int32Schema)
	add(t.offset, connect.OptionalInt64, connect.Int64Schema)
	add(t.ts, optionalTimestamp, requiredTimestamp)
	add(t.staticFld, connect.OptionalString, connect.StringSchema)
	return newStructSchema(in, fields)
}

// newStructSchema builds a struct schema with s's basics (name, version,
// doc, parameters; not its optionality or default, as Kafka Connect's
// SchemaUtil.copySchemaBasics) and fields. A field name used twice is an
// error, as in Kafka Connect's SchemaBuilder.
func newStructSchema(s *connect.Schema, fields []connect.Field) (*connect.Schema, error) {
	seen := make(map[string]struct{}, len(fields))
	for _, f := range fields {
		if _, dup := seen[f.Name]; dup {
			return nil, dataErr("Cannot create field because of field name duplication %s", f.Name)
		}
		seen[f.Name] = struct{}{}
	}
	return structOf(copyBasics(s, connect.Struct), fields), nil
}

// boxTopic returns topic as an interface value, so that the memo holds one
// boxed string per topic rather than boxing it for every record.
func boxTopic(topic string) any { return topic }

func (t *insertField) mapsPart() (part, bool) {
	// An offset field on a source record fails every record: run alone.
	return t.part, t.offset == nil || t.sink
}

// fieldPlan: the input's fields, then the inserted ones, as update fills them.
func (t *insertField) fieldPlan(in *connect.Schema) (*fieldPlan, error) {
	schema, err := t.cache.get(in, t.buildSchema)
	if err != nil {
		return nil, err
	}
	p := identityPlan(in, schema, t.withDefault)
	add := func(gen func(r *connect.Record) any) {
		p.src = append(p.src, fieldSource{from: -1, gen: gen})
	}
	if t.topic != nil {
		add(func(r *connect.Record) any { return t.topics.get(r.Topic, boxTopic) })
	}
	if t.partition != nil {
		add(func(r *connect.Record) any {
			if r.Partition < 0 {
				return nil
			}
			return r.Partition
		})
	}
	if t.offset != nil {
		add(func(r *connect.Record) any { return r.Offset })
	}
	if t.ts != nil {
		add(func(r *connect.Record) any {
			if r.Timestamp.IsZero() {
				return nil
			}
			return time.UnixMilli(r.Timestamp.UnixMilli()).UTC()
		})
	}
	if t.staticFld != nil {
		add(func(*connect.Record) any { return t.staticValue })
	}
	return p, nil
}
