// Package elasticsink is a sink connector that keeps Elasticsearch (or
// OpenSearch) indexes in step with Kafka topics: every record becomes a
// document write in a bulk request, so an index ends up holding the last
// state of every key of its topic. It takes Confluent's Elasticsearch sink
// configuration unchanged (its class name is an alias, its keys and
// defaults are the same), and differs where that connector loses data or
// fails for good (see README.md).
//
// Put converts records into bulk actions (document.go) and queues them; a
// writer (writer.go) sends up to max.in.flight.requests bulk requests at
// once, never two that touch the same document, so each document's writes
// apply in the order of its records. Every item of every answer is
// classified (bulk.go): written; a version conflict of a replay (counted
// as written); retried with backoff (429, 5xx, rejected execution,
// honouring Retry-After); blocked (a read-only index or cluster, refused
// credentials, an unreachable cluster: retried, and the task's progress
// says "blocked" with the reason); or malformed (per
// behavior.on.malformed.documents, to the framework's error handling and
// dead letter queue). PreCommit answers, per partition, the offset of the
// first record not yet acknowledged, so no offset is committed past a
// document that is not written; while max.buffered.records are held Put
// waits, which keeps the task's partitions from being read further.
//
// Indexes are named after topics (lower-cased); with schema.ignore=false a
// missing index gets a mapping derived from the record schema
// (mapping.go); data streams are created by name. Validate checks that
// every node answers, accepts the credentials and runs a supported
// version, naming the key at fault.
package elasticsink
