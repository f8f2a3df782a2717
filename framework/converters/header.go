package converters

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/connectd/connectd/framework/connect"
)

var simpleConfigDef = connect.NewConfigDef()

// simpleHeaderConverter is Kafka Connect's SimpleHeaderConverter, the
// default header converter. It writes a header value in its string form
// (see appendValueString) as UTF-8 and infers the schema back from that
// string (see parseValueString): "42" reads as an int8, "true" as a
// boolean, "[1,2]" as an array of int8. Data that is not UTF-8 reads as
// bytes. It has no configuration.
type simpleHeaderConverter struct{}

func (simpleHeaderConverter) Configure(map[string]string) error { return nil }

func (simpleHeaderConverter) FromConnectHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error) {
	if isNil(value) {
		return nil, nil
	}
	b, err := appendValueString(make([]byte, 0, 32), schema, value, false, 0)
	if err != nil {
		return nil, fmt.Errorf("simple header converter: header %q on topic %q: %w", key, topic, err)
	}
	return b, nil
}

func (simpleHeaderConverter) ToConnectHeader(topic, key string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	if !utf8.Valid(data) {
		// Kafka Connect would decode with replacement characters; bytes
		// keep the header as it was.
		return connect.BytesSchema, bytes.Clone(data), nil
	}
	s, v := parseValueString(string(data))
	return s, v, nil
}

// headerAdapter serves a record converter (JSON, string, bytes) as a header
// converter, as Kafka Connect's converters serve both roles: each header
// value is converted as a record value would be.
type headerAdapter struct {
	c Converter
}

func (h *headerAdapter) Configure(config map[string]string) error {
	return h.c.Configure(config, false)
}

func (h *headerAdapter) FromConnectHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error) {
	return h.c.FromConnect(topic, schema, value)
}

func (h *headerAdapter) ToConnectHeader(topic, key string, data []byte) (*connect.Schema, any, error) {
	return h.c.ToConnect(topic, data)
}
