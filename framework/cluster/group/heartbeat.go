package group

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// beats is the heartbeat goroutine of one generation and what it has
// learnt, for the Run goroutine to act on.
type beats struct {
	m      *Member
	cancel context.CancelFunc
	done   chan struct{}
	notify chan struct{} // a token whenever an event is recorded

	mu sync.Mutex
	ev beatEvents
}

type beatEvents struct {
	rejoin  bool  // REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION
	unknown bool  // UNKNOWN_MEMBER_ID: rejoin under a new member id
	lost    bool  // out of the group by Member.lost
	fatal   error // the group refuses the member
}

func (b *beats) record(f func(*beatEvents)) {
	b.m.mu.Lock()
	b.m.rebalancing = true // whatever happened, a rebalance follows
	b.m.mu.Unlock()
	b.mu.Lock()
	f(&b.ev)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *beats) take() beatEvents {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev := b.ev
	b.ev = beatEvents{}
	return ev
}

// stop ends the goroutine and waits for it.
func (b *beats) stop() {
	b.cancel()
	<-b.done
}

// startHeartbeats heartbeats for the given generation every heartbeat
// interval, on its own goroutine, until stop.
func (m *Member) startHeartbeats(ctx context.Context, generation int32, memberID string) *beats {
	ctx, cancel := context.WithCancel(ctx)
	b := &beats{m: m, cancel: cancel, done: make(chan struct{}), notify: make(chan struct{}, 1)}
	go m.heartbeat(ctx, b, generation, memberID)
	return b
}

func (m *Member) heartbeat(ctx context.Context, b *beats, generation int32, memberID string) {
	defer close(b.done)
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group = m.cfg.GroupID
		req.Generation = generation
		req.MemberID = memberID
		sent := time.Now()
		// Wait for an answer until the member would count as lost, so a
		// slow coordinator still counts, and a dead one is noticed in time.
		rctx, cancel := context.WithTimeout(ctx, max(m.cfg.HeartbeatInterval, time.Until(m.lostDeadline())))
		resp, err := req.RequestWith(rctx, m.cfg.Client)
		cancel()
		if o := m.cfg.Observer; o != nil && ctx.Err() == nil {
			oerr := err
			if oerr == nil {
				oerr = kerr.ErrorForCode(resp.ErrorCode)
			}
			o.Heartbeat(time.Since(sent), oerr)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.log.Debug("group: heartbeat failed", "error", err)
			if m.lost(ctx) {
				b.record(func(e *beatEvents) { e.lost = true })
				return
			}
			continue
		}
		if err := m.classify("Heartbeat", resp.ErrorCode, time.Now()); err != nil {
			var re *retryError
			if !errors.As(err, &re) {
				b.record(func(e *beatEvents) { e.fatal = err })
				return
			}
			if m.lost(ctx) {
				b.record(func(e *beatEvents) { e.lost = true })
				return
			}
			continue
		}
		switch err := kerr.ErrorForCode(resp.ErrorCode); {
		case err == nil:
		case errors.Is(err, kerr.RebalanceInProgress):
			// Keep heartbeating: the session must stay alive until the
			// Run goroutine rejoins, which may wait for a Handler call.
			b.record(func(e *beatEvents) { e.rejoin = true })
		case errors.Is(err, kerr.UnknownMemberID):
			b.record(func(e *beatEvents) { e.unknown = true })
			return
		case errors.Is(err, kerr.IllegalGeneration):
			b.record(func(e *beatEvents) { e.rejoin = true })
			return
		default:
			m.log.Warn("group: unexpected heartbeat error; rejoining", "error", err)
			b.record(func(e *beatEvents) { e.rejoin = true })
			return
		}
	}
}
