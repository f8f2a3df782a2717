package postgrescdc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Logical types of Debezium's data model for the types in this file.
const (
	dbzBits      = "io.debezium.data.Bits"
	dbzLtree     = "io.debezium.data.Ltree"
	dbzPoint     = "io.debezium.data.geometry.Point"
	dbzGeometry  = "io.debezium.data.geometry.Geometry"
	dbzGeography = "io.debezium.data.geometry.Geography"
	maxBitsLen   = math.MaxInt32 // varbit without a length, as the JDBC driver reports it
)

// bitsConv maps bit(n) and varbit(n): n = 1 is BOOLEAN; longer ones are
// io.debezium.data.Bits with parameter length: the bits as a little-endian
// byte array, the string's last character bit 0, as few bytes as the
// highest set bit needs (a java.util.BitSet's bytes, as Debezium writes
// them).
func bitsConv(ct columnType) *valueConv {
	n := int(ct.typmod)
	if n <= 0 {
		n = maxBitsLen // varbit without a length (bit always has one)
	}
	if n == 1 {
		return &valueConv{schema: connect.BooleanSchema, decode: decodeBit, zero: false}
	}
	s := connect.NewSchema(connect.Bytes).Name(dbzBits).Version(1).Parameter("length", strconv.Itoa(n)).Build()
	return &valueConv{schema: s, decode: decodeBits, zero: []byte{}}
}

func decodeBits(b []byte) (any, error) {
	out := []byte{}
	n := len(b)
	for i := n - 1; i >= 0; i-- {
		bit := n - 1 - i
		switch b[i] {
		case '1':
			for len(out) <= bit/8 {
				out = append(out, 0)
			}
			out[bit/8] |= 1 << (bit % 8)
		case '0':
		default:
			return nil, fmt.Errorf("%q is not a bit string", truncate(b))
		}
	}
	return out, nil
}

// pointSchema is io.debezium.data.geometry.Point: x and y, and the point as
// WKB.
var pointSchema = connect.StructSchema().Name(dbzPoint).Version(1).Doc("Geometry (POINT)").
	Field("x", connect.Float64Schema).
	Field("y", connect.Float64Schema).
	Field("wkb", connect.OptionalBytes).
	Field("srid", connect.OptionalInt32).Build()

// pointConv maps the built-in point type, as Debezium does; the other
// geometric built-ins (line, lseg, box, path, polygon, circle) have no
// mapping.
func pointConv() *valueConv {
	opt := optional(pointSchema)
	dec := func(s *connect.Schema) func(b []byte) (any, error) {
		return func(b []byte) (any, error) {
			x, y, err := parsePoint(b)
			if err != nil {
				return nil, err
			}
			return connect.NewStruct(s).Put("x", x).Put("y", y).Put("wkb", wkbPoint(x, y)), nil
		}
	}
	zero := connect.NewStruct(pointSchema).Put("x", 0.0).Put("y", 0.0).Put("wkb", wkbPoint(0, 0))
	return &valueConv{schema: pointSchema, decode: dec(pointSchema), decodeOptional: dec(opt), zero: zero}
}

// parsePoint reads point's text form "(x,y)".
func parsePoint(b []byte) (float64, float64, error) {
	s := string(b)
	if len(s) < 5 || s[0] != '(' || s[len(s)-1] != ')' {
		return 0, 0, fmt.Errorf("%q is not a point", s)
	}
	xs, ys, ok := strings.Cut(s[1:len(s)-1], ",")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a point", s)
	}
	x, err1 := parseFloat(xs, 64)
	y, err2 := parseFloat(ys, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not a point", s)
	}
	return x, y, nil
}

// wkbPoint is the OGC WKB of a 2D point, little-endian.
func wkbPoint(x, y float64) []byte {
	b := make([]byte, 21)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[1:], 1)
	binary.LittleEndian.PutUint64(b[5:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(b[13:], math.Float64bits(y))
	return b
}

// geoSchema is io.debezium.data.geometry.Geometry or Geography: the value
// as the server sends it (EWKB, the SRID inside when set) and its SRID.
func geoSchema(name, doc string) *connect.Schema {
	return connect.StructSchema().Name(name).Version(1).Doc(doc).
		Field("wkb", connect.BytesSchema).
		Field("srid", connect.OptionalInt32).Build()
}

var (
	geometrySchema  = geoSchema(dbzGeometry, "Geometry")
	geographySchema = geoSchema(dbzGeography, "Geography")
	// emptyEWKB is an empty GEOMETRYCOLLECTION: Debezium's fallback value.
	emptyEWKB = []byte{1, 7, 0, 0, 0, 0, 0, 0, 0}
)

func geoConv(s *connect.Schema) *valueConv {
	opt := optional(s)
	dec := func(s *connect.Schema) func(b []byte) (any, error) {
		return func(b []byte) (any, error) {
			ewkb := make([]byte, hex.DecodedLen(len(b)))
			if _, err := hex.Decode(ewkb, b); err != nil {
				return nil, fmt.Errorf("%q is not hex EWKB: %w", truncate(b), err)
			}
			srid, err := ewkbSRID(ewkb)
			if err != nil {
				return nil, err
			}
			v := connect.NewStruct(s).Put("wkb", ewkb)
			if srid != nil {
				v.Put("srid", *srid)
			}
			return v, nil
		}
	}
	return &valueConv{schema: s, decode: dec(s), decodeOptional: dec(opt), zero: connect.NewStruct(s).Put("wkb", emptyEWKB)}
}

// ewkbSRID returns the SRID of an EWKB geometry, or nil when it has none.
func ewkbSRID(b []byte) (*int32, error) {
	if len(b) < 9 {
		return nil, errors.New("EWKB shorter than 9 bytes")
	}
	var order binary.ByteOrder = binary.BigEndian
	if b[0] != 0 {
		order = binary.LittleEndian
	}
	if order.Uint32(b[1:])&0x20000000 == 0 {
		return nil, nil
	}
	srid := int32(order.Uint32(b[5:]))
	return &srid, nil
}

// extensionConv maps the types of extensions Debezium knows by name:
// hstore, ltree, citext (contrib) and PostGIS's geometry and geography.
func (m *typeMapper) extensionConv(name string) *valueConv {
	switch name {
	case "citext":
		return m.stringConv(connect.StringSchema)
	case "ltree":
		return m.stringConv(connect.NewSchema(connect.String).Name(dbzLtree).Version(1).Build())
	case "hstore":
		if m.hstoreMode == HstoreMap {
			s := connect.MapSchema(connect.StringSchema, connect.OptionalString).Build()
			return &valueConv{schema: s, zero: map[string]any{}, decode: func(b []byte) (any, error) {
				kv, err := parseHstore(b)
				if err != nil {
					return nil, err
				}
				out := make(map[string]any, len(kv))
				for _, e := range kv {
					if e.null {
						out[e.key] = nil
					} else {
						out[e.key] = e.val
					}
				}
				return out, nil
			}}
		}
		s := connect.NewSchema(connect.String).Name(dbzJSON).Version(1).Build()
		return &valueConv{schema: s, toast: m.placeholder, zero: "{}", decode: decodeHstoreJSON}
	case "geometry":
		return geoConv(geometrySchema)
	case "geography":
		return geoConv(geographySchema)
	}
	return nil
}

type hstoreEntry struct {
	key, val string
	null     bool
}

// parseHstore reads hstore's text form: "k"=>"v", "k2"=>NULL.
func parseHstore(b []byte) ([]hstoreEntry, error) {
	s := string(b)
	var out []hstoreEntry
	i := 0
	bad := func() ([]hstoreEntry, error) { return nil, fmt.Errorf("%q is not an hstore", truncate(b)) }
	quoted := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		i++
		var sb strings.Builder
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			sb.WriteByte(s[i])
			i++
		}
		if i >= len(s) {
			return "", false
		}
		i++
		return sb.String(), true
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		k, ok := quoted()
		if !ok || !strings.HasPrefix(s[i:], "=>") {
			return bad()
		}
		i += 2
		if strings.HasPrefix(s[i:], "NULL") {
			i += 4
			out = append(out, hstoreEntry{key: k, null: true})
			continue
		}
		v, ok := quoted()
		if !ok {
			return bad()
		}
		out = append(out, hstoreEntry{key: k, val: v})
	}
}

// decodeHstoreJSON renders an hstore as a JSON object, as
// hstore.handling.mode=json does; keys in the order the server prints them.
func decodeHstoreJSON(b []byte) (any, error) {
	kv, err := parseHstore(b)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range kv {
		if i > 0 {
			sb.WriteByte(',')
		}
		writeJSONString(&sb, e.key)
		sb.WriteByte(':')
		if e.null {
			sb.WriteString("null")
		} else {
			writeJSONString(&sb, e.val)
		}
	}
	sb.WriteByte('}')
	return sb.String(), nil
}

// writeJSONString writes s as a JSON string without escaping HTML
// characters, as Jackson writes it.
func writeJSONString(sb *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	sb.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}
