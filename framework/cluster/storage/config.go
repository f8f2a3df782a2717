package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkalog"
)

// Options configure a ConfigLog or a StatusLog: the worker's
// config.storage.* or status.storage.* settings.
type Options struct {
	// ClientOpts configure the log's Kafka clients: seed brokers at least,
	// and TLS or SASL when the cluster needs them.
	ClientOpts []kgo.Opt
	// Topic is config.storage.topic or status.storage.topic. Required.
	Topic string
	// Partitions is status.storage.partitions, used when the status topic
	// is created (0 means Kafka Connect's default, 5; -1 the broker's
	// default). The config topic always has one partition.
	Partitions int32
	// ReplicationFactor is used when the topic is created; 0 or -1 means
	// the broker's default.
	ReplicationFactor int16
	// TopicConfigs are further configs for a topic the log creates.
	TopicConfigs map[string]string
	// Logger receives warnings about records that cannot be read and about
	// Kafka; nil discards them.
	Logger *slog.Logger
	// TransactionalID, for the config topic, makes the leader's writes
	// transactional with this id (Kafka Connect's connect-cluster-<group.id>,
	// when exactly.once.source.support is preparing or enabled): a former
	// leader's writer is fenced out when a new leader claims the topic,
	// and the topic is read read_committed.
	TransactionalID string
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// ConfigLog is the config topic. Its methods are safe for concurrent use.
//
// Kafka Connect lets only the group's leader write connector and task
// configs (the others forward to it); ConfigLog does not enforce that, the
// herder does. Every write waits for Kafka's acknowledgement, and all but
// PutTargetState also until this log has read the write back, so a
// Snapshot taken after a write returns includes it.
type ConfigLog struct {
	log      *kafkalog.Log
	onChange func(Change)
	txn      bool // the leader's writes are transactional

	mu      sync.Mutex
	state   *configState
	started bool // the first read to the end is done: report changes
}

// OpenConfigLog opens the config topic, creating it (one partition,
// compacted) when missing, and returns once it has read the whole topic.
// A topic with more than one partition is refused: the order of task
// configs and their commit holds only within one partition.
//
// onChange (which may be nil) is called for every change a record applied
// after Open returned makes; the state at Open is in Snapshot. It is
// called on the log's reader goroutine, one change at a time in log order,
// after the change is visible in Snapshot. It must return quickly and must
// not call ConfigLog's writes or ReadToEnd, which wait for that goroutine:
// hand the change to another goroutine to act on.
func OpenConfigLog(ctx context.Context, o Options, onChange func(Change)) (*ConfigLog, error) {
	if o.Topic == "" {
		return nil, errors.New("storage: config.storage.topic is empty; name the config topic")
	}
	logger := o.logger().With("topic", o.Topic)
	l := &ConfigLog{onChange: onChange, state: newConfigState(logger), txn: o.TransactionalID != ""}
	kl, err := kafkalog.Open(ctx, kafkalog.Options{
		ClientOpts:        o.ClientOpts,
		Topic:             o.Topic,
		Partitions:        1,
		ReplicationFactor: o.ReplicationFactor,
		TopicConfigs:      o.TopicConfigs,
		Setting:           "config.storage.topic",
		Purpose:           "connector configurations",
		Logger:            logger,
		TransactionalID:   o.TransactionalID,
		ReadCommitted:     o.TransactionalID != "",
	}, l.apply)
	if err != nil {
		return nil, fmt.Errorf("storage: open the config topic: %w", err)
	}
	if n := kl.Partitions(); n != 1 {
		kl.Close()
		return nil, fmt.Errorf("storage: config topic %s has %d partitions, but it must have exactly one to keep "+
			"connector configurations consistent; point config.storage.topic at a topic with one partition", o.Topic, n)
	}
	l.log = kl
	l.mu.Lock()
	l.started = true
	l.mu.Unlock()
	return l, nil
}

func (l *ConfigLog) apply(r *kgo.Record) {
	l.mu.Lock()
	ch := l.state.apply(string(r.Key), r.Value, r.Offset)
	report := ch != nil && l.started && l.onChange != nil
	l.mu.Unlock()
	if report {
		l.onChange(*ch)
	}
}

// Snapshot returns the configs as of the last record read.
func (l *ConfigLog) Snapshot() Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.snapshot()
}

// ReadToEnd returns once every record written to the topic before the call
// has been applied (by this worker or any other). The leader does this
// before assigning work, so it assigns from the newest configs.
func (l *ConfigLog) ReadToEnd(ctx context.Context) error {
	if err := l.log.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("storage: read the config topic: %w", err)
	}
	return nil
}

// PutConnectorConfig writes a connector's config. With target set, the
// target state is written first, in the same call: a connector created
// paused or stopped is never seen started.
func (l *ConfigLog) PutConnectorConfig(ctx context.Context, name string, cfg map[string]string, target *herder.TargetState) error {
	var msgs []kafkalog.Message
	if target != nil {
		if err := checkTargetState(*target); err != nil {
			return err
		}
		msgs = append(msgs, kafkalog.Message{Key: targetStateKey(name), Value: targetStateValue(*target)})
	}
	msgs = append(msgs, kafkalog.Message{Key: connectorKey(name), Value: propertiesValue(cfg)})
	return l.write(ctx, "connector "+name+"'s config", msgs...)
}

// RemoveConnector deletes a connector: tombstones for its config and its
// target state. Its task configs stay in the topic until compaction, and
// are ignored.
func (l *ConfigLog) RemoveConnector(ctx context.Context, name string) error {
	return l.write(ctx, "the removal of connector "+name,
		kafkalog.Message{Key: connectorKey(name)},
		kafkalog.Message{Key: targetStateKey(name)})
}

// PutTaskConfigs writes a connector's task configs and then the commit
// record that makes readers apply them, reading the topic to its end
// before each step, as Kafka Connect does. If it fails midway, the
// configs written are not applied by anyone until a later commit.
func (l *ConfigLog) PutTaskConfigs(ctx context.Context, name string, tasks []map[string]string) error {
	if err := l.ReadToEnd(ctx); err != nil {
		return err
	}
	if len(tasks) > 0 {
		msgs := make([]kafkalog.Message, len(tasks))
		for i, cfg := range tasks {
			msgs[i] = kafkalog.Message{Key: taskKey(name, i), Value: propertiesValue(cfg)}
		}
		if err := l.write(ctx, fmt.Sprintf("connector %s's %d task configs", name, len(tasks)), msgs...); err != nil {
			return err
		}
	}
	return l.write(ctx, "connector "+name+"'s task commit", kafkalog.Message{Key: commitKey(name), Value: commitValue(len(tasks))})
}

// PutTargetState writes a connector's target state and returns once Kafka
// has it (without waiting to read it back, as Kafka Connect). Any worker
// may write target states.
func (l *ConfigLog) PutTargetState(ctx context.Context, name string, state herder.TargetState) error {
	if err := checkTargetState(state); err != nil {
		return err
	}
	if err := l.log.Send(ctx, targetStateKey(name), targetStateValue(state)); err != nil {
		return fmt.Errorf("storage: write connector %s's target state: %w", name, err)
	}
	return nil
}

// PutRestartRequest writes a request to restart a connector (and its tasks
// when req.IncludeTasks). Every worker reads it; the ones that own the
// connector or its tasks act on it.
func (l *ConfigLog) PutRestartRequest(ctx context.Context, name string, req RestartRequest) error {
	return l.write(ctx, "a restart request for connector "+name, kafkalog.Message{Key: restartKey(name), Value: restartValue(req)})
}

// PutLoggerLevel writes a cluster-wide log level for a logger namespace
// (KIP-976: key logger-cluster-<namespace>, value {"level":"<level>"}) and
// returns once Kafka has it, without reading it back, as Kafka Connect
// does. Any worker may write it; every worker started before it was
// written sets the level on itself when it reads it.
func (l *ConfigLog) PutLoggerLevel(ctx context.Context, namespace, level string) error {
	if err := l.log.Send(ctx, loggerKey(namespace), loggerLevelValue(level)); err != nil {
		return fmt.Errorf("storage: write the cluster log level of %s: %w", namespace, err)
	}
	return nil
}

// PutTaskCountRecord writes a connector's task count record
// (tasks-fencing-<c>, {"task-count":N}) after the leader fenced out its
// older tasks: tasks of the current configs may then start exactly once.
func (l *ConfigLog) PutTaskCountRecord(ctx context.Context, name string, tasks int) error {
	return l.write(ctx, "connector "+name+"'s task count record", kafkalog.Message{Key: taskCountKey(name), Value: taskCountValue(tasks)})
}

// PutSessionKey writes a new session key for signing internal requests
// (KIP-507).
func (l *ConfigLog) PutSessionKey(ctx context.Context, k SessionKey) error {
	return l.write(ctx, "a session key", kafkalog.Message{Key: []byte(sessionKeyKey), Value: sessionKeyValue(k)})
}

// ClaimWrites makes this worker the config topic's transactional writer
// (the leader does, when it becomes leader), fencing out a former leader's
// writer. Without a transactional id it does nothing.
func (l *ConfigLog) ClaimWrites(ctx context.Context) error {
	if !l.txn {
		return nil
	}
	if err := l.log.ClaimWrites(ctx); err != nil {
		return fmt.Errorf("storage: claim the config topic's writes: %w", err)
	}
	return nil
}

// WritesClaimed reports whether this worker holds the transactional
// writer; always true for a log without one.
func (l *ConfigLog) WritesClaimed() bool { return !l.txn || l.log.Claimed() }

// ReleaseWrites gives up the transactional writer (a worker that is no
// longer the leader).
func (l *ConfigLog) ReleaseWrites() {
	if l.txn {
		l.log.ReleaseWrites()
	}
}

// write sends msgs, in order (in one transaction when the log is
// transactional), and reads them back.
func (l *ConfigLog) write(ctx context.Context, what string, msgs ...kafkalog.Message) error {
	send := l.log.SendAll
	if l.txn {
		send = l.log.SendTransactional
	}
	if err := send(ctx, msgs...); err != nil {
		return fmt.Errorf("storage: write %s: %w", what, err)
	}
	if err := l.log.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("storage: read back %s: %w", what, err)
	}
	return nil
}

// Close stops reading and closes the log's clients. Writes in flight fail.
func (l *ConfigLog) Close() error { return l.log.Close() }

func checkTargetState(s herder.TargetState) error {
	switch s {
	case herder.TargetStarted, herder.TargetPaused, herder.TargetStopped:
		return nil
	}
	return fmt.Errorf("storage: unknown target state %q; want STARTED, PAUSED or STOPPED", s)
}
