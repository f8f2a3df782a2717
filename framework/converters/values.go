package converters

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// This file holds the string form of Connect values that Kafka Connect's
// Values class defines (convertToString and parseString): the
// SimpleHeaderConverter writes header values in it and infers their schema
// back from it, and the StringConverter uses it for values that are not
// strings.

// appendValueString appends v as Values.convertToString writes it: numbers
// as Java prints them, bytes in base64, arrays as [a,b], maps and structs as
// {k:v}, strings quoted only inside arrays, maps and structs, times in ISO
// 8601 (UTC). s, when known, picks the format of a time.Time (Kafka Connect
// guesses it from the value); map entries are sorted.
func appendValueString(dst []byte, s *connect.Schema, v any, embedded bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nesting deeper than %d levels", maxDepth)
	}
	if isNil(v) {
		return append(dst, "null"...), nil
	}
	var err error
	switch x := v.(type) {
	case string:
		if !embedded {
			return append(dst, x...), nil
		}
		dst = append(dst, '"')
		for i := 0; i < len(x); i++ {
			if x[i] == '"' || x[i] == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, x[i])
		}
		return append(dst, '"'), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float32:
		return appendJavaFloat(dst, float64(x), 32), nil
	case float64:
		return appendJavaFloat(dst, x, 64), nil
	case json.Number:
		return append(dst, x...), nil
	case connect.Decimal:
		return appendJavaDecimal(dst, x), nil
	case []byte:
		if embedded {
			dst = append(dst, '"')
		}
		dst = base64.StdEncoding.AppendEncode(dst, x)
		if embedded {
			dst = append(dst, '"')
		}
		return dst, nil
	case time.Time:
		return appendTimeString(dst, s, x), nil
	case []any:
		var items *connect.Schema
		if s != nil {
			items = s.Items
		}
		dst = append(dst, '[')
		for i, el := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValueString(dst, items, el, true, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, el := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst, _ = appendValueString(dst, nil, el, true, depth+1)
		}
		return append(dst, ']'), nil
	case map[string]any:
		m := make(map[any]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return appendMapString(dst, s, m, depth)
	case map[string]string:
		m := make(map[any]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return appendMapString(dst, s, m, depth)
	case map[any]any:
		return appendMapString(dst, s, x, depth)
	case *connect.StructValue:
		if x.Schema() == nil {
			return nil, errors.New("struct value has no schema")
		}
		dst = append(dst, '{')
		for i, f := range x.Schema().Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst, _ = appendValueString(dst, nil, f.Name, true, depth+1)
			dst = append(dst, ':')
			fv := x.GetIndex(i)
			if isNil(fv) && f.Schema != nil {
				fv = f.Schema.Default // Struct.get applies defaults
			}
			if dst, err = appendValueString(dst, f.Schema, fv, true, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("Failed to serialize unexpected value type %T", v)
}

func appendMapString(dst []byte, s *connect.Schema, m map[any]any, depth int) ([]byte, error) {
	var keys, values *connect.Schema
	if s != nil {
		keys, values = s.Keys, s.Values
	}
	type entry struct {
		key []byte
		val any
	}
	entries := make([]entry, 0, len(m))
	for k, v := range m {
		kb, err := appendValueString(nil, keys, k, true, depth+1)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{kb, v})
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.key...)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValueString(dst, values, e.val, true, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

const (
	dateLayout      = "2006-01-02"
	timeLayout      = "15:04:05.000"
	timestampLayout = "2006-01-02T15:04:05.000"
)

// temporalNumber is the number Kafka Connect's logical type named name
// writes for v: a Date's days since the epoch (v at a midnight), a Time's
// milliseconds of the day (v on the epoch's day), a Timestamp's
// milliseconds since the epoch; with Kafka Connect's errors for values
// that are not time.Time or do not fit.
func temporalNumber(name string, v any) (int64, error) {
	t, ok := v.(time.Time)
	if !ok {
		return 0, fmt.Errorf("Invalid type for %s, expected time.Time but was %T", strings.TrimPrefix(name, "org.apache.kafka.connect.data."), v)
	}
	ms := t.UnixMilli()
	switch name {
	case connect.DateName:
		if ms%msPerDay != 0 {
			return 0, errors.New("Kafka Connect Date type should not have any time fields set to non-zero values.")
		}
		return ms / msPerDay, nil
	case connect.TimeName:
		if ms < 0 || ms > msPerDay {
			return 0, errors.New("Kafka Connect Time type should not have any date fields set to non-zero values.")
		}
	}
	return ms, nil
}

// appendTimeString writes t as a Date, Time or Timestamp in UTC: as s says
// when t fits it, else guessing as Kafka Connect's Values.dateFormatFor
// does (a Time within the epoch's first day, a Date at a midnight, else a
// Timestamp). Unlike Kafka Connect it never writes a time of day for an
// instant before 1970, which would lose its date.
func appendTimeString(dst []byte, s *connect.Schema, t time.Time) []byte {
	ms := t.UnixMilli()
	name := ""
	if s != nil {
		name = s.Name
	}
	isTime := ms >= 0 && ms < msPerDay
	isDate := ms%msPerDay == 0
	u := time.UnixMilli(ms).UTC()
	switch {
	case name == connect.TimestampName:
	case name == connect.DateName && isDate:
		return u.AppendFormat(dst, dateLayout)
	case name == connect.TimeName && isTime, isTime:
		return append(u.AppendFormat(dst, timeLayout), 'Z')
	case isDate:
		return u.AppendFormat(dst, dateLayout)
	}
	return append(u.AppendFormat(dst, timestampLayout), 'Z')
}

// parseValueString infers a schema and value from a string as Kafka
// Connect's Values.parseString does: "true"/"false" are booleans; integers
// take the smallest of int8..int64 that holds them ("1.0" and "1e3" count as
// integers); other numbers are float32 when finite as one, else float64,
// else Decimal; ISO 8601 dates, times ("12:34:56.789Z") and timestamps are
// the logical types; [..] and {..} are arrays and maps of such values with a
// common schema where the elements share one; "null" is null; anything else
// is the string itself.
//
// Unlike Kafka Connect it never returns part of its input as the value (it
// reads "12,13" as a string, not as 12), unescapes \" and \\ in quoted
// strings, and parses dates strictly, in UTC.
func parseValueString(s string) (*connect.Schema, any) {
	if s == "" {
		return connect.StringSchema, s
	}
	t := strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	switch t {
	case "null":
		return nil, nil
	case "true":
		return connect.BooleanSchema, true
	case "false":
		return connect.BooleanSchema, false
	case "":
		return connect.StringSchema, s
	}
	if t[0] == '[' || t[0] == '{' {
		p := valueParser{s: t}
		if sch, v, err := p.value(); err == nil {
			if p.ws(); p.i == len(t) {
				return sch, v
			}
		}
	}
	if isDigit(t[0]) {
		if sch, v, n := temporalPrefix(t); n == len(t) {
			return sch, v
		}
	}
	if isDigit(t[0]) || t[0] == '+' || t[0] == '-' {
		if sch, v, ok := parseNumberString(t); ok {
			return sch, v
		}
	}
	return connect.StringSchema, s
}

// valueParser reads the values embedded in an array or map string.
type valueParser struct {
	s     string
	i     int
	depth int
}

var errEmbedded = errors.New("Failed to parse embedded value")

func (p *valueParser) ws() {
	for p.i < len(p.s) && p.s[p.i] <= ' ' {
		p.i++
	}
}

func isValueDelimiter(c byte) bool {
	switch c {
	case ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// value reads one embedded value; null is a nil schema and value.
func (p *valueParser) value() (*connect.Schema, any, error) {
	p.ws()
	if p.i >= len(p.s) {
		return nil, nil, errEmbedded
	}
	switch p.s[p.i] {
	case '"':
		str, err := p.quoted()
		if err != nil {
			return nil, nil, err
		}
		if len(str) > 0 && isDigit(str[0]) {
			if sch, v, n := temporalPrefix(str); n == len(str) {
				return sch, v, nil
			}
		}
		return connect.StringSchema, str, nil
	case '[':
		return p.array()
	case '{':
		return p.mapValue()
	}
	if isDigit(p.s[p.i]) {
		// Times hold colons, which delimit map entries: match them first.
		if sch, v, n := temporalPrefix(p.s[p.i:]); n > 0 {
			if end := p.i + n; end == len(p.s) || p.s[end] <= ' ' || isValueDelimiter(p.s[end]) {
				p.i = end
				return sch, v, nil
			}
		}
	}
	start := p.i
	for p.i < len(p.s) && !isValueDelimiter(p.s[p.i]) {
		p.i++
	}
	tok := strings.TrimFunc(p.s[start:p.i], func(r rune) bool { return r <= ' ' })
	switch tok {
	case "null":
		return nil, nil, nil
	case "true":
		return connect.BooleanSchema, true, nil
	case "false":
		return connect.BooleanSchema, false, nil
	}
	if tok != "" && (isDigit(tok[0]) || tok[0] == '+' || tok[0] == '-') {
		if sch, v, ok := parseNumberString(tok); ok {
			return sch, v, nil
		}
	}
	return nil, nil, errEmbedded
}

func (p *valueParser) quoted() (string, error) {
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; c {
		case '"':
			p.i++
			return b.String(), nil
		case '\\':
			if p.i+1 < len(p.s) {
				p.i++
				c = p.s[p.i]
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted string")
}

func (p *valueParser) push() error {
	p.depth++
	if p.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *valueParser) array() (*connect.Schema, any, error) {
	if err := p.push(); err != nil {
		return nil, nil, err
	}
	p.i++
	var merged schemaMerger
	var schemas []*connect.Schema
	vals := []any{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return connect.ArraySchema(nil).Build(), vals, nil
	}
	for {
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			return nil, nil, errors.New("Unable to parse an empty array element")
		}
		sch, v, err := p.value()
		if err != nil {
			return nil, nil, err
		}
		merged.merge(sch)
		schemas, vals = append(schemas, sch), append(vals, v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, nil, errors.New("Array is missing terminating ']'")
		}
		if p.s[p.i] == ']' {
			p.i++
			break
		}
		if p.s[p.i] != ',' {
			return nil, nil, errors.New("Array elements missing ',' delimiter")
		}
		p.i++
	}
	p.depth--
	if merged.common == nil {
		return connect.ArraySchema(nil).Build(), vals, nil
	}
	for i, v := range vals {
		var ok bool
		if vals[i], ok = align(merged.common, schemas[i], v); !ok {
			return nil, nil, errEmbedded
		}
	}
	return connect.ArraySchema(merged.common).Build(), vals, nil
}

func (p *valueParser) mapValue() (*connect.Schema, any, error) {
	if err := p.push(); err != nil {
		return nil, nil, err
	}
	p.i++
	var keys, vals []any
	var keySchemas, valSchemas []*connect.Schema
	index := map[any]int{} // a repeated key replaces the entry, as in a Java map
	for {
		p.ws()
		if p.i >= len(p.s) {
			return nil, nil, errors.New("Map is missing terminating '}'")
		}
		if p.s[p.i] == '}' {
			p.i++
			break
		}
		if p.s[p.i] == ',' {
			return nil, nil, errors.New("Unable to parse a map entry with no key or value")
		}
		ks, k, err := p.value()
		if err != nil {
			return nil, nil, err
		}
		if k == nil {
			return nil, nil, errors.New("Map entry may not have a null key")
		}
		if p.ws(); p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, nil, errors.New("Map entry is missing ':'")
		}
		p.i++
		vs, v, err := p.value()
		if err != nil {
			return nil, nil, err
		}
		switch k.(type) {
		case []any, map[string]any, map[any]any:
			return nil, nil, errors.New("map key cannot be a Go map key")
		}
		if i, ok := index[k]; ok {
			vals[i], keySchemas[i], valSchemas[i] = v, ks, vs
		} else {
			index[k] = len(keys)
			keys, vals = append(keys, k), append(vals, v)
			keySchemas, valSchemas = append(keySchemas, ks), append(valSchemas, vs)
		}
		if p.ws(); p.i < len(p.s) && p.s[p.i] == ',' { // Kafka Connect makes the comma optional
			p.i++
		}
	}
	p.depth--
	var keyMerged, valMerged schemaMerger
	for i := range keys {
		keyMerged.merge(keySchemas[i])
		valMerged.merge(valSchemas[i])
	}
	kc, vc := keyMerged.common, valMerged.common
	if kc == nil {
		vc = nil
	}
	for i := range keys {
		var ok bool
		if kc != nil {
			if keys[i], ok = align(kc, keySchemas[i], keys[i]); !ok {
				return nil, nil, errEmbedded
			}
		}
		if vc != nil {
			if vals[i], ok = align(vc, valSchemas[i], vals[i]); !ok {
				return nil, nil, errEmbedded
			}
		}
	}
	schema := connect.MapSchema(kc, vc).Build()
	if kc != nil && kc.Type == connect.String {
		m := make(map[string]any, len(keys))
		for i, k := range keys {
			m[k.(string)] = vals[i]
		}
		return schema, m, nil
	}
	m := make(map[any]any, len(keys))
	for i, k := range keys {
		m[k] = vals[i]
	}
	return schema, m, nil
}

// schemaMerger finds the schema common to a run of values, as Kafka
// Connect's Values.SchemaMerger does: nulls are skipped, numbers widen.
type schemaMerger struct {
	common       *connect.Schema
	incompatible bool
}

func (m *schemaMerger) merge(s *connect.Schema) {
	if s == nil || m.incompatible {
		return
	}
	if m.common == nil {
		m.common = s
		return
	}
	m.common = mergeSchemas(m.common, s)
	m.incompatible = m.common == nil
}

func numericRank(t connect.Type) int {
	switch t {
	case connect.Int8:
		return 1
	case connect.Int16:
		return 2
	case connect.Int32:
		return 3
	case connect.Int64:
		return 4
	case connect.Float32:
		return 5
	case connect.Float64:
		return 6
	}
	return 0
}

func mergeSchemas(prev, next *connect.Schema) *connect.Schema {
	if prev.Type != next.Type {
		rp, rn := numericRank(prev.Type), numericRank(next.Type)
		switch {
		case rp == 0 || rn == 0:
			return nil
		case rn > rp:
			return next
		}
		return prev
	}
	if prev.Optional == next.Optional {
		if prev.Optional {
			return prev
		}
		return next
	}
	if !sameSchema(prev, next, 0) {
		return nil
	}
	return prev
}

// align converts v, of schema from, to the common schema to: a widening of
// a number, or nothing.
func align(to, from *connect.Schema, v any) (any, bool) {
	if v == nil || from == to || from.Type == to.Type && from.Name == to.Name {
		return v, true
	}
	if _, ok := v.(time.Time); ok && isTemporal(from.Name) && isTemporal(to.Name) {
		return v, true
	}
	if from.Name != "" || to.Name != "" {
		return nil, false
	}
	var n int64
	var f float64
	isFloat := false
	switch x := v.(type) {
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case float32:
		f, isFloat = float64(x), true
	case float64:
		f, isFloat = x, true
	default:
		return nil, false
	}
	if !isFloat {
		f = float64(n)
	}
	switch to.Type {
	case connect.Int16:
		return int16(n), !isFloat
	case connect.Int32:
		return int32(n), !isFloat
	case connect.Int64:
		return n, !isFloat
	case connect.Float32:
		return float32(f), true
	case connect.Float64:
		return f, true
	}
	return nil, false
}

func isTemporal(name string) bool {
	return name == connect.DateName || name == connect.TimeName || name == connect.TimestampName
}

// parseNumberString parses s as Java's BigDecimal does and picks the
// narrowest schema, as Values.parseAsNumber does.
func parseNumberString(s string) (*connect.Schema, any, bool) {
	if len(s) > maxNumberLen {
		return nil, nil, false // not worth big-number arithmetic: a string
	}
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := s[start:i]
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fs:i]
	}
	if intDigits == "" && frac == "" {
		return nil, nil, false
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		es := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp <= math.MaxInt32 {
				exp = exp*10 + int64(s[i]-'0')
			}
		}
		if i == es || exp > math.MaxInt32 {
			return nil, nil, false
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return nil, nil, false
	}
	mant := intDigits + frac
	scale := int64(len(frac)) - exp
	if scale < math.MinInt32 || scale > math.MaxInt32 {
		return nil, nil, false
	}
	if n, ok := exactInteger(mant, scale, neg); ok {
		switch {
		case n >= math.MinInt8 && n <= math.MaxInt8:
			return connect.Int8Schema, int8(n), true
		case n >= math.MinInt16 && n <= math.MaxInt16:
			return connect.Int16Schema, int16(n), true
		case n >= math.MinInt32 && n <= math.MaxInt32:
			return connect.Int32Schema, int32(n), true
		}
		return connect.Int64Schema, n, true
	}
	if scale != 0 {
		// The syntax is checked above; a range error is an infinity (too
		// large, which fails) or zero (too small, which Java keeps too).
		if f, _ := strconv.ParseFloat(s, 32); !math.IsInf(f, 0) {
			return connect.Float32Schema, float32(f), true
		}
		if f, _ := strconv.ParseFloat(s, 64); !math.IsInf(f, 0) {
			return connect.Float64Schema, f, true
		}
	}
	unscaled, ok := new(big.Int).SetString(mant, 10)
	if !ok {
		return nil, nil, false
	}
	if neg {
		unscaled.Neg(unscaled)
	}
	return connect.DecimalSchema(int32(scale)).Build(), connect.Decimal{Unscaled: unscaled, Scale: int32(scale)}, true
}

// exactInteger returns mant × 10^-scale when that is an integer that fits
// in an int64.
func exactInteger(mant string, scale int64, neg bool) (int64, bool) {
	m := strings.TrimLeft(mant, "0")
	if m == "" {
		return 0, true
	}
	if scale > 0 {
		if int64(len(m)) < scale || strings.TrimRight(m[int64(len(m))-scale:], "0") != "" {
			return 0, false
		}
		if m = m[:int64(len(m))-scale]; len(m) > 19 {
			return 0, false
		}
	} else if int64(len(m))-scale > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range []byte(m) {
		u = u*10 + uint64(c-'0') // at most 19 digits: no overflow
	}
	for ; scale < 0; scale++ {
		if u > math.MaxUint64/10 {
			return 0, false
		}
		u *= 10
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// temporalPrefix matches an ISO 8601 timestamp ("2006-01-02T15:04:05.000Z"),
// time ("15:04:05.000Z") or date ("2006-01-02") at the start of s and
// returns how many bytes it took, or 0.
func temporalPrefix(s string) (*connect.Schema, any, int) {
	if len(s) >= 24 && s[10] == 'T' {
		if d, ok := parseDate(s[:10]); ok {
			if ms, ok := parseTimeOfDay(s[11:24]); ok {
				return connect.TimestampSchema().Build(), d.Add(time.Duration(ms) * time.Millisecond), 24
			}
		}
	}
	if len(s) >= 13 {
		if ms, ok := parseTimeOfDay(s[:13]); ok {
			return connect.TimeSchema().Build(), connect.MillisToTime(int32(ms)), 13
		}
	}
	if len(s) >= 10 {
		if d, ok := parseDate(s[:10]); ok {
			return connect.DateSchema().Build(), d, 10
		}
	}
	return nil, nil, 0
}

func digitsAt(s string, i, n int) (int, bool) {
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseDate parses yyyy-MM-dd (10 bytes) as midnight UTC.
func parseDate(s string) (time.Time, bool) {
	if s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digitsAt(s, 0, 4)
	m, ok2 := digitsAt(s, 5, 2)
	d, ok3 := digitsAt(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 31 April and the like roll over
		return time.Time{}, false
	}
	return t, true
}

// parseTimeOfDay parses HH:mm:ss.SSSZ (13 bytes) to milliseconds since midnight.
func parseTimeOfDay(s string) (int, bool) {
	if s[2] != ':' || s[5] != ':' || s[8] != '.' || s[12] != 'Z' {
		return 0, false
	}
	h, ok1 := digitsAt(s, 0, 2)
	m, ok2 := digitsAt(s, 3, 2)
	sec, ok3 := digitsAt(s, 6, 2)
	ms, ok4 := digitsAt(s, 9, 3)
	if !ok1 || !ok2 || !ok3 || !ok4 || h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return ((h*60+m)*60+sec)*1000 + ms, true
}
