package connect

import "time"

// Record is one message flowing through a connector: produced by a source
// task, or delivered to a sink task. Transforms see and return Records.
type Record struct {
	// Topic is the Kafka topic. A source task sets it; transforms may change it.
	Topic string
	// Partition is the Kafka partition, or -1 to let the producer's
	// partitioner choose from the key.
	Partition int32

	KeySchema   *Schema // nil: schemaless key
	Key         any
	ValueSchema *Schema // nil: schemaless value
	// Value nil with a nil ValueSchema is a tombstone (a record with a null
	// value in Kafka). A nil Value with a non-nil schema is a null of that
	// schema: the JSON converter writes {"schema":…,"payload":null}, not a
	// tombstone, as Kafka Connect's does.
	Value   any
	Headers []Header
	// Timestamp is the record's time; zero means none (the broker's or
	// producer's time is used).
	Timestamp time.Time

	// SourcePartition and SourceOffset are set by source tasks: where the
	// record came from, and how far the task has read in that partition once
	// this record is durable. Both must be maps of JSON-compatible values
	// (string, bool, float64/int64, nested maps and slices). The framework
	// stores the offset of the newest durable record of each partition.
	// Neither map may be changed once the record is returned from Poll;
	// returning the same SourcePartition map with every record of a
	// partition is encouraged (its encoding is then reused).
	SourcePartition map[string]any
	SourceOffset    map[string]any

	// Offset is the Kafka offset of a record delivered to a sink task.
	Offset int64
}

// Header is one record header.
type Header struct {
	Key    string
	Schema *Schema
	Value  any
}

// Tombstone reports whether r carries no value.
func (r *Record) Tombstone() bool { return r.Value == nil }

// Clone returns a shallow copy of r with its own Headers slice, for
// transforms that change a record.
func (r *Record) Clone() *Record {
	c := *r
	c.Headers = append([]Header(nil), r.Headers...)
	return &c
}

// TopicPartition names one partition of a Kafka topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}
