package transforms

import (
	"math"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// TimestampConverter: Kafka Connect's org.apache.kafka.connect.transforms.TimestampConverter$Key and $Value.

// Timestamp representations, as target.type names them.
const (
	tsString    = "string"
	tsUnix      = "unix"
	tsDate      = "Date"
	tsTime      = "Time"
	tsTimestamp = "Timestamp"
)

var timestampConverterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "field", Type: connect.TypeString, Importance: connect.High,
		Doc: "The field that holds the timestamp; empty when the whole key or value is the timestamp."},
	connect.ConfigKey{Name: "target.type", Type: connect.TypeString, Required: true, Importance: connect.High,
		Validator:   validString(tsString, tsUnix, tsDate, tsTime, tsTimestamp),
		Recommended: []string{tsString, tsUnix, tsDate, tsTime, tsTimestamp},
		Doc:         "What to convert the timestamp to: string, unix (a number since the epoch), Date, Time or Timestamp."},
	connect.ConfigKey{Name: "format", Type: connect.TypeString, Importance: connect.Medium,
		Doc: "A java.text.SimpleDateFormat pattern, applied in UTC: how to write the timestamp when target.type is string, and how to read timestamps given as strings."},
	connect.ConfigKey{Name: "unix.precision", Type: connect.TypeString, Default: "milliseconds", Importance: connect.Low,
		Validator:   validString("nanoseconds", "microseconds", "milliseconds", "seconds"),
		Recommended: []string{"nanoseconds", "microseconds", "milliseconds", "seconds"},
		Doc:         "The unit of unix timestamps, read and written: seconds, milliseconds, microseconds or nanoseconds. Timestamps hold milliseconds, so finer units lose precision."},
	replaceNullKey,
)

var (
	optionalDate = connect.DateSchema().Optional().Build()
	requiredDate = connect.DateSchema().Build()
	optionalTime = connect.TimeSchema().Optional().Build()
	requiredTime = connect.TimeSchema().Build()
)

type timestampConverter struct {
	part        part
	field       string
	target      string
	format      *dateFormat
	precision   string
	withDefault bool
	cache       schemaCache[*connect.Schema]
}

func newTimestampConverter(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		t := &timestampConverter{part: p, field: cfg.String("field"), target: cfg.String("target.type"),
			precision: cfg.String("unix.precision"), withDefault: cfg.Bool("replace.null.with.default")}
		pattern := cfg.String("format")
		if t.target == tsString && strings.TrimSpace(pattern) == "" {
			return nil, &connect.ConfigError{Errs: map[string][]string{"format": {
				"TimestampConverter requires format option to be specified when using string timestamps"}}}
		}
		if strings.TrimSpace(pattern) != "" {
			f, err := compileDateFormat(pattern)
			if err != nil {
				return nil, &connect.ConfigError{Errs: map[string][]string{"format": {
					"TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: " + pattern + " (" + err.Error() + ")"}}}
			}
			t.format = f
		}
		return t, nil
	}
}

const timestampPurpose = "converting timestamp formats"

func (t *timestampConverter) typeSchema(optional bool) *connect.Schema {
	switch t.target {
	case tsString:
		if optional {
			return connect.OptionalString
		}
		return connect.StringSchema
	case tsUnix:
		if optional {
			return connect.OptionalInt64
		}
		return connect.Int64Schema
	case tsDate:
		if optional {
			return optionalDate
		}
		return requiredDate
	case tsTime:
		if optional {
			return optionalTime
		}
		return requiredTime
	}
	if optional {
		return optionalTimestamp
	}
	return requiredTimestamp
}

func (t *timestampConverter) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	s := t.part.schema(r)
	if s == nil {
		if v == nil || t.field == "" {
			out, err := t.convert(v, "")
			if err != nil {
				return false, err
			}
			t.part.set(r, own, nil, out)
			return true, nil
		}
		m, err := requireMap(v, timestampPurpose)
		if err != nil {
			return false, err
		}
		cv, err := t.convert(m[t.field], "")
		if err != nil {
			return false, err
		}
		out := t.part.writable(m, own)
		out[t.field] = cv
		t.part.setFresh(r, own, nil, out)
		return true, nil
	}
	if t.field == "" {
		from, err := typeFromSchema(s)
		if err != nil {
			return false, err
		}
		out, err := t.convert(v, from)
		if err != nil {
			return false, err
		}
		t.part.set(r, own, t.typeSchema(s.Optional), out)
		return true, nil
	}
	sv, err := requireStructOrNull(v, timestampPurpose)
	if err != nil {
		return false, err
	}
	schema, err := t.cache.get(s, t.buildSchema)
	if err != nil {
		return false, err
	}
	out, err := t.convertStruct(sv, schema, own)
	if err != nil {
		return false, err
	}
	if out == nil {
		t.part.set(r, own, schema, nil)
		return true, nil
	}
	t.part.setFresh(r, own, schema, out)
	return true, nil
}

func (t *timestampConverter) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	if in.Type != connect.Struct {
		return nil, dataErr("Only Struct objects supported for [%s], found: %s", timestampPurpose, javaType(in.Type))
	}
	fields := make([]connect.Field, len(in.Fields))
	for i, f := range in.Fields {
		fs := f.Schema
		if f.Name == t.field {
			fs = t.typeSchema(f.Schema.Optional)
		}
		fields[i] = connect.Field{Name: f.Name, Schema: fs}
	}
	out := structOf(copyBasics(in, connect.Struct), fields)
	out.Optional = in.Optional
	if d, ok := in.Default.(*connect.StructValue); ok && d != nil {
		cd, err := t.convertStruct(d, out, &owned{})
		if err != nil {
			return nil, err
		}
		out.Default = cd
	}
	return out, nil
}

func (t *timestampConverter) convertStruct(sv *connect.StructValue, schema *connect.Schema, own *owned) (*connect.StructValue, error) {
	if sv == nil {
		return nil, nil
	}
	out := own.structToFill(schema)
	for _, f := range sv.Schema().Fields {
		fv := field(sv, f, t.withDefault)
		if f.Name == t.field {
			from, err := typeFromSchema(f.Schema)
			if err != nil {
				return nil, err
			}
			if fv, err = t.convert(fv, from); err != nil {
				return nil, err
			}
		}
		if f.Index >= len(schema.Fields) || schema.Fields[f.Index].Name != f.Name {
			return nil, dataErr("%s is not a valid field name", f.Name)
		}
		setField(out, f.Index, fv) // the converted schema keeps the field order

	}
	return out, nil
}

// typeFromSchema is the representation a schema holds.
func typeFromSchema(s *connect.Schema) (string, error) {
	switch {
	case s.Name == connect.TimestampName:
		return tsTimestamp, nil
	case s.Name == connect.DateName:
		return tsDate, nil
	case s.Name == connect.TimeName:
		return tsTime, nil
	case s.Type == connect.String:
		return tsString, nil
	case s.Type == connect.Int64:
		return tsUnix, nil
	}
	return "", &DataError{Exception: connectException, Msg: "Schema " + javaSchemaString(s) + " does not correspond to a known timestamp type format"}
}

// javaSchemaString is ConnectSchema.toString.
func javaSchemaString(s *connect.Schema) string {
	if s.Name != "" {
		return "Schema{" + s.Name + ":" + javaType(s.Type) + "}"
	}
	return "Schema{" + javaType(s.Type) + "}"
}

// convert turns ts, in representation from ("" to infer it from the Go
// type), into the target representation.
func (t *timestampConverter) convert(ts any, from string) (any, error) {
	if ts == nil {
		return nil, nil
	}
	if from == "" {
		switch ts.(type) {
		case time.Time:
			from = tsTimestamp
		case int64:
			from = tsUnix
		case string:
			from = tsString
		default:
			return nil, dataErr("TimestampConverter does not support %s objects as timestamps", javaClass(ts))
		}
	}
	var raw time.Time
	switch from {
	case tsString:
		s, ok := ts.(string)
		if !ok {
			return nil, dataErr("Expected string timestamp to be a String, but found %s", javaClass(ts))
		}
		if t.format == nil {
			return nil, &DataError{Exception: nullPointer, Msg: "no format is set to parse the string timestamp " + s + ": set format"}
		}
		p, err := t.format.parse(s)
		if err != nil {
			return nil, dataErr("Could not parse timestamp: value (%s) does not match pattern (%s)", s, t.format.pattern)
		}
		raw = p
	case tsUnix:
		n, ok := ts.(int64)
		if !ok {
			return nil, dataErr("Expected Unix timestamp to be a Long, but found %s", javaClass(ts))
		}
		switch t.precision {
		case "seconds":
			n = saturatingMul(n, 1000)
		case "microseconds":
			n /= 1000
		case "nanoseconds":
			n /= 1000000
		}
		raw = time.UnixMilli(n).UTC()
	default:
		tv, ok := ts.(time.Time)
		if !ok {
			return nil, dataErr("Expected %s to be a java.util.Date, but found %s", from, javaClass(ts))
		}
		raw = time.UnixMilli(tv.UnixMilli()).UTC() // java.util.Date holds milliseconds
	}
	switch t.target {
	case tsString:
		return t.format.format(raw), nil
	case tsUnix:
		msec := raw.UnixMilli()
		switch t.precision {
		case "seconds":
			return msec / 1000, nil
		case "microseconds":
			return saturatingMul(msec, 1000), nil
		case "nanoseconds":
			return saturatingMul(msec, 1000000), nil
		}
		return msec, nil
	case tsDate:
		y, m, d := raw.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case tsTime:
		h, mi, s := raw.Clock()
		return time.Date(1970, 1, 1, h, mi, s, raw.Nanosecond(), time.UTC), nil
	}
	return raw, nil
}

// saturatingMul is Java's TimeUnit conversion: n*by, clamped to the long range.
func saturatingMul(n, by int64) int64 {
	switch {
	case n > math.MaxInt64/by:
		return math.MaxInt64
	case n < math.MinInt64/by:
		return math.MinInt64
	}
	return n * by
}
