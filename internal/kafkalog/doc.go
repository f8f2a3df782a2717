// Package kafkalog keeps a compacted Kafka topic as a log that a process
// reads in full and appends to: Kafka Connect's KafkaBasedLog, which its
// config, offsets and status stores are built on, on franz-go.
//
// Open makes sure the topic exists (creating it compacted when missing,
// refusing an existing one whose cleanup.policy is not compact), then reads
// every partition from its start and keeps reading in a goroutine, handing
// each record to a callback in offset order. ReadToEnd blocks until every
// record written before it was called has been handed over. Send and
// SendAll append records and return once all in-sync replicas have them
// (acks=all, idempotent producer, Kafka's murmur2 key partitioner).
//
// Compaction can remove batches a slow reader has not reached yet and move
// a partition's log start past its position; the broker then answers
// OFFSET_OUT_OF_RANGE. The reader resumes at the new log start: every key
// whose older records were removed has a newer record there, so applying
// the rest in order ends in the same state. The client reconnects by itself
// when brokers restart.
package kafkalog
