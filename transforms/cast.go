package transforms

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// Cast: Kafka Connect's org.apache.kafka.connect.transforms.Cast$Key and $Value.

var castDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "spec", Type: connect.TypeList, Required: true, Importance: connect.High,
		Validator: func(v any) error {
			_, _, err := parseCastSpec(v.([]string))
			return err
		},
		Doc: "The casts, as field:type pairs (e.g. id:int32,score:float64) for the fields of a struct or map, " +
			"or a single type to cast the whole key or value. Types: int8, int16, int32, int64, float32, float64, " +
			"boolean, string; bytes can only be cast to string (base64)."},
	replaceNullKey,
)

// castOutputs and castInputs are the types Cast writes and reads, as Kafka
// Connect names them.
var (
	castOutputs = []string{"INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "STRING"}
	castInputs  = append(append([]string(nil), castOutputs...), "BYTES")
	allTypes    = map[string]connect.Type{
		"INT8": connect.Int8, "INT16": connect.Int16, "INT32": connect.Int32, "INT64": connect.Int64,
		"FLOAT32": connect.Float32, "FLOAT64": connect.Float64, "BOOLEAN": connect.Boolean, "STRING": connect.String,
		"BYTES": connect.Bytes, "ARRAY": connect.Array, "MAP": connect.Map, "STRUCT": connect.Struct,
	}
)

func castType(name string) (connect.Type, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	t, ok := allTypes[up]
	if !ok {
		return "", errf("Invalid type found in casting spec: %s", strings.TrimSpace(name))
	}
	if !contains(castOutputs, up) {
		return "", errf("Cast transformation does not support casting to %s; supported types are [%s]", up, strings.Join(castOutputs, ", "))
	}
	return t, nil
}

// parseCastSpec returns the field casts, or the whole-value cast.
func parseCastSpec(spec []string) (map[string]connect.Type, connect.Type, error) {
	if len(spec) == 0 {
		return nil, "", errf("Must specify at least one field to cast.")
	}
	casts := map[string]connect.Type{}
	var whole connect.Type
	for _, m := range spec {
		parts := javaSplit(m, ":")
		switch len(parts) {
		case 1:
			t, err := castType(parts[0])
			if err != nil {
				return nil, "", err
			}
			whole = t
		case 2:
			t, err := castType(parts[1])
			if err != nil {
				return nil, "", err
			}
			casts[strings.TrimSpace(parts[0])] = t
		default:
			return nil, "", errf("Invalid rename mapping: %s", m)
		}
	}
	if whole != "" && len(spec) > 1 {
		return nil, "", errf("Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec")
	}
	return casts, whole, nil
}

type cast struct {
	part        part
	casts       map[string]connect.Type
	whole       connect.Type
	names       []string
	withDefault bool
	cache       schemaCache[*castPlan]
}

// castPlan is the schema Cast builds for one input schema and, for a
// struct, the type each field is cast to ("" for none), by field index.
type castPlan struct {
	schema *connect.Schema
	to     []connect.Type
}

func newCast(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		casts, whole, err := parseCastSpec(cfg.List("spec"))
		if err != nil {
			v := cfg.Raw()["spec"]
			return nil, keyError("spec", &v, "%v", err)
		}
		t := &cast{part: p, casts: casts, whole: whole, withDefault: cfg.Bool("replace.null.with.default")}
		for n := range casts {
			t.names = append(t.names, n)
		}
		return t, nil
	}
}

const castPurpose = "cast types"

func (t *cast) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	if v == nil {
		return true, nil
	}
	s := t.part.schema(r)
	if s == nil {
		if t.whole != "" {
			out, err := castValue(nil, v, t.whole)
			if err != nil {
				return false, err
			}
			t.part.set(r, own, nil, out)
			return true, nil
		}
		m, err := requireMap(v, castPurpose)
		if err != nil {
			return false, err
		}
		out := t.part.writable(m, own)
		for _, name := range t.names {
			cv, err := castValue(nil, m[name], t.casts[name])
			if err != nil {
				return false, err
			}
			out[name] = cv
		}
		t.part.setFresh(r, own, nil, out)
		return true, nil
	}
	plan, err := t.cache.get(s, t.buildPlan)
	if err != nil {
		return false, err
	}
	schema := plan.schema
	if t.whole != "" {
		out, err := castValue(s, v, t.whole)
		if err != nil {
			return false, err
		}
		t.part.set(r, own, schema, out)
		return true, nil
	}
	sv, err := requireStruct(v, castPurpose)
	if err != nil {
		return false, err
	}
	if sv.Schema() != s && !sv.Schema().Equal(s) {
		return false, dataErr("the struct's schema %s is not the record's schema %s", sv.Schema(), s)
	}
	out := own.structToFill(schema)
	for _, f := range sv.Schema().Fields {
		fv := field(sv, f, t.withDefault)
		if to := plan.to[f.Index]; to != "" {
			if fv, err = castValue(f.Schema, fv, to); err != nil {
				return false, err
			}
		}
		setField(out, f.Index, fv)
	}
	t.part.setFresh(r, own, schema, out)
	return true, nil
}

func (t *cast) buildPlan(in *connect.Schema) (*castPlan, error) {
	s, err := t.buildSchema(in)
	if err != nil {
		return nil, err
	}
	p := &castPlan{schema: s}
	if t.whole == "" {
		p.to = make([]connect.Type, len(in.Fields))
		for i, f := range in.Fields {
			p.to[i] = t.casts[f.Name]
		}
	}
	return p, nil
}

func (t *cast) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	var out *connect.Schema
	if t.whole != "" {
		out = copyBasics(in, t.whole)
	} else {
		if in.Type != connect.Struct {
			// Kafka Connect's SchemaBuilder refuses fields on a non-struct.
			return nil, dataErr("Only Struct objects supported for [%s], found: %s", castPurpose, javaType(in.Type))
		}
		fields := make([]connect.Field, 0, len(in.Fields))
		for _, f := range in.Fields {
			to, ok := t.casts[f.Name]
			if !ok {
				fields = append(fields, connect.Field{Name: f.Name, Schema: f.Schema})
				continue
			}
			fs := &connect.Schema{Type: to, Optional: f.Schema.Optional}
			if f.Schema.Default != nil {
				d, err := castValue(f.Schema, f.Schema.Default, to)
				if err != nil {
					return nil, err
				}
				fs.Default = d
			}
			fields = append(fields, connect.Field{Name: f.Name, Schema: fs})
		}
		out = structOf(copyBasics(in, connect.Struct), fields)
	}
	out.Optional = in.Optional
	if in.Default != nil {
		d, err := castValue(in, in.Default, out.Type)
		if err != nil {
			return nil, err
		}
		out.Default = d
	}
	return out, nil
}

// castValue is Kafka Connect's Cast.castValueToType.
func castValue(s *connect.Schema, v any, to connect.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	var from connect.Type
	if s == nil {
		from = connect.TypeOf(v)
		if from == "" {
			return nil, dataErr("Cast transformation was passed a value of type %s which is not supported by Connect's data API", javaClass(v))
		}
	} else {
		from = s.Type
	}
	if !contains(castInputs, javaType(from)) {
		return nil, dataErr("Cast transformation does not support casting from %s; supported types are [%s]", javaType(from), strings.Join(castInputs, ", "))
	}
	if s != nil && s.Name != "" && to != connect.String {
		if tv, ok := v.(time.Time); ok {
			switch s.Name {
			case connect.DateName:
				v = connect.DateToDays(tv)
			case connect.TimeName:
				v = connect.TimeToMillis(tv)
			case connect.TimestampName:
				v = tv.UnixMilli()
			}
		}
	}
	switch to {
	case connect.String:
		return castString(v), nil
	case connect.Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			return strings.EqualFold(x, "true"), nil
		}
		if n, ok := numberLong(v); ok {
			return n != 0, nil
		}
	case connect.Float32, connect.Float64:
		var f float64
		switch x := v.(type) {
		case bool:
			if x {
				f = 1
			}
		case string:
			bits := 64
			if to == connect.Float32 {
				bits = 32
			}
			p, ok := parseJavaFloat(x, bits)
			if !ok {
				return nil, dataErr("Value (%s) was out of range for requested data type", x)
			}
			f = p
		default:
			d, ok := numberDouble(v)
			if !ok {
				return nil, dataErr("Unexpected type in Cast transformation: %s", javaClass(v))
			}
			f = d
		}
		if to == connect.Float32 {
			return float32(f), nil
		}
		return f, nil
	default: // the integer types
		var n int64
		switch x := v.(type) {
		case bool:
			if x {
				n = 1
			}
		case string:
			bits := map[connect.Type]int{connect.Int8: 8, connect.Int16: 16, connect.Int32: 32, connect.Int64: 64}[to]
			p, err := strconv.ParseInt(x, 10, bits)
			if err != nil {
				return nil, dataErr("Value (%s) was out of range for requested data type", x)
			}
			n = p
		default:
			l, ok := numberTo(v, to)
			if !ok {
				return nil, dataErr("Unexpected type in Cast transformation: %s", javaClass(v))
			}
			n = l
		}
		switch to {
		case connect.Int8:
			return int8(n), nil
		case connect.Int16:
			return int16(n), nil
		case connect.Int32:
			return int32(n), nil
		}
		return n, nil
	}
	return nil, dataErr("Unexpected type in Cast transformation: %s", javaClass(v))
}

// numberLong is Java's Number.longValue.
func numberLong(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float32:
		return doubleToLong(float64(x)), true
	case float64:
		return doubleToLong(x), true
	case connect.Decimal:
		return decimalLong(x), true
	}
	return 0, false
}

// numberTo is Java's Number.byteValue, shortValue, intValue or longValue:
// floating-point values go through int (long for longValue), then narrow.
func numberTo(v any, to connect.Type) (int64, bool) {
	if to != connect.Int64 {
		switch x := v.(type) {
		case float32:
			return int64(doubleToInt(float64(x))), true
		case float64:
			return int64(doubleToInt(x)), true
		case connect.Decimal:
			return int64(int32(decimalLong(x))), true
		}
	}
	return numberLong(v)
}

// numberDouble is Java's Number.doubleValue.
func numberDouble(v any) (float64, bool) {
	switch x := v.(type) {
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case connect.Decimal:
		return decimalDouble(x), true
	}
	return 0, false
}

// parseJavaFloat is Float.parseFloat (bits 32) or Double.parseDouble:
// blanks trimmed, an optional f/F/d/D suffix, NaN and Infinity spelled as
// Java spells them.
func parseJavaFloat(s string, bits int) (float64, bool) {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false
	}
	switch body {
	case "NaN", "Infinity":
	case "":
		return 0, false
	default:
		if last := body[len(body)-1]; last == 'f' || last == 'F' || last == 'd' || last == 'D' {
			s = s[:len(s)-1]
			body = body[:len(body)-1]
		}
		for i := 0; i < len(body); i++ {
			c := body[i]
			isHex := strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X")
			if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
				isHex && (c == 'x' || c == 'X' || c == 'p' || c == 'P' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
				return 0, false
			}
		}
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // Java rounds to infinity or zero
		}
		return 0, false
	}
	return f, true
}

// javaStrings renders floats and decimals as Java's toString does, through
// the string converter, which writes Kafka Connect's Values form.
var javaStrings, _ = converters.New("string")

// castString is Kafka Connect's Cast.castToString.
func castString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return javaDateString(x)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case bool:
		return strconv.FormatBool(x)
	case int8, int16, int32, int64:
		n, _ := numberLong(x)
		return strconv.FormatInt(n, 10)
	}
	if javaStrings != nil {
		if b, err := javaStrings.FromConnect("", nil, v); err == nil {
			return string(b)
		}
	}
	return ""
}

// javaDateString is Kafka Connect's Values.dateFormatFor: a time on the
// epoch day as a time, a midnight as a date, anything else as a timestamp.
func javaDateString(t time.Time) string {
	msec := t.UnixMilli()
	u := time.UnixMilli(msec).UTC()
	switch {
	case msec < 24*60*60*1000:
		return u.Format("15:04:05.000Z")
	case msec%(24*60*60*1000) == 0:
		return u.Format("2006-01-02")
	}
	return u.Format("2006-01-02T15:04:05.000Z")
}
