package postgrescdc

import "context"

// incremental runs incremental snapshots (see incrementalState).
type incremental struct {
	c     *capture
	state *incrementalState
}

func newIncremental(c *capture) *incremental { return &incremental{c: c} }

func (in *incremental) store(m map[string]any) {}

func (c *capture) incrAfterCommit(ctx context.Context, s *streamer) error { return nil }

func (c *capture) incrStreamed(ctx context.Context, s *streamer, ch *change) error { return nil }
