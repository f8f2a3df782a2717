package group

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// round is one JoinGroup + SyncGroup that succeeded.
type round struct {
	generation int32
	memberID   string
	version    int16
	led        bool              // JoinGroup named this member leader
	computed   *assignResult     // the assignment it computed, unless the config mismatched
	members    map[string]string // member id -> URL, when led
	assignment wireAssignment
}

// loop is Run's body: rebalance, apply, heartbeat until the next
// rebalance, again.
func (m *Member) loop(ctx context.Context) error {
	for {
		r, err := m.rebalance(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		b := m.startHeartbeats(ctx, r.generation, r.memberID)
		rejoinNow := m.apply(ctx, r)
		err = m.waitForRebalance(ctx, b, rejoinNow)
		b.stop()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// rebalance joins and syncs until it succeeds, ctx ends, or the group
// refuses the member.
func (m *Member) rebalance(ctx context.Context) (*round, error) {
	m.mu.Lock()
	m.rebalancing = true
	m.mu.Unlock()
	bo := backoff{max: m.cfg.HeartbeatInterval}
	for {
		actx, cancel := context.WithCancel(ctx)
		var stopProbe func()
		if m.current != nil && !m.current.Assigned.empty() {
			stopProbe = m.probe(actx, cancel)
		}
		r, err := m.attempt(actx, false)
		if stopProbe != nil {
			stopProbe()
		}
		cancel()
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var re *retryError
		if !errors.As(err, &re) {
			return nil, err
		}
		if re.noContact && m.lost(ctx) {
			m.revokeAll(ctx)
		}
		if !re.wait {
			bo.reset()
			continue
		}
		m.log.Debug("group: rebalance attempt failed; retrying", "error", re.err)
		if !sleep(ctx, bo.next()) {
			return nil, ctx.Err()
		}
	}
}

// probe keeps checking that the coordinator answers while a join or sync
// is under way and the member still runs work: no heartbeats are sent
// then, and kgo may retry an unanswered JoinGroup internally for a long
// time. It asks the coordinator for the group's description every
// heartbeat interval; once the member counts as lost it cancels the
// attempt (through cancel), so the work is revoked. The returned function
// stops the probe and waits for it.
func (m *Member) probe(ctx context.Context, cancel context.CancelFunc) func() {
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(m.cfg.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			if m.lostDue() {
				cancel()
				return
			}
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Groups = []string{m.cfg.GroupID}
			rctx, c := context.WithTimeout(pctx, max(m.cfg.HeartbeatInterval, time.Until(m.lostDeadline())))
			resp, err := req.RequestWith(rctx, m.cfg.Client)
			c()
			if err == nil && len(resp.Groups) == 1 && resp.Groups[0].ErrorCode == 0 {
				m.contact(time.Now())
			}
		}
	}()
	return func() {
		stop()
		<-done
	}
}

// apply reports a round's outcome to the Handler and records it. It returns
// whether the member must rejoin at once.
func (m *Member) apply(ctx context.Context, r *round) bool {
	a := r.assignment
	switch {
	case r.led && a.Leader == r.memberID:
		if r.computed != nil {
			m.state = r.computed.State
		}
	default:
		// Another member led this round: whatever state we kept is stale.
		m.state = leaderState{}
	}

	if r.generation == m.appliedGen && r.memberID == m.appliedMember {
		// The coordinator answered an unchanged rejoin with the current
		// generation: the same assignment again, already applied.
		m.mu.Lock()
		m.rebalancing = false
		m.mu.Unlock()
		return false
	}

	cur := newSet()
	if m.current != nil {
		cur.addWork(m.current.Assigned)
	}
	if a.Error == ErrNone {
		if !a.Revoked.empty() {
			m.log.Info("group: stopping revoked work", "generation", r.generation,
				"connectors", a.Revoked.Connectors, "tasks", len(a.Revoked.Tasks))
			m.h.Revoked(ctx, a.Revoked.Connectors, a.Revoked.Tasks)
		}
		cur.remove(setOf(a.Revoked))
		cur.addWork(a.Assigned)
	}
	full := cur.work()
	m.current = &wireAssignment{
		Version:      r.version,
		Error:        a.Error,
		Leader:       a.Leader,
		LeaderURL:    a.LeaderURL,
		ConfigOffset: a.ConfigOffset,
		Assigned:     full,
		Delay:        a.Delay,
	}
	m.appliedGen, m.appliedMember = r.generation, r.memberID
	m.delayDeadline = time.Time{}
	if a.Delay > 0 {
		m.delayDeadline = time.Now().Add(a.Delay)
	}

	members := r.members
	if members == nil {
		members = m.describe(ctx)
	}
	if members == nil {
		members = map[string]string{}
	}
	members[a.Leader] = a.LeaderURL
	members[r.memberID] = m.cfg.URL

	m.mu.Lock()
	m.generation = r.generation
	m.leaderID, m.leaderURL, m.haveLeader = a.Leader, a.LeaderURL, true
	m.rebalancing = false
	m.mu.Unlock()

	m.log.Info("group: assignment", "generation", r.generation, "member", r.memberID,
		"leader", a.Leader, "error", a.Error, "config_offset", a.ConfigOffset,
		"connectors", len(full.Connectors), "tasks", len(full.Tasks),
		"new_connectors", a.Assigned.Connectors, "new_tasks", len(a.Assigned.Tasks), "delay", a.Delay)
	m.h.Assigned(ctx, Assignment{
		Generation:   r.generation,
		MemberID:     r.memberID,
		Leader:       a.Leader,
		LeaderURL:    a.LeaderURL,
		ConfigOffset: a.ConfigOffset,
		Connectors:   full.Connectors,
		Tasks:        full.Tasks,
		Error:        a.Error,
		Delay:        a.Delay,
		Members:      members,
	})
	// Revoked work is assigned elsewhere in a follow-up round, which the
	// members that lost work start (as Kafka Connect's herder does).
	return !a.Revoked.empty() || a.Error != ErrNone || m.h.ConfigOffset() > a.ConfigOffset
}

// waitForRebalance returns when the member must rejoin, or with a fatal
// error.
func (m *Member) waitForRebalance(ctx context.Context, b *beats, rejoinNow bool) error {
	if rejoinNow {
		return nil
	}
	var due <-chan time.Time
	if !m.delayDeadline.IsZero() {
		t := time.NewTimer(time.Until(m.delayDeadline))
		defer t.Stop()
		due = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.rejoinCh:
			return nil
		case <-due:
			m.delayDeadline = time.Time{}
			m.log.Debug("group: scheduled rebalance delay elapsed; rejoining")
			return nil
		case <-b.notify:
			ev := b.take()
			switch {
			case ev.fatal != nil:
				return ev.fatal
			case ev.lost:
				m.revokeAll(ctx)
				return nil
			case ev.unknown:
				m.setMemberID("")
				return nil
			case ev.rejoin:
				return nil
			}
		}
	}
}

// revokeAll stops everything after the coordinator was out of reach for too
// long: the member is, or is about to be, out of the group.
func (m *Member) revokeAll(ctx context.Context) {
	m.mu.Lock()
	m.haveLeader = false
	m.rebalancing = true
	m.mu.Unlock()
	m.state = leaderState{}
	if m.current == nil {
		return
	}
	w := m.current.Assigned
	m.current = nil
	m.appliedGen, m.appliedMember = -1, ""
	m.log.Warn("group: the group coordinator has not answered for too long; stopping all work so that no other worker runs it at the same time",
		"lost_after", m.lostAfter(), "connectors", len(w.Connectors), "tasks", len(w.Tasks))
	if !w.empty() {
		m.h.Revoked(ctx, w.Connectors, w.Tasks)
	}
}

// lostAfter is how long without an answer from the coordinator the member
// suspects it is out of the group: the session timeout, after which the
// coordinator drops a member it has not heard from.
func (m *Member) lostAfter() time.Duration { return m.cfg.SessionTimeout }

// lost reports whether the member must take itself for out of the group:
// the coordinator has not answered it for a session timeout, and does not
// answer a look at the group within a heartbeat interval either. This is
// Kafka's rule (a session that timed out marks the coordinator unknown, and
// a worker revokes its assignment only when the coordinator cannot be found
// again within a heartbeat interval): a coordinator that is slow under load
// but alive costs no revocation, which would restart every task at once and
// load it further, while one that is gone, or does not serve the group,
// still stops the work. Whether the member is still in the group, the next
// heartbeat's answer says.
func (m *Member) lost(ctx context.Context) bool {
	if !m.lostDue() {
		return false
	}
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{m.cfg.GroupID}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.HeartbeatInterval)
	defer cancel()
	resp, err := req.RequestWith(rctx, m.cfg.Client)
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 {
		return true
	}
	m.log.Info("group: no heartbeat answered for a session timeout, but the coordinator answers; keeping the work", "session_timeout", m.cfg.SessionTimeout)
	m.contact(time.Now())
	return false
}

// contact records that the coordinator answered a request, at the time of
// the answer, as Kafka's clients count a session from the last heartbeat
// answer: a coordinator that works through a backlog handles a request just
// before it answers it, so the time it was sent would count every queued
// moment against the member.
func (m *Member) contact(at time.Time) {
	m.mu.Lock()
	if at.After(m.lastContact) {
		m.lastContact = at
	}
	m.mu.Unlock()
}

func (m *Member) lostDeadline() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastContact.Add(m.lostAfter())
}

func (m *Member) lostDue() bool { return time.Now().After(m.lostDeadline()) }

func (m *Member) setMemberID(id string) {
	m.mu.Lock()
	m.memberID = id
	m.mu.Unlock()
}

func (m *Member) getMemberID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.memberID
}

// backoff doubles from 50 ms up to max.
type backoff struct {
	max time.Duration
	cur time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = 50 * time.Millisecond
	case b.cur < b.max:
		b.cur *= 2
	}
	return min(b.cur, max(b.max, 50*time.Millisecond))
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
