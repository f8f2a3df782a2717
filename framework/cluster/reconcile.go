package cluster

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/cluster/group"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
)

// handler receives the group's callbacks.
type handler struct{ d *Distributed }

func (h handler) ConfigOffset() int64 { return h.d.configs.Snapshot().Offset }

// LeaderConfig catches up with the config topic to at least the newest
// offset any member reported, and returns what to assign.
func (h handler) LeaderConfig(ctx context.Context, atLeast int64) (group.ClusterConfig, error) {
	d := h.d
	ctx, cancel := context.WithTimeout(ctx, d.cfg.SyncTimeout)
	defer cancel()
	for {
		if err := d.configs.ReadToEnd(ctx); err != nil {
			return group.ClusterConfig{}, fmt.Errorf("catch up with the config topic: %w", err)
		}
		s := d.configs.Snapshot()
		if s.Offset >= atLeast {
			counts := taskCounts(s)
			d.mu.Lock()
			d.leaderCounts = counts
			d.mu.Unlock()
			return group.ClusterConfig{Offset: s.Offset, Tasks: counts}, nil
		}
		select {
		case <-ctx.Done():
			return group.ClusterConfig{}, fmt.Errorf("config topic at offset %d, members reported %d: %w", s.Offset, atLeast, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Revoked stops what the leader took away before this worker rejoins.
func (h handler) Revoked(_ context.Context, conns []string, tasks []group.TaskID) {
	d := h.d
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.mu.Lock()
	for _, c := range conns {
		delete(d.assignedConns, c)
	}
	for _, t := range tasks {
		delete(d.assignedTasks, herder.TaskID{Connector: t.Connector, Task: t.Task})
	}
	gen := d.generation
	d.mu.Unlock()
	d.logger.Info("work revoked", "connectors", conns, "tasks", len(tasks))
	d.stopUnwanted(gen, false)
}

// Assigned records the new assignment and catches up with the config topic
// to the offset the leader assigned from; the reconcile loop then starts
// what is new. Starting happens there, not here, so that this member is
// free to rejoin at once when another rebalance begins, and so that task
// configs a started connector makes can reach the leader, which accepts
// them only once the rebalance is over.
func (h handler) Assigned(ctx context.Context, a group.Assignment) {
	d := h.d
	sctx, cancel := context.WithTimeout(ctx, d.cfg.SyncTimeout)
	defer cancel()
	if a.Error != group.ErrNone {
		// The leader was behind on the config topic: catch up; the member
		// rejoins when this returns.
		d.logger.Info("assignment failed: the leader could not catch up with the config topic; catching up and rejoining", "generation", a.Generation)
		if err := d.configs.ReadToEnd(sctx); err != nil {
			d.logger.Warn("could not catch up with the config topic", "error", err)
		}
		return
	}
	d.rebalance.Completed(a.Generation, a.LeaderURL, "sessioned")
	d.coordinator.Assigned(len(a.Connectors), len(a.Tasks))
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return
	}
	d.generation = a.Generation
	d.memberID = a.MemberID
	d.assignedConns = map[string]bool{}
	for _, c := range a.Connectors {
		d.assignedConns[c] = true
	}
	d.assignedTasks = map[herder.TaskID]bool{}
	for _, t := range a.Tasks {
		d.assignedTasks[herder.TaskID{Connector: t.Connector, Task: t.Task}] = true
	}
	d.assignedOnce = true
	d.mu.Unlock()
	d.logger.Info("work assigned", "generation", a.Generation, "leader", a.LeaderURL, "connectors", a.Connectors, "tasks", len(a.Tasks))
	for d.configs.Snapshot().Offset < a.ConfigOffset {
		if err := d.configs.ReadToEnd(sctx); err != nil {
			d.logger.Warn("could not catch up with the config topic the leader assigned from; rejoining", "want", a.ConfigOffset, "error", err)
			d.member.Rejoin()
			return
		}
	}
	d.kickReconcile()
}

// reconcile makes what runs on this worker match its assignment and the
// config topic: it stops what is no longer wanted or changed, applies
// target states, starts what is missing, handles restart requests, and
// hands generated task configs to the leader.
func (d *Distributed) reconcile(ctx context.Context) {
	d.opMu.Lock()
	d.mu.Lock()
	gen, once := d.generation, d.assignedOnce && !d.closing
	restarts := d.restarts
	d.restarts = nil
	d.mu.Unlock()
	if !once {
		d.opMu.Unlock()
		return
	}
	d.stopUnwanted(gen, false)
	d.applyRestarts(ctx, restarts, gen)
	d.startWanted(ctx, gen)
	sends := d.pendingTaskConfigs()
	d.countWork()
	d.opMu.Unlock()

	for name, cfgs := range sends {
		d.sendTaskConfigs(ctx, name, cfgs)
	}
	d.leaderDuties(ctx)
}

// stopUnwanted stops, in parallel, every instance that is not assigned,
// was deleted, changed config, or whose connector is stopped. With
// shutdown, it reports them UNASSIGNED (a graceful stop of the worker).
// Callers hold opMu.
func (d *Distributed) stopUnwanted(gen int32, shutdown bool) {
	s := d.configs.Snapshot()
	d.mu.Lock()
	var conns []string
	for name, rc := range d.conns {
		cfg, exists := s.Connectors[name]
		wanted := d.assignedConns[name] && exists && maps.Equal(cfg, rc.config)
		stopped := s.TargetStates[name] == herder.TargetStopped
		if !wanted || rc.stopped != stopped {
			conns = append(conns, name)
		}
	}
	var tasks []herder.TaskID
	for id, rt := range d.tasks {
		ts := s.Tasks[id.Connector]
		if !d.assignedTasks[id] || id.Task >= len(ts) || !maps.Equal(ts[id.Task], rt.config) {
			tasks = append(tasks, id)
		}
	}
	d.mu.Unlock()

	var wg sync.WaitGroup
	for _, id := range tasks {
		d.mu.Lock()
		rt := d.tasks[id]
		delete(d.tasks, id)
		d.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.task.Stop()
			if _, exists := s.Connectors[id.Connector]; !exists {
				d.forgetTopics(id.Connector)
			}
			if shutdown {
				d.status.task(id, gen, herder.Unassigned, "")
			}
		}()
	}
	for _, name := range conns {
		d.mu.Lock()
		rc := d.conns[name]
		delete(d.conns, name)
		d.mu.Unlock()
		_, exists := s.Connectors[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rc.conn != nil {
				rc.conn.Stop()
			}
			switch {
			case !exists:
				// Deleted: its owner removes its statuses.
				d.status.remove(name)
				d.forgetTopics(name)
			case shutdown:
				d.status.connector(name, gen, herder.Unassigned, "")
			}
		}()
	}
	wg.Wait()
}

// startWanted starts what is assigned and not running, and applies target
// states to what runs. Callers hold opMu.
func (d *Distributed) startWanted(ctx context.Context, gen int32) {
	s := d.configs.Snapshot()
	d.mu.Lock()
	conns := slices.Sorted(maps.Keys(d.assignedConns))
	tasks := slices.SortedFunc(maps.Keys(d.assignedTasks), func(a, b herder.TaskID) int {
		return cmp.Or(strings.Compare(a.Connector, b.Connector), cmp.Compare(a.Task, b.Task))
	})
	d.mu.Unlock()

	for _, name := range conns {
		cfg, ok := s.Connectors[name]
		if !ok {
			continue
		}
		target := s.TargetStates[name]
		d.mu.Lock()
		rc := d.conns[name]
		d.mu.Unlock()
		switch {
		case target == herder.TargetStopped:
			if rc == nil {
				d.mu.Lock()
				d.conns[name] = &runningConn{config: cfg, stopped: true}
				d.mu.Unlock()
				d.status.connector(name, gen, herder.Stopped, "")
			}
		case rc == nil:
			d.startConnector(ctx, name, cfg, target == herder.TargetPaused, gen)
		case rc.conn != nil && rc.paused != (target == herder.TargetPaused):
			rc.paused = target == herder.TargetPaused
			rc.conn.SetPaused(rc.paused)
		}
	}

	for _, id := range tasks {
		ts := s.Tasks[id.Connector]
		if s.Inconsistent[id.Connector] || id.Task >= len(ts) {
			continue
		}
		d.mu.Lock()
		running := d.tasks[id] != nil
		d.mu.Unlock()
		if !running && d.awaitsFencing(id.Connector, s.Connectors[id.Connector], s.PendingFencing) {
			// Exactly once: the connector's older tasks are fenced out
			// first; the task count record that says so starts this one.
			d.requestFencing(id.Connector)
			continue
		}
		paused := s.TargetStates[id.Connector] == herder.TargetPaused
		d.mu.Lock()
		rt := d.tasks[id]
		d.mu.Unlock()
		switch {
		case rt == nil:
			d.startTask(id, ts[id.Task], paused, gen)
		case rt.paused != paused:
			rt.paused = paused
			rt.task.SetPaused(paused)
		}
	}
}

// startConnector starts an assigned connector and asks it for task
// configs. Callers hold opMu.
func (d *Distributed) startConnector(ctx context.Context, name string, cfg map[string]string, paused bool, gen int32) {
	rc := &runningConn{config: cfg, paused: paused}
	d.mu.Lock()
	d.conns[name] = rc
	d.mu.Unlock()
	report := func(s herder.State, trace string) { d.status.connector(name, gen, s, trace) }
	entry, err := d.w.Plugins.Lookup(cfg[runtime.KeyConnectorClass])
	if err != nil {
		report(herder.Failed, runtime.Trace(err))
		return
	}
	conn, err := d.w.StartConnector(ctx, runtime.ConnectorSpec{Name: name, Entry: entry, Config: cfg, Report: report}, paused)
	if err != nil {
		d.logger.Error("connector failed to start", "connector", name, "error", err)
		report(herder.Failed, runtime.Trace(err))
		return
	}
	rc.conn = conn
	cfgs, err := conn.TaskConfigs(ctx)
	if err != nil {
		d.logger.Error("connector failed to generate task configs", "connector", name, "error", err)
		report(herder.Failed, runtime.Trace(err))
		return
	}
	d.mu.Lock()
	rc.generated = cfgs
	d.mu.Unlock()
}

// startTask starts an assigned task. Callers hold opMu.
func (d *Distributed) startTask(id herder.TaskID, cfg map[string]string, paused bool, gen int32) {
	entry, err := d.w.Plugins.Lookup(cfg[runtime.KeyConnectorClass])
	if err != nil {
		d.status.task(id, gen, herder.Failed, runtime.Trace(err))
		return
	}
	eos := d.w.ExactlyOnce.Enabled() && entry.Info.Kind == plugin.Source
	report := func(s herder.State, trace string) { d.status.taskEOS(id, gen, s, trace, eos) }
	report(herder.Unassigned, "")
	progress := func(p map[string]any) { d.status.taskProgress(id, gen, p) }
	spec := runtime.TaskSpec{ID: id, Entry: entry, Config: cfg, Report: report, Progress: progress, Topic: d.topicFunc(id)}
	if d.w.ExactlyOnce.Enabled() && entry.Info.Kind == plugin.Source {
		spec.PreProducerCheck = d.preProducerCheck(id, cfg)
	}
	t := d.w.StartTask(spec, paused)
	d.mu.Lock()
	d.tasks[id] = &runningTask{task: t, config: cfg, paused: paused}
	d.mu.Unlock()
}

// pendingTaskConfigs returns the generated task configs the config topic
// does not hold yet, by connector. Callers hold opMu.
func (d *Distributed) pendingTaskConfigs() map[string][]map[string]string {
	s := d.configs.Snapshot()
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]map[string]string{}
	for name, rc := range d.conns {
		if rc.generated == nil || s.TargetStates[name] == herder.TargetStopped {
			continue
		}
		if !s.Inconsistent[name] && slices.EqualFunc(s.Tasks[name], rc.generated, maps.Equal) {
			rc.generated = nil
			continue
		}
		out[name] = rc.generated
	}
	return out
}

// sendTaskConfigs hands generated task configs to the leader. On failure
// they stay pending and the next pass (at most a second later) tries again.
func (d *Distributed) sendTaskConfigs(ctx context.Context, name string, cfgs []map[string]string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.PutTaskConfigs(ctx, name, cfgs); err != nil {
		d.logger.Info("task configs not yet with the leader; retrying", "connector", name, "error", err)
		return
	}
	d.logger.Info("task configs written", "connector", name, "tasks", len(cfgs))
}

// applyRestarts restarts the instances this worker runs that the requests
// cover. Callers hold opMu.
func (d *Distributed) applyRestarts(ctx context.Context, reqs []restartRequest, gen int32) {
	for _, r := range reqs {
		s := d.configs.Snapshot()
		cfg, ok := s.Connectors[r.connector]
		if !ok || s.TargetStates[r.connector] == herder.TargetStopped {
			continue
		}
		d.mu.Lock()
		rc := d.conns[r.connector]
		d.mu.Unlock()
		if rc != nil {
			cs, _ := d.statuses.Connector(r.connector)
			if !r.OnlyFailed || cs.State == herder.Failed {
				d.logger.Info("restarting connector on request", "connector", r.connector)
				if rc.conn != nil {
					rc.conn.Stop()
				}
				d.mu.Lock()
				delete(d.conns, r.connector)
				d.mu.Unlock()
				d.status.connector(r.connector, gen, herder.Restarting, "")
				d.startConnector(ctx, r.connector, cfg, s.TargetStates[r.connector] == herder.TargetPaused, gen)
			}
		}
		if !r.IncludeTasks {
			continue
		}
		for i := range s.Tasks[r.connector] {
			id := herder.TaskID{Connector: r.connector, Task: i}
			ts := d.taskState(id)
			if r.OnlyFailed && ts.State != herder.Failed {
				continue
			}
			d.restartTaskLocked(id, gen)
		}
	}
}

// restartLocalTask restarts a task if this worker runs it.
func (d *Distributed) restartLocalTask(id herder.TaskID) bool {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.mu.Lock()
	gen := d.generation
	d.mu.Unlock()
	return d.restartTaskLocked(id, gen)
}

// restartTaskLocked stops and starts a task this worker runs, with the
// config it runs with. Callers hold opMu.
func (d *Distributed) restartTaskLocked(id herder.TaskID, gen int32) bool {
	d.mu.Lock()
	rt := d.tasks[id]
	delete(d.tasks, id)
	d.mu.Unlock()
	if rt == nil {
		return false
	}
	d.logger.Info("restarting task on request", "task", id.String())
	rt.task.Stop()
	d.status.task(id, gen, herder.Restarting, "")
	d.startTask(id, rt.config, rt.paused, gen)
	return true
}

// countWork updates the worker's connector and task gauges.
func (d *Distributed) countWork() {
	d.mu.Lock()
	conns := 0
	for _, rc := range d.conns {
		if rc.conn != nil {
			conns++
		}
	}
	tasks := len(d.tasks)
	d.mu.Unlock()
	d.w.Metrics.SetWork(conns, tasks)
}

var (
	_ herder.Herder           = (*Distributed)(nil)
	_ herder.TaskConfigWriter = (*Distributed)(nil)
)

// observer feeds the member's group requests to the worker's
// connect-coordinator and connect-worker-rebalance metrics.
type observer struct {
	d       *Distributed
	started atomic.Int64 // unix nanos of the rebalance under way
}

func (o *observer) Rebalancing() {
	o.started.CompareAndSwap(0, time.Now().UnixNano())
	o.d.rebalance.Started()
}

func (o *observer) JoinGroup(d time.Duration, err error) { o.d.coordinator.Join(d, err) }

func (o *observer) SyncGroup(d time.Duration, err error) {
	o.d.coordinator.Sync(d, err)
	if err == nil {
		if s := o.started.Swap(0); s != 0 {
			o.d.coordinator.Rebalanced(time.Duration(time.Now().UnixNano() - s))
		}
	}
}

func (o *observer) Heartbeat(d time.Duration, err error) {
	if err == nil {
		o.d.coordinator.Heartbeat(d)
	}
}
