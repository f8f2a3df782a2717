package cluster

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
)

// Exactly-once source support in distributed mode (Kafka Connect's
// KIP-618), as the herder takes part in it:
//
//   - exactly.once.source.support=preparing or enabled: the leader writes
//     the config topic with a transactional producer,
//     connect-cluster-<group.id>, claimed when it becomes leader, so a
//     former leader that still thinks it leads is fenced out; every worker
//     reads the topic read_committed. A cluster moving from disabled goes
//     through preparing on every worker first, so that by the time any
//     worker is enabled, every leader fences.
//   - enabled: source tasks run transactionally (package runtime). Before a
//     worker starts a task of a connector whose task configs were committed
//     after its last task count record (PendingFencing), it asks the
//     leader to fence the connector's older tasks (PUT
//     /connectors/{c}/fence, signed). The leader fences out the
//     transactional ids of the previous generation's tasks and writes the
//     tasks-fencing-<c> record with the current task count; every worker
//     reads it and starts the tasks. Each task checks again, right before
//     its producer starts, that it is the current generation's and still
//     assigned here.

// configTransactionalID is the leader's transactional id for the config
// topic, as Kafka Connect names it.
func configTransactionalID(groupID string) string { return "connect-cluster-" + groupID }

// FenceZombies implements herder.ZombieFencer: the leader fences out the
// connector's older tasks and writes its task count record; other workers
// forward to it.
func (d *Distributed) FenceZombies(ctx context.Context, name string) error {
	if r, ok := herder.InternalRequestFrom(ctx); ok {
		if err := d.verify(r); err != nil {
			return err
		}
	}
	fwd, err := d.leader(ctx)
	if err != nil {
		return err
	}
	if fwd != nil {
		return fwd.FenceZombies(herder.WithForwarded(ctx), name)
	}
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	if err := d.readBack(ctx); err != nil {
		return err
	}
	s, cfg, err := d.lookup(name)
	if err != nil {
		return err
	}
	if d.connectorType(cfg) != herder.Source {
		return herder.BadRequest("Connector %s is not a source connector", name)
	}
	if !s.PendingFencing[name] {
		return nil // the task count record is newer than the task configs
	}
	count := s.TaskCounts[name]
	if prev, ok := s.TaskCountRecords[name]; ok && (prev != 1 || count != 1) {
		// With one task before and after, the new task's own producer
		// fences the old one as it starts; otherwise every older task's
		// id must be fenced here, those that will have no successor too.
		if err := d.fenceTasks(ctx, name, prev); err != nil {
			return fmt.Errorf("fence out the older tasks of connector %s: %w", name, err)
		}
	}
	if err := d.configs.PutTaskCountRecord(ctx, name, count); err != nil {
		return fmt.Errorf("write the task count record of connector %s: %w", name, err)
	}
	return nil
}

// fenceTasks fences out the producers of the connector's tasks 0..n-1.
func (d *Distributed) fenceTasks(ctx context.Context, name string, n int) error {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = runtime.TransactionalID(d.cfg.GroupID, name, i)
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := runtime.FenceProducers(fctx, d.groupClient, ids); err != nil {
		return err
	}
	d.logger.Info("fenced out the connector's older tasks", "connector", name, "tasks", n)
	return nil
}

// fenceForOffsets fences out every task of a stopped source connector
// before its offsets are changed through the REST API, and records that
// it has no tasks (so the next generation needs no fencing of these
// again). The caller is the leader and has checked the connector is
// stopped.
func (d *Distributed) fenceForOffsets(ctx context.Context, name string) error {
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	s := d.configs.Snapshot()
	prev, ok := s.TaskCountRecords[name]
	if ok && prev > 0 {
		if err := d.fenceTasks(ctx, name, prev); err != nil {
			return fmt.Errorf("Failed to fence out the tasks of source connector %s before modifying its offsets: %w", name, err)
		}
	}
	if !ok || prev != 0 || s.PendingFencing[name] {
		if err := d.configs.PutTaskCountRecord(ctx, name, 0); err != nil {
			return fmt.Errorf("write the task count record of connector %s: %w", name, err)
		}
	}
	return nil
}

// requestFencing asks the leader, in the background, to fence the
// connector's older tasks; the reconcile pass after its task count record
// arrives starts the tasks. Callers hold opMu.
func (d *Distributed) requestFencing(name string) {
	d.mu.Lock()
	if d.fencing[name] || d.closing {
		d.mu.Unlock()
		return
	}
	d.fencing[name] = true
	d.mu.Unlock()
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		ctx, cancel := context.WithTimeout(d.runCtx, 30*time.Second)
		defer cancel()
		err := d.FenceZombies(ctx, name)
		d.mu.Lock()
		delete(d.fencing, name)
		d.mu.Unlock()
		if err != nil {
			if d.runCtx.Err() == nil {
				d.logger.Info("zombie fencing not done yet; asking again", "connector", name, "error", err)
			}
			return
		}
		d.kickReconcile()
	}()
}

// awaitsFencing reports whether the tasks of connector name must wait for
// zombie fencing before they start.
func (d *Distributed) awaitsFencing(name string, cfg map[string]string, pending map[string]bool) bool {
	return d.w.ExactlyOnce.Enabled() && pending[name] && d.connectorType(cfg) == herder.Source
}

// preProducerCheck is what an exactly-once task checks right before its
// transactional producer starts: with the config topic read to its end,
// its connector's older tasks are fenced, its config is still the
// current one, and it is still assigned to this worker. A task that fails
// it is tried again after a backoff; the herder stops it meanwhile if it
// is no longer wanted.
func (d *Distributed) preProducerCheck(id herder.TaskID, cfg map[string]string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := d.configs.ReadToEnd(ctx); err != nil {
			return fmt.Errorf("%w: read the config topic: %v", runtime.ErrTaskNotReady, err)
		}
		s := d.configs.Snapshot()
		if s.PendingFencing[id.Connector] {
			return fmt.Errorf("%w: the connector's older tasks are not fenced out yet", runtime.ErrTaskNotReady)
		}
		ts := s.Tasks[id.Connector]
		if id.Task >= len(ts) || !maps.Equal(ts[id.Task], cfg) {
			return fmt.Errorf("%w: the task's config is no longer the current one", runtime.ErrTaskNotReady)
		}
		d.mu.Lock()
		assigned := d.assignedTasks[id]
		d.mu.Unlock()
		if !assigned {
			return fmt.Errorf("%w: the task is no longer assigned to this worker", runtime.ErrTaskNotReady)
		}
		return nil
	}
}

// leaderDuties runs on the leader after each reconcile pass: it keeps the
// config topic's transactional writer claimed and the session key fresh.
func (d *Distributed) leaderDuties(ctx context.Context) {
	if !d.isLeader() {
		d.configs.ReleaseWrites()
		return
	}
	if err := d.claimWrites(ctx); err != nil {
		d.logger.Warn("could not claim the config topic's writes as leader; trying again", "error", err)
		return
	}
	if d.cfg.Signing.expired(d.configs.Snapshot().SessionKey, time.Now()) {
		k, err := d.cfg.Signing.newKey(time.Now())
		if err != nil {
			d.logger.Error("could not make a session key", "error", err)
			return
		}
		wctx, cancel := context.WithTimeout(ctx, d.cfg.SyncTimeout)
		err = d.configs.PutSessionKey(wctx, k)
		cancel()
		if err != nil {
			d.logger.Warn("could not write a new session key; trying again", "error", err)
			return
		}
		d.logger.Info("wrote a new session key", "algorithm", k.Algorithm)
	}
}

// claimWrites makes the leader the config topic's transactional writer,
// when it is not already (preparing or enabled; a no-op otherwise).
// Claiming fences out a former leader's writer.
func (d *Distributed) claimWrites(ctx context.Context) error {
	if d.configs.WritesClaimed() {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.SyncTimeout)
	defer cancel()
	if err := d.configs.ClaimWrites(cctx); err != nil {
		return err
	}
	d.logger.Info("claimed the config topic's transactional writer", "transactional.id", configTransactionalID(d.cfg.GroupID))
	return nil
}
