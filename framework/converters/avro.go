package converters

import (
	"fmt"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/avro"
)

// The Avro converter's own keys (Confluent's AvroDataConfig).
const (
	connectMetaDataConfig = "connect.meta.data"
	enhancedAvroConfig    = "enhanced.avro.schema.support"
	flattenUnionsConfig   = "flatten.singleton.unions"
	ignoreNullablesConfig = "ignore.default.for.nullables"
	// dataCacheConfig is Confluent's AbstractDataConfig key for the size of
	// the converted schemas cache: schemas.cache.config (the JsonConverter's
	// is schemas.cache.size).
	dataCacheConfig         = "schemas.cache.config"
	avroConverterClass      = "io.confluent.connect.avro.AvroConverter"
	avroConverterName       = "avro"
	jsonSchemaConverterName = "json-schema"
)

var avroConfigDef = connect.NewConfigDef(append([]connect.ConfigKey{converterTypeKey}, append(registryKeys(),
	connect.ConfigKey{Name: dataCacheConfig, Type: connect.TypeInt, Default: "1000", Importance: connect.Low,
		Doc: "Size of the converted schemas cache"},
	connect.ConfigKey{Name: connectMetaDataConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Toggle for enabling/disabling connect converter to add its meta data to the output schema or not"},
	connect.ConfigKey{Name: enhancedAvroConfig, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium,
		Doc: "Toggle for enabling/disabling enhanced avro schema support: Enum symbol preservation and Package Name awareness"},
	connect.ConfigKey{Name: flattenUnionsConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Whether to flatten singleton unions"},
	connect.ConfigKey{Name: ignoreNullablesConfig, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low,
		Doc: "Whether to ignore the default for nullable fields when the value is null"},
	notSupported("scrub.invalid.names"),
	notSupported("allow.optional.map.keys"),
	notSupported("discard.type.doc.default"),
	notSupported("generalized.sum.type.support"),
)...)...)

// avroConverter is Confluent's io.confluent.connect.avro.AvroConverter:
// Connect data as Avro (mapped as AvroData maps it), in the schema
// registry's wire format (magic byte 0, the 4-byte schema id, the Avro
// binary encoding).
//
// FromConnect converts each new *connect.Schema (by pointer: schemas are
// immutable) to Avro once and asks the registry for its id once per
// subject; ToConnect fetches each new schema id's writer schema once and
// compiles the decoder that resolves it to the reader's schema (the
// writer's own, or with use.latest.version the subject's latest). The
// most recent entry of each direction is kept outside the caches' locks.
type avroConverter struct {
	isKey bool
	data  avroData
	reg   *registry

	schemas  *lru[*connect.Schema, *avroWriter] // the Avro form of each Connect schema
	from     *lru[fromKey, *avroFrom]
	lastFrom atomic.Pointer[avroFrom]
	to       *lru[toKey, *avroTo]
	lastTo   atomic.Pointer[avroTo]
}

// avroWriter is a Connect schema's Avro schema and its text.
type avroWriter struct {
	avro *avro.Schema
	text string
}

type fromKey struct {
	schema *connect.Schema
	topic  string
}

// avroFrom is how values of one Connect schema are written to one topic.
type avroFrom struct {
	key    fromKey
	header [wireHeaderLen]byte
	plan   *encPlan
	raw    bool // the Avro schema is bytes: the payload is the bytes alone
}

type toKey struct {
	id    int
	topic string
}

// avroTo is how data of one schema id read from one topic is decoded.
type avroTo struct {
	key    toKey
	schema *connect.Schema
	plan   *decPlan
	raw    bool // the writer's schema is bytes: the payload is the value
}

func newAvro() *avroConverter { return &avroConverter{} }

func (c *avroConverter) Configure(config map[string]string, isKey bool) error {
	cfg, err := parseConfig(avroConfigDef, config, converterType(isKey))
	if err != nil {
		return fmt.Errorf("avro converter: %w", err)
	}
	reg, err := newRegistry(cfg, isKey)
	if err != nil {
		return fmt.Errorf("avro converter: %w", err)
	}
	size := max(1, cfg.Int(dataCacheConfig))
	c.isKey, c.reg = isKey, reg
	c.data = avroData{
		metaData:        cfg.Bool(connectMetaDataConfig),
		enhanced:        cfg.Bool(enhancedAvroConfig),
		flattenUnions:   cfg.Bool(flattenUnionsConfig),
		ignoreNullables: cfg.Bool(ignoreNullablesConfig),
	}
	c.schemas = newLRU[*connect.Schema, *avroWriter](size)
	c.from = newLRU[fromKey, *avroFrom](size)
	c.to = newLRU[toKey, *avroTo](size)
	c.lastFrom.Store(nil)
	c.lastTo.Store(nil)
	return nil
}

// FromConnect follows Confluent's AvroConverter: a nil value is a null
// record (no schema registered), refused for a schema that is not
// optional; a value without a schema is refused (AvroData's schemaless
// form is not supported).
func (c *avroConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if isNil(value) {
		if schema != nil && !schema.Optional {
			return nil, fmt.Errorf("avro converter: topic %q: %w", topic, errNullRequired)
		}
		return nil, nil
	}
	f := c.lastFrom.Load()
	if f == nil || f.key.schema != schema || f.key.topic != topic {
		var err error
		if f, err = c.writerFor(topic, schema); err != nil {
			return nil, fmt.Errorf("avro converter: topic %q: %w", topic, err)
		}
	}
	if f.raw {
		p, err := f.plan.rawBytes(value)
		if err != nil {
			return nil, fmt.Errorf("avro converter: topic %q: %w", topic, err)
		}
		return append(f.header[:], p...), nil
	}
	e := encoderPool.Get().(*encoder)
	defer putEncoder(e)
	b := append(e.buf[:0], f.header[:]...)
	b, err := f.plan.encode(b, value, 0)
	if err != nil {
		return nil, fmt.Errorf("avro converter: topic %q: %w", topic, err)
	}
	e.buf = b
	out := make([]byte, len(b))
	copy(out, b)
	return out, nil
}

// writerFor converts schema to Avro, registers it (or looks it up) and
// compiles its encoder, once per schema and topic.
func (c *avroConverter) writerFor(topic string, schema *connect.Schema) (*avroFrom, error) {
	key := fromKey{schema, topic}
	if f, ok := c.from.get(key); ok {
		c.lastFrom.Store(f)
		return f, nil
	}
	w, ok := c.schemas.get(schema)
	if !ok {
		a, err := c.data.fromConnectSchema(schema)
		if err != nil {
			return nil, err
		}
		w = &avroWriter{avro: a, text: a.String()}
		c.schemas.put(schema, w)
	}
	record := ""
	if w.avro.Type == avro.TypeRecord {
		record = w.avro.FullName()
	}
	subject, err := c.reg.subject(topic, record)
	if err != nil {
		return nil, err
	}
	target := w.avro
	var id int
	if c.reg.latest && !c.reg.autoReg {
		ss, err := c.reg.latestVersion(subject)
		if err != nil {
			return nil, err
		}
		if target, err = avro.Parse(ss.Schema.Schema); err != nil {
			return nil, fmt.Errorf("the latest schema of subject %q: %w", subject, err)
		}
		if c.reg.strict {
			if in := avro.CheckCompatibility(target, w.avro); len(in) > 0 {
				return nil, fmt.Errorf("the latest schema of subject %q (id %d) cannot read this record's schema (latest.compatibility.strict=true): %s",
					subject, ss.ID, in[0].Describe("latest", "record's"))
			}
		}
		id = ss.ID
	} else if id, err = c.reg.id(subject, sr.Schema{Schema: w.text}); err != nil {
		return nil, err
	}
	plan, err := compileEncoder(schema, target, 0)
	if err != nil {
		return nil, err
	}
	f := &avroFrom{key: key, plan: plan, raw: target.Type == avro.TypeBytes}
	copy(f.header[:], appendWireHeader(nil, id))
	c.from.put(key, f)
	c.lastFrom.Store(f)
	return f, nil
}

// ToConnect follows Confluent's AvroConverter: nil data is a null record;
// other data must be in the registry's wire format. The Connect schema is
// the reader's Avro schema mapped as AvroData maps it, with the registry's
// version of it when the schema does not carry connect.version.
func (c *avroConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	id, payload, err := wireID(data)
	if err != nil {
		return nil, nil, fmt.Errorf("avro converter: topic %q: %w", topic, err)
	}
	t := c.lastTo.Load()
	if t == nil || t.key.id != id || t.key.topic != topic {
		if t, err = c.readerFor(topic, id); err != nil {
			return nil, nil, fmt.Errorf("avro converter: topic %q: schema id %d: %w", topic, id, err)
		}
	}
	if t.raw {
		v, err := t.plan.toLogical(append([]byte{}, payload...))
		if err != nil {
			return nil, nil, fmt.Errorf("avro converter: topic %q: schema id %d: %w", topic, id, err)
		}
		if t.plan.toStr {
			v = string(payload)
		}
		return t.schema, v, nil
	}
	r := avro.Reader{Data: payload}
	v, err := t.plan.decode(&r, 0)
	if err == nil {
		err = r.Err()
	}
	if err == nil && r.Pos != len(payload) {
		err = fmt.Errorf("%d bytes after the Avro value", len(payload)-r.Pos)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("avro converter: topic %q: schema id %d: %w", topic, id, err)
	}
	return t.schema, v, nil
}

// readerFor fetches the writer's schema of id and builds its decoder,
// once per id and topic.
func (c *avroConverter) readerFor(topic string, id int) (*avroTo, error) {
	key := toKey{id, topic}
	if t, ok := c.to.get(key); ok {
		c.lastTo.Store(t)
		return t, nil
	}
	ws, err := c.reg.schemaByID(id)
	if err != nil {
		return nil, err
	}
	if ws.Type != sr.TypeAvro {
		return nil, fmt.Errorf("the schema is of type %s, not AVRO", ws.Type)
	}
	writer, err := avro.Parse(ws.Schema)
	if err != nil {
		return nil, err
	}
	record := ""
	if writer.Type == avro.TypeRecord {
		record = writer.FullName()
	}
	subject, err := c.reg.subject(topic, record)
	if err != nil {
		return nil, err
	}
	reader, readerText, readerID := writer, ws, id
	if c.reg.latest {
		ss, err := c.reg.latestVersion(subject)
		if err != nil {
			return nil, err
		}
		if reader, err = avro.Parse(ss.Schema.Schema); err != nil {
			return nil, fmt.Errorf("the latest schema of subject %q: %w", subject, err)
		}
		readerText, readerID = ss.Schema, ss.ID
	}
	version, err := c.reg.version(subject, readerID, readerText)
	if err != nil {
		return nil, err
	}
	schema, err := c.data.toConnectSchema(reader, int32(version))
	if err != nil {
		return nil, err
	}
	t := &avroTo{key: key, schema: schema}
	if writer.Type == avro.TypeBytes {
		t.raw = true
		t.plan = &decPlan{op: decBytes, schema: schema, toStr: schema.Type == connect.String}
		if schema.Name == connect.DecimalName {
			scale, err := connect.DecimalScale(schema)
			if err != nil {
				return nil, err
			}
			t.plan.logical, t.plan.scale = logicalDecimal, scale
		}
	} else if t.plan, err = c.data.compileDecoder(writer, reader, schema, 0); err != nil {
		return nil, err
	}
	c.to.put(key, t)
	c.lastTo.Store(t)
	return t, nil
}
