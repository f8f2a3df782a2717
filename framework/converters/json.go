package converters

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connectd/connectd/framework/connect"
)

// The JSON converter's keys, as Kafka Connect's JsonConverterConfig names them.
const (
	schemasEnableConfig          = "schemas.enable"
	schemasCacheSizeConfig       = "schemas.cache.size"
	decimalFormatConfig          = "decimal.format"
	replaceNullWithDefaultConfig = "replace.null.with.default"
)

var jsonConfigDef = connect.NewConfigDef(
	converterTypeKey,
	connect.ConfigKey{
		Name: schemasEnableConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.High,
		Doc:   "Include schemas within each of the serialized values and keys.",
		Group: "Schemas", Width: connect.WidthMedium, DisplayName: "Enable Schemas",
	},
	connect.ConfigKey{
		Name: schemasCacheSizeConfig, Type: connect.TypeInt, Default: "1000", Importance: connect.High,
		Doc:   "The maximum number of schemas that can be cached in this converter instance.",
		Group: "Schemas", Width: connect.WidthMedium, DisplayName: "Schema Cache Size",
	},
	connect.ConfigKey{
		Name: decimalFormatConfig, Type: connect.TypeString, Default: "BASE64", Importance: connect.Low,
		Doc: "Controls which format this converter will serialize decimals in." +
			" This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'",
		Group: "Serialization", Width: connect.WidthMedium, DisplayName: "Decimal Format",
		Validator: connect.OneOf("BASE64", "NUMERIC"), Recommended: []string{"BASE64", "NUMERIC"},
	},
	connect.ConfigKey{
		Name: replaceNullWithDefaultConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Whether to replace fields that have a default value and that are null to the default value." +
			" When set to true, the default value is used, otherwise null is used.",
		Group: "Serialization", Width: connect.WidthMedium, DisplayName: "Replace null with default",
	},
)

// errEnvelope is Kafka Connect's message, word for word, for data that lacks
// the envelope while schemas.enable=true.
var errEnvelope = errors.New(`JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields.` +
	` If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`)

// jsonConverter is Kafka Connect's JsonConverter.
//
// Both directions cache schemas, bounded by schemas.cache.size: FromConnect
// keeps the serialised envelope prefix of each *connect.Schema it has seen
// (by pointer: schemas are immutable), ToConnect keeps the parsed schema of
// each distinct "schema" text. The most recent entry of each is also kept
// outside the cache's lock, since a task usually sees one schema at a time.
type jsonConverter struct {
	schemasEnabled bool
	decimalNumeric bool
	replaceNull    bool

	fromCache *lru[*connect.Schema, []byte]
	toCache   *lru[string, *connect.Schema]
	lastFrom  atomic.Pointer[fromEntry]
	lastTo    atomic.Pointer[toEntry]
}

type fromEntry struct {
	schema *connect.Schema
	prefix []byte // {"schema":...,"payload":
}

type toEntry struct {
	raw    []byte // the "schema" value as it appeared in the data
	schema *connect.Schema
}

func newJSON() *jsonConverter {
	return &jsonConverter{
		schemasEnabled: true,
		replaceNull:    true,
		fromCache:      newLRU[*connect.Schema, []byte](1000),
		toCache:        newLRU[string, *connect.Schema](1000),
	}
}

func (c *jsonConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *jsonConverter) configure(config map[string]string, typ string) error {
	cfg, err := parseConfig(jsonConfigDef, config, typ)
	if err != nil {
		return fmt.Errorf("json converter: %w", err)
	}
	c.schemasEnabled = cfg.Bool(schemasEnableConfig)
	c.decimalNumeric = strings.EqualFold(cfg.String(decimalFormatConfig), "NUMERIC")
	c.replaceNull = cfg.Bool(replaceNullWithDefaultConfig)
	size := cfg.Int(schemasCacheSizeConfig)
	c.fromCache = newLRU[*connect.Schema, []byte](size)
	c.toCache = newLRU[string, *connect.Schema](size)
	c.lastFrom.Store(nil)
	c.lastTo.Store(nil)
	return nil
}

// FromConnect follows Kafka Connect: a nil schema with a nil value is a
// tombstone (nil bytes); otherwise, with schemas.enable=true, the result is
// the envelope {"schema":...,"payload":...}, whose payload is null (or the
// schema's default) for a nil value.
func (c *jsonConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if schema == nil && isNil(value) {
		return nil, nil
	}
	e := getEncoder(c)
	defer putEncoder(e)
	if err := c.encode(e, schema, value); err != nil {
		return nil, err
	}
	out := make([]byte, len(e.buf))
	copy(out, e.buf)
	return out, nil
}

// AppendFromConnect appends what FromConnect returns to dst, without
// FromConnect's copy; a tombstone appends nothing.
func (c *jsonConverter) AppendFromConnect(dst []byte, topic string, schema *connect.Schema, value any) ([]byte, error) {
	if schema == nil && isNil(value) {
		return dst, nil
	}
	e := getEncoder(c)
	pooled := e.buf
	e.buf = dst
	err := c.encode(e, schema, value)
	out := e.buf
	e.buf = pooled
	putEncoder(e)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// encode appends value's JSON (in its envelope with schemas.enable) to e.buf.
func (c *jsonConverter) encode(e *encoder, schema *connect.Schema, value any) error {
	if c.schemasEnabled {
		prefix, err := c.envelopePrefix(schema)
		if err != nil {
			return fmt.Errorf("json converter: %w", err)
		}
		e.buf = append(e.buf, prefix...)
	}
	if err := e.value(schema, value); err != nil {
		return fmt.Errorf("json converter: %w", err)
	}
	if c.schemasEnabled {
		e.buf = append(e.buf, '}')
	}
	return nil
}

// envelopePrefix returns `{"schema":<schema JSON>,"payload":`, cached. The
// result is shared: callers must not modify it.
func (c *jsonConverter) envelopePrefix(s *connect.Schema) ([]byte, error) {
	if last := c.lastFrom.Load(); last != nil && last.schema == s {
		return last.prefix, nil
	}
	prefix, ok := c.fromCache.get(s)
	if !ok {
		sub := encoder{numeric: c.decimalNumeric, replaceNull: c.replaceNull, buf: make([]byte, 0, 256)}
		sub.buf = append(sub.buf, `{"schema":`...)
		if s == nil {
			sub.buf = append(sub.buf, "null"...)
		} else if err := sub.schema(s, nil); err != nil {
			return nil, err
		}
		sub.buf = append(sub.buf, `,"payload":`...)
		prefix = sub.buf
		c.fromCache.put(s, prefix)
	}
	c.lastFrom.Store(&fromEntry{schema: s, prefix: prefix})
	return prefix, nil
}

// ToConnect follows Kafka Connect: nil data is a tombstone (nil schema and
// value); with schemas.enable=false, empty data is too. Strings, maps and
// slices in the result are fresh; the result does not alias data.
func (c *jsonConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	d := decoder{data: data, replaceNull: c.replaceNull}
	d.skipBOM()
	if !c.schemasEnabled {
		d.ws()
		if d.pos == len(d.data) {
			return nil, nil, nil
		}
		v, err := d.value(nil)
		if err == nil {
			err = d.end()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("json converter: %w", err)
		}
		return nil, v, nil
	}
	s, v, err := c.envelope(&d)
	if err != nil {
		return nil, nil, fmt.Errorf("json converter: %w", err)
	}
	return s, v, nil
}

// envelope reads {"schema":...,"payload":...}. Kafka Connect parses the whole
// document before it looks at it, so errors rank: bad JSON, then a bad
// envelope, then a bad schema, then a payload that does not match the schema.
// In the usual case (schema first, no duplicate keys) the payload is decoded
// while scanning; otherwise it is decoded from its span afterwards.
func (c *jsonConverter) envelope(d *decoder) (*connect.Schema, any, error) {
	d.ws()
	if d.pos == len(d.data) || d.data[d.pos] != '{' {
		if d.pos < len(d.data) {
			if err := d.skipValue(); err != nil {
				return nil, nil, err
			}
			if err := d.end(); err != nil {
				return nil, nil, err
			}
		}
		return nil, nil, errEnvelope
	}
	d.pos++
	var (
		nSchema, nPayload int
		extra             bool
		schemaSpan        [2]int
		payloadSpan       [2]int
		schema            *connect.Schema
		schemaErr         error
		resolved          bool // schema/schemaErr hold the schema of schemaSpan
		payload           any
		payloadErr        error
		decoded           bool // payload/payloadErr hold the payload of payloadSpan
	)
	for first := true; ; first = false {
		d.ws()
		if first && d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			break
		}
		key, err := d.key()
		if err != nil {
			return nil, nil, err
		}
		d.ws()
		switch string(key) {
		case "schema":
			nSchema++
			resolved, decoded = false, false
			schemaSpan[0] = d.pos
			if last := c.lastTo.Load(); last != nil && bytes.HasPrefix(d.data[d.pos:], last.raw) {
				// A JSON object ends where its own text says it ends, so
				// equal bytes are the same, already validated, schema.
				d.pos += len(last.raw)
				schema, schemaErr, resolved = last.schema, nil, true
			} else if err := d.skipValue(); err != nil {
				return nil, nil, err
			}
			schemaSpan[1] = d.pos
		case "payload":
			nPayload++
			decoded = false
			payloadSpan[0] = d.pos
			if nSchema == 1 && nPayload == 1 && !extra {
				if !resolved {
					schema, schemaErr = c.resolveSchema(d.data[schemaSpan[0]:schemaSpan[1]])
					resolved = true
				}
				if schemaErr == nil {
					payload, payloadErr = d.value(schema)
					decoded = true
					var se *syntaxError
					if errors.As(payloadErr, &se) {
						return nil, nil, payloadErr
					}
					if payloadErr != nil {
						// Keep scanning for errors that rank higher.
						d.pos = payloadSpan[0]
						if err := d.skipValue(); err != nil {
							return nil, nil, err
						}
					}
					payloadSpan[1] = d.pos
					break
				}
			}
			if err := d.skipValue(); err != nil {
				return nil, nil, err
			}
			payloadSpan[1] = d.pos
		default:
			extra = true
			if err := d.skipValue(); err != nil {
				return nil, nil, err
			}
		}
		d.ws()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			break
		}
		return nil, nil, d.syntax("expected ',' or '}' after an object member")
	}
	if err := d.end(); err != nil {
		return nil, nil, err
	}
	if extra || nSchema == 0 || nPayload == 0 {
		return nil, nil, errEnvelope
	}
	if !resolved {
		schema, schemaErr = c.resolveSchema(d.data[schemaSpan[0]:schemaSpan[1]])
	}
	if schemaErr != nil {
		return nil, nil, schemaErr
	}
	if !decoded {
		pd := decoder{data: d.data[:payloadSpan[1]], pos: payloadSpan[0], replaceNull: d.replaceNull}
		payload, payloadErr = pd.value(schema)
	}
	if payloadErr != nil {
		return nil, nil, payloadErr
	}
	return schema, payload, nil
}

// resolveSchema returns the schema whose JSON text is raw (already validated).
func (c *jsonConverter) resolveSchema(raw []byte) (*connect.Schema, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	s, ok := c.toCache.get(string(raw))
	if !ok {
		sd := decoder{data: raw, replaceNull: c.replaceNull}
		var err error
		if s, err = sd.schema(); err != nil {
			return nil, err
		}
		c.toCache.put(string(raw), s)
	}
	c.lastTo.Store(&toEntry{raw: bytes.Clone(raw), schema: s})
	return s, nil
}

// encoders are pooled: FromConnect runs for every record and a warm buffer
// saves growing one each time.
var encoderPool = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 1024)} }}

func getEncoder(c *jsonConverter) *encoder {
	e := encoderPool.Get().(*encoder)
	e.numeric, e.replaceNull = c.decimalNumeric, c.replaceNull
	return e
}

func putEncoder(e *encoder) {
	if cap(e.buf) > 1<<20 {
		return // let a rare huge buffer go
	}
	e.buf, e.keys, e.depth = e.buf[:0], e.keys[:0], 0
	if cap(e.scratch) > 1<<10 {
		e.scratch = nil
	}
	encoderPool.Put(e)
}
