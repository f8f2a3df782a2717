package cluster

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/cluster/storage"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
)

// Messages of the 409s a write gets when it cannot be served now.
const (
	msgRebalancing = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
	msgNoLeader    = "Cannot complete request because this worker does not know the leader of its group yet (it is joining or a rebalance is under way); try again shortly"
	msgNotLeader   = "Cannot complete request: it was forwarded to this worker as the leader, but this worker is not the leader (leadership moved); try again shortly"
)

func conflict(msg string) error {
	return &herder.RequestError{Status: http.StatusConflict, Message: msg, Err: herder.ErrRebalancing}
}

// leader returns nil when this worker is the leader and may write the config
// topic now, or a client for the leader's REST API to forward the write
// to, or a 409 saying why neither is possible. A rebalance under way is
// waited for, up to worker.sync.timeout.ms: creating a connector starts
// one, and the next write should not fail for it.
func (d *Distributed) leader(ctx context.Context) (*api.Client, error) {
	deadline := time.Now().Add(d.cfg.SyncTimeout)
	for d.member.Rebalancing() {
		if time.Now().After(deadline) {
			return nil, conflict(msgRebalancing)
		}
		select {
		case <-ctx.Done():
			return nil, conflict(msgRebalancing)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_, url, ok := d.member.Leader()
	if !ok {
		return nil, conflict(msgNoLeader)
	}
	if d.isLeader() {
		if err := d.claimWrites(ctx); err != nil {
			return nil, fmt.Errorf("claim the config topic's writes as leader: %w", err)
		}
		return nil, nil
	}
	if herder.Forwarded(ctx) {
		return nil, conflict(msgNotLeader)
	}
	return &api.Client{BaseURL: url, HTTP: d.http, Sign: d.signer()}, nil
}

// readBack waits until this worker's view holds everything in the config
// topic so far: before a write checks what exists, and after a target state
// (storage.ConfigLog's other writes already wait to read themselves back),
// so a read right after a write sees it.
func (d *Distributed) readBack(ctx context.Context) error {
	if err := d.configs.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("read the config topic back: %w", err)
	}
	return nil
}

// PutConnectorConfig implements herder.Herder.
func (d *Distributed) PutConnectorConfig(ctx context.Context, name string, config map[string]string, allowReplace bool) (herder.ConnectorInfo, bool, error) {
	return d.putConnector(ctx, name, config, allowReplace, herder.TargetStarted)
}

// CreateConnectorInState creates a connector that starts out paused or
// stopped (POST /connectors with initial_state).
func (d *Distributed) CreateConnectorInState(ctx context.Context, name string, config map[string]string, state herder.TargetState) (herder.ConnectorInfo, error) {
	info, _, err := d.putConnector(ctx, name, config, false, state)
	return info, err
}

func (d *Distributed) putConnector(ctx context.Context, name string, config map[string]string, allowReplace bool, initial herder.TargetState) (herder.ConnectorInfo, bool, error) {
	config = maps.Clone(config)
	config[runtime.KeyName] = name
	// Validate on the worker the request reached: a bad config never
	// travels, and the answer names the field either way.
	infos, _, err := runtime.Validate(ctx, d.w, config[runtime.KeyConnectorClass], config)
	if err != nil {
		return herder.ConnectorInfo{}, false, err
	}
	if infos.ErrorCount > 0 {
		return herder.ConnectorInfo{}, false, &herder.ValidationError{Infos: infos}
	}
	fwd, err := d.leader(ctx)
	if err != nil {
		return herder.ConnectorInfo{}, false, err
	}
	if fwd != nil {
		fctx := herder.WithForwarded(ctx)
		switch {
		case allowReplace:
			return fwd.PutConnectorConfig(fctx, name, config)
		case initial != herder.TargetStarted:
			info, err := fwd.CreateConnectorInState(fctx, name, config, initial)
			return info, err == nil, err
		default:
			info, err := fwd.CreateConnector(fctx, name, config)
			return info, err == nil, err
		}
	}
	if err := d.readBack(ctx); err != nil {
		return herder.ConnectorInfo{}, false, err
	}
	_, exists := d.configs.Snapshot().Connectors[name]
	if exists && !allowReplace {
		return herder.ConnectorInfo{}, false, &herder.RequestError{Status: http.StatusConflict, Message: fmt.Sprintf("Connector %s already exists", name), Err: herder.ErrAlreadyExists}
	}
	var target *herder.TargetState
	if !exists {
		target = &initial
	}
	if err := d.configs.PutConnectorConfig(ctx, name, config, target); err != nil {
		return herder.ConnectorInfo{}, false, fmt.Errorf("write connector config: %w", err)
	}
	s, cfg, err := d.lookup(name)
	if err != nil {
		return herder.ConnectorInfo{}, false, err
	}
	return d.info(s, name, cfg), !exists, nil
}

// DeleteConnector implements herder.Herder.
func (d *Distributed) DeleteConnector(ctx context.Context, name string) error {
	fwd, err := d.leader(ctx)
	if err != nil {
		return err
	}
	if fwd != nil {
		return fwd.DeleteConnector(herder.WithForwarded(ctx), name)
	}
	if err := d.readBack(ctx); err != nil {
		return err
	}
	if _, _, err := d.lookup(name); err != nil {
		return err
	}
	if err := d.configs.RemoveConnector(ctx, name); err != nil {
		return fmt.Errorf("delete connector: %w", err)
	}
	return nil
}

// SetTargetState implements herder.Herder. Stopping also empties the
// connector's task configs, as Kafka Connect does, so its tasks are
// unassigned; resuming a stopped connector starts it, and it generates
// task configs again.
func (d *Distributed) SetTargetState(ctx context.Context, name string, target herder.TargetState) error {
	fwd, err := d.leader(ctx)
	if err != nil {
		return err
	}
	if fwd != nil {
		fctx := herder.WithForwarded(ctx)
		switch target {
		case herder.TargetPaused:
			return fwd.PauseConnector(fctx, name)
		case herder.TargetStopped:
			return fwd.StopConnector(fctx, name)
		default:
			return fwd.ResumeConnector(fctx, name)
		}
	}
	if err := d.readBack(ctx); err != nil {
		return err
	}
	if _, _, err := d.lookup(name); err != nil {
		return err
	}
	if err := d.configs.PutTargetState(ctx, name, target); err != nil {
		return fmt.Errorf("write target state: %w", err)
	}
	if target == herder.TargetStopped {
		if err := d.configs.PutTaskConfigs(ctx, name, nil); err != nil {
			return fmt.Errorf("write empty task configs of a stopped connector: %w", err)
		}
	}
	return d.readBack(ctx)
}

// PutTaskConfigs implements herder.TaskConfigWriter: the worker running a
// connector hands the leader the task configs it generated.
func (d *Distributed) PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	if r, ok := herder.InternalRequestFrom(ctx); ok {
		// From another worker: only one that knows the session key may
		// write task configs.
		if err := d.verify(r); err != nil {
			return err
		}
	}
	fwd, err := d.leader(ctx)
	if err != nil {
		return err
	}
	if fwd != nil {
		return fwd.PutTaskConfigs(herder.WithForwarded(ctx), name, configs)
	}
	if err := d.readBack(ctx); err != nil {
		return err
	}
	s, _, err := d.lookup(name)
	if err != nil {
		return err
	}
	if s.TargetStates[name] == herder.TargetStopped && len(configs) > 0 {
		return &herder.RequestError{Status: http.StatusConflict, Message: fmt.Sprintf("Connector %s is stopped; its task configs were not written", name)}
	}
	if !s.Inconsistent[name] && slices.EqualFunc(s.Tasks[name], configs, maps.Equal) {
		return nil
	}
	if err := d.configs.PutTaskConfigs(ctx, name, configs); err != nil {
		return fmt.Errorf("write task configs: %w", err)
	}
	return nil
}

// RestartConnector implements herder.Herder. The leader writes a restart
// request to the config topic; every worker restarts the instances it
// runs that the request covers, as in Kafka Connect. The answer shows the
// instances to be restarted as RESTARTING.
func (d *Distributed) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (herder.ConnectorStatus, error) {
	fwd, err := d.leader(ctx)
	if err != nil {
		return herder.ConnectorStatus{}, err
	}
	if fwd != nil {
		st, err := fwd.RestartConnector(herder.WithForwarded(ctx), name, includeTasks, onlyFailed)
		if err != nil || st == nil {
			return herder.ConnectorStatus{}, err
		}
		return *st, nil
	}
	if err := d.readBack(ctx); err != nil {
		return herder.ConnectorStatus{}, err
	}
	plan, err := d.ConnectorStatus(ctx, name)
	if err != nil {
		return herder.ConnectorStatus{}, err
	}
	if !onlyFailed || plan.Connector.State == herder.Failed {
		plan.Connector.State = herder.Restarting
	}
	if includeTasks {
		for i := range plan.Tasks {
			if !onlyFailed || plan.Tasks[i].State == herder.Failed {
				plan.Tasks[i].State = herder.Restarting
			}
		}
	}
	req := storage.RestartRequest{IncludeTasks: includeTasks, OnlyFailed: onlyFailed}
	if err := d.configs.PutRestartRequest(ctx, name, req); err != nil {
		return herder.ConnectorStatus{}, fmt.Errorf("write restart request: %w", err)
	}
	return plan, nil
}

// RestartTask implements herder.Herder. The worker running the task
// restarts it; any other worker forwards the request to it, found through
// the status topic.
func (d *Distributed) RestartTask(ctx context.Context, id herder.TaskID) error {
	s, _, err := d.lookup(id.Connector)
	if err != nil {
		return err
	}
	if id.Task < 0 || id.Task >= len(s.Tasks[id.Connector]) {
		return herder.NotFound("Task %s not found", id)
	}
	if d.restartLocalTask(id) {
		return nil
	}
	owner := d.taskState(id).WorkerID
	if owner == "" || owner == d.w.ID || herder.Forwarded(ctx) {
		return conflict(fmt.Sprintf("Cannot restart task %s: no worker runs it right now (it is being assigned); try again shortly", id))
	}
	// The task's worker speaks the scheme this one advertises: a cluster's
	// workers share their listener settings.
	scheme, _, _ := strings.Cut(d.url, "://")
	c := &api.Client{BaseURL: scheme + "://" + owner, HTTP: d.http, Sign: d.signer()}
	return c.RestartTask(herder.WithForwarded(ctx), id.Connector, id.Task)
}
