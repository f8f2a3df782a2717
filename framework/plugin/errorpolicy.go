package plugin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Connector config keys of error handling, as Kafka Connect's
// ConnectorConfig and SinkConnectorConfig name them. Both sides of the
// boundary read them: the plugin retries and stops per record, the worker
// logs, routes to the dead letter queue and fails the task.
const (
	KeyErrorsRetryTimeout       = "errors.retry.timeout"
	KeyErrorsRetryMaxDelay      = "errors.retry.delay.max.ms"
	KeyErrorsTolerance          = "errors.tolerance"
	KeyErrorsLogEnable          = "errors.log.enable"
	KeyErrorsLogIncludeMessages = "errors.log.include.messages"
	KeyDLQTopic                 = "errors.deadletterqueue.topic.name"
	KeyDLQReplicationFactor     = "errors.deadletterqueue.topic.replication.factor"
	KeyDLQContextHeaders        = "errors.deadletterqueue.context.headers.enable"
)

// Values of errors.tolerance.
const (
	ToleranceNone = "none"
	ToleranceAll  = "all"
)

// ErrorGroup is the config group of the error handling keys.
const ErrorGroup = "Error Handling"

// retryDelayMin is the first pause of a retry: Kafka Connect's
// RetryWithToleranceOperator.RETRIES_DELAY_MIN_MS.
const retryDelayMin = 300 * time.Millisecond

// ErrorConfigDef defines the error handling keys with Kafka Connect's
// types, defaults and documentation. The dead letter queue keys are sink
// keys in Kafka Connect; connectd accepts them for sources too.
func ErrorConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: KeyErrorsRetryTimeout, Type: connect.TypeLong, Default: "0", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthMedium, DisplayName: "Retry Timeout for Errors",
			Doc: "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries."},
		connect.ConfigKey{Name: KeyErrorsRetryMaxDelay, Type: connect.TypeLong, Default: "60000", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthMedium, DisplayName: "Maximum Delay Between Retries for Errors",
			Doc:       "The maximum duration in milliseconds between consecutive retry attempts. Jitter will be added to the delay once this limit is reached to prevent thundering herd issues.",
			Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: KeyErrorsTolerance, Type: connect.TypeString, Default: ToleranceNone, Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthShort, DisplayName: "Error Tolerance",
			Doc:       "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.",
			Validator: exactlyOneOf(ToleranceNone, ToleranceAll), Recommended: []string{ToleranceNone, ToleranceAll}},
		connect.ConfigKey{Name: KeyErrorsLogEnable, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthShort, DisplayName: "Log Errors",
			Doc: "If true, write each error and the details of the failed operation and problematic record to the Connect application log. This is 'false' by default, so that only errors that are not tolerated are reported."},
		connect.ConfigKey{Name: KeyErrorsLogIncludeMessages, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthShort, DisplayName: "Log Error Details",
			Doc: "Whether to include in the log the Connect record that resulted in a failure. For sink records, the topic, partition, offset, and timestamp will be logged. For source records, the key and value (and their schemas), all headers, and the timestamp, Kafka topic, Kafka partition, source partition, and source offset will be logged. This is 'false' by default, which will prevent record keys, values, and headers from being written to log files."},
		connect.ConfigKey{Name: KeyDLQTopic, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthMedium, DisplayName: "Dead Letter Queue Topic Name",
			Doc: "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this connector, or its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ. For sink connectors the DLQ receives the record as consumed; for source connectors (a connectd addition) the record as the task returned it, before any transformation (see docs/errors.md)."},
		connect.ConfigKey{Name: KeyDLQReplicationFactor, Type: connect.TypeShort, Default: "3", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthMedium, DisplayName: "Dead Letter Queue Topic Replication Factor",
			Doc:       "Replication factor used to create the dead letter queue topic when it doesn't already exist. -1 uses the broker's default.",
			Validator: validReplicationFactor},
		connect.ConfigKey{Name: KeyDLQContextHeaders, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium, Group: ErrorGroup, Width: connect.WidthMedium, DisplayName: "Enable Error Context Headers",
			Doc: "If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys will start with __connect.errors."},
	)
}

// exactlyOneOf accepts only the given strings, with their case, as Kafka's
// ConfigDef.ValidString does.
func exactlyOneOf(values ...string) connect.ValidatorFunc {
	return func(v any) error {
		s, _ := v.(string)
		for _, a := range values {
			if a == s {
				return nil
			}
		}
		return fmt.Errorf("String must be one of: %s", strings.Join(values, ", "))
	}
}

func validReplicationFactor(v any) error {
	n, _ := v.(int16)
	if n == 0 || n < -1 {
		return fmt.Errorf("Replication factor must be positive or -1 (the broker's default)")
	}
	return nil
}

// ErrorPolicy is a connector's error handling configuration, parsed.
type ErrorPolicy struct {
	// RetryTimeout bounds how long a retriable failure is tried again;
	// 0 means never, negative means without end.
	RetryTimeout time.Duration
	// RetryMaxDelay caps the pause between two tries.
	RetryMaxDelay time.Duration
	// TolerateAll is errors.tolerance=all: failed records are skipped
	// (and reported) instead of failing the task.
	TolerateAll        bool
	LogEnable          bool
	LogIncludeMessages bool
	// DLQTopic is the dead letter queue's topic, or "" for none.
	DLQTopic             string
	DLQReplicationFactor int16
	DLQContextHeaders    bool
}

// ParseErrorPolicy reads the error handling keys of a connector or task
// config. The error names the wrong keys.
func ParseErrorPolicy(config map[string]string) (ErrorPolicy, error) {
	c, err := ErrorConfigDef().Parse(config)
	if err != nil {
		return ErrorPolicy{}, fmt.Errorf("error handling config: %w", err)
	}
	p := ErrorPolicy{
		RetryTimeout:         time.Duration(c.Long(KeyErrorsRetryTimeout)) * time.Millisecond,
		RetryMaxDelay:        time.Duration(c.Long(KeyErrorsRetryMaxDelay)) * time.Millisecond,
		TolerateAll:          c.String(KeyErrorsTolerance) == ToleranceAll,
		LogEnable:            c.Bool(KeyErrorsLogEnable),
		LogIncludeMessages:   c.Bool(KeyErrorsLogIncludeMessages),
		DLQTopic:             strings.TrimSpace(c.String(KeyDLQTopic)),
		DLQReplicationFactor: int16(c.Long(KeyDLQReplicationFactor)),
		DLQContextHeaders:    c.Bool(KeyDLQContextHeaders),
	}
	if c.Long(KeyErrorsRetryTimeout) < 0 {
		p.RetryTimeout = -1
	}
	return p, nil
}

// Retrier paces the tries of one failing operation the way Kafka Connect's
// RetryWithToleranceOperator does: the first pause is 300 ms, each next one
// doubles, a pause longer than errors.retry.delay.max.ms becomes a random
// one below it, and no pause runs past errors.retry.timeout, counted from
// the first failure. The zero Retrier is not usable; get one from
// ErrorPolicy.Retrier.
type Retrier struct {
	p        ErrorPolicy
	attempt  int
	deadline time.Time
	forever  bool
}

// Retrier starts pacing a new operation; call it when the operation first
// failed with a retriable error.
func (p ErrorPolicy) Retrier() *Retrier {
	r := &Retrier{p: p, forever: p.RetryTimeout < 0}
	if !r.forever {
		r.deadline = time.Now().Add(p.RetryTimeout)
	}
	return r
}

// Wait pauses before the next try of a failed operation. It returns false,
// at once, when the retry timeout has passed (the failure stands), or when
// ctx ends during the pause.
func (r *Retrier) Wait(ctx context.Context) bool {
	now := time.Now()
	if !r.forever && !now.Before(r.deadline) {
		return false
	}
	r.attempt++
	delay := r.delay(now)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Retries is how many pauses Wait has made so far.
func (r *Retrier) Retries() int { return r.attempt }

// delay is the pause before try attempt+1 (attempt counts from 1).
func (r *Retrier) delay(now time.Time) time.Duration {
	delay := retryDelayMin
	for i := 1; i < r.attempt && delay <= r.p.RetryMaxDelay; i++ {
		delay *= 2
	}
	if delay > r.p.RetryMaxDelay {
		delay = 0
		if r.p.RetryMaxDelay > 0 {
			delay = rand.N(r.p.RetryMaxDelay)
		}
	}
	if !r.forever && now.Add(delay).After(r.deadline) {
		delay = max(0, r.deadline.Sub(now))
	}
	return delay
}

// retry runs op until it succeeds, fails with an error that is not
// retriable, or the policy gives up. It is called after op already failed
// once with err, so the hot path pays nothing for it.
func (p ErrorPolicy) retry(ctx context.Context, err error, op func() error) error {
	r := p.Retrier()
	for connect.IsRetriable(err) && r.Wait(ctx) {
		err = op()
	}
	return err
}
