package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// Exactly-once source support (Kafka Connect's KIP-618). The worker key
// exactly.once.source.support is a distributed-mode key (package cluster
// parses it); the runtime reads the outcome from Worker.ExactlyOnce.

// Values of the worker key exactly.once.source.support.
const (
	ExactlyOnceDisabled  = "disabled"
	ExactlyOncePreparing = "preparing"
	ExactlyOnceEnabled   = "enabled"
)

// Source connector keys of exactly-once support and of a per-connector
// offsets topic, as Kafka Connect's SourceConnectorConfig names them.
const (
	KeyExactlyOnceSupport          = "exactly.once.support"
	KeyTransactionBoundary         = connect.KeyTransactionBoundary
	KeyTransactionBoundaryInterval = "transaction.boundary.interval.ms"
	KeyOffsetsTopic                = "offsets.storage.topic"

	// Values of exactly.once.support.
	ExactlyOnceRequested = "requested"
	ExactlyOnceRequired  = "required"

	GroupExactlyOnce  = "Exactly Once Support"
	GroupOffsetsTopic = "Offsets Topic"
)

// ExactlyOnce is the worker's exactly-once source setting.
type ExactlyOnce struct {
	// Mode is exactly.once.source.support: disabled, preparing or enabled.
	// Empty means disabled (standalone mode has no such support).
	Mode string
	// GroupID is the cluster's group.id, which transactional ids start
	// with.
	GroupID string
}

// transactionTimeout is the transaction.timeout.ms of source tasks'
// transactional producers (Kafka's producer default). A task killed with a
// transaction open holds back read_committed consumers until the broker
// aborts it: at once when the task's replacement initialises its producer,
// else after this long.
const transactionTimeout = 60 * time.Second

// Enabled reports whether source tasks run with transactions.
func (e ExactlyOnce) Enabled() bool { return e.Mode == ExactlyOnceEnabled }

// TransactionalID is the transactional id of a source task's producer when
// it runs exactly once: <group.id>-<connector>-<task>, as Kafka Connect's.
func TransactionalID(groupID, connector string, task int) string {
	return groupID + "-" + connector + "-" + strconv.Itoa(task)
}

// sourceExactlyOnceKeys are the exactly-once and offsets topic keys of a
// source connector's config.
func sourceExactlyOnceKeys() []connect.ConfigKey {
	return []connect.ConfigKey{
		{Name: KeyExactlyOnceSupport, Type: connect.TypeString, Default: ExactlyOnceRequested, Importance: connect.Medium, Group: GroupExactlyOnce, Width: connect.WidthShort, DisplayName: "Exactly once support",
			Doc:       "Permitted values are requested, required. If set to required, forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration, and that the worker runs with exactly.once.source.support=enabled: the connector is refused otherwise. With requested, the connector runs exactly once when the worker has exactly.once.source.support=enabled.",
			Validator: OneOfFold(ExactlyOnceRequested, ExactlyOnceRequired)},
		{Name: KeyTransactionBoundary, Type: connect.TypeString, Default: connect.BoundaryPoll, Importance: connect.Medium, Group: GroupExactlyOnce, Width: connect.WidthShort, DisplayName: "Transaction Boundary",
			Doc:       "Permitted values are poll, interval, connector. If set to poll, a new producer transaction is started and committed for every batch of records that each task from this connector provides to the framework. If set to connector, relies on the connector to define where transactions end (its task's TransactionContext); the connector must say it can. If set to interval, commits transactions only after a user-defined time interval has passed.",
			Validator: OneOfFold(connect.BoundaryPoll, connect.BoundaryInterval, connect.BoundaryConnector)},
		{Name: KeyTransactionBoundaryInterval, Type: connect.TypeLong, Default: "", Importance: connect.Low, Group: GroupExactlyOnce, Width: connect.WidthShort, DisplayName: "Transaction boundary interval",
			Doc:       "If transaction.boundary is set to interval, determines the interval for producer transaction commits by connector tasks. If unset, defaults to the value of the worker-level offset.flush.interval.ms property. It has no effect if a different transaction.boundary is specified.",
			Validator: connect.AtLeast(0)},
		{Name: KeyOffsetsTopic, Type: connect.TypeString, Default: "", Importance: connect.Low, Group: GroupOffsetsTopic, Width: connect.WidthLong, DisplayName: "Offsets topic",
			Doc: "The name of a separate offsets topic to use for this connector. If empty or not specified, the worker's global offsets topic name will be used. If specified, the offsets topic will be created if it does not already exist on the Kafka cluster. Only applicable in distributed mode; in standalone mode, setting this property has no effect."},
	}
}

// OneOfFold accepts one of values in any case, as Kafka's
// CaseInsensitiveValidString.
func OneOfFold(values ...string) connect.ValidatorFunc {
	return func(v any) error {
		s, _ := v.(string)
		for _, ok := range values {
			if strings.EqualFold(s, ok) {
				return nil
			}
		}
		return fmt.Errorf("String must be one of (case insensitive): %s", strings.Join(values, ", "))
	}
}

// Messages of the exactly-once checks at validation, Kafka Connect's where
// it has them.
const (
	msgEOSNoPreflight = "The connector does not implement the API required for preflight validation of exactly-once " +
		"source support. Please consult the documentation for the connector to determine whether it supports exactly-once " +
		"guarantees, and then consider reconfiguring the connector to use the value \"requested\" for this property (which " +
		"will still permit the connector to be created, but without exactly-once support)."
	msgEOSUnsupported         = "The connector does not support exactly-once delivery guarantees with the provided configuration."
	msgBoundariesUnsupported  = "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition."
	msgBoundariesNoPreflight  = "The connector does not implement the API required for preflight validation of connector-defined transaction boundaries. Please reconfigure it to use a different transaction boundary definition."
	msgEOSWorkerNotEnabledFmt = "This worker does not run source connectors exactly once (exactly.once.source.support=%s); " +
		"exactly.once.support=required can only be met with exactly.once.source.support=enabled on every worker"
)

// exactlyOnceErrors adds to extra what is wrong with a source connector's
// exactly-once keys: required where the worker or the connector cannot
// give it, connector-defined boundaries where the connector cannot define
// them. client is the plugin, for its answers.
func (w *Worker) exactlyOnceErrors(ctx context.Context, client plugin.Client, config map[string]string, extra map[string][]string) error {
	required := strings.EqualFold(config[KeyExactlyOnceSupport], ExactlyOnceRequired)
	connectorBoundary := strings.EqualFold(config[KeyTransactionBoundary], connect.BoundaryConnector)
	if !required && !connectorBoundary {
		return nil
	}
	sup, err := client.SourceSupport(ctx, config)
	if err != nil {
		return fmt.Errorf("ask the connector about exactly-once support: %w", err)
	}
	if required {
		if mode := w.ExactlyOnce.Mode; mode != ExactlyOnceEnabled {
			if mode == "" {
				mode = ExactlyOnceDisabled
			}
			extra[KeyExactlyOnceSupport] = append(extra[KeyExactlyOnceSupport], fmt.Sprintf(msgEOSWorkerNotEnabledFmt, mode))
		}
		switch sup.ExactlyOnce {
		case connect.ExactlyOnceSupported:
		case connect.ExactlyOnceUnsupported:
			extra[KeyExactlyOnceSupport] = append(extra[KeyExactlyOnceSupport], msgEOSUnsupported)
		default:
			extra[KeyExactlyOnceSupport] = append(extra[KeyExactlyOnceSupport], msgEOSNoPreflight)
		}
	}
	if connectorBoundary && sup.TransactionBoundaries != connect.TransactionBoundariesSupported {
		extra[KeyTransactionBoundary] = append(extra[KeyTransactionBoundary], msgBoundariesUnsupported)
	}
	return nil
}

// FenceProducers fences out the producers of transactional ids: each is
// initialised anew (Kafka's InitProducerId, as Admin.fenceProducers does),
// which aborts a transaction it left open and bumps its epoch, so that a
// producer still using the old epoch (a zombie task) can write and commit
// nothing more.
func FenceProducers(ctx context.Context, cl *kgo.Client, ids []string) error {
	for _, id := range ids {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = kmsg.StringPtr(id)
		req.ProducerID, req.ProducerEpoch = -1, -1
		req.TransactionTimeoutMillis = int32(transactionTimeout.Milliseconds())
		for {
			resp, err := req.RequestWith(ctx, cl)
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			if err == nil {
				break
			}
			if errors.Is(err, kerr.ConcurrentTransactions) && ctx.Err() == nil {
				// The old producer's transaction is being ended.
				delay := time.Duration(0)
				if !pause(ctx, &delay) {
					return fmt.Errorf("fence transactional id %s: %w", id, ctx.Err())
				}
				continue
			}
			return fmt.Errorf("fence transactional id %s: %w", id, err)
		}
	}
	return nil
}

// TasksExactlyOnce is what a source connector's status says of its
// delivery, from its tasks' reports: exactly once when it has tasks and
// every one runs exactly once (during a rolling upgrade some may not yet);
// nil for a sink.
func TasksExactlyOnce(t herder.ConnectorType, config map[string]string, tasks []herder.TaskState) *herder.ExactlyOnceStatus {
	if t != herder.Source {
		return nil
	}
	all := len(tasks) > 0
	for _, ts := range tasks {
		all = all && ts.ExactlyOnce
	}
	if !all {
		return &herder.ExactlyOnceStatus{}
	}
	return &herder.ExactlyOnceStatus{Enabled: true, TransactionBoundary: boundaryOf(config)}
}

func boundaryOf(config map[string]string) string {
	b := strings.ToLower(strings.TrimSpace(config[KeyTransactionBoundary]))
	if b == "" {
		b = connect.BoundaryPoll
	}
	return b
}

// ExactlyOnceStatus is what a source connector's status says of its
// delivery on worker w (standalone mode); nil for a sink.
func (w *Worker) ExactlyOnceStatus(t herder.ConnectorType, config map[string]string) *herder.ExactlyOnceStatus {
	if t != herder.Source {
		return nil
	}
	if !w.ExactlyOnce.Enabled() {
		return &herder.ExactlyOnceStatus{}
	}
	return &herder.ExactlyOnceStatus{Enabled: true, TransactionBoundary: boundaryOf(config)}
}
