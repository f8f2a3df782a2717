// Package javaser reads the Java Object Serialization Stream Protocol
// (version 5) as far as the state Kafka Connect and Debezium store needs:
// the stream header, class descriptors with primitive fields, handles and
// back references, and strings in modified UTF-8. Callers read the objects
// of their own format on top of it: offsets reads a standalone Kafka
// Connect worker's offsets file (a HashMap<byte[], byte[]>), postgres-cdc
// the Object[] of an incremental snapshot's chunk key.
//
// It is part of the SDK: connectors may import it.
package javaser
