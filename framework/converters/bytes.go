package converters

import (
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

var bytesConfigDef = connect.NewConfigDef(converterTypeKey)

// byteArrayConverter is Kafka Connect's ByteArrayConverter: it passes
// []byte through unchanged, in both directions, without copying. The bytes
// FromConnect returns are the value's, and the value ToConnect returns is
// data itself.
type byteArrayConverter struct{}

func (byteArrayConverter) Configure(map[string]string, bool) error { return nil }

func (byteArrayConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if schema != nil && schema.Type != connect.Bytes {
		return nil, fmt.Errorf("bytes converter: Invalid schema type for ByteArrayConverter: %s", javaType(schema.Type))
	}
	if isNil(value) {
		return nil, nil
	}
	b, ok := value.([]byte)
	if !ok {
		return nil, fmt.Errorf("bytes converter: ByteArrayConverter is not compatible with objects of type %T", value)
	}
	return b, nil
}

func (byteArrayConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalBytes, nil, nil
	}
	return connect.OptionalBytes, data, nil
}
