// Package postgrescdc is a source connector that streams the changes of a
// PostgreSQL database onto Kafka, in the events Debezium's Postgres
// connector writes, so consumers and tools built for Debezium work
// unchanged.
//
// It reads the database through a logical replication slot with the
// pgoutput plugin (github.com/jackc/pglogrepl). On first start it creates
// the slot with an exported snapshot, reads every captured table under
// that snapshot in primary key chunks (op "r"), then streams inserts,
// updates, deletes and truncates from the slot's consistent point: no gap,
// no overlap. A snapshot interrupted by a restart resumes after the last
// row Kafka holds.
//
// The source partition is {"server": <topic.prefix>}; offsets hold
// Debezium's fields (lsn, lsn_proc, lsn_commit, txId, ts_usec, snapshot,
// last_snapshot_record) plus snapshot_table and snapshot_key while a
// snapshot is under way. The task confirms an LSN to the server only from
// Commit, after the framework stored the offsets of records Kafka
// acknowledged, so the slot never moves past what Kafka holds; a restarted
// task asks the server for the transaction of its stored offset again and
// skips what of it was already sent. Heartbeats move the slot on an idle
// database. A lost connection is retried with backoff; a dropped slot or
// lost WAL fails the task with a message saying what to do.
package postgrescdc
