package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/connectd/connectd/framework/connect"
)

// EncodeMap renders a source partition or offset as canonical JSON: keys
// sorted, so equal maps give equal bytes and the bytes can be map keys. It
// runs once per record, so flat maps of plain keys, strings, integers and
// booleans (nearly every offset) take a fast path that writes exactly what
// encoding/json would.
func EncodeMap(m map[string]any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	if b, ok := appendFlat(make([]byte, 0, 64), m); ok {
		return b, nil
	}
	return json.Marshal(m)
}

// appendFlat encodes m like json.Marshal if every key and value is of a
// kind it knows to encode identically; otherwise it reports false.
func appendFlat(dst []byte, m map[string]any) ([]byte, bool) {
	if len(m) > 8 {
		return nil, false
	}
	var arr [8]string
	keys := arr[:0]
	for k := range m {
		if !plainJSONString(k) {
			return nil, false
		}
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // insertion sort: a handful of keys
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, k...)
		dst = append(dst, '"', ':')
		switch v := m[k].(type) {
		case string:
			if !plainJSONString(v) {
				return nil, false
			}
			dst = append(dst, '"')
			dst = append(dst, v...)
			dst = append(dst, '"')
		case int64:
			dst = strconv.AppendInt(dst, v, 10)
		case int:
			dst = strconv.AppendInt(dst, int64(v), 10)
		case int32:
			dst = strconv.AppendInt(dst, int64(v), 10)
		case bool:
			dst = strconv.AppendBool(dst, v)
		case nil:
			dst = append(dst, "null"...)
		default:
			return nil, false
		}
	}
	return append(dst, '}'), true
}

// plainJSONString reports whether s needs no escaping by encoding/json:
// printable ASCII other than the quote, backslash and the HTML characters
// it escapes by default.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// DecodeMap parses what EncodeMap wrote. Integral numbers come back as
// int64 and others as float64, so an offset a task stored as int64 reads
// back as int64.
func DecodeMap(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("plugin: decode %q: %w", b, err)
	}
	return normalise(m).(map[string]any), nil
}

func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalise(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalise(e)
		}
		return x
	}
	return v
}

// offsetMap is an OffsetReader over offsets keyed by encoded partition.
type offsetMap map[string]map[string]any

func newOffsetMap(offsets []connect.SourceOffset) (offsetMap, error) {
	m := make(offsetMap, len(offsets))
	for _, o := range offsets {
		k, err := EncodeMap(o.Partition)
		if err != nil {
			return nil, err
		}
		m[string(k)] = o.Offset
	}
	return m, nil
}

func (m offsetMap) Offset(partition map[string]any) map[string]any {
	k, err := EncodeMap(partition)
	if err != nil {
		return nil
	}
	return m[string(k)]
}

// Offsets lists every stored offset (connect.OffsetLister).
func (m offsetMap) Offsets() []connect.SourceOffset {
	out := make([]connect.SourceOffset, 0, len(m))
	for k, off := range m {
		p, err := DecodeMap([]byte(k))
		if err != nil {
			continue // newOffsetMap encoded it
		}
		out = append(out, connect.SourceOffset{Partition: p, Offset: off})
	}
	return out
}
