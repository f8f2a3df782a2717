package datagen

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Configuration keys.
const (
	TopicKey          = "topic"
	KafkaTopicKey     = "kafka.topic"
	RateKey           = "rate"
	CountKey          = "count"
	BatchSizeKey      = "batch.size"
	RecordSizeKey     = "record.size"
	KeyModeKey        = "key.mode"
	KeyCardinalityKey = "key.cardinality"
	SchemaKey         = "schema"
)

// Values of key.mode.
const (
	KeyModeNone     = "none"
	KeyModeSequence = "sequence"
	KeyModeRandom   = "random"
)

// Values of schema.
const (
	SchemaSimple = "simple"
	SchemaBytes  = "bytes"
	SchemaString = "string"
)

// Keys the connector adds to each task's configuration. They are not part of
// the public ConfigDef: an operator never sets them. A task started without
// them (as in tests and examples) is task 0 of 1 and produces all of count.
const (
	taskIDKey      = "datagen.task.id"
	taskCountKey   = "datagen.task.count"
	taskRecordsKey = "datagen.task.records"
)

const maxRecordSize = 16 << 20

func configDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{
			Name: TopicKey, Type: connect.TypeString, Default: "datagen",
			Validator: connect.NonEmpty, Importance: connect.High,
			Doc: "The topic to write records to.",
		},
		connect.ConfigKey{
			Name: KafkaTopicKey, Type: connect.TypeString, Importance: connect.Low,
			Doc: "Alias of topic, as Confluent's datagen connector names it. Used only when topic is not set.",
		},
		connect.ConfigKey{
			Name: RateKey, Type: connect.TypeDouble, Default: "0",
			Validator: finiteAtLeastZero, Importance: connect.Medium,
			Doc: "Records per second per task; 0 generates as fast as the pipeline takes them.",
		},
		connect.ConfigKey{
			Name: CountKey, Type: connect.TypeLong, Default: "0",
			Validator: connect.AtLeast(0), Importance: connect.Medium,
			Doc: "Total records to generate, split between the tasks; 0 means no end. " +
				"Keep it and tasks.max unchanged across restarts, or the split changes.",
		},
		connect.ConfigKey{
			Name: BatchSizeKey, Type: connect.TypeInt, Default: "100",
			Validator: connect.AtLeast(1), Importance: connect.Low,
			Doc: "The most records one poll returns.",
		},
		connect.ConfigKey{
			Name: RecordSizeKey, Type: connect.TypeInt, Default: "100",
			Validator: connect.Between(0, maxRecordSize), Importance: connect.Medium,
			Doc: "Approximate size of each value in bytes: the length of the payload field " +
				"(simple) or of the whole value (bytes, string).",
		},
		connect.ConfigKey{
			Name: KeyModeKey, Type: connect.TypeString, Default: KeyModeNone,
			Validator:   connect.OneOf(KeyModeNone, KeyModeSequence, KeyModeRandom),
			Recommended: []string{KeyModeNone, KeyModeSequence, KeyModeRandom},
			Importance:  connect.Medium, Dependents: []string{KeyCardinalityKey},
			Doc: "Record keys: none (null keys), sequence (the record's id, an INT64 unique " +
				"across tasks) or random (a pseudo-random INT64 derived from the id, so reruns repeat it).",
		},
		connect.ConfigKey{
			Name: KeyCardinalityKey, Type: connect.TypeLong, Default: "0",
			Validator: connect.AtLeast(0), Importance: connect.Low,
			Doc: "Number of distinct keys: keys are taken modulo this number. 0 means no limit.",
		},
		connect.ConfigKey{
			Name: SchemaKey, Type: connect.TypeString, Default: SchemaSimple,
			Validator:   connect.OneOf(SchemaSimple, SchemaBytes, SchemaString),
			Recommended: []string{SchemaSimple, SchemaBytes, SchemaString},
			Importance:  connect.Medium,
			Doc: "Value shape: simple (a struct {id INT64, seq INT64, task INT32, ts Timestamp, " +
				"payload STRING}), bytes (BYTES holding a JSON object) or string (STRING holding the same JSON).",
		},
	)
}

// taskConfigDef is configDef plus the keys TaskConfigs adds.
func taskConfigDef() *connect.ConfigDef {
	return configDef().Merge(connect.NewConfigDef(
		connect.ConfigKey{Name: taskIDKey, Type: connect.TypeInt, Default: "0", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: taskCountKey, Type: connect.TypeInt, Default: "1", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: taskRecordsKey, Type: connect.TypeLong, Default: "0", Validator: connect.AtLeast(0)},
	))
}

func finiteAtLeastZero(v any) error {
	f, _ := v.(float64)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("Value must be a finite number")
	}
	return connect.AtLeast(0)(v)
}

// config is a parsed connector or task configuration.
type config struct {
	topic          string
	rate           float64
	count          int64
	batchSize      int
	recordSize     int
	keyMode        string
	keyCardinality int64
	schema         string

	// Task keys; zero values for a connector configuration.
	task    int64
	tasks   int64
	records int64 // this task's share of count; 0 means no end
}

func parseConfig(def *connect.ConfigDef, raw map[string]string) (config, error) {
	c, err := def.Parse(raw)
	if err != nil {
		return config{}, fmt.Errorf("datagen: %w", err)
	}
	cfg := config{
		topic:          c.String(TopicKey),
		rate:           c.Double(RateKey),
		count:          c.Long(CountKey),
		batchSize:      c.Int(BatchSizeKey),
		recordSize:     c.Int(RecordSizeKey),
		keyMode:        strings.ToLower(c.String(KeyModeKey)),
		keyCardinality: c.Long(KeyCardinalityKey),
		schema:         strings.ToLower(c.String(SchemaKey)),
		task:           c.Long(taskIDKey),
		tasks:          c.Long(taskCountKey),
		records:        c.Long(taskRecordsKey),
	}
	if _, set := raw[TopicKey]; !set {
		if alias := strings.TrimSpace(raw[KafkaTopicKey]); alias != "" {
			cfg.topic = alias
		}
	}
	if _, set := raw[taskRecordsKey]; !set {
		cfg.records = cfg.count
	}
	return cfg, nil
}
