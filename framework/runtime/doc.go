// Package runtime runs connectors and tasks on one worker.
//
// A Worker owns the Kafka clients, the offset store and the plugin registry.
// For each task it runs an executor: the source executor polls the task's
// plugin, produces the records with franz-go and commits the source offsets
// of records Kafka has acknowledged, in order; the sink executor consumes the
// connector's topics in consumer group connect-<name>, hands batches to the
// task and commits Kafka offsets only after the task's Flush made them
// durable. A task whose plugin process dies is marked FAILED with the reason
// and started again with exponential backoff.
//
// Standalone is the herder of a single worker: it keeps connector configs
// (in memory, or in a file for `connectd dev`) and serves the REST API.
package runtime
