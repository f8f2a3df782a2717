// Package avro holds Avro schemas the way Apache Avro's Java library holds
// them, for the Avro converter and the schema registry: parsing (after a
// check against the specification by github.com/twmb/avro), the JSON text
// Java writes for a schema (which Confluent's registry stores and compares),
// custom properties in order, Java's default-value rules, the schema
// compatibility check of Avro's SchemaCompatibility (which Confluent's
// registry runs, with its messages), and the primitives of Avro's binary
// encoding.
//
// It does not encode or decode whole values: the converters compile their
// own codecs from a schema, for Kafka Connect's data model.
package avro
