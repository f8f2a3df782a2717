package converters

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/connectd/connectd/framework/connect"
)

// The string converter's keys. converter.encoding is Kafka Connect's;
// encoding is accepted as a shorter alias.
const (
	encodingConfig      = "converter.encoding"
	encodingAliasConfig = "encoding"
)

var stringConfigDef = connect.NewConfigDef(
	converterTypeKey,
	connect.ConfigKey{
		Name: encodingConfig, Type: connect.TypeString, Default: "UTF-8", Importance: connect.High,
		Doc: "The name of the Java character set to use for encoding strings as byte arrays." +
			" Supported: UTF-8, UTF-16, UTF-16BE, UTF-16LE, ISO-8859-1, US-ASCII.",
		Width: connect.WidthMedium, DisplayName: "Encoding",
		Validator: func(v any) error {
			if _, ok := lookupCharset(v.(string)); !ok {
				return fmt.Errorf("unsupported character set %q", v)
			}
			return nil
		},
	},
	connect.ConfigKey{
		Name: encodingAliasConfig, Type: connect.TypeString, Importance: connect.Low,
		Doc:   "Alias of " + encodingConfig + ", used when that key is not set.",
		Width: connect.WidthMedium, DisplayName: "Encoding (alias)",
	},
)

// stringConverter is Kafka Connect's StringConverter. A string value is
// encoded as it is; any other value in its string form (see
// appendValueString), which matches Java's toString for numbers and
// booleans. ToConnect always returns the optional string schema, with a nil
// value for nil data.
type stringConverter struct {
	cs charset
}

func newString() *stringConverter { return &stringConverter{cs: csUTF8} }

func (c *stringConverter) Configure(config map[string]string, isKey bool) error {
	cfg, err := parseConfig(stringConfigDef, config, converterType(isKey))
	if err != nil {
		return fmt.Errorf("string converter: %w", err)
	}
	name := cfg.String(encodingConfig)
	if _, set := config[encodingConfig]; !set && strings.TrimSpace(config[encodingAliasConfig]) != "" {
		name = strings.TrimSpace(config[encodingAliasConfig])
	}
	cs, ok := lookupCharset(name)
	if !ok {
		return fmt.Errorf("string converter: %w", &connect.ConfigError{Errs: map[string][]string{
			encodingAliasConfig: {fmt.Sprintf("Invalid value %s for configuration %s: unsupported character set", name, encodingAliasConfig)},
		}})
	}
	c.cs = cs
	return nil
}

func (c *stringConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if isNil(value) {
		return nil, nil
	}
	if s, ok := value.(string); ok {
		return c.cs.encode(s), nil
	}
	b, err := appendValueString(make([]byte, 0, 32), schema, value, false, 0)
	if err != nil {
		return nil, fmt.Errorf("string converter: %w", err)
	}
	if c.cs == csUTF8 {
		return b, nil
	}
	return c.cs.encode(string(b)), nil
}

func (c *stringConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalString, nil, nil
	}
	return connect.OptionalString, c.cs.decode(data), nil
}

// charset is one of the Java character sets the string converter supports.
// As in Java, characters a charset cannot encode become '?', and bytes it
// cannot decode become U+FFFD.
type charset int

const (
	csUTF8 charset = iota
	csUTF16
	csUTF16BE
	csUTF16LE
	csLatin1
	csASCII
)

func lookupCharset(name string) (charset, bool) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(name), "_", "-")) {
	case "UTF-8", "UTF8", "UNICODE-1-1-UTF-8":
		return csUTF8, true
	case "UTF-16", "UTF16", "UNICODE":
		return csUTF16, true
	case "UTF-16BE", "UTF16BE", "X-UTF-16BE", "UNICODEBIGUNMARKED":
		return csUTF16BE, true
	case "UTF-16LE", "UTF16LE", "X-UTF-16LE", "UNICODELITTLEUNMARKED":
		return csUTF16LE, true
	case "ISO-8859-1", "ISO8859-1", "ISO-LATIN-1", "LATIN1", "L1", "CP819", "IBM819", "8859-1":
		return csLatin1, true
	case "US-ASCII", "ASCII", "US", "ISO646-US", "646", "ASCII7", "IBM367", "CP367":
		return csASCII, true
	}
	return 0, false
}

func (cs charset) encode(s string) []byte {
	switch cs {
	case csUTF8:
		return []byte(s)
	case csLatin1, csASCII:
		limit := rune(0xFF)
		if cs == csASCII {
			limit = 0x7F
		}
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > limit || r == utf8.RuneError {
				r = '?'
			}
			out = append(out, byte(r))
		}
		return out
	}
	units := utf16.Encode([]rune(s))
	var order binary.AppendByteOrder = binary.BigEndian
	out := make([]byte, 0, 2*len(units)+2)
	switch cs {
	case csUTF16LE:
		order = binary.LittleEndian
	case csUTF16:
		if len(units) > 0 {
			out = append(out, 0xFE, 0xFF) // Java's UTF-16 writes a big-endian BOM
		}
	}
	for _, u := range units {
		out = order.AppendUint16(out, u)
	}
	return out
}

func (cs charset) decode(b []byte) string {
	switch cs {
	case csUTF8:
		if utf8.Valid(b) {
			return string(b)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case csLatin1, csASCII:
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			if cs == csASCII && c > 0x7F {
				sb.WriteRune(utf8.RuneError)
				continue
			}
			sb.WriteRune(rune(c))
		}
		return sb.String()
	}
	var order binary.ByteOrder = binary.BigEndian
	switch {
	case cs == csUTF16LE:
		order = binary.LittleEndian
	case cs == csUTF16 && len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		b = b[2:]
	case cs == csUTF16 && len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		order, b = binary.LittleEndian, b[2:]
	}
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		units = append(units, order.Uint16(b[i:]))
	}
	s := string(utf16.Decode(units))
	if len(b)%2 == 1 {
		s += "\uFFFD"
	}
	return s
}
