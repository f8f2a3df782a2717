package converters

import (
	"errors"
	"fmt"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Converter turns Connect data into bytes and back, for a record's key or value.
//
// The runtime builds one converter per role (key, value) for each task, calls
// Configure once, then calls FromConnect (source tasks) or ToConnect (sink
// tasks) for every record, from the task's goroutine. A configured converter
// is safe for concurrent use: several goroutines may call FromConnect and
// ToConnect at once. Configure must not run concurrently with anything else.
type Converter interface {
	// Configure is called once with the converter's own keys (prefix already stripped, e.g. "schemas.enable") and whether it converts keys.
	Configure(config map[string]string, isKey bool) error
	// FromConnect serialises value, described by schema (nil: schemaless),
	// for topic. A nil result is a null Kafka key or value (a tombstone).
	FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error)
	// ToConnect deserialises data read from topic. Nil data (a tombstone)
	// never fails. The converter keeps no reference to data once it returns,
	// except where the converter's doc says the value aliases it.
	ToConnect(topic string, data []byte) (*connect.Schema, any, error)
}

// Appender is a Converter that can also serialise into the caller's
// buffer: a caller that writes the bytes out and reuses its buffer (an
// object-store sink writing record after record) saves FromConnect's
// allocation and copy per record. The JSON converter is one.
type Appender interface {
	// AppendFromConnect appends to dst what FromConnect returns for the
	// same arguments and returns the extended buffer; a tombstone (a nil
	// result of FromConnect) appends nothing. On an error it returns dst
	// as it was. It may run concurrently as FromConnect may.
	AppendFromConnect(dst []byte, topic string, schema *connect.Schema, value any) ([]byte, error)
}

// HeaderConverter turns one header value into bytes and back. Its contract
// is Converter's: Configure once, then any number of concurrent calls.
type HeaderConverter interface {
	// Configure is called once with the converter's own keys (prefix already stripped).
	Configure(config map[string]string) error
	// FromConnectHeader serialises the value of the header named key. A nil
	// result is a header with a null value.
	FromConnectHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error)
	// ToConnectHeader deserialises the value of the header named key.
	ToConnectHeader(topic, key string, data []byte) (*connect.Schema, any, error)
}

// ErrUnknown is wrapped by the errors of New, NewHeader and ConfigDef for a
// name that is not a known converter.
var ErrUnknown = errors.New("unknown converter")

// The short names, and the Kafka Connect class names that mean the same converter.
const (
	jsonName   = "json"
	stringName = "string"
	bytesName  = "bytes"
	simpleName = "simple"

	jsonClass   = "org.apache.kafka.connect.json.JsonConverter"
	stringClass = "org.apache.kafka.connect.storage.StringConverter"
	bytesClass  = "org.apache.kafka.connect.converters.ByteArrayConverter"
	simpleClass = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
)

// names maps every accepted spelling to a short name: the short names, Kafka
// Connect's class names, and the aliases Kafka Connect derives from them
// (the simple class name, and that name without its plugin type suffix).
var names = map[string]string{
	jsonName: jsonName, jsonClass: jsonName, "JsonConverter": jsonName, "Json": jsonName,
	stringName: stringName, stringClass: stringName, "StringConverter": stringName, "String": stringName,
	bytesName: bytesName, bytesClass: bytesName, "ByteArrayConverter": bytesName, "ByteArray": bytesName,
	simpleName: simpleName, simpleClass: simpleName, "SimpleHeaderConverter": simpleName, "Simple": simpleName,
	avroConverterName: avroConverterName, avroConverterClass: avroConverterName, "AvroConverter": avroConverterName, "Avro": avroConverterName,
	jsonSchemaConverterName: jsonSchemaConverterName, jsonSchemaConverterClass: jsonSchemaConverterName,
	"JsonSchemaConverter": jsonSchemaConverterName, "JsonSchema": jsonSchemaConverterName,
}

// New returns the converter named name: short names "json", "string", "bytes" and Kafka Connect's class names
// org.apache.kafka.connect.json.JsonConverter, org.apache.kafka.connect.storage.StringConverter,
// org.apache.kafka.connect.converters.ByteArrayConverter. Unknown name -> error listing the known ones.
//
// The converter starts with its defaults (for JSON, schemas.enable=true);
// call Configure before use.
func New(name string) (Converter, error) {
	c, err := newConverter(name)
	if err != nil {
		return nil, fmt.Errorf("converters: %w", err)
	}
	return c, nil
}

func newConverter(name string) (Converter, error) {
	switch names[strings.TrimSpace(name)] {
	case jsonName:
		return newJSON(), nil
	case stringName:
		return newString(), nil
	case bytesName:
		return byteArrayConverter{}, nil
	case avroConverterName:
		return newAvro(), nil
	case jsonSchemaConverterName:
		return newJSONSchema(), nil
	}
	return nil, fmt.Errorf("%w %q; known converters: %s, %s, %s, %s, %s, %s, %s, %s, %s, %s",
		ErrUnknown, name, jsonName, stringName, bytesName, avroConverterName, jsonSchemaConverterName,
		jsonClass, stringClass, bytesClass, avroConverterClass, jsonSchemaConverterClass)
}

// NewHeader returns the header converter named name: "simple"/org.apache.kafka.connect.storage.SimpleHeaderConverter
// (the default), plus "string", "json", "bytes" and the class names of those.
// A JSON header converter serialises each header value as the JSON converter
// serialises a record value, envelope included when schemas.enable=true.
func NewHeader(name string) (HeaderConverter, error) {
	h, err := newHeaderConverter(name)
	if err != nil {
		return nil, fmt.Errorf("converters: %w", err)
	}
	return h, nil
}

func newHeaderConverter(name string) (HeaderConverter, error) {
	switch names[strings.TrimSpace(name)] {
	case simpleName:
		return simpleHeaderConverter{}, nil
	case jsonName:
		return &headerAdapter{c: newJSON()}, nil
	case stringName:
		return &headerAdapter{c: newString()}, nil
	case bytesName:
		return &headerAdapter{c: byteArrayConverter{}}, nil
	}
	return nil, fmt.Errorf("%w %q; known header converters: %s, %s, %s, %s, %s, %s, %s, %s",
		ErrUnknown, name, simpleName, stringName, jsonName, bytesName, simpleClass, stringClass, jsonClass, bytesClass)
}

// ConfigDef returns the definition of the keys that the converter or header
// converter named name accepts in Configure, for the REST API's plugin config
// and validate endpoints.
func ConfigDef(name string) (*connect.ConfigDef, error) {
	switch names[strings.TrimSpace(name)] {
	case jsonName:
		return jsonConfigDef, nil
	case stringName:
		return stringConfigDef, nil
	case bytesName:
		return bytesConfigDef, nil
	case simpleName:
		return simpleConfigDef, nil
	case avroConverterName:
		return avroConfigDef, nil
	case jsonSchemaConverterName:
		return jsonSchemaConfigDef, nil
	}
	return nil, fmt.Errorf("converters: %w %q", ErrUnknown, name)
}

// converterTypeKey is Kafka Connect's converter.type. Configure sets it from
// isKey (or to "header"), overriding any value in the config, as Kafka
// Connect does; it is defined so that the REST API lists it.
var converterTypeKey = connect.ConfigKey{
	Name:        converterTypeConfig,
	Type:        connect.TypeString,
	Importance:  connect.Low,
	Doc:         "How this converter will be used.",
	Validator:   connect.OneOf("key", "value", "header"),
	Recommended: []string{"key", "value", "header"},
}

const converterTypeConfig = "converter.type"

// parseConfig parses config against def, with converter.type set to typ.
func parseConfig(def *connect.ConfigDef, config map[string]string, typ string) (*connect.Config, error) {
	c := make(map[string]string, len(config)+1)
	for k, v := range config {
		c[k] = v
	}
	c[converterTypeConfig] = typ
	return def.Parse(c)
}

func converterType(isKey bool) string {
	if isKey {
		return "key"
	}
	return "value"
}

// Set holds the configured key, value and header converters of one connector.
type Set struct {
	Key, Value Converter
	Header     HeaderConverter
}

// Kafka Connect's connector and worker keys that name the converters.
const (
	keyConverterConfig    = "key.converter"
	valueConverterConfig  = "value.converter"
	headerConverterConfig = "header.converter"
)

// FromConfig builds a Set from a connector config (keys key.converter, value.converter, header.converter and their
// "key.converter.*" etc. sub-keys), falling back to worker defaults given in the same shape (workerCfg may be nil); when
// neither names one, key and value default to JSON with schemas.enable=true (Kafka Connect's worker default) and
// header to SimpleHeaderConverter. Errors name the offending config key.
//
// As in Kafka Connect, a converter's sub-keys come from the same config that
// names it: when the connector does not set value.converter, its
// value.converter.* keys are ignored and the worker's apply.
func FromConfig(connectorCfg, workerCfg map[string]string) (*Set, error) {
	var s Set
	for _, role := range []struct {
		prop string
		set  func(name string, sub map[string]string) error
	}{
		{keyConverterConfig, func(name string, sub map[string]string) error {
			c, err := newConverter(name)
			if err == nil {
				s.Key = c
				err = c.Configure(sub, true)
			}
			return err
		}},
		{valueConverterConfig, func(name string, sub map[string]string) error {
			c, err := newConverter(name)
			if err == nil {
				s.Value = c
				err = c.Configure(sub, false)
			}
			return err
		}},
		{headerConverterConfig, func(name string, sub map[string]string) error {
			c, err := newHeaderConverter(name)
			if err == nil {
				s.Header = c
				err = c.Configure(sub)
			}
			return err
		}},
	} {
		name, sub := chooseConverter(connectorCfg, workerCfg, role.prop)
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("converters: %s: empty converter name", role.prop)
		}
		if err := role.set(name, sub); err != nil {
			return nil, configError(role.prop, err)
		}
	}
	return &s, nil
}

// chooseConverter returns the converter name for prop and its sub-keys, from
// the connector config if it names one, else from the worker config, else
// the default with the worker's sub-keys.
func chooseConverter(connectorCfg, workerCfg map[string]string, prop string) (string, map[string]string) {
	if name, ok := connectorCfg[prop]; ok {
		return name, subKeys(connectorCfg, prop)
	}
	if name, ok := workerCfg[prop]; ok {
		return name, subKeys(workerCfg, prop)
	}
	if prop == headerConverterConfig {
		return simpleClass, subKeys(workerCfg, prop)
	}
	return jsonClass, subKeys(workerCfg, prop)
}

func subKeys(cfg map[string]string, prop string) map[string]string {
	prefix := prop + "."
	sub := map[string]string{}
	for k, v := range cfg {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			sub[rest] = v
		}
	}
	return sub
}

// configError names prop in err. A *connect.ConfigError inside err is
// rewritten with full key names ("value.converter.schemas.enable"), so that
// the REST validate endpoint can attach each message to the key the user set.
func configError(prop string, err error) error {
	var ce *connect.ConfigError
	if !errors.As(err, &ce) {
		return fmt.Errorf("converters: %s: %w", prop, err)
	}
	full := &connect.ConfigError{Errs: make(map[string][]string, len(ce.Errs))}
	for k, msgs := range ce.Errs {
		full.Errs[prop+"."+k] = msgs
	}
	return fmt.Errorf("converters: %s: %w", prop, full)
}
