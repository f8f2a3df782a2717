package connect

import (
	"errors"
	"fmt"
)

// RetriableError wraps an error that may succeed when tried again: a
// connection reset, a timeout, a throttled request. The framework retries
// the call with backoff (errors.retry.timeout); other errors fail the task.
type RetriableError struct{ Err error }

func (e *RetriableError) Error() string { return e.Err.Error() }
func (e *RetriableError) Unwrap() error { return e.Err }

// Retriable marks err as retriable. It returns nil for a nil err.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return &RetriableError{Err: err}
}

// IsRetriable reports whether err, or any error it wraps, is retriable.
func IsRetriable(err error) bool {
	var r *RetriableError
	return errors.As(err, &r)
}

// BatchError reports which records of a batch failed: the keys of Errs are
// indexes into the batch. A sink task returns it from Put when some records
// cannot be written and the others were; the framework routes the failed
// ones per errors.tolerance (dead letter queue, or failing the task).
type BatchError struct {
	Errs map[int]error
}

func (e *BatchError) Error() string {
	for i, err := range e.Errs {
		if len(e.Errs) == 1 {
			return fmt.Sprintf("record %d: %v", i, err)
		}
		return fmt.Sprintf("%d records failed; record %d: %v", len(e.Errs), i, err)
	}
	return "empty batch error"
}

// ErrStopped is returned by a task's Poll or Put after Stop; the framework
// treats it as an orderly end, not a failure.
var ErrStopped = errors.New("connect: task stopped")
