package postgrescdc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Type OIDs of the built-in types the connector maps (pg_type.oid).
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidXML         = 142
	oidFloat4      = 700
	oidFloat8      = 701
	oidMoney       = 790
	oidMacaddr     = 829
	oidInet        = 869
	oidCidr        = 650
	oidMacaddr8    = 774
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidBit         = 1560
	oidVarbit      = 1562
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
	oidInt4Range   = 3904
	oidNumRange    = 3906
	oidTsRange     = 3908
	oidTstzRange   = 3910
	oidDateRange   = 3912
	oidInt8Range   = 3926
	oidPoint       = 600
)

// arrayElem maps the built-in array types to their element types.
var arrayElem = map[uint32]uint32{
	1000: oidBool, 1001: oidBytea, 1002: oidChar, 1003: oidName, 1005: oidInt2, 1007: oidInt4, 1009: oidText,
	1014: oidBpchar, 1015: oidVarchar, 1016: oidInt8, 1021: oidFloat4, 1022: oidFloat8, 1028: oidOID,
	1182: oidDate, 1183: oidTime, 1115: oidTimestamp, 1185: oidTimestamptz, 1270: oidTimetz,
	1231: oidNumeric, 2951: oidUUID, 199: oidJSON, 3807: oidJSONB, 1041: oidInet, 651: oidCidr,
	1040: oidMacaddr, 775: oidMacaddr8, 3905: oidInt4Range, 3907: oidNumRange, 3909: oidTsRange,
	3911: oidTstzRange, 3913: oidDateRange, 3927: oidInt8Range,
}

// Logical type names of Debezium's data model.
const (
	dbzDate          = "io.debezium.time.Date"
	dbzTime          = "io.debezium.time.Time"
	dbzMicroTime     = "io.debezium.time.MicroTime"
	dbzTimestamp     = "io.debezium.time.Timestamp"
	dbzMicroTS       = "io.debezium.time.MicroTimestamp"
	dbzZonedTS       = "io.debezium.time.ZonedTimestamp"
	dbzZonedTime     = "io.debezium.time.ZonedTime"
	dbzMicroDuration = "io.debezium.time.MicroDuration"
	dbzUUID          = "io.debezium.data.Uuid"
	dbzJSON          = "io.debezium.data.Json"
	dbzXML           = "io.debezium.data.Xml"
	dbzEnum          = "io.debezium.data.Enum"
	dbzVarDecimal    = "io.debezium.data.VariableScaleDecimal"
	precisionParam   = "connect.decimal.precision"
)

// typeInfo describes a type that is not built in: an enum, a domain, or an
// array of one.
type typeInfo struct {
	oid      uint32
	name     string
	typtype  byte     // 'e' enum, 'd' domain, 'b' base, ...
	elem     uint32   // element type of an array type, else 0
	base     uint32   // base type of a domain, else 0
	basemod  int32    // typmod of a domain's base type
	labels   []string // enum labels in order
	category byte
	delim    byte // typdelim: the delimiter of its arrays' elements
}

// typeLookup resolves non-built-in types; it returns false when unknown.
type typeLookup func(oid uint32) (typeInfo, bool)

// columnType is what the mapping needs to know of a column.
type columnType struct {
	oid    uint32
	typmod int32
	dims   int // declared array dimensions (pg_attribute.attndims); 0 or 1: one
}

// valueConv turns a column's text form (as pgoutput and a text-format query
// send it) into a value of its Connect schema.
type valueConv struct {
	schema *connect.Schema // required form; optional() gives the nullable form
	decode func(b []byte) (any, error)
	// toast is the value of an unchanged TOASTed column; nil when the type
	// has no placeholder.
	toast any
	// zero is the value a NOT NULL column takes when the server did not
	// send it (the non-key columns of a delete's old key), as Debezium's
	// fallback values.
	zero any
	// decodeOptional, when set, replaces decode for nullable columns: for
	// struct values, which must carry the field's own (optional) schema.
	decodeOptional func(b []byte) (any, error)
	// array marks an array type; arrayDelim is the element type's array
	// delimiter when not ',' (box uses ';').
	array      bool
	arrayDelim byte
}

// typeMapper builds converters per the connector's modes.
type typeMapper struct {
	hstoreMode  string
	decimalMode string
	timeMode    string
	placeholder string
	lookup      typeLookup
}

// numericPrecisionScale splits a numeric typmod; ok is false for an
// unconstrained numeric.
func numericPrecisionScale(typmod int32) (precision, scale int32, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	m := typmod - 4
	return (m >> 16) & 0xffff, int32(int16(m & 0xffff)), true
}

// timePrecision returns the fractional digits of a time or timestamp
// column (6 when the column declares none).
func timePrecision(typmod int32) int {
	if typmod < 0 {
		return 6
	}
	return int(typmod)
}

var errUnsupported = errors.New("unsupported type")

// conv returns the converter of a column type, or errUnsupported.
func (m *typeMapper) conv(ct columnType) (*valueConv, error) {
	if elem, ok := arrayElem[ct.oid]; ok {
		return m.arrayConv(elem, ct.typmod, ct.dims)
	}
	switch ct.oid {
	case oidBool:
		return &valueConv{schema: connect.BooleanSchema, decode: decodeBool, zero: false}, nil
	case oidInt2:
		return &valueConv{schema: connect.Int16Schema, decode: decodeInt16, zero: int16(0)}, nil
	case oidInt4:
		return &valueConv{schema: connect.Int32Schema, decode: decodeInt32, zero: int32(0)}, nil
	case oidInt8, oidOID:
		return &valueConv{schema: connect.Int64Schema, decode: decodeInt64, zero: int64(0)}, nil
	case oidFloat4:
		return &valueConv{schema: connect.Float32Schema, decode: decodeFloat32, zero: float32(0)}, nil
	case oidFloat8:
		return &valueConv{schema: connect.Float64Schema, decode: decodeFloat64, zero: float64(0)}, nil
	case oidText, oidVarchar, oidBpchar, oidChar, oidName, oidInet, oidCidr, oidMacaddr, oidMacaddr8,
		oidInt4Range, oidInt8Range, oidNumRange, oidTsRange, oidTstzRange, oidDateRange:
		return m.stringConv(connect.StringSchema), nil
	case oidUUID:
		return m.stringConv(connect.NewSchema(connect.String).Name(dbzUUID).Version(1).Build()), nil
	case oidJSON, oidJSONB:
		return m.stringConv(connect.NewSchema(connect.String).Name(dbzJSON).Version(1).Build()), nil
	case oidXML:
		return m.stringConv(connect.NewSchema(connect.String).Name(dbzXML).Version(1).Build()), nil
	case oidBytea:
		return &valueConv{schema: connect.BytesSchema, decode: decodeBytea, toast: []byte(m.placeholder), zero: []byte{}}, nil
	case oidNumeric:
		return m.numericConv(ct.typmod), nil
	case oidMoney:
		return m.moneyConv(), nil
	case oidDate:
		return m.dateConv(), nil
	case oidTime:
		return m.timeConv(timePrecision(ct.typmod)), nil
	case oidTimestamp:
		return m.timestampConv(timePrecision(ct.typmod)), nil
	case oidTimestamptz:
		p := timePrecision(ct.typmod)
		return &valueConv{schema: connect.NewSchema(connect.String).Name(dbzZonedTS).Version(1).Build(),
			decode: func(b []byte) (any, error) { return decodeTimestamptz(b, p) }, zero: "1970-01-01T00:00:00Z"}, nil
	case oidTimetz:
		return &valueConv{schema: connect.NewSchema(connect.String).Name(dbzZonedTime).Version(1).Build(),
			decode: decodeTimetz, zero: "00:00:00Z"}, nil
	case oidInterval:
		return &valueConv{schema: connect.NewSchema(connect.Int64).Name(dbzMicroDuration).Version(1).Build(),
			decode: decodeInterval, zero: int64(0)}, nil
	case oidBit, oidVarbit:
		return bitsConv(ct), nil
	case oidPoint:
		return pointConv(), nil
	}
	if m.lookup == nil {
		return nil, errUnsupported
	}
	ti, ok := m.lookup(ct.oid)
	if !ok {
		return nil, errUnsupported
	}
	switch {
	case ti.typtype == 'e':
		return m.stringConv(enumSchema(ti.labels)), nil
	case ti.typtype == 'd' && ti.base != 0:
		return m.conv(columnType{oid: ti.base, typmod: ti.basemod, dims: ct.dims})
	case ti.elem != 0:
		return m.arrayConv(ti.elem, ct.typmod, ct.dims)
	}
	if c := m.extensionConv(ti.name); c != nil {
		if ti.delim != ',' {
			c.arrayDelim = ti.delim
		}
		return c, nil
	}
	return nil, errUnsupported
}

// unknownConv is the converter of a column of a type without a mapping
// under include.unknown.datatypes: its text form as BYTES.
func (m *typeMapper) unknownConv() *valueConv {
	return &valueConv{schema: connect.BytesSchema, toast: []byte(m.placeholder), zero: []byte{},
		decode: func(b []byte) (any, error) { return append([]byte(nil), b...), nil }}
}

func enumSchema(labels []string) *connect.Schema {
	return connect.NewSchema(connect.String).Name(dbzEnum).Version(1).Parameter("allowed", strings.Join(labels, ",")).Build()
}

func (m *typeMapper) stringConv(s *connect.Schema) *valueConv {
	return &valueConv{schema: s, decode: decodeString, toast: m.placeholder, zero: ""}
}

// arrayConv maps an array type: ARRAY of optional elements, nested as
// many levels as the column declares dimensions (int[][] is an ARRAY of
// ARRAYs). Postgres does not enforce the declared dimensions: a value with
// more is flattened into the declared depth (row-major), one with fewer is
// wrapped, so every value fits the schema.
func (m *typeMapper) arrayConv(elem uint32, typmod int32, dims int) (*valueConv, error) {
	ec, err := m.conv(columnType{oid: elem, typmod: typmod})
	if err != nil {
		return nil, err
	}
	if ec.array {
		return nil, errUnsupported // arrays of arrays are arrays
	}
	dims = max(dims, 1)
	schema := optional(ec.schema)
	for i := 0; i < dims; i++ {
		b := connect.ArraySchema(schema)
		if i < dims-1 {
			b = b.Optional()
		}
		schema = b.Build()
	}
	delim := byte(',')
	if ec.arrayDelim != 0 {
		delim = ec.arrayDelim
	}
	var toast any
	if _, isString := ec.toast.(string); isString && dims == 1 {
		toast = []any{m.placeholder}
	}
	elemDecode := ec.decode
	if ec.decodeOptional != nil {
		elemDecode = ec.decodeOptional
	}
	return &valueConv{schema: schema, toast: toast, zero: []any{}, array: true,
		decode: func(b []byte) (any, error) {
			v, depth, err := decodeArrayN(b, delim, elemDecode)
			if err != nil {
				return nil, err
			}
			return fitDepth(v, depth, dims), nil
		}}, nil
}

func (m *typeMapper) numericConv(typmod int32) *valueConv {
	precision, scale, constrained := numericPrecisionScale(typmod)
	switch m.decimalMode {
	case DecimalDouble:
		return &valueConv{schema: connect.Float64Schema, decode: decodeFloat64, zero: float64(0)}
	case DecimalString:
		return &valueConv{schema: connect.StringSchema, decode: decodeString, zero: "0"}
	}
	if !constrained {
		s := varDecimalSchema
		return &valueConv{schema: s, zero: varDecimal(varDecimalSchema, connect.Decimal{Unscaled: new(big.Int)}),
			decode:         func(b []byte) (any, error) { return decodeVarDecimal(varDecimalSchema, b) },
			decodeOptional: func(b []byte) (any, error) { return decodeVarDecimal(optVarDecimalSchema, b) }}
	}
	s := connect.DecimalSchema(scale).Parameter(precisionParam, strconv.Itoa(int(precision))).Build()
	return &valueConv{schema: s, zero: connect.Decimal{Unscaled: new(big.Int), Scale: scale},
		decode: func(b []byte) (any, error) { return decodeDecimal(b, scale) }}
}

func (m *typeMapper) moneyConv() *valueConv {
	switch m.decimalMode {
	case DecimalDouble:
		return &valueConv{schema: connect.Float64Schema, zero: float64(0), decode: func(b []byte) (any, error) {
			d, err := decodeMoney(b)
			if err != nil {
				return nil, err
			}
			return d.Float64(), nil
		}}
	case DecimalString:
		return &valueConv{schema: connect.StringSchema, zero: "0.00", decode: func(b []byte) (any, error) {
			d, err := decodeMoney(b)
			if err != nil {
				return nil, err
			}
			return d.String(), nil
		}}
	}
	return &valueConv{schema: connect.DecimalSchema(2).Build(), zero: connect.Decimal{Unscaled: new(big.Int), Scale: 2},
		decode: func(b []byte) (any, error) { return decodeMoney(b) }}
}

func (m *typeMapper) dateConv() *valueConv {
	if m.timeMode == TimeConnect {
		return &valueConv{schema: connect.DateSchema().Build(), zero: connect.DaysToDate(0), decode: func(b []byte) (any, error) {
			d, err := decodeDateDays(b)
			if err != nil {
				return nil, err
			}
			return connect.DaysToDate(d), nil
		}}
	}
	return &valueConv{schema: connect.NewSchema(connect.Int32).Name(dbzDate).Version(1).Build(), zero: int32(0),
		decode: func(b []byte) (any, error) { return decodeDateDays(b) }}
}

func (m *typeMapper) timeConv(precision int) *valueConv {
	switch {
	case m.timeMode == TimeConnect:
		return &valueConv{schema: connect.TimeSchema().Build(), zero: connect.MillisToTime(0), decode: func(b []byte) (any, error) {
			us, err := decodeTimeMicros(b)
			if err != nil {
				return nil, err
			}
			return connect.MillisToTime(int32(us / 1000)), nil
		}}
	case m.timeMode == TimeAdaptive && precision <= 3:
		return &valueConv{schema: connect.NewSchema(connect.Int32).Name(dbzTime).Version(1).Build(), zero: int32(0),
			decode: func(b []byte) (any, error) {
				us, err := decodeTimeMicros(b)
				return int32(us / 1000), err
			}}
	}
	return &valueConv{schema: connect.NewSchema(connect.Int64).Name(dbzMicroTime).Version(1).Build(), zero: int64(0),
		decode: func(b []byte) (any, error) { return decodeTimeMicros(b) }}
}

func (m *typeMapper) timestampConv(precision int) *valueConv {
	switch {
	case m.timeMode == TimeConnect:
		return &valueConv{schema: connect.TimestampSchema().Build(), zero: time.UnixMilli(0).UTC(), decode: func(b []byte) (any, error) {
			us, err := decodeTimestampMicros(b)
			if err != nil {
				return nil, err
			}
			return time.UnixMicro(us).UTC(), nil
		}}
	case precision <= 3:
		return &valueConv{schema: connect.NewSchema(connect.Int64).Name(dbzTimestamp).Version(1).Build(), zero: int64(0),
			decode: func(b []byte) (any, error) {
				us, err := decodeTimestampMicros(b)
				return floorDiv(us, 1000), err
			}}
	}
	return &valueConv{schema: connect.NewSchema(connect.Int64).Name(dbzMicroTS).Version(1).Build(), zero: int64(0),
		decode: func(b []byte) (any, error) { return decodeTimestampMicros(b) }}
}

// varDecimalSchema is io.debezium.data.VariableScaleDecimal.
var varDecimalSchema = connect.StructSchema().Name(dbzVarDecimal).Version(1).Doc("Variable scaled decimal").
	Field("scale", connect.Int32Schema).Field("value", connect.BytesSchema).Build()

var optVarDecimalSchema = func() *connect.Schema {
	s := *varDecimalSchema
	s.Optional = true
	return s.Reindex()
}()

func varDecimal(s *connect.Schema, d connect.Decimal) *connect.StructValue {
	return connect.NewStruct(s).Put("scale", d.Scale).Put("value", d.Bytes())
}

// optional returns the nullable form of s.
func optional(s *connect.Schema) *connect.Schema {
	if s.Optional {
		return s
	}
	if s == varDecimalSchema {
		return optVarDecimalSchema
	}
	c := *s
	c.Optional = true
	if c.Type == connect.Struct {
		// Its own fields: Reindex writes them, and s is shared.
		c.Fields = append([]connect.Field(nil), s.Fields...)
		return c.Reindex()
	}
	return &c
}

func decodeString(b []byte) (any, error) { return string(b), nil }

func decodeBool(b []byte) (any, error) {
	switch string(b) {
	case "t", "true":
		return true, nil
	case "f", "false":
		return false, nil
	}
	return nil, fmt.Errorf("%q is not a boolean", b)
}

func decodeBit(b []byte) (any, error) {
	switch string(b) {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return nil, fmt.Errorf("%q is not bit(1)", b)
}

func decodeInt16(b []byte) (any, error) {
	n, err := strconv.ParseInt(string(b), 10, 16)
	return int16(n), err
}

func decodeInt32(b []byte) (any, error) {
	n, err := strconv.ParseInt(string(b), 10, 32)
	return int32(n), err
}

func decodeInt64(b []byte) (any, error) { return strconv.ParseInt(string(b), 10, 64) }

func parseFloat(s string, bits int) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, bits)
}

func decodeFloat32(b []byte) (any, error) {
	f, err := parseFloat(string(b), 32)
	return float32(f), err
}

func decodeFloat64(b []byte) (any, error) { return parseFloat(string(b), 64) }

func decodeBytea(b []byte) (any, error) {
	if len(b) < 2 || b[0] != '\\' || b[1] != 'x' {
		return nil, fmt.Errorf("bytea %q is not in hex format (bytea_output must be hex)", truncate(b))
	}
	out := make([]byte, hex.DecodedLen(len(b)-2))
	_, err := hex.Decode(out, b[2:])
	return out, err
}

// decodeDecimal parses a numeric of a declared scale. NaN has no Decimal
// form: like Debezium, it becomes null.
func decodeDecimal(b []byte, scale int32) (any, error) {
	if string(b) == "NaN" {
		return nil, nil
	}
	d, err := parseDecimal(b)
	if err != nil {
		return nil, err
	}
	if d.Scale != scale {
		d = rescale(d, scale)
	}
	return d, nil
}

// parseDecimal parses numeric's text form ("-12.340", "1e5" never occurs:
// Postgres prints numeric in plain notation) keeping its scale. Values of
// up to 18 digits take a fast path without big.Rat.
func parseDecimal(b []byte) (connect.Decimal, error) {
	neg := false
	i := 0
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	var n uint64
	digits, scale := 0, int32(-1)
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			n = n*10 + uint64(c-'0')
			if scale >= 0 {
				scale++
			}
		case c == '.' && scale < 0:
			scale = 0
		default:
			return connect.ParseDecimal(string(b))
		}
	}
	if digits == 0 {
		return connect.Decimal{}, fmt.Errorf("%q is not a decimal", b)
	}
	if digits > 18 {
		return connect.ParseDecimal(string(b))
	}
	scale = max(scale, 0)
	v := new(big.Int).SetUint64(n)
	if neg {
		v.Neg(v)
	}
	return connect.Decimal{Unscaled: v, Scale: scale}, nil
}

func decodeVarDecimal(s *connect.Schema, b []byte) (any, error) {
	if string(b) == "NaN" {
		return nil, nil
	}
	d, err := parseDecimal(b)
	if err != nil {
		return nil, err
	}
	return varDecimal(s, d), nil
}

func rescale(d connect.Decimal, scale int32) connect.Decimal {
	u := new(big.Int).Set(d.Unscaled)
	if scale > d.Scale {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.Scale)), nil))
	} else {
		u.Quo(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale-scale)), nil))
	}
	return connect.Decimal{Unscaled: u, Scale: scale}
}

// decodeMoney parses money as lc_monetary=C prints it: "$1,234.56", "-$1.00".
func decodeMoney(b []byte) (connect.Decimal, error) {
	s := strings.NewReplacer("$", "", ",", "").Replace(string(b))
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = "-" + s[1:len(s)-1]
	}
	d, err := connect.ParseDecimal(s)
	if err != nil {
		return connect.Decimal{}, err
	}
	return rescale(d, 2), nil
}

const microsPerDay = 86400 * 1_000_000

// decodeDateDays parses an ISO date ("2024-01-02", "0044-03-15 BC") to days
// since 1970-01-01. infinity and -infinity become the largest and smallest
// int32.
func decodeDateDays(b []byte) (int32, error) {
	s := string(b)
	switch s {
	case "infinity":
		return math.MaxInt32, nil
	case "-infinity":
		return math.MinInt32, nil
	}
	y, mo, d, rest, err := parseYMD(s)
	if err != nil || rest != "" {
		return 0, fmt.Errorf("%q is not a date", s)
	}
	return int32(daysFromCivil(y, mo, d)), nil
}

// parseYMD parses "YYYY-MM-DD" and an optional " BC" suffix anywhere after
// the time part; rest is what follows the date (without the BC suffix).
func parseYMD(s string) (y, m, d int, rest string, err error) {
	bc := strings.HasSuffix(s, " BC")
	if bc {
		s = strings.TrimSuffix(s, " BC")
	}
	i := strings.IndexByte(s, '-')
	if i < 4 || len(s) < i+6 {
		return 0, 0, 0, "", errors.New("bad date")
	}
	y, err = strconv.Atoi(s[:i])
	if err != nil {
		return
	}
	m, err = strconv.Atoi(s[i+1 : i+3])
	if err != nil {
		return
	}
	d, err = strconv.Atoi(s[i+4 : i+6])
	if err != nil {
		return
	}
	if bc {
		y = 1 - y
	}
	return y, m, d, s[i+6:], nil
}

// daysFromCivil returns days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(int64(y), 400)
	yoe := int64(y) - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// parseClock parses "HH:MM:SS[.ffffff]" at the start of s and returns
// microseconds and what follows.
func parseClock(s string) (int64, string, error) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, "", fmt.Errorf("%q is not a time", s)
	}
	h, e1 := strconv.Atoi(s[0:2])
	mi, e2 := strconv.Atoi(s[3:5])
	se, e3 := strconv.Atoi(s[6:8])
	if e1 != nil || e2 != nil || e3 != nil {
		return 0, "", fmt.Errorf("%q is not a time", s)
	}
	us := (int64(h)*3600 + int64(mi)*60 + int64(se)) * 1_000_000
	rest := s[8:]
	if strings.HasPrefix(rest, ".") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac := rest[1:j]
		for len(frac) < 6 {
			frac += "0"
		}
		f, err := strconv.Atoi(frac[:6])
		if err != nil {
			return 0, "", err
		}
		us += int64(f)
		rest = rest[j:]
	}
	return us, rest, nil
}

func decodeTimeMicros(b []byte) (int64, error) {
	us, rest, err := parseClock(string(b))
	if err == nil && rest != "" {
		err = fmt.Errorf("%q is not a time", b)
	}
	return us, err
}

// decodeTimestampMicros parses "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]" to
// microseconds since the epoch, reading it as UTC as Debezium does.
// infinity and -infinity become the largest and smallest int64.
func decodeTimestampMicros(b []byte) (int64, error) {
	s := string(b)
	switch s {
	case "infinity":
		return math.MaxInt64, nil
	case "-infinity":
		return math.MinInt64, nil
	}
	y, mo, d, rest, err := parseYMD(s)
	if err != nil || len(rest) < 1 || rest[0] != ' ' {
		return 0, fmt.Errorf("%q is not a timestamp", s)
	}
	us, rest, err := parseClock(rest[1:])
	if err != nil || rest != "" {
		return 0, fmt.Errorf("%q is not a timestamp", s)
	}
	return daysFromCivil(y, mo, d)*microsPerDay + us, nil
}

// parseUTCOffset parses a UTC offset "+HH", "-HH:MM", "+HH:MM:SS" to seconds.
func parseUTCOffset(s string) (int, error) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("%q is not a UTC offset", s)
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	parts := strings.Split(s[1:], ":")
	secs := 0
	mult := []int{3600, 60, 1}
	for i, p := range parts {
		if i > 2 {
			return 0, fmt.Errorf("%q is not a UTC offset", s)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("%q is not a UTC offset", s)
		}
		secs += n * mult[i]
	}
	return sign * secs, nil
}

// decodeTimestamptz formats a timestamptz as io.debezium.time.ZonedTimestamp:
// ISO-8601 in UTC with the column's fractional digits.
func decodeTimestamptz(b []byte, precision int) (any, error) {
	s := string(b)
	if s == "infinity" || s == "-infinity" {
		return s, nil
	}
	bc := strings.HasSuffix(s, " BC")
	body := strings.TrimSuffix(s, " BC")
	// The offset starts at the last '+' or '-' after the clock.
	sp := strings.IndexByte(body, ' ')
	if sp < 0 {
		return nil, fmt.Errorf("%q is not a timestamptz", s)
	}
	k := strings.LastIndexAny(body[sp:], "+-")
	if k < 0 {
		return nil, fmt.Errorf("%q is not a timestamptz", s)
	}
	off, err := parseUTCOffset(body[sp+k:])
	if err != nil {
		return nil, err
	}
	local := body[:sp+k]
	if bc {
		local += " BC"
	}
	us, err := decodeTimestampMicros([]byte(local))
	if err != nil {
		return nil, err
	}
	t := time.UnixMicro(us - int64(off)*1_000_000).UTC()
	return formatZoned(t, precision), nil
}

func formatZoned(t time.Time, precision int) string {
	var buf []byte
	y := t.Year()
	if y <= 0 || y > 9999 {
		// ISO-8601 years outside 0000-9999 carry a sign.
		sign := byte('+')
		if y < 0 {
			sign = '-'
			y = -y
		}
		buf = append(buf, sign)
		buf = append(buf, fmt.Sprintf("%04d", y)...)
	} else {
		buf = append(buf, fmt.Sprintf("%04d", y)...)
	}
	buf = append(buf, t.Format("-01-02T15:04:05")...)
	buf = appendFraction(buf, t.Nanosecond(), precision)
	return string(append(buf, 'Z'))
}

// appendFraction writes the fraction of a second with exactly width
// digits, or (width <= 0, as Java's ISO formatters) as few as needed.
func appendFraction(buf []byte, nanos int, width int) []byte {
	if width > 9 {
		width = 9
	}
	digits := fmt.Sprintf("%09d", nanos)
	if width <= 0 {
		digits = strings.TrimRight(digits, "0")
		if digits == "" {
			return buf
		}
		return append(append(buf, '.'), digits...)
	}
	return append(append(buf, '.'), digits[:width]...)
}

// decodeTimetz formats a timetz as io.debezium.time.ZonedTime: the time in
// UTC, ISO-8601, with as many fractional digits as needed.
func decodeTimetz(b []byte) (any, error) {
	us, rest, err := parseClock(string(b))
	if err != nil {
		return nil, err
	}
	off, err := parseUTCOffset(rest)
	if err != nil {
		return nil, err
	}
	us -= int64(off) * 1_000_000
	us = ((us % microsPerDay) + microsPerDay) % microsPerDay
	secs := us / 1_000_000
	buf := fmt.Appendf(nil, "%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	buf = appendFraction(buf, int(us%1_000_000)*1000, 0)
	return string(append(buf, 'Z')), nil
}

// decodeInterval parses an ISO-8601 interval (IntervalStyle iso_8601, as
// the connector's sessions set it), e.g. "P1Y2M3DT4H5M6.5S", into
// io.debezium.time.MicroDuration: months count 365.25/12 days, as in
// Debezium.
func decodeInterval(b []byte) (any, error) {
	s := string(b)
	if !strings.HasPrefix(s, "P") {
		return nil, fmt.Errorf("%q is not an ISO-8601 interval (IntervalStyle must be iso_8601)", s)
	}
	var years, months, days, hours, minutes float64
	var seconds float64
	inTime := false
	num := ""
	for _, r := range s[1:] {
		switch {
		case r == 'T':
			inTime = true
		case r == '-' || r == '.' || r >= '0' && r <= '9':
			num += string(r)
		default:
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an ISO-8601 interval", s)
			}
			num = ""
			switch {
			case r == 'Y':
				years = v
			case r == 'M' && !inTime:
				months = v
			case r == 'D':
				days = v
			case r == 'H':
				hours = v
			case r == 'M':
				minutes = v
			case r == 'S':
				seconds = v
			default:
				return nil, fmt.Errorf("%q is not an ISO-8601 interval", s)
			}
		}
	}
	const daysPerMonth = 365.25 / 12.0
	// As Debezium's MicroDuration.durationMicros: a double of seconds,
	// truncated to whole microseconds.
	nDays := (years*12+months)*daysPerMonth + days
	nSecs := ((nDays*24+hours)*60+minutes)*60 + seconds
	return int64(nSecs * 1e6), nil
}

// decodeArray parses a one-dimensional array literal such as
// {1,NULL,"a b","x\"y"} and decodes each element.
func decodeArray(b []byte, delim byte, elem func([]byte) (any, error)) (any, error) {
	v, depth, err := decodeArrayN(b, delim, elem)
	if err != nil {
		return nil, err
	}
	if depth > 1 {
		return nil, fmt.Errorf("multi-dimensional array %q where one dimension is expected", truncate(b))
	}
	return v, nil
}

// decodeArrayN parses an array literal of any number of dimensions, e.g.
// {{1,2},{3,NULL}}, into nested []any, and returns its depth.
func decodeArrayN(b []byte, delim byte, elem func([]byte) (any, error)) ([]any, int, error) {
	s := string(b)
	if i := strings.Index(s, "="); i > 0 && s[0] == '[' {
		s = s[i+1:] // explicit bounds: [0:1]={...}
	}
	p := arrayParser{s: s, delim: delim, elem: elem}
	v, depth, err := p.array()
	if err == nil && p.i != len(p.s) {
		err = errors.New("trailing characters")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%q is not an array: %w", truncate(b), err)
	}
	return v, depth, nil
}

type arrayParser struct {
	s     string
	i     int
	delim byte
	elem  func([]byte) (any, error)
}

func (p *arrayParser) array() ([]any, int, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, 0, errors.New("missing '{'")
	}
	p.i++
	out := []any{}
	depth := 1
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, depth, nil
	}
	for {
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, 0, errors.New("unbalanced braces")
		}
		if p.s[p.i] == '{' {
			sub, d, err := p.array()
			if err != nil {
				return nil, 0, err
			}
			depth = max(depth, d+1)
			out = append(out, sub)
		} else {
			v, err := p.scalar(len(out))
			if err != nil {
				return nil, 0, err
			}
			out = append(out, v)
		}
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, 0, errors.New("unbalanced braces")
		}
		switch p.s[p.i] {
		case p.delim:
			p.i++
		case '}':
			p.i++
			return out, depth, nil
		default:
			return nil, 0, fmt.Errorf("unexpected %q", p.s[p.i])
		}
	}
}

func (p *arrayParser) scalar(n int) (any, error) {
	var tok []byte
	if p.s[p.i] == '"' {
		p.i++
		for p.i < len(p.s) && p.s[p.i] != '"' {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
			}
			tok = append(tok, p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated quote")
		}
		p.i++
	} else {
		j := p.i
		for j < len(p.s) && p.s[j] != p.delim && p.s[j] != '}' {
			if p.s[j] == '{' || p.s[j] == '"' {
				return nil, fmt.Errorf("unexpected %q", p.s[j])
			}
			j++
		}
		tok = []byte(strings.TrimSpace(p.s[p.i:j]))
		p.i = j
		if string(tok) == "NULL" {
			return nil, nil
		}
	}
	v, err := p.elem(tok)
	if err != nil {
		return nil, fmt.Errorf("array element %d: %w", n, err)
	}
	return v, nil
}

// fitDepth makes a decoded array of depth have want levels: deeper ones are
// flattened in row-major order, shallower ones wrapped.
func fitDepth(v []any, depth, want int) []any {
	for ; depth > want; depth-- {
		var flat []any
		for _, e := range v {
			if sub, ok := e.([]any); ok {
				flat = append(flat, sub...)
			} else {
				flat = append(flat, e)
			}
		}
		if flat == nil {
			flat = []any{}
		}
		v = flat
	}
	for ; depth < want && len(v) > 0; depth++ {
		v = []any{v}
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
