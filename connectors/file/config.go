package file

import (
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

// Configuration keys, named as Kafka Connect's FileStream connectors name them.
const (
	FileKey      = "file"
	TopicKey     = "topic"
	BatchSizeKey = "batch.size"
)

func sourceConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{
			Name: FileKey, Type: connect.TypeString, Required: true,
			Validator: connect.NonEmpty, Importance: connect.High,
			Doc: "Path of the file to read. Unlike Kafka Connect, standard input is not supported.",
		},
		connect.ConfigKey{
			Name: TopicKey, Type: connect.TypeString, Required: true,
			Validator: connect.NonEmpty, Importance: connect.High,
			Doc: "The topic to publish data to.",
		},
		connect.ConfigKey{
			Name: BatchSizeKey, Type: connect.TypeInt, Default: "2000",
			Validator: connect.AtLeast(1), Importance: connect.Low,
			Doc: "The maximum number of records the source task reads from the file at one time.",
		},
	)
}

func sinkConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{
			Name: FileKey, Type: connect.TypeString, Required: true,
			Validator: connect.NonEmpty, Importance: connect.High,
			Doc: "Path of the file to append to; it is created if missing. " +
				"Unlike Kafka Connect, standard output is not supported.",
		},
	)
}

type sourceConfig struct {
	path      string
	topic     string
	batchSize int
}

func parseSourceConfig(raw map[string]string) (sourceConfig, error) {
	c, err := sourceConfigDef().Parse(raw)
	if err != nil {
		return sourceConfig{}, fmt.Errorf("file-source: %w", err)
	}
	return sourceConfig{path: c.String(FileKey), topic: c.String(TopicKey), batchSize: c.Int(BatchSizeKey)}, nil
}

func parseSinkConfig(raw map[string]string) (string, error) {
	c, err := sinkConfigDef().Parse(raw)
	if err != nil {
		return "", fmt.Errorf("file-sink: %w", err)
	}
	return c.String(FileKey), nil
}
