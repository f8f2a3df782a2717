package cluster

import (
	"context"
	"fmt"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
)

// PatchConnectorConfig implements herder.ConfigPatcher. The leader merges
// the patch into the config it has read back from the config topic and
// writes the result as PUT does; other workers forward the patch, not a
// merged config, so the merge is made on the newest config.
func (d *Distributed) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (herder.ConnectorInfo, error) {
	fwd, err := d.leader(ctx)
	if err != nil {
		return herder.ConnectorInfo{}, err
	}
	if fwd != nil {
		return fwd.PatchConnectorConfig(herder.WithForwarded(ctx), name, patch)
	}
	if err := d.readBack(ctx); err != nil {
		return herder.ConnectorInfo{}, err
	}
	_, cur, err := d.lookup(name)
	if err != nil {
		return herder.ConnectorInfo{}, err
	}
	info, _, err := d.putConnector(ctx, name, herder.PatchConfig(cur, patch), true, herder.TargetStarted)
	return info, err
}

// ConnectorOffsets implements herder.OffsetsManager. Any worker answers:
// source offsets come from the offsets topic, read to its end, and sink
// offsets from the connector's consumer group.
func (d *Distributed) ConnectorOffsets(ctx context.Context, name string) (herder.ConnectorOffsets, error) {
	_, cfg, err := d.lookup(name)
	if err != nil {
		return herder.ConnectorOffsets{}, err
	}
	entry, err := d.w.Plugins.Lookup(cfg[runtime.KeyConnectorClass])
	if err != nil {
		return herder.ConnectorOffsets{}, fmt.Errorf("connector %s: %w", name, err)
	}
	return d.w.ConnectorOffsets(ctx, name, entry, cfg)
}

// AlterConnectorOffsets implements herder.OffsetsManager. As in Kafka
// Connect, only the leader changes offsets, once it has read the config
// topic to its end, no rebalance is under way (so every worker has stopped
// the connector's tasks, which a stop revokes), and the connector is
// STOPPED with no task configs; other workers forward the request.
func (d *Distributed) AlterConnectorOffsets(ctx context.Context, name string, offsets []herder.ConnectorOffset) (herder.Message, error) {
	return d.modifyOffsets(ctx, name, offsets, false)
}

// ResetConnectorOffsets implements herder.OffsetsManager, as
// AlterConnectorOffsets.
func (d *Distributed) ResetConnectorOffsets(ctx context.Context, name string) (herder.Message, error) {
	return d.modifyOffsets(ctx, name, nil, true)
}

func (d *Distributed) modifyOffsets(ctx context.Context, name string, offsets []herder.ConnectorOffset, reset bool) (herder.Message, error) {
	fwd, err := d.leader(ctx)
	if err != nil {
		return herder.Message{}, err
	}
	if fwd != nil {
		fctx := herder.WithForwarded(ctx)
		if reset {
			return fwd.ResetConnectorOffsets(fctx, name)
		}
		return fwd.AlterConnectorOffsets(fctx, name, offsets)
	}
	if err := d.readBack(ctx); err != nil {
		return herder.Message{}, fmt.Errorf("Failed to read to end of config topic before modifying connector offsets: %w", err)
	}
	s, cfg, err := d.lookup(name)
	if err != nil {
		return herder.Message{}, err
	}
	if s.TargetStates[name] != herder.TargetStopped || len(s.Tasks[name]) != 0 {
		return herder.Message{}, herder.BadRequest("%s", herder.MsgNotStopped(name))
	}
	entry, err := d.w.Plugins.Lookup(cfg[runtime.KeyConnectorClass])
	if err != nil {
		return herder.Message{}, fmt.Errorf("connector %s: %w", name, err)
	}
	if d.w.ExactlyOnce.Enabled() && runtime.ConnectorType(entry) == herder.Source {
		// Exactly once, a task of the connector that still runs somewhere
		// (a zombie: a worker cut off from the group) could commit its
		// own offsets over these. Fence every task it ever started first.
		if err := d.fenceForOffsets(ctx, name); err != nil {
			return herder.Message{}, err
		}
	}
	if reset {
		return d.w.ResetConnectorOffsets(ctx, name, entry, cfg)
	}
	return d.w.AlterConnectorOffsets(ctx, name, entry, cfg, offsets)
}
