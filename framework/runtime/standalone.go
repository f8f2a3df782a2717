package runtime

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"

	"github.com/connectd/connectd/framework/herder"
)

// Version is connectd's version, shown by GET /.
var Version = "0.1.0-dev"

// Commit is the source revision the binary was built from, when known.
var Commit = ""

// Standalone is the herder of a single worker. Lifecycle operations are
// serialised by opMu; reads take mu briefly; statuses live in status, which
// tasks update from their own goroutines, so stopping a task while holding
// opMu never waits on a lock the task needs.
type Standalone struct {
	w     *Worker
	store ConfigStore

	opMu  sync.Mutex
	mu    sync.RWMutex
	conns map[string]*connState

	status *statusBoard
	topics *ActiveTopics
}

type connState struct {
	name        string
	config      map[string]string
	target      herder.TargetState
	entry       *PluginEntry
	conn        *Connector // the connector instance, nil when not running
	taskConfigs []map[string]string
	tasks       []*Task
}

// NewStandalone returns a herder running connectors on w, and restores the
// connectors store holds.
func NewStandalone(ctx context.Context, w *Worker, store ConfigStore) (*Standalone, error) {
	h := &Standalone{w: w, store: store, conns: map[string]*connState{}, status: newStatusBoard(w.ID), topics: NewActiveTopics()}
	saved, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("load connectors: %w", err)
	}
	for _, sc := range saved {
		entry, err := w.Plugins.Lookup(sc.Config[KeyConnectorClass])
		if err != nil {
			w.Logger.Error("stored connector refers to an unknown plugin; skipped", "connector", sc.Name, "error", err)
			continue
		}
		target := sc.Target
		if target == "" {
			target = herder.TargetStarted
		}
		cs := &connState{name: sc.Name, config: sc.Config, target: target, entry: entry}
		h.conns[sc.Name] = cs
		h.start(ctx, cs)
	}
	return h, nil
}

// Close stops every connector and task, draining them gracefully.
func (h *Standalone) Close() {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	h.mu.RLock()
	all := make([]*connState, 0, len(h.conns))
	for _, cs := range h.conns {
		all = append(all, cs)
	}
	h.mu.RUnlock()
	var wg sync.WaitGroup
	for _, cs := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.stopAll(cs)
		}()
	}
	wg.Wait()
}

// countWork updates the worker's connector and task gauges.
func (h *Standalone) countWork() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	conns, tasks := 0, 0
	for _, cs := range h.conns {
		if cs.conn != nil {
			conns++
		}
		for _, t := range cs.tasks {
			if t != nil {
				tasks++
			}
		}
	}
	h.w.Metrics.SetWork(conns, tasks)
}

func (h *Standalone) persist() error {
	h.mu.RLock()
	out := make([]StoredConnector, 0, len(h.conns))
	for _, cs := range h.conns {
		out = append(out, StoredConnector{Name: cs.name, Config: cs.config, Target: cs.target})
	}
	h.mu.RUnlock()
	return h.store.Save(out)
}

// start starts the connector instance and, unless stopped, its tasks.
// Callers hold opMu.
func (h *Standalone) start(ctx context.Context, cs *connState) {
	if cs.target == herder.TargetStopped {
		h.status.setConnector(cs.name, herder.Stopped, "")
		h.status.setTasks(cs.name, 0)
		return
	}
	if err := h.startConnector(ctx, cs); err != nil {
		h.w.Logger.Error("connector failed to start", "connector", cs.name, "error", err)
		h.status.setConnector(cs.name, herder.Failed, trace(err))
		return
	}
	h.startTasks(cs)
	h.countWork()
}

func (h *Standalone) startConnector(ctx context.Context, cs *connState) error {
	conn, err := h.w.StartConnector(ctx, ConnectorSpec{
		Name: cs.name, Entry: cs.entry, Config: cs.config,
		Report: func(s herder.State, trace string) { h.status.setConnector(cs.name, s, trace) },
	}, cs.target == herder.TargetPaused)
	if err != nil {
		return err
	}
	cfgs, err := conn.TaskConfigs(ctx)
	if err != nil {
		conn.Stop()
		return err
	}
	h.mu.Lock()
	cs.conn, cs.taskConfigs = conn, cfgs
	h.mu.Unlock()
	return nil
}

func (h *Standalone) startTasks(cs *connState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs.tasks = make([]*Task, len(cs.taskConfigs))
	h.status.setTasks(cs.name, len(cs.taskConfigs))
	for i, cfg := range cs.taskConfigs {
		cs.tasks[i] = h.startTask(cs, i, cfg)
	}
}

func (h *Standalone) startTask(cs *connState, i int, cfg map[string]string) *Task {
	id := herder.TaskID{Connector: cs.name, Task: i}
	report, progress := h.status.taskReporter(id)
	report(herder.Unassigned, "")
	return h.w.StartTask(TaskSpec{ID: id, Entry: cs.entry, Config: cfg, Report: report, Progress: progress, Topic: h.topicFunc(id)}, cs.target == herder.TargetPaused)
}

// stopTasks stops every task of cs in parallel. Callers hold opMu.
func (h *Standalone) stopTasks(cs *connState) {
	h.mu.Lock()
	tasks := cs.tasks
	cs.tasks = nil
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range tasks {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Stop()
		}()
	}
	wg.Wait()
}

func (h *Standalone) stopConnector(cs *connState) {
	h.mu.Lock()
	conn := cs.conn
	cs.conn = nil
	h.mu.Unlock()
	if conn != nil {
		conn.Stop()
	}
}

func (h *Standalone) stopAll(cs *connState) {
	h.stopTasks(cs)
	h.stopConnector(cs)
	h.countWork()
}

func (h *Standalone) lookup(name string) (*connState, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	cs, ok := h.conns[name]
	if !ok {
		return nil, herder.NotFound("Connector %s not found", name)
	}
	return cs, nil
}

// ClusterInfo implements herder.Herder.
func (h *Standalone) ClusterInfo(ctx context.Context) (herder.ServerInfo, error) {
	return h.w.ServerInfo(ctx), nil
}

// Connectors implements herder.Herder.
func (h *Standalone) Connectors(context.Context) ([]string, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(h.conns))
	for n := range h.conns {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// ConnectorInfo implements herder.Herder.
func (h *Standalone) ConnectorInfo(_ context.Context, name string) (herder.ConnectorInfo, error) {
	cs, err := h.lookup(name)
	if err != nil {
		return herder.ConnectorInfo{}, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.info(cs), nil
}

func (h *Standalone) info(cs *connState) herder.ConnectorInfo {
	tasks := make([]herder.TaskID, len(cs.taskConfigs))
	for i := range cs.taskConfigs {
		tasks[i] = herder.TaskID{Connector: cs.name, Task: i}
	}
	return herder.ConnectorInfo{Name: cs.name, Config: maps.Clone(cs.config), Tasks: tasks, Type: ConnectorType(cs.entry)}
}

// ConnectorConfig implements herder.Herder.
func (h *Standalone) ConnectorConfig(_ context.Context, name string) (map[string]string, error) {
	cs, err := h.lookup(name)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return maps.Clone(cs.config), nil
}

// PutConnectorConfig implements herder.Herder.
func (h *Standalone) PutConnectorConfig(ctx context.Context, name string, config map[string]string, allowReplace bool) (herder.ConnectorInfo, bool, error) {
	return h.putConnector(ctx, name, config, allowReplace, herder.TargetStarted, nil)
}

// CreateConnectorInState creates a connector that starts out paused or
// stopped (POST /connectors with initial_state): it never runs before.
func (h *Standalone) CreateConnectorInState(ctx context.Context, name string, config map[string]string, state herder.TargetState) (herder.ConnectorInfo, error) {
	info, _, err := h.putConnector(ctx, name, config, false, state, nil)
	return info, err
}

// putConnector creates or replaces a connector. With expect set, the
// connector must exist with exactly that config (a patch's base): else it
// answers ErrNotFound, or errConfigChanged when another write came first.
func (h *Standalone) putConnector(ctx context.Context, name string, config map[string]string, allowReplace bool, initial herder.TargetState, expect map[string]string) (herder.ConnectorInfo, bool, error) {
	config = maps.Clone(config)
	config[KeyName] = name
	infos, entry, err := h.validate(ctx, config[KeyConnectorClass], config)
	if err != nil {
		return herder.ConnectorInfo{}, false, err
	}
	if infos.ErrorCount > 0 {
		return herder.ConnectorInfo{}, false, &herder.ValidationError{Infos: infos}
	}
	h.opMu.Lock()
	defer h.opMu.Unlock()
	h.mu.Lock()
	cs, exists := h.conns[name]
	if expect != nil && !exists {
		h.mu.Unlock()
		return herder.ConnectorInfo{}, false, herder.NotFound("Connector %s not found", name)
	}
	if expect != nil && !maps.Equal(cs.config, expect) {
		h.mu.Unlock()
		return herder.ConnectorInfo{}, false, errConfigChanged
	}
	if exists && !allowReplace {
		h.mu.Unlock()
		return herder.ConnectorInfo{}, false, &herder.RequestError{Status: 409, Message: fmt.Sprintf("Connector %s already exists", name), Err: herder.ErrAlreadyExists}
	}
	if !exists {
		cs = &connState{name: name, target: initial}
		h.conns[name] = cs
	}
	h.mu.Unlock()
	if exists {
		h.stopAll(cs)
	}
	h.mu.Lock()
	cs.config, cs.entry = config, entry
	h.mu.Unlock()
	if err := h.persist(); err != nil {
		return herder.ConnectorInfo{}, false, fmt.Errorf("save connector config: %w", err)
	}
	h.start(ctx, cs)
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.info(cs), !exists, nil
}

// DeleteConnector implements herder.Herder.
func (h *Standalone) DeleteConnector(_ context.Context, name string) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	cs, err := h.lookup(name)
	if err != nil {
		return err
	}
	h.stopAll(cs)
	h.mu.Lock()
	delete(h.conns, name)
	h.mu.Unlock()
	h.status.remove(name)
	if h.w.Config.TopicTracking {
		h.topics.Reset(name) // as Kafka Connect's distributed herder does
	}
	return h.persist()
}

// ConnectorStatus implements herder.Herder.
func (h *Standalone) ConnectorStatus(_ context.Context, name string) (herder.ConnectorStatus, error) {
	cs, err := h.lookup(name)
	if err != nil {
		return herder.ConnectorStatus{}, err
	}
	st := h.status.connectorStatus(name)
	st.Type = ConnectorType(cs.entry)
	st.ExactlyOnce = h.w.ExactlyOnceStatus(st.Type, cs.config)
	return st, nil
}

// TaskStatus implements herder.Herder.
func (h *Standalone) TaskStatus(_ context.Context, id herder.TaskID) (herder.TaskState, error) {
	if _, err := h.lookup(id.Connector); err != nil {
		return herder.TaskState{}, err
	}
	st, ok := h.status.task(id)
	if !ok {
		return herder.TaskState{}, herder.NotFound("Task %s not found", id)
	}
	return st, nil
}

// TaskConfigs implements herder.Herder.
func (h *Standalone) TaskConfigs(_ context.Context, name string) ([]herder.TaskInfo, error) {
	cs, err := h.lookup(name)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]herder.TaskInfo, len(cs.taskConfigs))
	for i, c := range cs.taskConfigs {
		out[i] = herder.TaskInfo{ID: herder.TaskID{Connector: name, Task: i}, Config: maps.Clone(c)}
	}
	return out, nil
}

// RestartConnector implements herder.Herder.
func (h *Standalone) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (herder.ConnectorStatus, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	cs, err := h.lookup(name)
	if err != nil {
		return herder.ConnectorStatus{}, err
	}
	before := h.status.connectorStatus(name)
	restartConn := !onlyFailed || before.Connector.State == herder.Failed
	var restartTasks []int
	if includeTasks {
		for _, ts := range before.Tasks {
			if !onlyFailed || ts.State == herder.Failed {
				restartTasks = append(restartTasks, ts.ID)
			}
		}
	}
	// The answer shows what is being restarted, as Kafka Connect's does.
	plan := before
	plan.Type = ConnectorType(cs.entry)
	if restartConn {
		plan.Connector.State = herder.Restarting
	}
	for i := range plan.Tasks {
		for _, n := range restartTasks {
			if plan.Tasks[i].ID == n {
				plan.Tasks[i].State = herder.Restarting
			}
		}
	}
	if cs.target == herder.TargetStopped {
		return plan, nil
	}
	if restartConn {
		h.stopConnector(cs)
		if err := h.startConnector(ctx, cs); err != nil {
			h.status.setConnector(name, herder.Failed, trace(err))
		}
	}
	for _, n := range restartTasks {
		h.restartTaskLocked(cs, n)
	}
	return plan, nil
}

// RestartTask implements herder.Herder.
func (h *Standalone) RestartTask(_ context.Context, id herder.TaskID) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	cs, err := h.lookup(id.Connector)
	if err != nil {
		return err
	}
	h.mu.RLock()
	n := len(cs.taskConfigs)
	h.mu.RUnlock()
	if id.Task < 0 || id.Task >= n {
		return herder.NotFound("Task %s not found", id)
	}
	h.restartTaskLocked(cs, id.Task)
	return nil
}

func (h *Standalone) restartTaskLocked(cs *connState, n int) {
	h.mu.Lock()
	if n >= len(cs.tasks) || n >= len(cs.taskConfigs) {
		h.mu.Unlock()
		return
	}
	old := cs.tasks[n]
	cfg := cs.taskConfigs[n]
	h.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	t := h.startTask(cs, n, cfg)
	h.mu.Lock()
	cs.tasks[n] = t
	h.mu.Unlock()
}

// SetTargetState implements herder.Herder.
func (h *Standalone) SetTargetState(ctx context.Context, name string, target herder.TargetState) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	cs, err := h.lookup(name)
	if err != nil {
		return err
	}
	prev := cs.target
	if prev == target {
		return nil
	}
	h.mu.Lock()
	cs.target = target
	h.mu.Unlock()
	if err := h.persist(); err != nil {
		return fmt.Errorf("save target state: %w", err)
	}
	switch {
	case target == herder.TargetStopped:
		h.stopAll(cs)
		h.mu.Lock()
		cs.taskConfigs = nil
		h.mu.Unlock()
		h.status.setConnector(name, herder.Stopped, "")
		h.status.setTasks(name, 0)
	case prev == herder.TargetStopped:
		h.start(ctx, cs)
	default:
		paused := target == herder.TargetPaused
		h.mu.RLock()
		tasks, conn := cs.tasks, cs.conn
		h.mu.RUnlock()
		for _, t := range tasks {
			if t != nil {
				t.SetPaused(paused)
			}
		}
		if conn != nil {
			conn.SetPaused(paused)
		}
	}
	return nil
}

// Plugins implements herder.Herder.
func (h *Standalone) Plugins(context.Context) ([]herder.PluginInfo, error) {
	return h.w.PluginInfos(), nil
}

// PluginConfig implements herder.Herder.
func (h *Standalone) PluginConfig(_ context.Context, class string) ([]herder.ConfigKeyInfo, error) {
	return h.w.PluginConfig(class)
}

// Validate implements herder.Herder.
func (h *Standalone) Validate(ctx context.Context, class string, config map[string]string) (herder.ConfigInfos, error) {
	infos, _, err := h.validate(ctx, class, config)
	return infos, err
}

func (h *Standalone) validate(ctx context.Context, class string, config map[string]string) (herder.ConfigInfos, *PluginEntry, error) {
	return Validate(ctx, h.w, class, config)
}
