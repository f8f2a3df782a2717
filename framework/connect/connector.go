package connect

import "context"

// Connector is a factory for tasks: it validates a configuration and splits
// the work into task configurations. The framework calls its methods from one
// goroutine at a time, in the order Start, TaskConfigs (any number of times),
// Stop. The ctx bounds each call, not the connector's life.
type Connector interface {
	// Config describes the configuration keys the connector accepts. It is
	// called before Start and may be called on a connector never started;
	// it must not block.
	Config() *ConfigDef

	// Start is called with the connector's full configuration (framework keys
	// included), after it validated.
	Start(ctx context.Context, config map[string]string) error

	// TaskConfigs returns at most maxTasks task configurations. The framework
	// starts one task per returned configuration.
	TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error)

	// Stop releases what Start acquired.
	Stop(ctx context.Context) error
}

// Validator is implemented by connectors whose configuration needs checks
// beyond single keys (connectivity, privileges, combinations of keys). It is
// called after the ConfigDef's own checks, on a connector never started, and
// returns one message list per key name (nil when all is well).
type Validator interface {
	Validate(ctx context.Context, config map[string]string) map[string][]string
}

// SourceConnector is a connector whose tasks read from an external system.
type SourceConnector interface {
	Connector
	// NewTask returns a fresh, unstarted task.
	NewTask() SourceTask
}

// SinkConnector is a connector whose tasks write to an external system.
type SinkConnector interface {
	Connector
	// NewTask returns a fresh, unstarted task.
	NewTask() SinkTask
}

// OffsetReader gives a source task the offsets the framework stored for it.
type OffsetReader interface {
	// Offset returns the stored offset of a source partition, or nil.
	Offset(partition map[string]any) map[string]any
}

// SourceTask reads records from an external system.
//
// The framework calls Start once, then Poll repeatedly from one goroutine,
// then Stop. Commit may be called from another goroutine concurrently with
// Poll. Stop is called after Poll returned; the framework cancels Poll's ctx
// first.
type SourceTask interface {
	// Start prepares the task; offsets holds what earlier runs committed.
	// The ctx bounds the start only: connections opened here belong to the
	// task and are closed in Stop.
	Start(ctx context.Context, config map[string]string, offsets OffsetReader) error

	// Poll returns the next batch of records. It may block until data is
	// available or ctx is done; it should return (nil, nil) after a short
	// while with no data (about a second) so the framework can flush offsets
	// and react to pauses. A retriable error is retried; any other error
	// fails the task.
	Poll(ctx context.Context) ([]*Record, error)

	// Stop releases the task's resources.
	Stop(ctx context.Context) error
}

// SourceOffset is the committed offset of one source partition.
type SourceOffset struct {
	Partition map[string]any
	Offset    map[string]any
}

// Committer is implemented by source tasks that must learn which offsets are
// durable, e.g. to acknowledge a replication slot or delete processed files.
// Commit is called after the framework stored offsets, with the newest
// stored offset of each partition that changed. It runs concurrently with
// Poll and must not block it for long.
type Committer interface {
	Commit(ctx context.Context, offsets []SourceOffset) error
}

// SinkTask writes records to an external system.
//
// The framework calls Start once, then Put and Flush from one goroutine
// (never concurrently with each other), then Stop.
type SinkTask interface {
	// Start prepares the task. The ctx bounds the start only.
	Start(ctx context.Context, config map[string]string) error

	// Put hands the task a batch of records. It may buffer them; they need
	// not be durable until Flush. While no records arrive the framework
	// calls Put with an empty batch about once a second, as Kafka Connect
	// does, so a task can act on time (close idle files, send a lingering
	// batch) without a goroutine of its own. Returning a *BatchError names records that
	// failed while the rest were accepted; a retriable error makes the
	// framework hand the same batch again; any other error fails the task.
	Put(ctx context.Context, records []*Record) error

	// Flush makes every record put so far durable. offsets holds, for each
	// partition, the offset after the last record put; once Flush returns
	// nil the framework commits them to Kafka.
	Flush(ctx context.Context, offsets map[TopicPartition]int64) error

	// Stop releases the task's resources. Records put but not flushed will
	// be delivered again to a later task.
	Stop(ctx context.Context) error
}

// PreCommitter is implemented by sink tasks that keep records across
// flushes (open files, bulk requests in flight) and so cannot make all they
// were handed durable on demand, as Kafka Connect's SinkTask.preCommit. The
// framework then calls PreCommit instead of Flush whenever it is about to
// commit offsets: every offset.flush.interval.ms, before partitions are
// taken away (Close follows), and before Stop.
//
// offsets holds, for each partition with records put, the offset after the
// last record put: what Flush would receive. PreCommit returns, per
// partition, the offset of the first record that is not durable yet, so
// that every record before it is: the framework commits exactly that. A
// partition missing from the result is not committed this time; an offset
// beyond the one given is ignored (with a warning, as Kafka Connect does).
// A retriable error commits nothing and is retried at the next commit; any
// other error fails the task.
//
// PreCommit runs on the goroutine that calls Put, never concurrently with
// Put, Open or Close. Records put but never reported durable are delivered
// again to a later task, from the last committed offset.
type PreCommitter interface {
	PreCommit(ctx context.Context, offsets map[TopicPartition]int64) (map[TopicPartition]int64, error)
}

// ErrantRecordReporter hands the framework a record a sink task took in an
// earlier Put and then found it cannot write (Kafka Connect's
// ErrantRecordReporter): a document refused by a bulk request that was
// still in flight when Put returned. The framework handles the record as
// one Put rejected in a BatchError: it is logged per errors.log.enable,
// written, as consumed, to the dead letter queue when there is one, then
// skipped with errors.tolerance=all or fails the task with none.
//
// Report must be given the *Record that Put received. It does not block
// and may be called from any goroutine. The framework commits no offset
// past a reported record before it has handled the report; so a task
// reports a record first, then counts it durable (PendingOffsets.Done).
type ErrantRecordReporter interface {
	Report(rec *Record, err error)
}

// ErrantRecordReporting is implemented by sink tasks that learn only
// after Put returned that a record cannot be written. The framework calls
// SetErrantRecordReporter once, before Start.
type ErrantRecordReporting interface {
	SetErrantRecordReporter(ErrantRecordReporter)
}

// PartitionAware is implemented by sink tasks that keep per-partition state
// (writers, buffers). Open is called when partitions are assigned to the
// task, Close before they are taken away (after a final Flush). Both run on
// the goroutine that calls Put.
type PartitionAware interface {
	Open(ctx context.Context, partitions []TopicPartition) error
	Close(ctx context.Context, partitions []TopicPartition) error
}

// ProgressReporter is implemented by source and sink tasks that can say how
// far they are in a long piece of work, such as an initial snapshot: the
// worker shows it in the task's REST status under "progress".
//
// Progress is called by the framework from its own goroutine every few
// seconds while the task runs, concurrently with Poll, Put, Flush and
// Commit: it must be cheap, must not block, and must be safe to call at any
// time between Start and Stop. The map must hold JSON-compatible values
// (strings, numbers, booleans, nil, and maps and slices of them); the
// framework encodes it and does not keep it, so a task may build a fresh
// map per call. A nil or empty map means there is nothing to show.
type ProgressReporter interface {
	Progress() map[string]any
}
