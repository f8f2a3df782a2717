package group

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// retryError is a failed rebalance attempt worth another try.
type retryError struct {
	err       error
	wait      bool // back off before the next try
	noContact bool // the coordinator did not answer (counts toward losing it)
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

func retryNow(err error) error   { return &retryError{err: err} }
func retryLater(err error) error { return &retryError{err: err, wait: true} }
func unreachable(err error) error {
	return &retryError{err: err, wait: true, noContact: true}
}

// classify sorts a group error code into retry now, retry later, or fatal
// (nil means no error). It records contact when the coordinator answered.
func (m *Member) classify(op string, code int16, answered time.Time) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		m.contact(answered)
		return nil
	}
	switch {
	case errors.Is(err, kerr.NotCoordinator),
		errors.Is(err, kerr.CoordinatorNotAvailable),
		errors.Is(err, kerr.CoordinatorLoadInProgress):
		// kgo has looked the coordinator up again and retried up to its
		// retry timeout already.
		return unreachable(fmt.Errorf("group: %s: %w", op, err))
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return fmt.Errorf("group: %s: %w: grant this worker's principal READ on group %q", op, err, m.cfg.GroupID)
	case errors.Is(err, kerr.InvalidSessionTimeout):
		return fmt.Errorf("group: %s: %w: session.timeout.ms=%d is outside the broker's group.min.session.timeout.ms and group.max.session.timeout.ms",
			op, err, m.cfg.SessionTimeout.Milliseconds())
	case errors.Is(err, kerr.InconsistentGroupProtocol):
		return fmt.Errorf("group: %s: %w: group %q is used by members that are not Connect workers (or speak none of %q, %q); use another group.id",
			op, err, m.cfg.GroupID, protocolSessioned, protocolCompatible)
	case errors.Is(err, kerr.InvalidGroupID),
		errors.Is(err, kerr.GroupMaxSizeReached),
		errors.Is(err, kerr.FencedInstanceID),
		errors.Is(err, kerr.UnsupportedVersion):
		return fmt.Errorf("group: %s: %w", op, err)
	}
	m.contact(answered)
	return nil // the caller handles the remaining codes
}

// protocols builds the JoinGroup protocols: sessioned then compatible, each
// with its metadata. leaving reports an allocation that says the member is
// leaving and has stopped its work.
func (m *Member) protocols(leaving bool) []kmsg.JoinGroupRequestProtocol {
	offset := m.h.ConfigOffset()
	var out []kmsg.JoinGroupRequestProtocol
	for _, p := range []struct {
		name    string
		version int16
	}{{protocolSessioned, versionSessioned}, {protocolCompatible, versionCompatible}} {
		md := wireMetadata{Version: p.version, URL: m.cfg.URL, ConfigOffset: offset}
		if m.current != nil {
			a := *m.current
			a.Version = p.version
			a.Revoked = work{}
			if leaving {
				a.Error = allocationLeaving
				a.Revoked = a.Assigned
				a.Assigned = work{}
			}
			md.Allocation = &a
		}
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name = p.name
		proto.Metadata = encodeMetadata(md)
		out = append(out, proto)
	}
	return out
}

// attempt is one JoinGroup and SyncGroup.
func (m *Member) attempt(ctx context.Context, leaving bool) (*round, error) {
	if !leaving {
		select { // this join reflects the newest state: drop older requests
		case <-m.rejoinCh:
		default:
		}
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = m.cfg.GroupID
	join.SessionTimeoutMillis = int32(m.cfg.SessionTimeout.Milliseconds())
	join.RebalanceTimeoutMillis = int32(m.cfg.RebalanceTimeout.Milliseconds())
	join.MemberID = m.getMemberID()
	join.ProtocolType = protocolType
	join.Protocols = m.protocols(leaving)
	join.Reason = kmsg.StringPtr("connectd worker joining")
	if leaving {
		join.Reason = kmsg.StringPtr("connectd worker leaving: its work is stopped")
	}
	if o := m.cfg.Observer; o != nil && !leaving {
		o.Rebalancing()
	}
	joined := time.Now()
	resp, err := join.RequestWith(ctx, m.cfg.Client)
	if o := m.cfg.Observer; o != nil {
		oerr := err
		if oerr == nil {
			oerr = kerr.ErrorForCode(resp.ErrorCode)
		}
		o.JoinGroup(time.Since(joined), oerr)
	}
	if err != nil {
		return nil, unreachable(fmt.Errorf("group: JoinGroup: %w", err))
	}
	if err := m.classify("JoinGroup", resp.ErrorCode, time.Now()); err != nil {
		return nil, err
	}
	switch err := kerr.ErrorForCode(resp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.MemberIDRequired):
		m.setMemberID(resp.MemberID)
		return nil, retryNow(fmt.Errorf("group: JoinGroup: %w", err))
	case errors.Is(err, kerr.UnknownMemberID):
		m.setMemberID("")
		return nil, retryNow(fmt.Errorf("group: JoinGroup: %w", err))
	default: // REBALANCE_IN_PROGRESS and anything unexpected
		return nil, retryLater(fmt.Errorf("group: JoinGroup: %w", err))
	}
	m.setMemberID(resp.MemberID)
	if resp.Protocol == nil {
		return nil, retryLater(errors.New("group: JoinGroup: the coordinator chose no protocol"))
	}
	version, err := protocolVersion(*resp.Protocol)
	if err != nil {
		return nil, err
	}
	r := &round{generation: resp.Generation, memberID: resp.MemberID, version: version}

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group = m.cfg.GroupID
	sync.Generation = resp.Generation
	sync.MemberID = resp.MemberID
	sync.ProtocolType = kmsg.StringPtr(protocolType)
	sync.Protocol = resp.Protocol
	if resp.LeaderID == resp.MemberID {
		r.led = true
		sync.GroupAssignment, r.members, r.computed = m.computeAssignments(ctx, resp, version)
	}
	synced := time.Now()
	sresp, err := sync.RequestWith(ctx, m.cfg.Client)
	if o := m.cfg.Observer; o != nil {
		oerr := err
		if oerr == nil {
			oerr = kerr.ErrorForCode(sresp.ErrorCode)
		}
		o.SyncGroup(time.Since(synced), oerr)
	}
	if err != nil {
		return nil, unreachable(fmt.Errorf("group: SyncGroup: %w", err))
	}
	if err := m.classify("SyncGroup", sresp.ErrorCode, time.Now()); err != nil {
		return nil, err
	}
	switch err := kerr.ErrorForCode(sresp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.UnknownMemberID):
		m.setMemberID("")
		return nil, retryNow(fmt.Errorf("group: SyncGroup: %w", err))
	case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.IllegalGeneration):
		return nil, retryNow(fmt.Errorf("group: SyncGroup: %w", err))
	default:
		return nil, retryLater(fmt.Errorf("group: SyncGroup: %w", err))
	}
	if len(sresp.MemberAssignment) == 0 {
		return nil, retryLater(fmt.Errorf("group: SyncGroup: generation %d carried no assignment for member %s", r.generation, r.memberID))
	}
	a, err := decodeAssignment(sresp.MemberAssignment)
	if err != nil {
		return nil, retryLater(fmt.Errorf("group: SyncGroup: leader %s sent an assignment that does not decode: %w", resp.LeaderID, err))
	}
	r.assignment = a
	return r, nil
}

// computeAssignments is the leader's part of a round: read every member's
// metadata, catch up on the config topic, run the assignor.
func (m *Member) computeAssignments(ctx context.Context, resp *kmsg.JoinGroupResponse, version int16) ([]kmsg.SyncGroupRequestGroupAssignment, map[string]string, *assignResult) {
	urls := map[string]string{}
	var members []memberState
	maxOffset := int64(-1)
	for _, jm := range resp.Members {
		md, err := decodeMetadata(jm.ProtocolMetadata)
		if err != nil {
			m.log.Warn("group: a member's metadata does not decode; treating it as running nothing", "member", jm.MemberID, "error", err)
			md = wireMetadata{ConfigOffset: -1}
		}
		urls[jm.MemberID] = md.URL
		ms := memberState{ID: jm.MemberID, URL: md.URL, Offset: md.ConfigOffset}
		if a := md.Allocation; a != nil {
			if a.Error == allocationLeaving {
				ms.Leaving, ms.Released = true, a.Revoked
			} else {
				ms.Running = a.Assigned
			}
		}
		members = append(members, ms)
		maxOffset = max(maxOffset, md.ConfigOffset)
	}

	lctx, cancel := context.WithTimeout(ctx, m.cfg.RebalanceTimeout)
	cfg, err := m.h.LeaderConfig(lctx, maxOffset)
	cancel()
	out := make([]kmsg.SyncGroupRequestGroupAssignment, 0, len(members))
	put := func(id string, a wireAssignment) {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID = id
		ga.MemberAssignment = encodeAssignment(a)
		out = append(out, ga)
	}
	if err != nil || cfg.Offset < maxOffset {
		m.log.Warn("group: leading this round but not caught up on the config topic; the round fails with CONFIG_MISMATCH and everyone rejoins",
			"need_offset", maxOffset, "have_offset", cfg.Offset, "error", err)
		for _, ms := range members {
			put(ms.ID, wireAssignment{Version: version, Error: ErrConfigMismatch, Leader: resp.MemberID, LeaderURL: m.cfg.URL, ConfigOffset: maxOffset})
		}
		return out, urls, nil
	}
	res := assign(m.state, assignInput{Members: members, Config: cfg, Now: time.Now(), MaxDelay: m.cfg.MaxDelay})
	for _, ms := range members {
		put(ms.ID, wireAssignment{
			Version:      version,
			Error:        ErrNone,
			Leader:       resp.MemberID,
			LeaderURL:    m.cfg.URL,
			ConfigOffset: cfg.Offset,
			Assigned:     res.Assigned[ms.ID],
			Revoked:      res.Revoked[ms.ID],
			Delay:        res.Delay,
		})
	}
	m.log.Debug("group: computed assignment", "generation", resp.Generation, "members", len(members), "config_offset", cfg.Offset, "delay", res.Delay)
	return out, urls, &res
}

// describe asks the coordinator for the members' URLs; nil if it cannot
// tell (the group is rebalancing again, or the request failed).
func (m *Member) describe(ctx context.Context) map[string]string {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{m.cfg.GroupID}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.SessionTimeout)
	defer cancel()
	resp, err := req.RequestWith(rctx, m.cfg.Client)
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 || resp.Groups[0].State != "Stable" {
		m.log.Debug("group: DescribeGroups gave no member list", "error", err)
		return nil
	}
	urls := map[string]string{}
	for _, gm := range resp.Groups[0].Members {
		if md, err := decodeMetadata(gm.ProtocolMetadata); err == nil {
			urls[gm.MemberID] = md.URL
		}
	}
	return urls
}

// leave tells the leader the work is stopped, then sends LeaveGroup. Run
// is not running.
func (m *Member) leave(ctx context.Context) error {
	defer func() {
		m.mu.Lock()
		m.memberID = ""
		m.haveLeader = false
		m.rebalancing = false
		m.mu.Unlock()
	}()
	if m.getMemberID() == "" {
		return nil
	}
	if m.current != nil && !m.current.Assigned.empty() {
		m.announceLeaving(ctx)
		if m.getMemberID() == "" {
			return nil // the coordinator no longer knew us
		}
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = m.cfg.GroupID
	req.MemberID = m.getMemberID()
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = req.MemberID
	lm.Reason = kmsg.StringPtr("connectd worker shutting down")
	req.Members = []kmsg.LeaveGroupRequestMember{lm}
	resp, err := req.RequestWith(ctx, m.cfg.Client)
	if err != nil {
		return fmt.Errorf("group: LeaveGroup: %w; the coordinator drops this member after session.timeout.ms", err)
	}
	code := resp.ErrorCode
	if code == 0 && len(resp.Members) == 1 {
		code = resp.Members[0].ErrorCode
	}
	if err := kerr.ErrorForCode(code); err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		return fmt.Errorf("group: LeaveGroup: %w; the coordinator drops this member after session.timeout.ms", err)
	}
	m.log.Info("group: left the group")
	return nil
}

// announceLeaving rejoins once reporting the stopped work as released, so
// the leader reassigns it at once. Failures only cost the fast handover:
// the work is then reassigned after the scheduled delay.
func (m *Member) announceLeaving(ctx context.Context) {
	bo := backoff{max: m.cfg.HeartbeatInterval}
	for range 5 {
		_, err := m.attempt(ctx, true)
		if err == nil || m.getMemberID() == "" || ctx.Err() != nil {
			return
		}
		var re *retryError
		if !errors.As(err, &re) {
			m.log.Warn("group: could not tell the leader this worker is leaving", "error", err)
			return
		}
		if re.wait && !sleep(ctx, bo.next()) {
			return
		}
	}
}
