// Package offsets stores source tasks' offsets: where each source partition
// of each connector has been read up to, once the records are durable in
// Kafka.
//
// Keys and values use Kafka Connect's format, so the stores are
// interchangeable with its own: the key of a partition's offset is the JSON
// array ["<connector>", {<source partition>}] and the value is the JSON
// offset object. A nil offset deletes the entry (a tombstone).
//
// Backends: File (standalone mode, offset.storage.file.filename), Memory
// (tests), and Kafka, Kafka Connect's compacted offsets topic
// (offset.storage.topic), which distributed mode is built on.
package offsets
