// Package postgrescdc is a source connector that streams the changes of a
// PostgreSQL database onto Kafka, in the events Debezium's Postgres
// connector writes, so consumers and tools built for Debezium work
// unchanged.
//
// It reads the database through a logical replication slot with the
// pgoutput plugin (github.com/jackc/pglogrepl). On first start it creates
// the slot with an exported snapshot, reads every captured table under
// that snapshot in primary key chunks (op "r"), with snapshot.max.threads
// readers over key ranges of a table, then streams inserts, updates,
// deletes and truncates from the slot's consistent point: no gap, no
// overlap. A snapshot interrupted by a restart resumes after the last row
// Kafka holds.
//
// While it streams, signals (rows of the signal table, records of the
// Kafka signal topic) start, pause, resume and stop incremental snapshots:
// tables read in chunks between watermarks written into the signal table,
// de-duplicated against the changes streamed between them (incremental.go).
// With provide.transaction.metadata it writes BEGIN and END events and the
// transaction block of every event.
//
// The source partition is {"server": <topic.prefix>}; offsets hold
// Debezium's fields with Debezium's meaning (offsets.go), so each connector
// resumes from the other's. The task confirms an LSN to the server only
// from Commit, after the framework stored the offsets of records Kafka
// acknowledged, so the slot never moves past what Kafka holds. Heartbeats
// move the slot on an idle database. A lost connection is retried with
// backoff; a dropped slot or lost WAL fails the task with a message saying
// what to do.
package postgrescdc
