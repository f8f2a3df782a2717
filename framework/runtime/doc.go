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
// With exactly-once source support (Worker.ExactlyOnce, set by the
// distributed herder) the source executor's producer is transactional
// (<group.id>-<connector>-<task>) and commits records with the offsets
// that cover them at each transaction boundary instead (eos.go). A source
// connector's topics are created with its KIP-158 settings
// (topiccreation.go), or the broker's defaults without them.
//
// Records that fail in the plugin (a transform or converter) or that a sink
// task's put rejects come back to the executor, which applies the
// connector's errors.* keys as Kafka Connect does (errors.go, dlq.go): the
// error log, the dead letter queue with its context headers, the
// task-error-metrics, and errors.tolerance (skip, or fail the task with a
// trace). Connector and task configs are stored with their config provider
// placeholders and resolved only for the plugin (secrets.go); the values
// resolved are hidden in the worker's logs, traces and REST responses.
//
// Standalone is the herder of a single worker: it keeps connector configs
// (in memory, or in a file for `connectd dev`) and serves the REST API.
package runtime
