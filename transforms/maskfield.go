package transforms

import (
	"math/big"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// MaskField: Kafka Connect's org.apache.kafka.connect.transforms.MaskField$Key and $Value.

var maskFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "fields", Type: connect.TypeList, Required: true, Importance: connect.High,
		Validator: nonEmptyList, Doc: "The fields to mask."},
	connect.ConfigKey{Name: "replacement", Type: connect.TypeString, Importance: connect.Low,
		Validator: func(v any) error {
			if v.(string) == "" {
				return errf("String must be non-empty")
			}
			return nil
		},
		Doc: "A value to put in every masked field instead of the type's empty value; numeric and string fields only."},
	replaceNullKey,
)

type maskField struct {
	part        part
	fields      map[string]bool
	names       []string
	replace     *maskReplacement
	withDefault bool
	cache       schemaCache[*maskPlan]
}

// maskPlan is what MaskField works out once per input schema.
type maskPlan struct {
	mask     []bool // by field index: mask it
	masked   []int  // the indexes of the fields to mask, in order
	defaults []int  // the indexes of the other fields that have a default
}

// maskReplacement is the replacement converted once for each type it can
// replace, as Kafka Connect converts it per value (Values.convertToX,
// new BigDecimal): a value, or the error converting gave.
type maskReplacement struct {
	raw            string
	i8             int8
	i16            int16
	i32            int32
	i64            int64
	f32            float32
	f64            float64
	dec            connect.Decimal
	numErr, decErr error
}

func newMaskReplacement(s string) *maskReplacement {
	m := &maskReplacement{raw: s}
	d, ok := parseBigDecimal(s)
	if !ok {
		// Values.asLong / asDouble, on a string that is not a number.
		m.numErr = dataErr("Unable to convert %s (class java.lang.String) to a number", s)
		m.decErr = dataErr("Unable to convert %s (class java.lang.String) to number", s)
		return m
	}
	l := decimalLong(d)
	m.i8, m.i16, m.i32, m.i64 = int8(l), int16(l), int32(l), l
	m.f64 = decimalDouble(d)
	m.f32 = float32(m.f64)
	m.dec = d
	return m
}

func newMaskField(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		t := &maskField{part: p, fields: map[string]bool{}, withDefault: cfg.Bool("replace.null.with.default")}
		for _, f := range cfg.List("fields") {
			if !t.fields[f] {
				t.fields[f] = true
				t.names = append(t.names, f)
			}
		}
		if r := optString(cfg, "replacement"); r != nil {
			t.replace = newMaskReplacement(*r)
		}
		return t, nil
	}
}

const maskPurpose = "mask fields"

func (t *maskField) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	s := t.part.schema(r)
	if s == nil {
		m, err := requireMap(v, maskPurpose)
		if err != nil {
			return false, err
		}
		out := t.part.writable(m, own)
		for _, f := range t.names {
			mv, err := t.masked(m[f])
			if err != nil {
				return false, err
			}
			out[f] = mv
		}
		t.part.setFresh(r, own, nil, out)
		return true, nil
	}
	sv, err := requireStruct(v, maskPurpose)
	if err != nil {
		return false, err
	}
	in := sv.Schema()
	plan, _ := t.cache.get(in, t.buildPlan)
	if t.part.owns(own) {
		// A struct this chain made is masked in place: only the fields
		// that change are written, the masked ones and null ones that
		// read as their default. (A failure drops the whole record, so
		// a half-masked struct is never seen.)
		for _, i := range plan.masked {
			fv, err := t.masked(field(sv, in.Fields[i], t.withDefault))
			if err != nil {
				return false, err
			}
			setField(sv, i, fv)
		}
		if t.withDefault {
			for _, i := range plan.defaults {
				if sv.GetIndex(i) == nil {
					sv.SetIndex(i, in.Fields[i].Schema.Default)
				}
			}
		}
		return true, nil
	}
	out := own.structToFill(in)
	for _, f := range in.Fields {
		fv := field(sv, f, t.withDefault)
		if plan.mask[f.Index] {
			if fv, err = t.masked(fv); err != nil {
				return false, err
			}
		}
		setField(out, f.Index, fv)
	}
	t.part.setFresh(r, own, s, out)
	return true, nil
}

func (t *maskField) buildPlan(in *connect.Schema) (*maskPlan, error) {
	p := &maskPlan{mask: make([]bool, len(in.Fields))}
	for i, f := range in.Fields {
		switch {
		case t.fields[f.Name]:
			p.mask[i] = true
			p.masked = append(p.masked, i)
		case f.Schema.Default != nil:
			p.defaults = append(p.defaults, i)
		}
	}
	return p, nil
}

func (t *maskField) mapsPart() (part, bool) { return t.part, true }

// fieldPlan: every field as it is, the masked ones masked.
func (t *maskField) fieldPlan(in *connect.Schema) (*fieldPlan, error) {
	plan, _ := t.cache.get(in, t.buildPlan)
	p := identityPlan(in, in, t.withDefault)
	for _, i := range plan.masked {
		p.src[i].ops = append(p.src[i].ops, fieldOp{fn: t.masked})
	}
	return p, nil
}

var epoch = time.UnixMilli(0).UTC()

func (t *maskField) masked(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t.replace != nil {
		return t.replace.forValue(v)
	}
	switch x := v.(type) {
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case string:
		return "", nil
	case connect.Decimal:
		// Kafka Connect writes BigDecimal.ZERO (scale 0), which its
		// converters then refuse for a Decimal schema of another scale;
		// zero at the value's own scale keeps the record writable.
		return connect.Decimal{Unscaled: new(big.Int), Scale: x.Scale}, nil
	case time.Time:
		return epoch, nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case map[any]any:
		return map[any]any{}, nil
	}
	return nil, dataErr("Cannot mask value of type: %s", javaClass(v))
}

func (m *maskReplacement) forValue(v any) (any, error) {
	switch v.(type) {
	case string:
		return m.raw, nil
	case int8:
		return m.i8, m.numErr
	case int16:
		return m.i16, m.numErr
	case int32:
		return m.i32, m.numErr
	case int64:
		return m.i64, m.numErr
	case float32:
		return m.f32, m.numErr
	case float64:
		return m.f64, m.numErr
	case connect.Decimal:
		return m.dec, m.decErr
	}
	return nil, dataErr("Cannot mask value of type %s with custom replacement.", javaClass(v))
}
