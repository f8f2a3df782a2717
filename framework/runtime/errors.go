package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// errorHandler applies a task's error policy (Kafka Connect's
// RetryWithToleranceOperator and its reporters) to records that failed in
// the plugin or were rejected by the task's put: it logs them when
// errors.log.enable is set, writes them to the dead letter queue when the
// connector has one, counts them in task-error-metrics, and decides by
// errors.tolerance whether the task goes on. As in Kafka Connect a record
// is reported before a tolerance of none fails the task, so it reaches the
// dead letter queue either way.
type errorHandler struct {
	policy plugin.ErrorPolicy
	id     herder.TaskID
	logger *slog.Logger
	m      errorMetrics
	dlq    *dlqWriter // nil without a dead letter queue
}

func newErrorHandler(policy plugin.ErrorPolicy, id herder.TaskID, logger *slog.Logger, m errorMetrics) *errorHandler {
	return &errorHandler{policy: policy, id: id, logger: logger, m: m}
}

// failure is one record that failed for good (retries, if any, are over).
type failure struct {
	err *plugin.RecordError
	// consumed is the record as read from Kafka (sink tasks).
	consumed *kgo.Record
	// source is the record the plugin sent back (source tasks): its
	// topic, position and, with a dead letter queue, its payload.
	source *plugin.Record
}

// where names the failed record for logs and traces.
func (f failure) where() string {
	if f.consumed != nil {
		return fmt.Sprintf("consumed record {topic='%s', partition=%d, offset=%d}", f.consumed.Topic, f.consumed.Partition, f.consumed.Offset)
	}
	if f.source.SourcePartition != nil {
		off := "null"
		if f.source.SourceOffset != nil {
			off = string(f.source.SourceOffset)
		}
		return fmt.Sprintf("source record {topic='%s', sourcePartition=%s, sourceOffset=%s}", f.source.Topic, f.source.SourcePartition, off)
	}
	return fmt.Sprintf("source record {topic='%s'}", f.source.Topic)
}

// handle reports f and returns nil when the task skips it
// (errors.tolerance=all), or the error that fails the task. With a dead
// letter queue the record is handed to the producer, and done (unless nil)
// gets the outcome of that write.
func (h *errorHandler) handle(ctx context.Context, f failure, done func(*kgo.Record, error)) error {
	h.m.errors.Inc()
	h.m.lastError.Set(float64(time.Now().UnixMilli()))
	h.log(f)
	if h.dlq != nil {
		h.dlq.write(ctx, f, done)
	}
	if !h.policy.TolerateAll {
		return &toleranceError{where: f.where(), err: f.err}
	}
	h.m.skipped.Inc()
	return nil
}

// log writes Kafka Connect's LogReporter line when errors.log.enable is set.
func (h *errorHandler) log(f failure) {
	if !h.policy.LogEnable {
		return
	}
	msg := fmt.Sprintf("Error encountered in task %s. Executing stage '%s' with class '%s'", h.id, f.err.Stage, f.err.ClassName)
	if h.policy.LogIncludeMessages {
		switch {
		case f.consumed != nil:
			kr := f.consumed
			ts := "CreateTime"
			if kr.Attrs.TimestampType() == 1 {
				ts = "LogAppendTime"
			}
			msg += fmt.Sprintf(", where consumed record is {topic='%s', partition=%d, offset=%d, timestamp=%d, timestampType=%s}",
				kr.Topic, kr.Partition, kr.Offset, kr.Timestamp.UnixMilli(), ts)
		case f.err.Record != "":
			msg += ", where source record is = " + f.err.Record
		}
	}
	h.logger.Error(msg+".", "exception", f.err.ExceptionClass, "error", f.err.Message)
	h.m.logged.Inc()
}

// toleranceError fails a task whose record failed with
// errors.tolerance=none. Its message starts as Kafka Connect's does.
type toleranceError struct {
	where string
	err   *plugin.RecordError
}

func (e *toleranceError) Error() string {
	return fmt.Sprintf("Tolerance exceeded in error handler: %s failed in stage %s with class %s: %s", e.where, e.err.Stage, e.err.ClassName, e.err.Message)
}

func (e *toleranceError) Unwrap() error { return e.err }
