package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkalog"
)

// Status topic key prefixes, as Kafka Connect's KafkaStatusBackingStore.
const (
	connectorStatusPrefix = "status-connector-"
	taskStatusPrefix      = "status-task-"
	// Active topics (KIP-558): status-topic-<topic>:connector-<connector>.
	topicStatusPrefix = "status-topic-"
)

// Destroyed is Kafka Connect's state of a deleted connector or task. It is
// never stored as a value: deleting writes a tombstone.
const Destroyed herder.State = "DESTROYED"

// Status is one connector's or task's state as a worker reported it.
type Status struct {
	State herder.State
	// Trace is the error's stack trace or message, for FAILED; empty
	// otherwise (written as null).
	Trace string
	// WorkerID is the worker that reported it (its advertised REST host
	// and port).
	WorkerID string
	// Generation is the worker's group generation when it reported it.
	Generation int32
	// Progress is what a running task last reported of its progress (see
	// connect.ProgressReporter); nil when none. It is written as an extra
	// "progress" field after Kafka Connect's, which Kafka Connect's
	// workers ignore when they read the value.
	Progress map[string]any
	// ExactlyOnce says a task runs exactly once (KIP-618): its worker has
	// exactly.once.source.support=enabled. Written as an extra
	// "exactly_once" field, only when true.
	ExactlyOnce bool
}

// TaskStatus is a task's Status with the task's id.
type TaskStatus struct {
	ID herder.TaskID
	Status
}

// StatusLog is the status topic: every worker writes the states of the
// connectors and tasks it runs, and reads everyone's. Its methods are safe
// for concurrent use.
//
// Writes return once Kafka has them; what the accessors return changes
// only when a record is read back, for this worker's writes as for
// others'. On reading, a task's UNASSIGNED never replaces a RUNNING of the
// same or a newer generation (a worker that lost the task reporting late);
// everything else replaces what was there, as in Kafka Connect.
type StatusLog struct {
	log    *kafkalog.Log
	logger *slog.Logger

	mu         sync.Mutex
	connectors map[string]Status
	tasks      map[string]map[int]Status
	// topics are the connectors' active topics; topicRemovals counts,
	// per connector, the active topic tombstones read.
	topics        map[string]map[string]TopicStatus
	topicRemovals map[string]uint64
}

// OpenStatusLog opens the status topic, creating it (compacted, with
// o.Partitions partitions) when missing, and returns once it has read the
// whole topic.
func OpenStatusLog(ctx context.Context, o Options) (*StatusLog, error) {
	if o.Topic == "" {
		return nil, errors.New("storage: status.storage.topic is empty; name the status topic")
	}
	if o.Partitions == 0 {
		o.Partitions = 5
	}
	logger := o.logger().With("topic", o.Topic)
	s := &StatusLog{logger: logger, connectors: map[string]Status{}, tasks: map[string]map[int]Status{},
		topics: map[string]map[string]TopicStatus{}, topicRemovals: map[string]uint64{}}
	kl, err := kafkalog.Open(ctx, kafkalog.Options{
		ClientOpts:        o.ClientOpts,
		Topic:             o.Topic,
		Partitions:        o.Partitions,
		ReplicationFactor: o.ReplicationFactor,
		TopicConfigs:      o.TopicConfigs,
		Setting:           "status.storage.topic",
		Purpose:           "connector and task statuses",
		Logger:            logger,
	}, s.apply)
	if err != nil {
		return nil, fmt.Errorf("storage: open the status topic: %w", err)
	}
	s.log = kl
	return s, nil
}

func (s *StatusLog) apply(r *kgo.Record) {
	key := string(r.Key)
	switch {
	case strings.HasPrefix(key, connectorStatusPrefix):
		conn := strings.TrimPrefix(key, connectorStatusPrefix)
		if conn == "" {
			s.logger.Warn("storage: skipping a connector status without a connector name", "key", key)
			return
		}
		if r.Value == nil {
			s.mu.Lock()
			// Deleting a connector forgets its tasks' statuses too.
			delete(s.connectors, conn)
			delete(s.tasks, conn)
			s.mu.Unlock()
			return
		}
		st, err := parseStatus(r.Value)
		if err != nil {
			s.logger.Error("storage: skipping a connector status that cannot be read", "connector", conn, "offset", r.Offset, "err", err)
			return
		}
		s.mu.Lock()
		s.connectors[conn] = st
		s.mu.Unlock()
	case strings.HasPrefix(key, taskStatusPrefix):
		id, ok := parseTaskKey(key, taskStatusPrefix)
		if !ok {
			s.logger.Warn("storage: skipping a task status whose key names no task", "key", key)
			return
		}
		if r.Value == nil {
			s.mu.Lock()
			delete(s.tasks[id.Connector], id.Task)
			if len(s.tasks[id.Connector]) == 0 {
				delete(s.tasks, id.Connector)
			}
			s.mu.Unlock()
			return
		}
		st, err := parseStatus(r.Value)
		if err != nil {
			s.logger.Error("storage: skipping a task status that cannot be read", "task", id.String(), "offset", r.Offset, "err", err)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		cur, ok := s.tasks[id.Connector][id.Task]
		if ok && stale(cur, st) {
			return
		}
		if s.tasks[id.Connector] == nil {
			s.tasks[id.Connector] = map[int]Status{}
		}
		s.tasks[id.Connector][id.Task] = st
	case strings.HasPrefix(key, topicStatusPrefix):
		s.applyTopic(r)
	default:
		s.logger.Warn("storage: skipping a status record with an unknown key", "key", key)
	}
}

// stale is Kafka Connect's read-side rule (KAFKA-12525): in quick
// rebalances a worker that lost a task can report it UNASSIGNED after the
// new owner reported it RUNNING; that late UNASSIGNED of the same or an
// older generation is ignored.
func stale(cur, next Status) bool {
	return next.State == herder.Unassigned && cur.State == herder.Running && cur.Generation >= next.Generation
}

// safe is Kafka Connect's putSafe rule: write only when nothing is known,
// or it was written by the same worker, or by an older or the same
// generation; so a worker that has fallen behind does not overwrite a
// newer owner's report.
func safe(cur Status, known bool, next Status) bool {
	return !known || cur.WorkerID == next.WorkerID || cur.Generation <= next.Generation
}

// PutConnector writes a connector's status.
func (s *StatusLog) PutConnector(ctx context.Context, name string, st Status) error {
	return s.send(ctx, "connector "+name+"'s status", connectorStatusKey(name), st)
}

// PutConnectorSafe writes a connector's status unless the status last read
// was written by another worker in a newer generation. It reports whether
// it wrote.
func (s *StatusLog) PutConnectorSafe(ctx context.Context, name string, st Status) (bool, error) {
	s.mu.Lock()
	cur, known := s.connectors[name]
	s.mu.Unlock()
	if !safe(cur, known, st) {
		return false, nil
	}
	return true, s.PutConnector(ctx, name, st)
}

// PutTask writes a task's status.
func (s *StatusLog) PutTask(ctx context.Context, id herder.TaskID, st Status) error {
	return s.send(ctx, "task "+id.String()+"'s status", taskStatusKey(id), st)
}

// PutTaskSafe writes a task's status unless the status last read was
// written by another worker in a newer generation. It reports whether it
// wrote.
func (s *StatusLog) PutTaskSafe(ctx context.Context, id herder.TaskID, st Status) (bool, error) {
	s.mu.Lock()
	cur, known := s.tasks[id.Connector][id.Task]
	s.mu.Unlock()
	if !safe(cur, known, st) {
		return false, nil
	}
	return true, s.PutTask(ctx, id, st)
}

func (s *StatusLog) send(ctx context.Context, what string, key []byte, st Status) error {
	if st.State == Destroyed {
		return fmt.Errorf("storage: write %s: DESTROYED is written by Delete and DeleteTask", what)
	}
	if err := s.log.Send(ctx, key, statusValue(st)); err != nil {
		return fmt.Errorf("storage: write %s: %w", what, err)
	}
	return nil
}

// Delete removes a deleted connector's statuses: a tombstone for each of
// its tasks known now, then one for the connector.
func (s *StatusLog) Delete(ctx context.Context, connector string) error {
	var msgs []kafkalog.Message
	for _, t := range s.Tasks(connector) {
		msgs = append(msgs, kafkalog.Message{Key: taskStatusKey(t.ID)})
	}
	msgs = append(msgs, kafkalog.Message{Key: connectorStatusKey(connector)})
	if err := s.log.SendAll(ctx, msgs...); err != nil {
		return fmt.Errorf("storage: delete connector %s's statuses: %w", connector, err)
	}
	return nil
}

// DeleteTask removes a task's status (the task no longer exists).
func (s *StatusLog) DeleteTask(ctx context.Context, id herder.TaskID) error {
	if err := s.log.Send(ctx, taskStatusKey(id), nil); err != nil {
		return fmt.Errorf("storage: delete task %s's status: %w", id, err)
	}
	return nil
}

// Connector returns a connector's status as last read.
func (s *StatusLog) Connector(name string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.connectors[name]
	return st, ok
}

// Task returns a task's status as last read.
func (s *StatusLog) Task(id herder.TaskID) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tasks[id.Connector][id.Task]
	return st, ok
}

// Tasks returns the statuses of a connector's tasks as last read, in task
// order.
func (s *StatusLog) Tasks(connector string) []TaskStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TaskStatus, 0, len(s.tasks[connector]))
	for n, st := range s.tasks[connector] {
		out = append(out, TaskStatus{ID: herder.TaskID{Connector: connector, Task: n}, Status: st})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.Task < out[j].ID.Task })
	return out
}

// Connectors returns the names of the connectors with a status, sorted.
func (s *StatusLog) Connectors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.connectors))
	for c := range s.connectors {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ReadToEnd returns once every status written before the call has been
// read.
func (s *StatusLog) ReadToEnd(ctx context.Context) error {
	if err := s.log.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("storage: read the status topic: %w", err)
	}
	return nil
}

// Close stops reading and closes the log's clients. Writes in flight fail.
func (s *StatusLog) Close() error { return s.log.Close() }

func connectorStatusKey(c string) []byte { return []byte(connectorStatusPrefix + c) }
func taskStatusKey(id herder.TaskID) []byte {
	return []byte(fmt.Sprintf("%s%s-%d", taskStatusPrefix, id.Connector, id.Task))
}

// statusValue is Kafka Connect's status value: state, trace (null when
// empty), worker_id, generation, in that order; then connectd's progress
// when there is one.
func statusValue(st Status) []byte {
	b := append([]byte(nil), `{"state":`...)
	b = appendString(b, string(st.State))
	b = append(b, `,"trace":`...)
	if st.Trace == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, st.Trace)
	}
	b = append(b, `,"worker_id":`...)
	b = appendString(b, st.WorkerID)
	b = append(b, `,"generation":`...)
	b = fmt.Appendf(b, "%d", st.Generation)
	if len(st.Progress) > 0 {
		// Progress comes decoded from JSON, so it encodes again; were it
		// not to, the status goes out without it rather than not at all.
		if p, err := json.Marshal(st.Progress); err == nil {
			b = append(b, `,"progress":`...)
			b = append(b, p...)
		}
	}
	if st.ExactlyOnce {
		b = append(b, `,"exactly_once":true`...)
	}
	return append(b, '}')
}

var statusStates = map[herder.State]bool{
	herder.Unassigned: true, herder.Running: true, herder.Paused: true, herder.Failed: true,
	herder.Restarting: true, herder.Stopped: true, Destroyed: true,
}

func parseStatus(v []byte) (Status, error) {
	raw, err := decode(v)
	if err != nil {
		return Status{}, err
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return Status{}, fmt.Errorf("want an object, found %s", typeName(raw))
	}
	state, _ := m["state"].(string)
	if !statusStates[herder.State(state)] {
		return Status{}, fmt.Errorf("unknown state %s", typeName(m["state"]))
	}
	st := Status{State: herder.State(state)}
	switch t := m["trace"].(type) {
	case string:
		st.Trace = t
	case nil:
	default:
		return Status{}, fmt.Errorf("trace: want a string, found %s", typeName(t))
	}
	switch w := m["worker_id"].(type) {
	case string:
		st.WorkerID = w
	case nil:
	default:
		return Status{}, fmt.Errorf("worker_id: want a string, found %s", typeName(w))
	}
	gen, err := intValue(m["generation"])
	if err != nil {
		return Status{}, fmt.Errorf("generation: %w", err)
	}
	st.Generation = int32(gen)
	switch p := m["progress"].(type) {
	case map[string]any:
		// Decoded again without UseNumber: numbers read as float64, as
		// the worker that reported them saw them.
		var pv struct {
			Progress map[string]any `json:"progress"`
		}
		if err := json.Unmarshal(v, &pv); err != nil {
			return Status{}, fmt.Errorf("progress: %w", err)
		}
		if len(pv.Progress) > 0 {
			st.Progress = pv.Progress
		}
	case nil:
	default:
		return Status{}, fmt.Errorf("progress: want an object, found %s", typeName(p))
	}
	st.ExactlyOnce, _ = m["exactly_once"].(bool)
	return st, nil
}
