package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The writers here produce what Kafka Connect's JsonConverter (schemas
// disabled, on Jackson) produces for its internal records: objects with
// fields in schema order and no whitespace.

// appendString appends s as a JSON string escaped as Jackson escapes it:
// '"' and '\\' with a backslash; \b \t \f \n \r short; other control
// characters as \u00XX with upper-case hex; everything else, '/', DEL and
// U+2028/U+2029 included, as UTF-8. Invalid UTF-8 becomes U+FFFD (a Java
// string cannot hold it).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendStringMap appends m as a JSON object, keys sorted.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// propertiesValue is {"properties":{...}}: a connector's or a task's
// config.
func propertiesValue(props map[string]string) []byte {
	b := append([]byte(nil), `{"properties":`...)
	b = appendStringMap(b, props)
	return append(b, '}')
}

// decode parses a record value the way JsonConverter reads schemaless
// JSON: any JSON value, integers kept exact.
func decode(v []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("data after the JSON value")
	}
	return out, nil
}

// stringMap reads a JSON object of strings, as Kafka Connect's
// Map<String,String> properties. A null value is dropped: a config key
// without a value is the same as an absent key here.
func stringMap(v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object, found %s", typeName(v))
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		switch e := e.(type) {
		case string:
			out[k] = e
		case nil:
		default:
			return nil, fmt.Errorf("%q: want a string, found %s", k, typeName(e))
		}
	}
	return out, nil
}

// intValue reads an integral JSON number (Kafka Connect reads these as
// Integer or Long; anything else is an error there too).
func intValue(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("want an integer, found %s", typeName(v))
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, found %s", n)
	}
	return i, nil
}

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + v.String()
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
