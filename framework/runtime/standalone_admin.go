package runtime

import (
	"context"
	"errors"

	"github.com/connectd/connectd/framework/herder"
)

// errConfigChanged says a connector's config changed between a patch's
// read and its write; the patch is then merged again.
var errConfigChanged = errors.New("connector config changed while being patched")

// PatchConnectorConfig implements herder.ConfigPatcher: the patch is
// merged into the current config and written only if no other write came
// in between (else it is merged again into the newer config).
func (h *Standalone) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (herder.ConnectorInfo, error) {
	for {
		cur, err := h.ConnectorConfig(ctx, name)
		if err != nil {
			return herder.ConnectorInfo{}, err
		}
		merged := herder.PatchConfig(cur, patch)
		info, _, err := h.putConnector(ctx, name, merged, true, herder.TargetStarted, cur)
		if errors.Is(err, errConfigChanged) {
			if err := ctx.Err(); err != nil {
				return herder.ConnectorInfo{}, err
			}
			continue
		}
		return info, err
	}
}

// ConnectorOffsets implements herder.OffsetsManager.
func (h *Standalone) ConnectorOffsets(ctx context.Context, name string) (herder.ConnectorOffsets, error) {
	cs, err := h.lookup(name)
	if err != nil {
		return herder.ConnectorOffsets{}, err
	}
	h.mu.RLock()
	entry := cs.entry
	h.mu.RUnlock()
	return h.w.ConnectorOffsets(ctx, name, entry, nil)
}

// AlterConnectorOffsets implements herder.OffsetsManager. It holds the
// operations lock, so the connector cannot be resumed while its offsets
// are written; a stopped connector's tasks have already committed and
// ended (SetTargetState waits for them).
func (h *Standalone) AlterConnectorOffsets(ctx context.Context, name string, offsets []herder.ConnectorOffset) (herder.Message, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	cs, err := h.stoppedConnector(name)
	if err != nil {
		return herder.Message{}, err
	}
	return h.w.AlterConnectorOffsets(ctx, name, cs.entry, cs.config, offsets)
}

// ResetConnectorOffsets implements herder.OffsetsManager.
func (h *Standalone) ResetConnectorOffsets(ctx context.Context, name string) (herder.Message, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	cs, err := h.stoppedConnector(name)
	if err != nil {
		return herder.Message{}, err
	}
	return h.w.ResetConnectorOffsets(ctx, name, cs.entry, cs.config)
}

// stoppedConnector returns the connector name if it is STOPPED, else
// Kafka Connect's 400. Callers hold opMu.
func (h *Standalone) stoppedConnector(name string) (*connState, error) {
	cs, err := h.lookup(name)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if cs.target != herder.TargetStopped || len(cs.tasks) > 0 {
		return nil, herder.BadRequest("%s", herder.MsgNotStopped(name))
	}
	return cs, nil
}
