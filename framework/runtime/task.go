package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// Task is one running task: a supervisor goroutine that starts the task's
// executor, and starts it again with exponential backoff when its plugin
// process dies. A task that fails on its own error stays FAILED until an
// operator restarts it, as in Kafka Connect.
type Task struct {
	w      *Worker
	spec   TaskSpec
	logger *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	metrics *taskGroup

	paused   atomic.Bool
	resumeMu sync.Mutex
	resume   chan struct{} // closed and replaced on every target change
}

// ID returns the task's id.
func (t *Task) ID() herder.TaskID { return t.spec.ID }

// SetPaused pauses or resumes the task.
func (t *Task) SetPaused(p bool) {
	t.paused.Store(p)
	t.resumeMu.Lock()
	close(t.resume)
	t.resume = make(chan struct{})
	t.resumeMu.Unlock()
}

// targetChanged returns a channel closed at the next SetPaused.
func (t *Task) targetChanged() <-chan struct{} {
	t.resumeMu.Lock()
	defer t.resumeMu.Unlock()
	return t.resume
}

// Stop stops the task gracefully (the executor drains within the worker's
// task.shutdown.graceful.timeout.ms) and waits for it.
func (t *Task) Stop() {
	t.cancel()
	<-t.done
	// A failed task's metrics stay until the task is stopped, as Kafka
	// Connect's do, so dashboards see it failed.
	t.w.Metrics.removeTask(t.metrics)
}

// Done is closed when the task's supervisor has ended.
func (t *Task) Done() <-chan struct{} { return t.done }

func (t *Task) supervise(ctx context.Context) {
	defer close(t.done)
	attempt := 0
	for {
		started := time.Now()
		var err error
		t.w.Metrics.taskStart.attempts.Add(1)
		ran := &startupOutcome{counter: &t.w.Metrics.taskStart}
		report := t.spec.Report
		t.spec.Report = func(s herder.State, trace string) {
			if s == herder.Running {
				ran.done(true)
			}
			report(s, trace)
		}
		if t.spec.Entry.Info.Kind == plugin.Sink {
			err = t.runSink(ctx)
		} else {
			err = t.runSource(ctx)
		}
		t.spec.Report = report
		if ctx.Err() == nil {
			ran.done(false)
		}
		if ctx.Err() != nil {
			// Stopped by the worker: the herder reports the new state.
			return
		}
		if err == nil {
			err = errors.New("task ended unexpectedly")
		}
		if !errors.Is(err, plugin.ErrPluginExited) && !errors.Is(err, ErrTaskNotReady) {
			t.logger.Error("task failed", "error", err)
			t.spec.Report(herder.Failed, t.w.redact(trace(err)))
			return
		}
		if time.Since(started) > t.w.Config.RestartBackoff[1] {
			attempt = 0
		}
		attempt++
		delay := backoff(attempt, t.w.Config.RestartBackoff)
		if errors.Is(err, ErrTaskNotReady) {
			// Not a failure: the task waits for its turn (zombie fencing,
			// the config topic) and is not reported as failed.
			t.logger.Info("task not ready to start; trying again", "reason", err, "attempt", attempt, "delay", delay)
		} else {
			t.w.Metrics.restarts.WithLabelValues(t.spec.ID.Connector, itoa(t.spec.ID.Task)).Inc()
			t.logger.Error("plugin process died; restarting task", "error", err, "attempt", attempt, "delay", delay)
			t.spec.Report(herder.Failed, t.w.redact(fmt.Sprintf("%s\nThe worker restarts the task in %s (attempt %d).", trace(err), delay, attempt)))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// backoff returns initial·2^(attempt-1), capped.
func backoff(attempt int, bounds [2]time.Duration) time.Duration {
	d := bounds[0]
	for i := 1; i < attempt && d < bounds[1]; i++ {
		d *= 2
	}
	return min(d, bounds[1])
}

// pause waits before the next try of a retriable call: 100 ms first,
// doubling to at most 10 s. It returns false if ctx ends first.
func pause(ctx context.Context, delay *time.Duration) bool {
	*delay = min(max(2**delay, 100*time.Millisecond), 10*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(*delay):
		return true
	}
}

// trace renders an error for a status's trace field: its message, then,
// for a record that failed, the record error's own trace (the Go
// equivalent of Kafka Connect's "Caused by:" stack).
func trace(err error) string {
	s := fmt.Sprintf("%s: %v", "connectd.TaskError", err)
	var re *plugin.RecordError
	if errors.As(err, &re) && re.Trace != "" {
		s += "\nCaused by: " + re.Trace
	}
	return s
}

// waitResumed blocks while the task is paused, reporting PAUSED then
// RUNNING. It returns false when ctx ends first.
func (t *Task) waitResumed(ctx context.Context) bool {
	if !t.paused.Load() {
		return true
	}
	t.spec.Report(herder.Paused, "")
	for t.paused.Load() {
		select {
		case <-ctx.Done():
			return false
		case <-t.targetChanged():
		}
	}
	t.spec.Report(herder.Running, "")
	return true
}

// startCtx bounds a plugin's launch and start call.
func startCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, 60*time.Second)
}
