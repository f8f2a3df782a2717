package group

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config configures a Member. The durations are Kafka Connect's worker
// settings; a zero SessionTimeout, RebalanceTimeout or HeartbeatInterval
// takes Kafka Connect's default. MaxDelay has no default: zero means what
// scheduled.rebalance.max.delay.ms=0 means, reassign at once.
type Config struct {
	// Client sends the group requests; the Member never closes it. Kafka
	// answers the requests of one connection in order and a JoinGroup can
	// wait for a whole rebalance, so do not share the client with another
	// group member or a consumer group; producers and plain consumers are
	// fine. kgo finds the group coordinator and retries NOT_COORDINATOR,
	// COORDINATOR_NOT_AVAILABLE and COORDINATOR_LOAD_IN_PROGRESS itself
	// (looking the coordinator up again); the Member retries what is left.
	Client *kgo.Client
	// GroupID is group.id.
	GroupID string
	// URL is this worker's REST URL (rest.advertised.*), sent to the others
	// in the member metadata.
	URL string

	SessionTimeout    time.Duration // session.timeout.ms, default 10 s
	RebalanceTimeout  time.Duration // rebalance.timeout.ms, default 60 s
	HeartbeatInterval time.Duration // heartbeat.interval.ms, default 3 s
	MaxDelay          time.Duration // scheduled.rebalance.max.delay.ms

	// Logger receives the member's logs; nil discards them.
	Logger *slog.Logger
	// Observer, if set, is told of the member's group requests (for the
	// connect-coordinator and connect-worker-rebalance metrics).
	Observer Observer
}

// Observer receives what the member does with the coordinator. Its
// methods are called from the member's goroutines and must be quick.
type Observer interface {
	// Rebalancing is called when the member starts a rebalance (a
	// JoinGroup and SyncGroup round).
	Rebalancing()
	// JoinGroup, SyncGroup and Heartbeat report a request's round trip and
	// its error (a transport error or the coordinator's), nil when it
	// succeeded.
	JoinGroup(d time.Duration, err error)
	SyncGroup(d time.Duration, err error)
	Heartbeat(d time.Duration, err error)
}

// Handler is the worker side of the membership: the herder. The Member
// calls Revoked, Assigned and LeaderConfig from the goroutine running Run
// (or Leave), one call at a time, never concurrently with each other;
// ConfigOffset may be called from Run and Leave. While a call runs,
// heartbeats continue on their own goroutine, so a slow stop does not cost
// the membership (up to the rebalance timeout, after which the coordinator
// drops a member that has not rejoined).
type Handler interface {
	// ConfigOffset returns the config-topic offset this worker has read up
	// to (-1 before it has read anything). It goes into the member's
	// metadata at every join.
	ConfigOffset() int64

	// LeaderConfig is called when this member is to compute the group's
	// assignment: it must read the config topic up to at least offset
	// atLeast (the newest any member has read), then return the connectors
	// and their task counts with the offset they reflect. An error, or an
	// offset below atLeast, makes the round fail with ErrConfigMismatch:
	// every member catches up and rejoins. ctx ends within the rebalance
	// timeout.
	LeaderConfig(ctx context.Context, atLeast int64) (ClusterConfig, error)

	// Revoked stops the given connectors and tasks; they must be stopped
	// when it returns. The other work keeps running through the rebalance.
	// It is also called with everything the worker runs when the member has
	// been out of touch with the coordinator for too long (see Member).
	Revoked(ctx context.Context, connectors []string, tasks []TaskID)

	// Assigned reports the outcome of a rebalance: start what is new in
	// a.Connectors and a.Tasks (the full set this worker now runs). Before
	// starting anything, read the config topic up to a.ConfigOffset. If
	// a.Error is not ErrNone, start nothing: catch up on the config topic;
	// the member rejoins when Assigned returns. It also rejoins when
	// Assigned returns having read past a.ConfigOffset, so the leader can
	// assign with the newer config.
	Assigned(ctx context.Context, a Assignment)
}

// Assignment is the outcome of one rebalance for this member.
type Assignment struct {
	// Generation is the group generation this assignment belongs to.
	Generation int32
	// MemberID is this member's id in the group.
	MemberID string
	// Leader and LeaderURL name the member that computed the assignment:
	// the group's leader, which alone writes the config topic. This member
	// leads when Leader == MemberID.
	Leader, LeaderURL string
	// ConfigOffset is the config-topic offset the assignment was computed at.
	ConfigOffset int64
	// Connectors and Tasks are everything this member runs after this
	// round: what it ran, minus what was revoked, plus what was assigned.
	Connectors []string
	Tasks      []TaskID
	// Error is ErrNone, or ErrConfigMismatch when the leader could not
	// catch up on the config topic.
	Error int16
	// Delay, when positive, is the scheduled rebalance the leader asked
	// for (a departed worker's work is held until then); the member rejoins
	// by itself when it elapses.
	Delay time.Duration
	// Members maps the id of every member of this generation to its REST
	// URL. The leader knows them from JoinGroup; the others ask the
	// coordinator (DescribeGroups) after SyncGroup. If that fails, or a new
	// rebalance has already begun, it holds only this member and the
	// leader.
	Members map[string]string
}

// Member is one worker's membership of the Connect group: it joins,
// computes assignments when it leads, heartbeats, and reports revocations
// and assignments to its Handler. Methods are safe for concurrent use.
//
// Leadership comes from the assignment SyncGroup returns (the leader id in
// it), never from JoinGroup alone: a coordinator may tell several members
// they lead (kfake does after the leader left). Every member JoinGroup names
// leader computes an assignment, but only the one the delivered assignment
// names keeps its assignor state and acts as leader.
//
// Incremental cooperative: work keeps running through a rebalance unless
// the assignment revokes it, also when the coordinator answers a heartbeat
// with REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION: the
// member rejoins reporting what it runs, so the leader leaves it there.
// (After UNKNOWN_MEMBER_ID that work may meanwhile have gone elsewhere, if
// the leader changed or MaxDelay is 0; the leader then sees it twice and
// revokes both copies before assigning it once, as Kafka Connect does.)
//
// Losing the coordinator: when no group request has been answered for the
// session timeout minus one heartbeat interval (at least one heartbeat
// interval), the member revokes everything it runs (Handler.Revoked) and
// keeps trying to rejoin, with nothing, like Kafka Connect after
// KAFKA-9184. Heartbeats are the evidence of contact; during a rebalance,
// while the member still runs work, it asks the coordinator for the
// group's description every heartbeat interval instead. Why this limit: by
// the session timeout the coordinator drops the member and the leader may
// hand its work to others, at once when scheduled.rebalance.max.delay.ms is
// 0; stopping a heartbeat interval earlier leaves time to stop the work
// first. Waiting for MaxDelay instead would not be safe: a delay already
// running when the member vanished is shared, so the leader may reassign
// sooner, and the delay runs on the leader's clock, not ours.
type Member struct {
	cfg Config
	h   Handler
	log *slog.Logger

	leaveCtx    context.Context // canceled by Leave: stops Run
	leaveCancel context.CancelFunc
	rejoinCh    chan struct{} // Rejoin's requests, coalesced
	done        chan struct{} // closed when Run returns

	mu          sync.Mutex
	started     bool // Run was called, or Leave made a later Run pointless
	running     bool
	left        bool
	memberID    string
	generation  int32
	leaderID    string
	leaderURL   string
	haveLeader  bool
	rebalancing bool
	lastContact time.Time // newest time the coordinator answered us

	// Owned by the goroutine in Run, then by Leave once Run has returned.
	current       *wireAssignment // allocation reported at the next join; nil: none
	state         leaderState     // assignor state, kept while this member leads
	appliedGen    int32           // generation of the last assignment applied
	appliedMember string          // member id it was applied under
	delayDeadline time.Time       // when to rejoin for a scheduled rebalance; zero: none
}

// Kafka Connect's defaults.
const (
	defaultSessionTimeout    = 10 * time.Second
	defaultRebalanceTimeout  = 60 * time.Second
	defaultHeartbeatInterval = 3 * time.Second
)

// NewMember returns a member of cfg.GroupID that reports to h. It does not
// contact Kafka until Run.
func NewMember(cfg Config, h Handler) *Member {
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = defaultSessionTimeout
	}
	if cfg.RebalanceTimeout <= 0 {
		cfg.RebalanceTimeout = defaultRebalanceTimeout
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = defaultHeartbeatInterval
	}
	if cfg.MaxDelay < 0 {
		cfg.MaxDelay = 0
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Member{
		cfg:         cfg,
		h:           h,
		log:         log.With("group", cfg.GroupID, "worker", cfg.URL),
		leaveCtx:    ctx,
		leaveCancel: cancel,
		rejoinCh:    make(chan struct{}, 1),
		done:        make(chan struct{}),
		generation:  -1,
		appliedGen:  -1,
		rebalancing: true,
	}
}

// ErrRunTwice is returned by a second call of Run: a Member is used once.
var ErrRunTwice = errors.New("group: Run was already called on this member; create a new Member to join again")

// Run joins the group and stays in it, rebalancing as needed, until ctx
// ends or Leave is called; it then returns nil without leaving the group
// (call Leave for that). It returns an error only for what retrying cannot
// fix: the group refuses this member (authorization, a protocol type or
// session timeout the group does not accept, the group is full), or the
// Member is misconfigured. The member is then out of the group: stop all
// work. Call it once, from one goroutine; the Handler's
// methods run on that goroutine.
func (m *Member) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		left := m.left
		m.mu.Unlock()
		if left {
			return nil
		}
		return ErrRunTwice
	}
	m.started = true
	m.running = true
	m.lastContact = time.Now()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		close(m.done)
	}()
	if m.cfg.Client == nil || m.cfg.GroupID == "" {
		return errors.New("group: Config needs a Client and a GroupID")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.leaveCtx, cancel)
	defer stop()
	return m.loop(ctx)
}

// Rejoin asks for a rebalance, for instance because the config topic
// changed. It does not block; requests made while one is pending are
// coalesced. The member rejoins at once; the coordinator starts a
// rebalance when the leader rejoins or a member's metadata changed (its
// config offset, what it runs), and otherwise hands a rejoining member the
// current assignment again, which the member then ignores.
func (m *Member) Rejoin() {
	select {
	case m.rejoinCh <- struct{}{}:
	default:
	}
}

// Leave leaves the group gracefully: it stops Run (canceling the ctx of a
// Handler call in progress and waiting for it to return), tells the leader that the work this member
// ran is stopped, so it is reassigned at once rather than held for
// MaxDelay, then sends LeaveGroup. Stop the work before calling it. Telling
// the leader takes one rebalance round, in which this member may be asked
// for LeaderConfig; ctx bounds the whole. Safe to call at any time, also
// before or after Run, and more than once, but not from a Handler method
// (it waits for that method to return).
func (m *Member) Leave(ctx context.Context) error {
	m.leaveCancel()
	m.mu.Lock()
	if m.left {
		m.mu.Unlock()
		return nil
	}
	m.left = true
	running := m.running
	m.started = true
	m.mu.Unlock()
	if running {
		select {
		case <-m.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return m.leave(ctx)
}

// Leader returns the leader named by the newest assignment, with ok false
// before the first one, after the member lost the coordinator, and after
// Leave. During a rebalance it still names the previous round's leader:
// check Rebalancing too.
func (m *Member) Leader() (id, url string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leaderID, m.leaderURL, m.haveLeader
}

// Rebalancing reports whether a rebalance is under way (or the member has
// not finished joining yet): from the moment one is needed until the
// Handler is told its outcome.
func (m *Member) Rebalancing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rebalancing
}

// Generation returns the generation of the newest assignment, -1 before
// the first.
func (m *Member) Generation() int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.generation
}
