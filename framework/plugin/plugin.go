package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

// Kind says whether a plugin is a source or a sink connector.
type Kind string

const (
	Source Kind = "source"
	Sink   Kind = "sink"
)

// Plugin is what a connector binary offers: a name and a constructor. Set
// exactly one of NewSource and NewSink.
type Plugin struct {
	Name    string
	Version string
	// Aliases are other names operators may use in connector.class, such as
	// Kafka Connect's Java class names.
	Aliases   []string
	NewSource func() connect.SourceConnector
	NewSink   func() connect.SinkConnector
	// Procs is how many threads may run the plugin process's Go code at
	// once (its GOMAXPROCS); 0 means one. A task polls or puts from one
	// goroutine and scales out as more tasks, each its own process, as
	// Kafka Connect runs a thread per task: one thread keeps a process
	// from competing with the worker and its siblings for every core.
	// A connector that works in parallel within one task sets more.
	// GOMAXPROCS in the worker's environment overrides it.
	Procs int
}

// Kind returns the plugin's kind.
func (p Plugin) Kind() Kind {
	if p.NewSink != nil {
		return Sink
	}
	return Source
}

func (p Plugin) connector() connect.Connector {
	if p.NewSink != nil {
		return p.NewSink()
	}
	return p.NewSource()
}

// Info describes a plugin to the worker.
type Info struct {
	Name    string
	Kind    Kind
	Version string
	Aliases []string
	Config  *connect.ConfigDef
}

// Header is a record header in converted form; a nil Value is a null header.
type Header struct {
	Key   string
	Value []byte
}

// Record is a Kafka-shaped record in converted form: what crosses the
// plugin boundary. A nil Key or Value is null.
type Record struct {
	Topic     string
	Partition int32 // -1: the producer chooses
	Key       []byte
	Value     []byte
	Headers   []Header
	// TimestampMs is milliseconds since the epoch; 0 means none.
	TimestampMs int64

	// SourcePartition and SourceOffset are the source task's position, as
	// canonical JSON objects (sources only; nil when the task set none).
	// Within a polled batch only the newest record of each source
	// partition carries its offset, and failed records their own: the
	// worker commits a batch's records of one partition together, at the
	// newest offset among them.
	SourcePartition []byte
	SourceOffset    []byte

	// Offset is the record's Kafka offset (sinks only).
	Offset int64

	// Dropped is set on a source record that a transform dropped: it is
	// not produced, only its source position counts (a dropped record's
	// offset is committed, as in Kafka Connect). Nothing else is set.
	Dropped bool

	// Txn is the task's transaction request that takes effect after this
	// record (transaction.boundary=connector; see
	// connect.TransactionContext). A record that carries only a request
	// (an empty poll after CommitTransaction) is Dropped, without a topic
	// or source position.
	Txn TxnRequest

	// Err is set when the plugin could not transform or convert this
	// source record. The record then holds what the dead letter queue
	// receives when the connector has one: the record as the task
	// returned it, before any transform (see docs/errors.md); without a
	// dead letter queue only its topic and source position are set.
	Err *RecordError
}

// Stages of processing, as Kafka Connect names them in dead letter queue headers.
const (
	StagePoll            = "TASK_POLL"
	StageTransformation  = "TRANSFORMATION"
	StageKeyConverter    = "KEY_CONVERTER"
	StageValueConverter  = "VALUE_CONVERTER"
	StageHeaderConverter = "HEADER_CONVERTER"
	StagePut             = "TASK_PUT"
)

// RecordError says why one record failed, with what the dead letter queue's
// context headers and the error log need.
type RecordError struct {
	Stage     string
	ClassName string // the transform, converter or connector involved
	// ExceptionClass names the error's kind: the Java exception Kafka
	// Connect raises for the same failure where one is known (a built-in
	// transform's DataException), else the Go type of the innermost error.
	ExceptionClass string
	Message        string
	// Trace is the Go equivalent of a Java stack trace: the chain of
	// wrapped errors, then the stack of the goroutine that caught it.
	Trace string
	// Retriable says the failure may pass when tried again: the worker
	// then hands the record again, within errors.retry.timeout (sink
	// records; a source record's retries happen in the plugin).
	Retriable bool
	// Record describes the failed source record for
	// errors.log.include.messages; empty unless that key is set (the worker
	// describes a sink record itself).
	Record string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.Stage, e.ClassName, e.Message)
}

// NewRecordError describes err at stage, raised by class.
func NewRecordError(stage, class string, err error) *RecordError {
	return &RecordError{
		Stage: stage, ClassName: class, ExceptionClass: exceptionClass(err),
		Message: exceptionMessage(err), Trace: goTrace(err, 3), Retriable: connect.IsRetriable(err),
	}
}

// FailedRecord names a record of a put batch that the task rejected.
type FailedRecord struct {
	Index int
	Err   *RecordError
	// Record is set, and Index is -1, for a record the task reported after
	// the put that took it (connect.ErrantRecordReporter): the record as
	// consumed.
	Record *Record
}

// errRejectedSilently stands for the error a task rejected a record with
// when it gave none.
var errRejectedSilently = errors.New("put rejected the record without saying why")

// Client is the worker's handle on one plugin instance: one connector or one
// task. Methods follow the SDK's calling rules (see framework/connect): the
// worker calls the connector methods, or the source methods, or the sink
// methods, never a mix. SourceCommit may run concurrently with SourcePoll;
// everything else is called from one goroutine at a time. Every ctx bounds
// its call only, and crosses the process boundary.
type Client interface {
	Info(ctx context.Context) (Info, error)
	Validate(ctx context.Context, config map[string]string) ([]connect.ConfigValue, map[string][]string, error)

	ConnectorStart(ctx context.Context, config map[string]string) error
	TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error)
	ConnectorStop(ctx context.Context) error

	// SourceStart starts the task with config and every offset stored for
	// its connector.
	SourceStart(ctx context.Context, config map[string]string, offsets []connect.SourceOffset) error
	// SourcePoll returns the next batch, blocking until one is ready or ctx
	// is done. An empty batch is allowed.
	SourcePoll(ctx context.Context) ([]Record, error)
	SourceCommit(ctx context.Context, offsets []connect.SourceOffset) error
	SourceStop(ctx context.Context) error

	SinkStart(ctx context.Context, config map[string]string) error
	SinkOpen(ctx context.Context, partitions []connect.TopicPartition) error
	SinkClose(ctx context.Context, partitions []connect.TopicPartition) error
	// SinkPut hands a batch to the task; it returns the records that failed
	// conversion, transformation or the task's Put while the rest were taken.
	SinkPut(ctx context.Context, records []Record) ([]FailedRecord, error)
	// SinkFlush makes the task's records durable up to offsets and returns
	// the offsets that may be committed: offsets itself after a Flush, or
	// what a connect.PreCommitter reports durable.
	SinkFlush(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error)
	SinkStop(ctx context.Context) error

	// SourceSupport asks a source connector, never started, whether it
	// gives exactly-once delivery and defines transaction boundaries with
	// config. A plugin that predates the question answers the zero values.
	SourceSupport(ctx context.Context, config map[string]string) (SourceSupport, error)

	// TaskProgress returns what the running task reports of its progress
	// (connect.ProgressReporter), decoded from JSON; nil when the task does
	// not report progress or is not running. It may run concurrently with
	// every task method.
	TaskProgress(ctx context.Context) (map[string]any, error)

	// Close releases the instance: for a process, ends it.
	Close() error
	// Exited is closed when the plugin process ends on its own. For an
	// in-process client it is never closed.
	Exited() <-chan struct{}
	// ExitErr says how the process ended, once Exited is closed.
	ExitErr() error
}

// ErrPluginExited is wrapped by calls that failed because the plugin
// process is gone.
var ErrPluginExited = errors.New("plugin process exited")
