// Package file holds Kafka Connect's FileStream connectors: a source that
// tails a text file, one record per line, and a sink that appends each
// record's value to a file as a line.
//
// They follow org.apache.kafka.connect.file.FileStreamSourceConnector and
// FileStreamSinkConnector: the same config keys, the same source partition
// {"filename": path} and offset {"position": n}, so offsets migrated from
// Kafka Connect resume where they stopped. Where Kafka Connect's behaviour is
// a bug, this package does not copy it: positions count bytes, not UTF-16
// chars, and a truncated file fails the task instead of stalling it.
package file
