// Package transforms implements Kafka Connect's single-message transforms
// (SMTs) and predicates over connectd's SDK types, with Kafka Connect's
// config keys and behaviour.
package transforms
