// Package cluster is connectd's distributed mode: a herder whose workers
// form one cluster through Kafka alone, as Kafka Connect's do. Membership
// and assignment come from Kafka's group coordinator (package group);
// connector configs, task configs, target states and statuses live in
// compacted topics (package storage); source offsets in the offsets topic
// (package offsets).
//
// Every worker keeps a full view of the config topic and serves reads from
// it. Only the group's leader writes the config topic: other workers
// forward REST writes to it. Each worker runs what its assignment names,
// and reconciles what runs with the config topic whenever either changes.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/cluster/group"
	"github.com/connectd/connectd/framework/cluster/storage"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
)

// Distributed is the herder of one worker of a cluster.
type Distributed struct {
	w      *runtime.Worker
	cfg    Config
	url    string // this worker's REST URL, which other workers call
	logger *slog.Logger
	http   *http.Client
	levels *runtime.LogLevels // the worker's log levels; nil when its logger has none

	groupClient *kgo.Client
	rebalance   *runtime.RebalanceMetrics
	coordinator *runtime.CoordinatorMetrics
	configs     *storage.ConfigLog
	statuses    *storage.StatusLog
	status      *statusWriter
	member      *group.Member

	kick chan struct{} // asks the reconcile loop for a pass

	// opMu serialises changes to what runs: reconcile passes, revocations
	// and restarts. Stopping a task under opMu never waits on mu.
	opMu sync.Mutex

	mu            sync.Mutex
	started       bool // the initial read of the config topic is done
	assignedConns map[string]bool
	assignedTasks map[herder.TaskID]bool
	generation    int32
	memberID      string // this worker's id in the group, from the newest assignment
	assignedOnce  bool
	closing       bool           // Close began: take no assignment, start nothing
	leaderCounts  map[string]int // task counts the last assignment was made with (leader)
	conns         map[string]*runningConn
	tasks         map[herder.TaskID]*runningTask
	restarts      []restartRequest
	fencing       map[string]bool // connectors whose zombie fencing this worker asked for

	// fenceMu serialises zombie fencing on the leader.
	fenceMu sync.Mutex

	runCtx context.Context // ends when Close begins to stop the background work
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// restartRequest is a restart request read from the config topic.
type restartRequest struct {
	connector string
	storage.RestartRequest
}

// runningConn is a connector this worker was assigned and started (or
// tried to start: conn is nil when it failed).
type runningConn struct {
	conn   *runtime.Connector
	config map[string]string
	paused bool
	// generated are the task configs the connector made, until the
	// config topic holds them.
	generated []map[string]string
	// stopped says the connector's STOPPED state was reported.
	stopped bool
}

type runningTask struct {
	task   *runtime.Task
	config map[string]string
	paused bool
}

// New starts a distributed herder on w: it creates the internal topics if
// missing, reads them, and joins the group. url is the REST URL other
// workers reach this one at. The caller sets w.Offsets to the offsets
// topic's store.
func New(ctx context.Context, w *runtime.Worker, cfg Config, url string) (*Distributed, error) {
	d := &Distributed{
		w: w, cfg: cfg, url: url,
		logger:        w.Logger.With("worker", w.ID),
		levels:        cfg.LogLevels,
		http:          cfg.RESTClient,
		kick:          make(chan struct{}, 1),
		assignedConns: map[string]bool{},
		assignedTasks: map[herder.TaskID]bool{},
		conns:         map[string]*runningConn{},
		tasks:         map[herder.TaskID]*runningTask{},
		fencing:       map[string]bool{},
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: 30 * time.Second}
	}
	w.ExactlyOnce = runtime.ExactlyOnce{Mode: cfg.ExactlyOnce, GroupID: cfg.GroupID}
	opts := storage.Options{ClientOpts: w.InternalKafkaOpts(), Logger: d.logger}
	var err error
	co := opts
	co.Topic, co.Partitions, co.ReplicationFactor = cfg.ConfigTopic, 1, cfg.ConfigRF
	if cfg.ExactlyOnce != runtime.ExactlyOnceDisabled {
		co.TransactionalID = configTransactionalID(cfg.GroupID)
	}
	if d.configs, err = storage.OpenConfigLog(ctx, co, d.onConfigChange); err != nil {
		return nil, fmt.Errorf("config topic: %w", err)
	}
	so := opts
	so.Topic, so.Partitions, so.ReplicationFactor = cfg.StatusTopic, cfg.StatusPartitions, cfg.StatusRF
	if d.statuses, err = storage.OpenStatusLog(ctx, so); err != nil {
		d.configs.Close()
		return nil, fmt.Errorf("status topic: %w", err)
	}
	if err := d.configs.ReadToEnd(ctx); err != nil {
		d.closeLogs()
		return nil, fmt.Errorf("read config topic: %w", err)
	}
	if err := d.statuses.ReadToEnd(ctx); err != nil {
		d.closeLogs()
		return nil, fmt.Errorf("read status topic: %w", err)
	}
	d.status = newStatusWriter(d.statuses, w.ID, d.logger)

	d.groupClient, err = kgo.NewClient(w.InternalKafkaOpts(kgo.ClientID(w.Config.ClientID + "-" + cfg.GroupID))...)
	if err != nil {
		d.status.close(ctx)
		d.closeLogs()
		return nil, err
	}
	d.rebalance, d.coordinator = w.Metrics.EnableRebalance(w.Config.ClientID + "-" + cfg.GroupID)
	d.member = group.NewMember(group.Config{
		Client: d.groupClient, GroupID: cfg.GroupID, URL: url,
		SessionTimeout: cfg.SessionTimeout, RebalanceTimeout: cfg.RebalanceTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval, MaxDelay: cfg.MaxDelay,
		Logger: d.logger, Observer: &observer{d: d},
	}, handler{d})

	d.mu.Lock()
	d.started = true
	d.mu.Unlock()
	runCtx, cancel := context.WithCancel(context.Background())
	d.runCtx, d.cancel = runCtx, cancel
	d.bg.Add(2)
	go func() {
		defer d.bg.Done()
		if err := d.member.Run(runCtx); err != nil && runCtx.Err() == nil {
			d.logger.Error("group membership ended", "error", err)
		}
	}()
	go func() {
		defer d.bg.Done()
		d.reconcileLoop(runCtx)
	}()
	return d, nil
}

func (d *Distributed) closeLogs() {
	if d.statuses != nil {
		d.statuses.Close()
	}
	d.configs.Close()
}

// Close stops this worker's work gracefully, then leaves the group so the
// others take the work over at once, then closes the topics.
func (d *Distributed) Close() {
	d.opMu.Lock()
	d.mu.Lock()
	// From here on no assignment is taken and nothing starts: the group
	// may still hand this member work until it has left, and the
	// reconcile loop runs until cancelled below.
	d.closing = true
	gen := d.generation
	d.assignedConns, d.assignedTasks = map[string]bool{}, map[herder.TaskID]bool{}
	d.mu.Unlock()
	d.stopUnwanted(gen, true)
	d.opMu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.status.close(ctx)
	if err := d.member.Leave(ctx); err != nil {
		d.logger.Warn("leaving the group failed; the others take over after the session timeout", "error", err)
	}
	d.cancel()
	d.bg.Wait()
	d.groupClient.Close()
	d.closeLogs()
}

// kickReconcile asks for a reconcile pass without waiting for it.
func (d *Distributed) kickReconcile() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Distributed) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-tick.C:
		}
		d.reconcile(ctx)
	}
}

// onConfigChange is called by the config topic's reader for every record
// it applies.
func (d *Distributed) onConfigChange(c storage.Change) {
	if c.Kind == storage.LoggerLevelChanged {
		d.applyLoggerLevel(c)
		return
	}
	d.mu.Lock()
	started := d.started // changes before New returned are in its first pass
	if c.Kind == storage.RestartRequested && started {
		d.restarts = append(d.restarts, restartRequest{connector: c.Connector, RestartRequest: c.Restart})
	}
	d.mu.Unlock()
	if !started {
		return
	}
	d.kickReconcile()
	d.checkRebalanceNeeded()
}

// checkRebalanceNeeded makes the leader ask for a rebalance when the
// connectors or their task counts differ from what it last assigned.
func (d *Distributed) checkRebalanceNeeded() {
	if !d.isLeader() {
		return
	}
	counts := taskCounts(d.configs.Snapshot())
	d.mu.Lock()
	last := d.leaderCounts
	d.mu.Unlock()
	if last != nil && !maps.Equal(counts, last) {
		d.logger.Info("connectors or task counts changed; asking for a rebalance")
		d.member.Rejoin()
	}
}

// taskCounts is what the assignor works from: every connector with the
// number of tasks its committed configs hold.
func taskCounts(s storage.Snapshot) map[string]int {
	out := make(map[string]int, len(s.Connectors))
	for name := range s.Connectors {
		if s.Inconsistent[name] {
			out[name] = 0
			continue
		}
		out[name] = len(s.Tasks[name])
	}
	return out
}

func (d *Distributed) isLeader() bool {
	id, _, ok := d.member.Leader()
	d.mu.Lock()
	defer d.mu.Unlock()
	return ok && id == d.memberID
}

// ClusterInfo implements herder.Herder.
func (d *Distributed) ClusterInfo(ctx context.Context) (herder.ServerInfo, error) {
	return d.w.ServerInfo(ctx), nil
}

// Connectors implements herder.Herder.
func (d *Distributed) Connectors(context.Context) ([]string, error) {
	s := d.configs.Snapshot()
	out := make([]string, 0, len(s.Connectors))
	for n := range s.Connectors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func (d *Distributed) lookup(name string) (storage.Snapshot, map[string]string, error) {
	s := d.configs.Snapshot()
	cfg, ok := s.Connectors[name]
	if !ok {
		return s, nil, herder.NotFound("Connector %s not found", name)
	}
	return s, cfg, nil
}

func (d *Distributed) connectorType(cfg map[string]string) herder.ConnectorType {
	e, err := d.w.Plugins.Lookup(cfg[runtime.KeyConnectorClass])
	if err != nil {
		return herder.Unknown
	}
	return runtime.ConnectorType(e)
}

func (d *Distributed) info(s storage.Snapshot, name string, cfg map[string]string) herder.ConnectorInfo {
	tasks := make([]herder.TaskID, len(s.Tasks[name]))
	for i := range tasks {
		tasks[i] = herder.TaskID{Connector: name, Task: i}
	}
	return herder.ConnectorInfo{Name: name, Config: maps.Clone(cfg), Tasks: tasks, Type: d.connectorType(cfg)}
}

// ConnectorInfo implements herder.Herder.
func (d *Distributed) ConnectorInfo(_ context.Context, name string) (herder.ConnectorInfo, error) {
	s, cfg, err := d.lookup(name)
	if err != nil {
		return herder.ConnectorInfo{}, err
	}
	return d.info(s, name, cfg), nil
}

// ConnectorConfig implements herder.Herder.
func (d *Distributed) ConnectorConfig(_ context.Context, name string) (map[string]string, error) {
	_, cfg, err := d.lookup(name)
	return cfg, err
}

// ConnectorStatus implements herder.Herder: the statuses the owners wrote
// to the status topic, as this worker has read them.
func (d *Distributed) ConnectorStatus(_ context.Context, name string) (herder.ConnectorStatus, error) {
	s, cfg, err := d.lookup(name)
	if err != nil {
		return herder.ConnectorStatus{}, err
	}
	st := herder.ConnectorStatus{Name: name, Type: d.connectorType(cfg), Tasks: []herder.TaskState{}}
	if cs, ok := d.statuses.Connector(name); ok {
		st.Connector = herder.ConnectorState{State: cs.State, WorkerID: cs.WorkerID, Trace: cs.Trace}
	} else {
		st.Connector = herder.ConnectorState{State: herder.Unassigned}
	}
	for i := range s.Tasks[name] {
		st.Tasks = append(st.Tasks, d.taskState(herder.TaskID{Connector: name, Task: i}))
	}
	st.ExactlyOnce = runtime.TasksExactlyOnce(st.Type, cfg, st.Tasks)
	return st, nil
}

func (d *Distributed) taskState(id herder.TaskID) herder.TaskState {
	if ts, ok := d.statuses.Task(id); ok {
		return herder.TaskState{ID: id.Task, State: ts.State, WorkerID: ts.WorkerID, Trace: ts.Trace, Progress: ts.Progress, ExactlyOnce: ts.ExactlyOnce}
	}
	return herder.TaskState{ID: id.Task, State: herder.Unassigned}
}

// TaskStatus implements herder.Herder.
func (d *Distributed) TaskStatus(_ context.Context, id herder.TaskID) (herder.TaskState, error) {
	s, _, err := d.lookup(id.Connector)
	if err != nil {
		return herder.TaskState{}, err
	}
	if id.Task < 0 || id.Task >= len(s.Tasks[id.Connector]) {
		return herder.TaskState{}, herder.NotFound("Task %s not found", id)
	}
	return d.taskState(id), nil
}

// TaskConfigs implements herder.Herder.
func (d *Distributed) TaskConfigs(_ context.Context, name string) ([]herder.TaskInfo, error) {
	s, _, err := d.lookup(name)
	if err != nil {
		return nil, err
	}
	out := make([]herder.TaskInfo, len(s.Tasks[name]))
	for i, c := range s.Tasks[name] {
		out[i] = herder.TaskInfo{ID: herder.TaskID{Connector: name, Task: i}, Config: maps.Clone(c)}
	}
	return out, nil
}

// Plugins implements herder.Herder.
func (d *Distributed) Plugins(context.Context) ([]herder.PluginInfo, error) {
	return d.w.PluginInfos(), nil
}

// PluginConfig implements herder.Herder.
func (d *Distributed) PluginConfig(_ context.Context, class string) ([]herder.ConfigKeyInfo, error) {
	return d.w.PluginConfig(class)
}

// Validate implements herder.Herder.
func (d *Distributed) Validate(ctx context.Context, class string, config map[string]string) (herder.ConfigInfos, error) {
	infos, _, err := runtime.Validate(ctx, d.w, class, config)
	return infos, err
}

// Ready reports whether this worker can serve writes: it has joined the
// group and knows a leader.
func (d *Distributed) Ready() error {
	if _, _, ok := d.member.Leader(); !ok {
		return errors.New("the worker has not joined its group yet")
	}
	return nil
}
