package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestParseErrorPolicy(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		config map[string]string
		want   ErrorPolicy
		err    string
	}{
		"defaults": {
			config: map[string]string{},
			want:   ErrorPolicy{RetryMaxDelay: time.Minute, DLQReplicationFactor: 3},
		},
		"everything": {
			config: map[string]string{
				KeyErrorsRetryTimeout: "30000", KeyErrorsRetryMaxDelay: "5000", KeyErrorsTolerance: "all",
				KeyErrorsLogEnable: "true", KeyErrorsLogIncludeMessages: "true", KeyDLQTopic: " dlq ",
				KeyDLQReplicationFactor: "1", KeyDLQContextHeaders: "true",
			},
			want: ErrorPolicy{RetryTimeout: 30 * time.Second, RetryMaxDelay: 5 * time.Second, TolerateAll: true, LogEnable: true,
				LogIncludeMessages: true, DLQTopic: "dlq", DLQReplicationFactor: 1, DLQContextHeaders: true},
		},
		"infinite retries": {
			config: map[string]string{KeyErrorsRetryTimeout: "-1"},
			want:   ErrorPolicy{RetryTimeout: -1, RetryMaxDelay: time.Minute, DLQReplicationFactor: 3},
		},
		"broker default replication": {
			config: map[string]string{KeyDLQReplicationFactor: "-1"},
			want:   ErrorPolicy{RetryMaxDelay: time.Minute, DLQReplicationFactor: -1},
		},
		"tolerance is case-sensitive as in Kafka": {
			config: map[string]string{KeyErrorsTolerance: "ALL"},
			err:    "Invalid value ALL for configuration errors.tolerance: String must be one of: none, all",
		},
		"bad replication factor": {
			config: map[string]string{KeyDLQReplicationFactor: "0"},
			err:    "errors.deadletterqueue.topic.replication.factor",
		},
		"not a number": {
			config: map[string]string{KeyErrorsRetryTimeout: "soon"},
			err:    "Invalid value soon for configuration errors.retry.timeout: Not a number of type LONG",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseErrorPolicy(tc.config)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("policy (-want +got):\n%s", d)
			}
		})
	}
}

// TestRetrierDelays checks the pauses against Kafka Connect's
// RetryWithToleranceOperator.backoff: 300 ms doubling per attempt, a
// random pause below the maximum once past it, never beyond the deadline.
func TestRetrierDelays(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	r := &Retrier{p: ErrorPolicy{RetryMaxDelay: 60 * time.Second}, forever: true}
	var got []time.Duration
	for range 6 {
		r.attempt++
		got = append(got, r.delay(now))
	}
	want := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond, 2400 * time.Millisecond, 4800 * time.Millisecond, 9600 * time.Millisecond}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("delays (-want +got):\n%s", d)
	}

	capped := &Retrier{p: ErrorPolicy{RetryMaxDelay: time.Second}, forever: true, attempt: 3}
	for range 100 {
		if d := capped.delay(now); d < 0 || d >= time.Second {
			t.Fatalf("a pause past errors.retry.delay.max.ms is %s, want a random one in [0, 1s)", d)
		}
	}
	zero := &Retrier{p: ErrorPolicy{RetryMaxDelay: 0}, forever: true, attempt: 1}
	if d := zero.delay(now); d != 0 {
		t.Fatalf("with errors.retry.delay.max.ms=0 the pause is %s, want 0", d)
	}

	bounded := &Retrier{p: ErrorPolicy{RetryMaxDelay: time.Minute}, deadline: now.Add(100 * time.Millisecond), attempt: 1}
	if d := bounded.delay(now); d != 100*time.Millisecond {
		t.Fatalf("a pause that would pass the deadline is %s, want the 100ms left", d)
	}
}

func TestRetryStopsAtTimeoutAndOnPermanentErrors(t *testing.T) {
	t.Parallel()
	transient := connect.Retriable(errors.New("busy"))
	permanent := errors.New("broken")

	// errors.retry.timeout=0 (the default): no second try.
	calls := 0
	err := ErrorPolicy{RetryMaxDelay: time.Minute}.retry(context.Background(), transient, func() error { calls++; return transient })
	if calls != 0 || !errors.Is(err, transient) {
		t.Fatalf("timeout 0: %d more calls, error %v; want none and the first error", calls, err)
	}

	// Retried until it passes.
	calls = 0
	p := ErrorPolicy{RetryTimeout: -1, RetryMaxDelay: time.Millisecond}
	err = p.retry(context.Background(), transient, func() error {
		calls++
		if calls < 3 {
			return transient
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("infinite retries: %d calls, error %v; want 3 and success", calls, err)
	}

	// A permanent error ends the retries at once.
	calls = 0
	err = p.retry(context.Background(), transient, func() error { calls++; return permanent })
	if calls != 1 || !errors.Is(err, permanent) {
		t.Fatalf("permanent error: %d calls, error %v; want 1 and the permanent error", calls, err)
	}

	// A cancelled context ends them too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	err = ErrorPolicy{RetryTimeout: -1, RetryMaxDelay: time.Hour}.retry(ctx, transient, func() error { calls++; return transient })
	if calls != 0 || !errors.Is(err, transient) {
		t.Fatalf("cancelled: %d calls, error %v", calls, err)
	}
}
