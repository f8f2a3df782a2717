// Package s3sink is a sink connector that lands Kafka topics in S3 objects
// the way Confluent's S3 sink does: its configuration keys, defaults and
// class names, its object layout
// (<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>)
// and its JSON, ByteArray and Parquet formats, so downstream jobs keep
// working when a migration team moves to connectd.
//
// The task keeps one open file per topic partition and folder. Files are
// closed by size, record time, a wall-clock schedule (idle partitions
// included, on the worker's empty puts), schema changes, or the task's
// memory budget, and uploaded as one PUT or a multipart upload on a few
// goroutines the task owns. The task reports the offsets that are in
// uploaded objects through PreCommit, so the worker commits nothing that
// is not in S3; object names depend only on the records, and with
// conditional writes a replay continues after the objects an earlier run
// left instead of writing their records again (see writer.go).
package s3sink
