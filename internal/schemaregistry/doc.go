// Package schemaregistry is a schema registry that speaks Confluent's REST
// API, for `connectd dev`: the Avro and JSON Schema converters (and any
// Confluent-compatible client) register and fetch schemas from it with
// nothing else installed.
//
// State lives in a compacted Kafka topic (_schemas) in Confluent's record
// format: JSON keys {"keytype":"SCHEMA","subject":...,"version":...,
// "magic":1}, {"keytype":"CONFIG",...}, {"keytype":"DELETE_SUBJECT",...}
// and Confluent's JSON values, so a Confluent Schema Registry pointed at
// the same topic reads the same schemas, ids and versions. The registry
// reads the topic at start; a write goes to the topic first and is applied
// when the registry's own reader reaches it (Confluent's KafkaStore).
//
// Schemas are stored and compared in their canonical text: an Avro schema
// as Apache Avro's Java library writes it, a JSON Schema re-written
// compactly. The same schema in several subjects has one id; ids are
// given in order from 1. Compatibility levels NONE, BACKWARD, FORWARD,
// FULL and their _TRANSITIVE forms are checked on register (Avro by Avro's
// SchemaCompatibility rules, JSON Schema by the main rules of Confluent's
// SchemaDiff), and refusals carry Confluent's 409 body.
//
// Not supported: schema references, modes (always READWRITE), contexts,
// Protobuf.
package schemaregistry
