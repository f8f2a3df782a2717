package runtime

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/plugin"
)

// ProgressFunc receives a running task's progress as its plugin reported
// it (see connect.ProgressReporter): a JSON object decoded, never nil.
type ProgressFunc func(progress map[string]any)

// progressInterval is how often a running task is asked for its progress.
var progressInterval = 2 * time.Second

// watchProgress asks client for the task's progress at once and then every
// progressInterval, handing each progress that differs from the one before
// to the spec's ProgressFunc, until ctx ends or the returned stop is
// called; stop waits for the goroutine. Without a ProgressFunc it does
// nothing. A task that reports nothing costs one cheap call per interval.
func (t *Task) watchProgress(ctx context.Context, client plugin.Client) (stop func()) {
	if t.spec.Progress == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		var last map[string]any
		failing := false
		for {
			p, err := client.TaskProgress(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				// Progress is informational: the task goes on, and the
				// status keeps the last progress known.
				if !failing {
					t.logger.Debug("task progress not available", "error", err)
				}
				failing = true
			case len(p) > 0 && !reflect.DeepEqual(p, last):
				failing = false
				last = p
				t.spec.Progress(p)
			default:
				failing = false
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
