package storage

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/connectd/connectd/framework/herder"
)

// Config topic key prefixes, as Kafka Connect's KafkaConfigBackingStore.
const (
	connectorPrefix   = "connector-"
	taskPrefix        = "task-"
	commitPrefix      = "commit-"
	targetStatePrefix = "target-state-"
	restartPrefix     = "restart-connector-"
	loggerPrefix      = "logger-cluster-"

	// Exactly-once source support (KIP-618) and request signing (KIP-507).
	taskCountPrefix = "tasks-fencing-"
	sessionKeyKey   = "session-key"
)

// ChangeKind says what a config record changed.
type ChangeKind int

const (
	// ConnectorConfigUpdated: a connector was created or reconfigured.
	ConnectorConfigUpdated ChangeKind = iota + 1
	// ConnectorConfigRemoved: a connector was deleted.
	ConnectorConfigRemoved
	// TaskConfigsCommitted: a connector's task configs were committed.
	TaskConfigsCommitted
	// TargetStateChanged: an existing connector's target state changed.
	TargetStateChanged
	// RestartRequested: someone asked to restart a connector.
	RestartRequested
	// LoggerLevelChanged: someone set a log level with scope=cluster
	// (KIP-976): every worker sets it on itself.
	LoggerLevelChanged
	// TaskCountRecorded: the leader fenced out a connector's older tasks
	// and wrote its task count record (KIP-618): its tasks may start.
	TaskCountRecorded
	// SessionKeyChanged: the leader wrote a new session key (KIP-507).
	SessionKeyChanged
)

func (k ChangeKind) String() string {
	switch k {
	case ConnectorConfigUpdated:
		return "connector config updated"
	case ConnectorConfigRemoved:
		return "connector config removed"
	case TaskConfigsCommitted:
		return "task configs committed"
	case TargetStateChanged:
		return "target state changed"
	case RestartRequested:
		return "restart requested"
	case LoggerLevelChanged:
		return "logger level changed"
	case TaskCountRecorded:
		return "task count recorded"
	case SessionKeyChanged:
		return "session key changed"
	}
	return "change " + strconv.Itoa(int(k))
}

// RestartRequest is a restart-connector-<c> record: restart the connector,
// and its tasks when IncludeTasks; only the failed ones when OnlyFailed.
type RestartRequest struct {
	IncludeTasks bool
	OnlyFailed   bool
}

// Change is what one applied config record changed, for the herder to act
// on. It is the equivalent of Kafka Connect's ConfigBackingStore
// UpdateListener calls.
type Change struct {
	Kind      ChangeKind
	Connector string
	// Offset is the config topic offset of the record.
	Offset int64
	// Tasks (TaskConfigsCommitted) are the tasks whose new configs the
	// commit applied, in task order. It is empty when the commit found task
	// configs missing: the connector is then inconsistent.
	Tasks []herder.TaskID
	// TargetState (TargetStateChanged) is the new target state.
	TargetState herder.TargetState
	// Restart (RestartRequested) is the request.
	Restart RestartRequest
	// Namespace and Level (LoggerLevelChanged) are the logger and the
	// level as the record holds it: the level as the request gave it, not
	// checked against the known levels.
	Namespace, Level string
}

// Snapshot is the config topic's state as of a point in the log. Its maps
// are copies the caller may keep and change.
type Snapshot struct {
	// Offset is the offset after the last record applied, -1 before any
	// (Kafka Connect's ClusterConfigState offset). Workers compare it to
	// agree that they have read the same configs.
	Offset int64
	// Connectors are the connectors' configs.
	Connectors map[string]map[string]string
	// TargetStates are the target states. A connector without a
	// target-state record is STARTED; a state can exist before its
	// connector (written first at creation) and after it until its
	// tombstone is read.
	TargetStates map[string]herder.TargetState
	// TaskCounts are the task counts of the last commit of each connector.
	TaskCounts map[string]int
	// Tasks are the committed task configs, index i the config of task i,
	// for each connector with a consistent commit. An inconsistent
	// connector has none.
	Tasks map[string][]map[string]string
	// Applied is, per connector, its config as of its last consistent task
	// commit: the config the task configs were generated from.
	Applied map[string]map[string]string
	// Inconsistent are the connectors whose last commit found task configs
	// missing (compaction after a writer failed midway). They need their
	// task configs generated and committed again.
	Inconsistent map[string]bool
	// TaskCountRecords are the task counts of each connector's last
	// tasks-fencing-<c> record: how many tasks of the generation before
	// may still be running, for the leader to fence out (KIP-618).
	TaskCountRecords map[string]int
	// PendingFencing are the connectors whose task configs were committed
	// after their last task count record: their older tasks must be fenced
	// out before the new ones run exactly once.
	PendingFencing map[string]bool
	// SessionKey is the newest session key (KIP-507); nil before any.
	SessionKey *SessionKey
}

// SessionKey is the key workers sign internal requests with (KIP-507),
// from the config topic's session-key record.
type SessionKey struct {
	Key       []byte
	Algorithm string // Java's name of the key's algorithm, e.g. HmacSHA256
	// Created is when the leader made it, in ms since the epoch.
	Created int64
}

// configState applies config records in log order. It is the pure part of
// ConfigLog: no I/O, no locking.
type configState struct {
	logger       *slog.Logger
	offset       int64
	connectors   map[string]map[string]string
	targets      map[string]herder.TargetState
	taskCounts   map[string]int
	tasks        map[string]map[int]map[string]string // committed, per connector
	deferred     map[string]map[int]map[string]string // read, awaiting their commit
	inconsistent map[string]bool
	applied      map[string]map[string]string
	taskCountRec map[string]int
	pending      map[string]bool
	sessionKey   *SessionKey
}

func newConfigState(logger *slog.Logger) *configState {
	return &configState{
		logger:       logger,
		offset:       -1,
		connectors:   map[string]map[string]string{},
		targets:      map[string]herder.TargetState{},
		taskCounts:   map[string]int{},
		tasks:        map[string]map[int]map[string]string{},
		deferred:     map[string]map[int]map[string]string{},
		inconsistent: map[string]bool{},
		applied:      map[string]map[string]string{},
		taskCountRec: map[string]int{},
		pending:      map[string]bool{},
	}
}

// apply applies the record at offset and returns the change to report, or
// nil when there is nothing to report. Records that cannot be read are
// logged and skipped, as Kafka Connect does.
func (s *configState) apply(key string, value []byte, offset int64) *Change {
	var v any
	if value != nil {
		var err error
		if v, err = decode(value); err != nil {
			s.logger.Error("storage: skipping a config record that is not JSON", "key", key, "offset", offset, "err", err)
			return nil
		}
	}
	s.offset = offset + 1
	switch {
	case strings.HasPrefix(key, targetStatePrefix):
		return s.targetState(strings.TrimPrefix(key, targetStatePrefix), value == nil, v, offset)
	case strings.HasPrefix(key, connectorPrefix):
		return s.connectorConfig(strings.TrimPrefix(key, connectorPrefix), value == nil, v, offset)
	case strings.HasPrefix(key, taskPrefix):
		id, ok := parseTaskKey(key, taskPrefix)
		if !ok {
			s.logger.Error("storage: skipping a task config whose key names no task", "key", key, "offset", offset)
			return nil
		}
		s.taskConfig(id, value == nil, v, offset)
		return nil
	case strings.HasPrefix(key, commitPrefix):
		return s.commit(strings.TrimPrefix(key, commitPrefix), v, offset)
	case strings.HasPrefix(key, restartPrefix):
		return s.restart(strings.TrimPrefix(key, restartPrefix), v, offset)
	case strings.HasPrefix(key, loggerPrefix):
		return s.loggerLevel(strings.TrimPrefix(key, loggerPrefix), v, offset)
	case strings.HasPrefix(key, taskCountPrefix):
		return s.taskCountRecord(strings.TrimPrefix(key, taskCountPrefix), v, offset)
	case key == sessionKeyKey:
		return s.sessionKeyRecord(v, offset)
	}
	s.logger.Error("storage: skipping a config record with an unknown key", "key", key, "offset", offset)
	return nil
}

func (s *configState) targetState(conn string, tombstone bool, v any, offset int64) *Change {
	if tombstone {
		// Written with the connector's own tombstone; the connector's
		// removal is what gets reported.
		delete(s.targets, conn)
		if _, ok := s.connectors[conn]; ok {
			s.targets[conn] = herder.TargetStarted
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a target state that is not an object", "connector", conn, "offset", offset)
		return nil
	}
	// state.v2 (STOPPED included) is newer; state is for older readers,
	// which know only STARTED and PAUSED.
	raw, ok := m["state.v2"].(string)
	if !ok {
		if m["state.v2"] != nil {
			s.logger.Error("storage: target state's state.v2 is not a string; using state", "connector", conn, "offset", offset)
		}
		if raw, ok = m["state"].(string); !ok {
			s.logger.Error("storage: skipping a target state without a state", "connector", conn, "offset", offset)
			return nil
		}
	}
	state := herder.TargetState(raw)
	switch state {
	case herder.TargetStarted, herder.TargetPaused, herder.TargetStopped:
	default:
		s.logger.Error("storage: skipping an unknown target state", "connector", conn, "state", raw, "offset", offset)
		return nil
	}
	prev, had := s.targets[conn]
	s.targets[conn] = state
	// A state written before its connector (creation with an initial
	// state) is not a change of a connector.
	if _, exists := s.connectors[conn]; !exists || (had && prev == state) {
		return nil
	}
	return &Change{Kind: TargetStateChanged, Connector: conn, Offset: offset, TargetState: state}
}

func (s *configState) connectorConfig(conn string, tombstone bool, v any, offset int64) *Change {
	if tombstone {
		s.removeConnector(conn)
		return &Change{Kind: ConnectorConfigRemoved, Connector: conn, Offset: offset}
	}
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a connector config that is not an object", "connector", conn, "offset", offset)
		return nil
	}
	props, err := stringMap(m["properties"])
	if err != nil {
		s.logger.Error("storage: skipping a connector config with bad properties", "connector", conn, "offset", offset, "err", err)
		return nil
	}
	s.connectors[conn] = props
	if _, ok := s.targets[conn]; !ok {
		s.targets[conn] = herder.TargetStarted
	}
	return &Change{Kind: ConnectorConfigUpdated, Connector: conn, Offset: offset}
}

// removeConnector forgets a connector's configs, committed and pending.
// Its target state goes with its own tombstone.
func (s *configState) removeConnector(conn string) {
	delete(s.connectors, conn)
	delete(s.taskCounts, conn)
	delete(s.tasks, conn)
	delete(s.deferred, conn)
	delete(s.applied, conn)
}

func (s *configState) taskConfig(id herder.TaskID, tombstone bool, v any, offset int64) {
	if tombstone {
		s.logger.Error("storage: skipping a task config tombstone", "task", id.String(), "offset", offset)
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a task config that is not an object", "task", id.String(), "offset", offset)
		return
	}
	props, err := stringMap(m["properties"])
	if err != nil {
		s.logger.Error("storage: skipping a task config with bad properties", "task", id.String(), "offset", offset, "err", err)
		return
	}
	d := s.deferred[id.Connector]
	if d == nil {
		d = map[int]map[string]string{}
		s.deferred[id.Connector] = d
	}
	d[id.Task] = props
}

// commit applies a connector's pending task configs when they are
// complete: configs for tasks 0..N-1 (more is fine: after compaction and a
// shrink, an old higher task's config can still be around). Incomplete
// ones are dropped and the connector marked inconsistent, its previously
// committed configs kept but not used.
func (s *configState) commit(conn string, v any, offset int64) *Change {
	applied, ok := s.connectors[conn]
	if !ok {
		// The connector was deleted before these task configs were
		// committed, and compaction has removed its config and tombstone.
		s.removeConnector(conn)
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a task commit that is not an object", "connector", conn, "offset", offset)
		return nil
	}
	n64, err := intValue(m["tasks"])
	if err != nil {
		s.logger.Error("storage: skipping a task commit with a bad task count", "connector", conn, "offset", offset, "err", err)
		return nil
	}
	n := int(int32(n64))
	if n < 0 {
		s.logger.Error("storage: skipping a task commit with a negative task count", "connector", conn, "tasks", n, "offset", offset)
		return nil
	}
	deferred := s.deferred[conn]
	complete := len(deferred) >= n
	for i := 0; complete && i < n; i++ {
		_, complete = deferred[i]
	}
	ch := &Change{Kind: TaskConfigsCommitted, Connector: conn, Offset: offset}
	if !complete {
		s.logger.Warn("storage: task commit without all its task configs (compaction after a failed write); "+
			"the connector's tasks are not used until their configs are committed again",
			"connector", conn, "tasks", n, "offset", offset)
		s.inconsistent[conn] = true
	} else {
		if len(deferred) > 0 {
			committed := s.tasks[conn]
			if committed == nil {
				committed = map[int]map[string]string{}
				s.tasks[conn] = committed
			}
			for i, props := range deferred {
				committed[i] = props
				ch.Tasks = append(ch.Tasks, herder.TaskID{Connector: conn, Task: i})
			}
			sort.Slice(ch.Tasks, func(i, j int) bool { return ch.Tasks[i].Task < ch.Tasks[j].Task })
		}
		delete(s.inconsistent, conn)
		s.applied[conn] = applied
	}
	// Whether applied or not, these configs are done with: after an
	// inconsistent commit only a complete fresh set may be applied.
	delete(s.deferred, conn)
	s.taskCounts[conn] = n
	// Task configs newer than the last task count record: the tasks
	// before them must be fenced out before these run exactly once.
	s.pending[conn] = true
	return ch
}

// taskCountRecord reads a tasks-fencing-<c> record, {"task-count":N}: the
// leader fenced out the connector's older tasks and its current ones may
// start.
func (s *configState) taskCountRecord(conn string, v any, offset int64) *Change {
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a task count record that is not an object", "connector", conn, "offset", offset)
		return nil
	}
	n, err := intValue(m["task-count"])
	if err != nil {
		s.logger.Error("storage: skipping a task count record with a bad task count", "connector", conn, "offset", offset, "err", err)
		return nil
	}
	s.taskCountRec[conn] = int(int32(n))
	delete(s.pending, conn)
	return &Change{Kind: TaskCountRecorded, Connector: conn, Offset: offset}
}

// sessionKeyRecord reads the session-key record, {"key": base64,
// "algorithm": name, "creation-timestamp": ms}.
func (s *configState) sessionKeyRecord(v any, offset int64) *Change {
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a session key that is not an object", "offset", offset)
		return nil
	}
	enc, ok := m["key"].(string)
	if !ok {
		s.logger.Error("storage: skipping a session key whose key is not a string", "offset", offset)
		return nil
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		s.logger.Error("storage: skipping a session key whose key is not base64", "offset", offset, "err", err)
		return nil
	}
	alg, ok := m["algorithm"].(string)
	if !ok {
		s.logger.Error("storage: skipping a session key whose algorithm is not a string", "offset", offset)
		return nil
	}
	created, err := intValue(m["creation-timestamp"])
	if err != nil {
		s.logger.Error("storage: skipping a session key with a bad creation-timestamp", "offset", offset, "err", err)
		return nil
	}
	s.sessionKey = &SessionKey{Key: key, Algorithm: alg, Created: created}
	return &Change{Kind: SessionKeyChanged, Offset: offset}
}

func (s *configState) restart(conn string, v any, offset int64) *Change {
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a restart request that is not an object", "connector", conn, "offset", offset)
		return nil
	}
	// Kafka Connect reads a missing or non-boolean field as false.
	includeTasks, _ := m["include-tasks"].(bool)
	onlyFailed, _ := m["only-failed"].(bool)
	return &Change{Kind: RestartRequested, Connector: conn, Offset: offset,
		Restart: RestartRequest{IncludeTasks: includeTasks, OnlyFailed: onlyFailed}}
}

// loggerLevel reads a logger-cluster-<namespace> record, {"level":"..."}.
// It changes no state: the level is the worker's to set, and only levels
// read after the worker started are reported (ConfigLog's onChange), as
// Kafka Connect applies them.
func (s *configState) loggerLevel(namespace string, v any, offset int64) *Change {
	if v == nil {
		s.logger.Error("storage: skipping a cluster logger level that is null", "namespace", namespace, "offset", offset)
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		s.logger.Error("storage: skipping a cluster logger level that is not an object", "namespace", namespace, "offset", offset)
		return nil
	}
	level, ok := m["level"].(string)
	if !ok {
		s.logger.Error("storage: skipping a cluster logger level whose level is not a string", "namespace", namespace, "offset", offset)
		return nil
	}
	return &Change{Kind: LoggerLevelChanged, Offset: offset, Namespace: namespace, Level: level}
}

// snapshot copies the state.
func (s *configState) snapshot() Snapshot {
	snap := Snapshot{
		Offset:           s.offset,
		Connectors:       make(map[string]map[string]string, len(s.connectors)),
		TargetStates:     maps.Clone(s.targets),
		TaskCounts:       maps.Clone(s.taskCounts),
		Tasks:            make(map[string][]map[string]string, len(s.taskCounts)),
		Applied:          make(map[string]map[string]string, len(s.applied)),
		Inconsistent:     maps.Clone(s.inconsistent),
		TaskCountRecords: maps.Clone(s.taskCountRec),
		PendingFencing:   maps.Clone(s.pending),
	}
	if k := s.sessionKey; k != nil {
		c := *k
		c.Key = slices.Clone(k.Key)
		snap.SessionKey = &c
	}
	for c, cfg := range s.connectors {
		snap.Connectors[c] = maps.Clone(cfg)
	}
	for c, cfg := range s.applied {
		snap.Applied[c] = maps.Clone(cfg)
	}
	for c, n := range s.taskCounts {
		if s.inconsistent[c] {
			continue
		}
		tasks := make([]map[string]string, n)
		for i := range n {
			tasks[i] = maps.Clone(s.tasks[c][i])
		}
		snap.Tasks[c] = tasks
	}
	return snap
}

// parseTaskKey reads "<prefix><connector>-<n>" as Kafka Connect does: the
// task number is after the last dash, the connector name (dashes and all)
// before it.
func parseTaskKey(key, prefix string) (herder.TaskID, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return herder.TaskID{}, false
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return herder.TaskID{}, false
	}
	n, err := strconv.ParseInt(rest[i+1:], 10, 32)
	if err != nil {
		return herder.TaskID{}, false
	}
	return herder.TaskID{Connector: rest[:i], Task: int(n)}, true
}

// Config record keys and values, as Kafka Connect writes them.

func connectorKey(c string) []byte   { return []byte(connectorPrefix + c) }
func targetStateKey(c string) []byte { return []byte(targetStatePrefix + c) }
func commitKey(c string) []byte      { return []byte(commitPrefix + c) }
func restartKey(c string) []byte     { return []byte(restartPrefix + c) }
func loggerKey(ns string) []byte     { return []byte(loggerPrefix + ns) }
func taskKey(c string, n int) []byte { return []byte(fmt.Sprintf("%s%s-%d", taskPrefix, c, n)) }

func commitValue(n int) []byte { return []byte(fmt.Sprintf(`{"tasks":%d}`, n)) }

func taskCountKey(c string) []byte { return []byte(taskCountPrefix + c) }

// taskCountValue is Kafka Connect's task count record, {"task-count":N}.
func taskCountValue(n int) []byte { return []byte(fmt.Sprintf(`{"task-count":%d}`, n)) }

// sessionKeyValue is Kafka Connect's session key record: the key in
// base64, its algorithm, and when it was made.
func sessionKeyValue(k SessionKey) []byte {
	b := append([]byte(nil), `{"key":`...)
	b = appendString(b, base64.StdEncoding.EncodeToString(k.Key))
	b = append(b, `,"algorithm":`...)
	b = appendString(b, k.Algorithm)
	b = append(b, fmt.Sprintf(`,"creation-timestamp":%d}`, k.Created)...)
	return b
}

// targetStateValue writes state.v2 with the state, and state with what an
// older reader understands: STOPPED is PAUSED to it.
func targetStateValue(state herder.TargetState) []byte {
	old := state
	if old == herder.TargetStopped {
		old = herder.TargetPaused
	}
	b := append([]byte(nil), `{"state":`...)
	b = appendString(b, string(old))
	b = append(b, `,"state.v2":`...)
	b = appendString(b, string(state))
	return append(b, '}')
}

func restartValue(r RestartRequest) []byte {
	return []byte(fmt.Sprintf(`{"include-tasks":%t,"only-failed":%t}`, r.IncludeTasks, r.OnlyFailed))
}

// loggerLevelValue is Kafka Connect's logger level record, {"level":"..."}.
func loggerLevelValue(level string) []byte {
	b := append([]byte(nil), `{"level":`...)
	b = appendString(b, level)
	return append(b, '}')
}
