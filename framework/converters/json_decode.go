package converters

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/connectd/connectd/framework/connect"
)

// maxNumberLen bounds a number's text, as Jackson's default stream
// constraints do; it keeps a hostile input from costing big-number
// arithmetic.
const maxNumberLen = 1000

// syntaxError is data that is not JSON as Kafka Connect's parser accepts it.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at offset %d: %s", e.off, e.msg)
}

// decoder reads JSON the way Kafka Connect's JsonConverter does (Jackson with
// leading zeros allowed, floats kept as exact decimals) and converts it to
// Connect data as it goes, without building a tree first. It is stricter than
// Kafka Connect where Kafka Connect silently produces wrong data: a value that
// does not fit its schema (a string for an int32, 300 for an int8, trailing
// text after the document) is an error here.
type decoder struct {
	data        []byte
	pos         int
	depth       int
	replaceNull bool
}

func (d *decoder) syntax(msg string) error { return &syntaxError{msg: msg, off: d.pos} }

func (d *decoder) skipBOM() {
	if bytes.HasPrefix(d.data, []byte("\xEF\xBB\xBF")) {
		d.pos = 3
	}
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// end checks that only whitespace follows.
func (d *decoder) end() error {
	d.ws()
	if d.pos != len(d.data) {
		return d.syntax("unexpected data after the JSON value")
	}
	return nil
}

func (d *decoder) push() error {
	d.depth++
	if d.depth > maxDepth {
		return d.syntax(fmt.Sprintf("nesting deeper than %d levels", maxDepth))
	}
	return nil
}

// nodeType names the JSON type of the value starting with c, as Jackson's
// JsonNodeType does in Kafka Connect's messages.
func nodeType(c byte) string {
	switch c {
	case '{':
		return "OBJECT"
	case '[':
		return "ARRAY"
	case '"':
		return "STRING"
	case 't', 'f':
		return "BOOLEAN"
	case 'n':
		return "NULL"
	}
	return "NUMBER"
}

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isNumStart(c byte) bool { return c == '-' || isDigit(c) }

func (d *decoder) literal(lit string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(lit)) {
		return d.syntax("unrecognized token")
	}
	d.pos += len(lit)
	return nil
}

// number scans a number and reports whether it is integral (no fraction, no
// exponent), as Jackson tells an IntNode or LongNode from a DecimalNode.
func (d *decoder) number() (lit []byte, integral bool, err error) {
	data, start, i := d.data, d.pos, d.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := i
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	if i == digits {
		return nil, false, &syntaxError{"invalid number", start}
	}
	integral = true
	if i < len(data) && data[i] == '.' {
		i++
		frac := i
		for i < len(data) && isDigit(data[i]) {
			i++
		}
		if i == frac {
			return nil, false, &syntaxError{"decimal point not followed by a digit", i}
		}
		integral = false
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		exp := i
		for i < len(data) && isDigit(data[i]) {
			i++
		}
		if i == exp {
			return nil, false, &syntaxError{"exponent not followed by a digit", i}
		}
		integral = false
	}
	if i-start > maxNumberLen {
		return nil, false, &syntaxError{fmt.Sprintf("number longer than %d characters", maxNumberLen), start}
	}
	d.pos = i
	return data[start:i], integral, nil
}

// parseInt parses an integral literal; ok is false when it does not fit in
// an int64.
func parseInt(lit []byte) (n int64, ok bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var u uint64
	for _, c := range lit {
		dv := uint64(c - '0')
		if u > (math.MaxUint64-dv)/10 {
			return 0, false
		}
		u = u*10 + dv
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

// strBytes reads a string and returns its content: a slice of d.data when it
// has no escapes, else a new slice. Like Jackson, it rejects raw control
// characters and invalid UTF-8.
func (d *decoder) strBytes() ([]byte, error) {
	data, start := d.data, d.pos+1
	for i := start; i < len(data); {
		c := data[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			return data[start:i], nil
		case c == '\\':
			return d.strSlow(append([]byte(nil), data[start:i]...), i)
		case c < 0x20:
			return nil, &syntaxError{"unescaped control character in string", i}
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, &syntaxError{"invalid UTF-8 in string", i}
		}
		i += size
	}
	return nil, &syntaxError{"unterminated string", d.pos}
}

func (d *decoder) strSlow(buf []byte, i int) ([]byte, error) {
	data := d.data
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return buf, nil
		case c == '\\':
			if i+1 >= len(data) {
				return nil, &syntaxError{"unterminated string", i}
			}
			esc := data[i+1]
			i += 2
			switch esc {
			case '"', '\\', '/':
				buf = append(buf, esc)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(data[i:])
				if !ok {
					return nil, &syntaxError{`invalid \u escape`, i - 2}
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A pair makes one rune; a lone half is not a
					// character, and Go strings hold U+FFFD for it.
					r2, ok := rune(0), false
					if r < 0xDC00 && i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
						r2, ok = hex4(data[i+2:])
					}
					if ok && 0xDC00 <= r2 && r2 <= 0xDFFF {
						r = utf16.DecodeRune(r, r2)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return nil, &syntaxError{"invalid escape in string", i - 2}
			}
		case c < 0x20:
			return nil, &syntaxError{"unescaped control character in string", i}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, &syntaxError{"invalid UTF-8 in string", i}
			}
			buf = append(buf, data[i:i+size]...)
			i += size
		}
	}
	return nil, &syntaxError{"unterminated string", i}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (d *decoder) str() (string, error) {
	b, err := d.strBytes()
	return string(b), err
}

// key reads an object member's name and the colon after it.
func (d *decoder) key() ([]byte, error) {
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.syntax("expected a member name")
	}
	k, err := d.strBytes()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != ':' {
		return nil, d.syntax("expected ':' after a member name")
	}
	d.pos++
	return k, nil
}

// open consumes the '{' or '[' at d.pos and reports whether the container
// is empty (its closing bracket consumed too).
func (d *decoder) open(closer byte) (empty bool, err error) {
	if err := d.push(); err != nil {
		return false, err
	}
	d.pos++
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == closer {
		d.pos++
		d.depth--
		return true, nil
	}
	return false, nil
}

// next consumes the ',' or closing bracket after a member or element and
// reports whether another follows.
func (d *decoder) next(closer byte) (more bool, err error) {
	d.ws()
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ',':
			d.pos++
			return true, nil
		case closer:
			d.pos++
			d.depth--
			return false, nil
		}
	}
	return false, d.syntax(fmt.Sprintf("expected ',' or '%c'", closer))
}

// skipValue validates and steps over one value.
func (d *decoder) skipValue() error {
	d.ws()
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of data")
	}
	switch c := d.data[d.pos]; {
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		empty, err := d.open(closer)
		for more := !empty; err == nil && more; more, err = d.next(closer) {
			if c == '{' {
				if _, err = d.key(); err != nil {
					break
				}
			}
			if err = d.skipValue(); err != nil {
				break
			}
		}
		return err
	case c == '"':
		_, err := d.strBytes()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case isNumStart(c):
		_, _, err := d.number()
		return err
	}
	return d.syntax("unexpected character")
}

// null returns what a JSON null (or a missing struct field) becomes under s.
func (d *decoder) null(s *connect.Schema) (any, error) {
	switch {
	case s == nil:
		return nil, nil
	case hasDefault(s) && d.replaceNull:
		return s.Default, nil
	case s.Optional:
		return nil, nil
	}
	return nil, fmt.Errorf("Invalid null value for required %s field", javaType(s.Type))
}

func mismatch(s *connect.Schema, c byte) error {
	return fmt.Errorf("Invalid value for %s schema: found %s", javaType(s.Type), nodeType(c))
}

// value reads one value and converts it as s describes; a nil s means
// schemaless.
func (d *decoder) value(s *connect.Schema) (any, error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, d.syntax("unexpected end of data")
	}
	c := d.data[d.pos]
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return nil, err
		}
		return d.null(s)
	}
	if s == nil {
		return d.schemaless(c)
	}
	switch s.Name {
	case connect.DecimalName:
		return d.decimal(s, c)
	case connect.DateName, connect.TimeName, connect.TimestampName:
		return d.temporal(s, c)
	}
	switch s.Type {
	case connect.Boolean:
		switch c {
		case 't':
			return true, d.literal("true")
		case 'f':
			return false, d.literal("false")
		}
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		if isNumStart(c) {
			return d.integer(s)
		}
	case connect.Float32, connect.Float64:
		bits := 64
		if s.Type == connect.Float32 {
			bits = 32
		}
		var f float64
		switch {
		case isNumStart(c):
			lit, _, err := d.number()
			if err != nil {
				return nil, err
			}
			// A literal beyond the range becomes an infinity, as Java's
			// BigDecimal.doubleValue makes it.
			f, _ = strconv.ParseFloat(string(lit), bits)
		case c == '"':
			// Jackson writes NaN and the infinities as these strings.
			str, err := d.strBytes()
			if err != nil {
				return nil, err
			}
			switch string(str) {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return nil, fmt.Errorf("Invalid value for %s schema: %q", javaType(s.Type), str)
			}
		default:
			return nil, mismatch(s, c)
		}
		if bits == 32 {
			return float32(f), nil
		}
		return f, nil
	case connect.String:
		if c == '"' {
			return d.str()
		}
	case connect.Bytes:
		if c == '"' {
			raw, err := d.strBytes()
			if err != nil {
				return nil, err
			}
			b, err := base64.StdEncoding.AppendDecode(make([]byte, 0, base64.StdEncoding.DecodedLen(len(raw))), raw)
			if err != nil {
				return nil, fmt.Errorf("Invalid bytes field: %w", err)
			}
			return b, nil
		}
	case connect.Array:
		if c == '[' {
			return d.array(s.Items)
		}
	case connect.Map:
		return d.mapValue(s, c)
	case connect.Struct:
		if c != '{' {
			return nil, fmt.Errorf("Structs should be encoded as JSON objects, but found %s", nodeType(c))
		}
		return d.structValue(s)
	default:
		return nil, fmt.Errorf("Unknown schema type: %s", s.Type)
	}
	return nil, mismatch(s, c)
}

func (d *decoder) integer(s *connect.Schema) (any, error) {
	lit, integral, err := d.number()
	if err != nil {
		return nil, err
	}
	n, ok := parseInt(lit)
	if !integral || !ok {
		return nil, fmt.Errorf("Invalid value for %s schema: %s is not an integer in range", javaType(s.Type), lit)
	}
	switch s.Type {
	case connect.Int8:
		if n >= math.MinInt8 && n <= math.MaxInt8 {
			return int8(n), nil
		}
	case connect.Int16:
		if n >= math.MinInt16 && n <= math.MaxInt16 {
			return int16(n), nil
		}
	case connect.Int32:
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n), nil
		}
	default:
		return n, nil
	}
	return nil, fmt.Errorf("Invalid value for %s schema: %s is out of range", javaType(s.Type), lit)
}

// schemaless converts as Kafka Connect does without a schema: objects to
// map[string]any, arrays to []any, integral numbers to int64 and others to
// float64. An integral number beyond int64 becomes a float64 (Kafka Connect
// keeps only its low 64 bits).
func (d *decoder) schemaless(c byte) (any, error) {
	switch {
	case c == '{':
		m := map[string]any{}
		empty, err := d.open('}')
		for more := !empty; err == nil && more; more, err = d.next('}') {
			var k []byte
			if k, err = d.key(); err != nil {
				break
			}
			var v any
			if v, err = d.value(nil); err != nil {
				break
			}
			m[string(k)] = v
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	case c == '[':
		return d.array(nil)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case isNumStart(c):
		lit, integral, err := d.number()
		if err != nil {
			return nil, err
		}
		if integral {
			if n, ok := parseInt(lit); ok {
				return n, nil
			}
		}
		f, _ := strconv.ParseFloat(string(lit), 64)
		return f, nil
	}
	return nil, d.syntax("unexpected character")
}

func (d *decoder) array(items *connect.Schema) ([]any, error) {
	out := []any{}
	empty, err := d.open(']')
	for more := !empty; err == nil && more; more, err = d.next(']') {
		var v any
		if v, err = d.value(items); err != nil {
			var se *syntaxError
			if !errors.As(err, &se) {
				err = fmt.Errorf("array element %d: %w", len(out), err)
			}
			break
		}
		out = append(out, v)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mapValue reads a map: a JSON object when the keys are strings, else an
// array of [key, value] pairs.
func (d *decoder) mapValue(s *connect.Schema, c byte) (any, error) {
	if s.Keys == nil || s.Keys.Type == connect.String {
		if c != '{' {
			return nil, fmt.Errorf("Maps with string fields should be encoded as JSON objects, but found %s", nodeType(c))
		}
		m := map[string]any{}
		empty, err := d.open('}')
		for more := !empty; err == nil && more; more, err = d.next('}') {
			var k []byte
			if k, err = d.key(); err != nil {
				break
			}
			var v any
			if v, err = d.value(s.Values); err != nil {
				err = fmt.Errorf("map value %q: %w", k, err)
				break
			}
			m[string(k)] = v
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	if c != '[' {
		return nil, fmt.Errorf("Maps with non-string fields should be encoded as JSON array of tuples, but found %s", nodeType(c))
	}
	m := map[any]any{}
	empty, err := d.open(']')
	for more := !empty; err == nil && more; more, err = d.next(']') {
		var k, v any
		if k, v, err = d.mapEntry(s); err != nil {
			break
		}
		m[k] = v
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// mapEntry reads one [key, value] pair of a map with non-string keys.
func (d *decoder) mapEntry(s *connect.Schema) (k, v any, err error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, nil, d.syntax("unexpected end of data")
	}
	if c := d.data[d.pos]; c != '[' {
		return nil, nil, fmt.Errorf("Found invalid map entry instead of array tuple: %s", nodeType(c))
	}
	empty, err := d.open(']')
	if err != nil {
		return nil, nil, err
	}
	if empty {
		return nil, nil, errors.New("Found invalid map entry, expected length 2 but found :0")
	}
	if k, err = d.value(s.Keys); err != nil {
		return nil, nil, fmt.Errorf("map key: %w", err)
	}
	more, err := d.next(']')
	if err != nil {
		return nil, nil, err
	}
	if !more {
		return nil, nil, errors.New("Found invalid map entry, expected length 2 but found :1")
	}
	if v, err = d.value(s.Values); err != nil {
		return nil, nil, fmt.Errorf("map value for key %v: %w", k, err)
	}
	n := 2
	for more, err = d.next(']'); err == nil && more; more, err = d.next(']') {
		n++
		if err = d.skipValue(); err != nil {
			break
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if n != 2 {
		return nil, nil, fmt.Errorf("Found invalid map entry, expected length 2 but found :%d", n)
	}
	switch x := k.(type) {
	case []byte, []any, map[string]any, map[any]any:
		return nil, nil, fmt.Errorf("map key of Go type %T cannot be a Go map key", k)
	case float32:
		if x != x {
			return nil, nil, errors.New("map key is NaN")
		}
	case float64:
		if x != x {
			return nil, nil, errors.New("map key is NaN")
		}
	}
	return k, v, nil
}

func (d *decoder) structValue(s *connect.Schema) (any, error) {
	sv := connect.NewStruct(s)
	var seenSmall uint64
	var seenBig []bool
	if len(s.Fields) > 64 {
		seenBig = make([]bool, len(s.Fields))
	}
	hint := 0 // fields usually arrive in schema order
	empty, err := d.open('}')
	for more := !empty; err == nil && more; more, err = d.next('}') {
		var k []byte
		if k, err = d.key(); err != nil {
			break
		}
		i := -1
		switch {
		case hint < len(s.Fields) && s.Fields[hint].Name == string(k):
			i = hint
		case len(s.Fields) <= 16:
			for j := range s.Fields {
				if s.Fields[j].Name == string(k) {
					i = j
					break
				}
			}
		default:
			if f, ok := s.Field(string(k)); ok {
				i = f.Index
			}
		}
		if i < 0 {
			// Kafka Connect ignores fields the schema lacks.
			if err = d.skipValue(); err != nil {
				break
			}
			continue
		}
		f := &s.Fields[i]
		var v any
		if v, err = d.value(f.Schema); err != nil {
			err = fmt.Errorf("field %q: %w", f.Name, err)
			break
		}
		sv.SetIndex(i, v)
		if seenBig != nil {
			seenBig[i] = true
		} else {
			seenSmall |= 1 << i
		}
		hint = i + 1
	}
	if err != nil {
		return nil, err
	}
	for i := range s.Fields {
		if seenBig != nil && seenBig[i] || seenBig == nil && seenSmall&(1<<i) != 0 {
			continue
		}
		f := &s.Fields[i]
		v, err := d.null(f.Schema)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		sv.SetIndex(i, v)
	}
	return sv, nil
}

func (d *decoder) decimal(s *connect.Schema, c byte) (any, error) {
	switch {
	case isNumStart(c):
		lit, _, err := d.number()
		if err != nil {
			return nil, err
		}
		return parseDecimal(lit)
	case c == '"':
		raw, err := d.strBytes()
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.AppendDecode(nil, raw)
		if err == nil && len(b) == 0 {
			err = errors.New("zero length")
		}
		var scale int32
		if err == nil {
			scale, err = connect.DecimalScale(s)
		}
		if err != nil {
			return nil, fmt.Errorf("Invalid bytes for Decimal field: %w", err)
		}
		return connect.DecimalFromBytes(b, scale), nil
	}
	return nil, fmt.Errorf("Invalid type for Decimal, underlying representation should be numeric or bytes but was %s", nodeType(c))
}

// parseDecimal turns a JSON number into a Decimal with the literal's own
// scale ("1.50" has scale 2, "1E+3" scale -3), as Java's BigDecimal does.
func parseDecimal(lit []byte) (connect.Decimal, error) {
	i := 0
	neg := lit[0] == '-'
	if neg {
		i++
	}
	mant := make([]byte, 0, len(lit))
	for i < len(lit) && isDigit(lit[i]) {
		mant = append(mant, lit[i])
		i++
	}
	frac := 0
	if i < len(lit) && lit[i] == '.' {
		i++
		for i < len(lit) && isDigit(lit[i]) {
			mant = append(mant, lit[i])
			frac++
			i++
		}
	}
	var exp int64
	if i < len(lit) { // e or E
		i++
		expNeg := lit[i] == '-'
		if lit[i] == '+' || lit[i] == '-' {
			i++
		}
		for ; i < len(lit); i++ {
			if exp < math.MaxInt32*2 { // saturate; the range check below rejects it
				exp = exp*10 + int64(lit[i]-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	scale := int64(frac) - exp
	if scale < math.MinInt32 || scale > math.MaxInt32 {
		return connect.Decimal{}, fmt.Errorf("Invalid value for Decimal: exponent of %s out of range", lit)
	}
	n, _ := new(big.Int).SetString(string(mant), 10)
	if neg {
		n.Neg(n)
	}
	return connect.Decimal{Unscaled: n, Scale: int32(scale)}, nil
}

// temporal reads Date and Time (an int32: days, or milliseconds since
// midnight) and Timestamp (an int64: milliseconds since the epoch).
func (d *decoder) temporal(s *connect.Schema, c byte) (any, error) {
	logical, want := "Timestamp", "integral"
	if s.Name != connect.TimestampName {
		logical, want = "Time", "integer"
		if s.Name == connect.DateName {
			logical = "Date"
		}
	}
	if !isNumStart(c) {
		return nil, fmt.Errorf("Invalid type for %s, underlying representation should be %s but was %s", logical, want, nodeType(c))
	}
	lit, integral, err := d.number()
	if err != nil {
		return nil, err
	}
	n, ok := parseInt(lit)
	if integral && ok && s.Name == connect.TimestampName {
		return time.UnixMilli(n).UTC(), nil
	}
	if !integral || !ok || n < math.MinInt32 || n > math.MaxInt32 {
		return nil, fmt.Errorf("Invalid type for %s, underlying representation should be %s but was %s", logical, want, lit)
	}
	if s.Name == connect.DateName {
		return connect.DaysToDate(int32(n)), nil
	}
	if n < 0 || n > msPerDay {
		return nil, errors.New("Time values must use number of milliseconds greater than 0 and less than 86400000")
	}
	return connect.MillisToTime(int32(n)), nil
}

// member is one member of a JSON object: its name and where its value starts.
type member struct {
	key string
	pos int
}

// members reads the object at d.pos into its members, in order.
func (d *decoder) members() ([]member, error) {
	var ms []member
	empty, err := d.open('}')
	for more := !empty; err == nil && more; more, err = d.next('}') {
		var k []byte
		if k, err = d.key(); err != nil {
			break
		}
		d.ws()
		ms = append(ms, member{key: string(k), pos: d.pos})
		if err = d.skipValue(); err != nil {
			break
		}
	}
	return ms, err
}

// lookup returns where the value of member key starts; the last one wins, as
// in Jackson's ObjectNode.
func lookup(ms []member, key string) (int, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i].pos, true
		}
	}
	return 0, false
}

// at returns a decoder positioned at pos of the same data.
func (d *decoder) at(pos int) *decoder {
	sub := *d
	sub.pos = pos
	return &sub
}

// schema reads a schema in Kafka Connect's JSON form, as
// JsonConverter.asConnectSchema does.
func (d *decoder) schema() (*connect.Schema, error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, d.syntax("unexpected end of data")
	}
	if d.data[d.pos] == 'n' {
		return nil, d.literal("null")
	}
	if d.data[d.pos] != '{' {
		return nil, errors.New("Schema must contain 'type' field")
	}
	ms, err := d.members()
	if err != nil {
		return nil, err
	}
	// Nested schemas, read through d.at, count one level deeper.
	if err := d.push(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()

	typ, ok := d.stringAt(ms, "type")
	if !ok {
		return nil, errors.New("Schema must contain 'type' field")
	}
	var b *connect.SchemaBuilder
	switch t := connect.Type(typ); t {
	case connect.Boolean, connect.Int8, connect.Int16, connect.Int32, connect.Int64,
		connect.Float32, connect.Float64, connect.Bytes, connect.String:
		b = connect.NewSchema(t)
	case connect.Array:
		p, ok := lookup(ms, "items")
		if !ok || d.data[p] == 'n' {
			return nil, errors.New("Array schema did not specify the element type")
		}
		items, err := d.at(p).schema()
		if err != nil {
			return nil, err
		}
		b = connect.ArraySchema(items)
	case connect.Map:
		kp, ok := lookup(ms, "keys")
		if !ok {
			return nil, errors.New("Map schema did not specify the key type")
		}
		vp, ok := lookup(ms, "values")
		if !ok {
			return nil, errors.New("Map schema did not specify the value type")
		}
		keys, err := d.at(kp).schema()
		if err != nil {
			return nil, err
		}
		values, err := d.at(vp).schema()
		if err != nil {
			return nil, err
		}
		if keys == nil {
			return nil, errors.New("keySchema cannot be null.")
		}
		if values == nil {
			return nil, errors.New("valueSchema cannot be null.")
		}
		b = connect.MapSchema(keys, values)
	case connect.Struct:
		if b, err = d.structSchema(ms); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("Unknown schema type: %s", typ)
	}
	if p, ok := lookup(ms, "optional"); ok && d.data[p] == 't' {
		b.Optional()
	}
	if name, ok := d.stringAt(ms, "name"); ok {
		b.Name(name)
	}
	if p, ok := lookup(ms, "version"); ok && isNumStart(d.data[p]) {
		lit, integral, err := d.at(p).number()
		if err != nil {
			return nil, err
		}
		if n, ok := parseInt(lit); ok && integral {
			b.Version(int32(n)) // Jackson's intValue keeps the low 32 bits
		}
	}
	if doc, ok := d.stringAt(ms, "doc"); ok {
		b.Doc(doc)
	}
	if p, ok := lookup(ms, "parameters"); ok && d.data[p] == '{' {
		params, err := d.at(p).members()
		if err != nil {
			return nil, err
		}
		for _, m := range params {
			if d.data[m.pos] != '"' {
				return nil, errors.New("Schema parameters must have string values.")
			}
			v, err := d.at(m.pos).str()
			if err != nil {
				return nil, err
			}
			b.Parameter(m.key, v)
		}
	}
	if p, ok := lookup(ms, "default"); ok {
		base := b.Build()
		if base.Type == connect.Struct && d.data[p] != 'n' {
			// Kafka Connect's SchemaBuilder rejects every struct default:
			// the struct's schema is never equal to the builder.
			return nil, errors.New("Invalid default value: Struct schemas do not match.")
		}
		v, err := d.at(p).value(base)
		if err != nil {
			return nil, fmt.Errorf("default value: %w", err)
		}
		b.Default(v)
	}
	return b.Build(), nil
}

func (d *decoder) structSchema(ms []member) (*connect.SchemaBuilder, error) {
	p, ok := lookup(ms, "fields")
	if !ok || d.data[p] != '[' {
		return nil, errors.New(`Struct schema's "fields" argument is not an array.`)
	}
	b := connect.StructSchema()
	seen := map[string]bool{}
	fd := d.at(p)
	empty, err := fd.open(']')
	for more := !empty; err == nil && more; more, err = fd.next(']') {
		fd.ws()
		start := fd.pos
		if fd.data[start] != '{' {
			return nil, errors.New("Struct schema's field name not specified properly")
		}
		var fms []member
		if fms, err = fd.members(); err != nil {
			break
		}
		name, ok := d.stringAt(fms, "field")
		if !ok {
			return nil, errors.New("Struct schema's field name not specified properly")
		}
		if seen[name] {
			return nil, fmt.Errorf("Cannot create field because of field name duplication %s", name)
		}
		seen[name] = true
		var fs *connect.Schema
		if fs, err = d.at(start).schema(); err != nil {
			break
		}
		b.Field(name, fs)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// stringAt returns the value of member key when it is a string.
func (d *decoder) stringAt(ms []member, key string) (string, bool) {
	p, ok := lookup(ms, key)
	if !ok || d.data[p] != '"' {
		return "", false
	}
	s, err := d.at(p).str()
	return s, err == nil
}
