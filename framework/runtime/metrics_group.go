package runtime

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// RebalanceMetrics are a distributed worker's connect-worker-rebalance
// group; the herder records into them.
type RebalanceMetrics struct {
	completed   atomic.Int64
	epoch       atomic.Int64
	rebalancing atomic.Bool
	started     atomic.Int64 // unix nanos of the rebalance under way
	last        atomic.Int64 // unix nanos of the last completed one
	times       windowStat   // ms
	mu          sync.Mutex
	leader      string
	protocol    string
}

// EnableRebalance registers the connect-worker-rebalance and
// connect-coordinator groups (distributed mode) and returns them.
// clientID names the coordinator's client.
func (m *Metrics) EnableRebalance(clientID string) (*RebalanceMetrics, *CoordinatorMetrics) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rebalance == nil {
		m.rebalance = &RebalanceMetrics{}
		m.coordinator = &CoordinatorMetrics{clientID: clientID}
	}
	return m.rebalance, m.coordinator
}

// Started records that this worker began a rebalance.
func (r *RebalanceMetrics) Started() {
	if r.rebalancing.CompareAndSwap(false, true) {
		r.started.Store(time.Now().UnixNano())
	}
}

// Completed records a rebalance that ended with an assignment of
// generation, with leader (the leader's id) and the group's protocol.
func (r *RebalanceMetrics) Completed(generation int32, leader, protocol string) {
	now := time.Now()
	if r.rebalancing.CompareAndSwap(true, false) {
		r.times.record(float64(now.UnixNano()-r.started.Load()) / 1e6)
	}
	r.completed.Add(1)
	r.epoch.Store(int64(generation))
	r.last.Store(now.UnixNano())
	r.mu.Lock()
	r.leader, r.protocol = leader, protocol
	r.mu.Unlock()
}

func (r *RebalanceMetrics) collect(e *emitter, now time.Time) {
	rb := func(attr, help string, v float64) { e.gauge(metricName("worker-rebalance", attr), help, v) }
	e.counter(metricName("worker-rebalance", "completed-rebalances-total"), "The total number of rebalances completed by this worker.", float64(r.completed.Load()))
	rb("epoch", "The epoch or generation number of this worker.", float64(r.epoch.Load()))
	v := 0.0
	if r.rebalancing.Load() {
		v = 1
	}
	rb("rebalancing", "Whether this worker is currently rebalancing.", v)
	w := r.times.read(now)
	rb("rebalance-max-time-ms", "The maximum time in milliseconds spent by this worker to rebalance.", w.maximum())
	rb("rebalance-avg-time-ms", "The average time in milliseconds spent by this worker to rebalance.", w.avg())
	since := -1.0 // Kafka Connect's value before the first rebalance
	if last := r.last.Load(); last != 0 {
		since = float64(now.UnixNano()-last) / 1e6
	}
	rb("time-since-last-rebalance-ms", "The time in milliseconds since this worker completed the most recent rebalance.", since)
	r.mu.Lock()
	leader, protocol := r.leader, r.protocol
	r.mu.Unlock()
	if leader != "" {
		e.gauge(metricName("worker-rebalance", "leader-name"), "The name of the group leader: 1 for its current name.", 1, "leader_name", leader)
	}
	if protocol != "" {
		e.gauge(metricName("worker-rebalance", "connect-protocol"), "The Connect protocol used by this cluster: 1 for the current one.", 1, "connect_protocol", protocol)
	}
}

// CoordinatorMetrics are a distributed worker's connect-coordinator
// group: its assignment and its group requests.
type CoordinatorMetrics struct {
	clientID                        string
	assignedConnectors, assignedTsk atomic.Int64
	joins, syncs, heartbeats        meter
	failedRebalances                meter
	joinTime, syncTime, hbTime      windowStat // ms
	rebalanceLatency                windowStat // ms
	rebalanceLatencyTotal           atomic.Int64
	rebalances                      atomic.Int64
	lastRebalance, lastHeartbeat    atomic.Int64 // unix nanos
}

// Assigned records the connectors and tasks assigned to this worker.
func (c *CoordinatorMetrics) Assigned(connectors, tasks int) {
	c.assignedConnectors.Store(int64(connectors))
	c.assignedTsk.Store(int64(tasks))
}

// Join records a JoinGroup round trip.
func (c *CoordinatorMetrics) Join(d time.Duration, err error) {
	c.joins.Inc()
	c.joinTime.record(float64(d) / 1e6)
	if err != nil {
		c.failedRebalances.Inc()
	}
}

// Sync records a SyncGroup round trip.
func (c *CoordinatorMetrics) Sync(d time.Duration, err error) {
	c.syncs.Inc()
	c.syncTime.record(float64(d) / 1e6)
	if err != nil {
		c.failedRebalances.Inc()
	}
}

// Heartbeat records a Heartbeat round trip.
func (c *CoordinatorMetrics) Heartbeat(d time.Duration) {
	c.heartbeats.Inc()
	c.hbTime.record(float64(d) / 1e6)
	c.lastHeartbeat.Store(time.Now().UnixNano())
}

// Rebalanced records a rebalance that took d, from the join to the
// assignment.
func (c *CoordinatorMetrics) Rebalanced(d time.Duration) {
	c.rebalanceLatency.record(float64(d) / 1e6)
	c.rebalanceLatencyTotal.Add(d.Milliseconds())
	c.rebalances.Add(1)
	c.lastRebalance.Store(time.Now().UnixNano())
}

func (c *CoordinatorMetrics) collect(e *emitter, now time.Time) {
	// Strimzi's rules name this group's metrics kafka_connect_coordinator_*
	// with a clientid label.
	l := []string{"clientid", c.clientID}
	g := func(attr, help string, v float64) { e.gauge(metricName("coordinator", attr), help, v, l...) }
	t := func(attr, help string, v float64) { e.counter(metricName("coordinator", attr), help, v, l...) }
	g("assigned-connectors", "The number of connector instances currently assigned to this consumer.", float64(c.assignedConnectors.Load()))
	g("assigned-tasks", "The number of tasks currently assigned to this consumer.", float64(c.assignedTsk.Load()))
	for _, x := range []struct {
		name string
		m    *meter
		t    *windowStat
	}{{"join", &c.joins, &c.joinTime}, {"sync", &c.syncs, &c.syncTime}, {"heartbeat", &c.heartbeats, nil}} {
		t(x.name+"-total", "The total number of group "+x.name+"s.", float64(x.m.total.Load()))
		g(x.name+"-rate", "The number of group "+x.name+"s per second.", x.m.win.read(now).rate())
		if x.t != nil {
			w := x.t.read(now)
			g(x.name+"-time-avg", "The average time taken for a group "+x.name+", in ms.", w.avg())
			g(x.name+"-time-max", "The max time taken for a group "+x.name+", in ms.", w.maximum())
		}
	}
	g("heartbeat-response-time-max", "The max time taken to receive a response to a heartbeat request, in ms.", c.hbTime.read(now).maximum())
	rl := c.rebalanceLatency.read(now)
	t("rebalance-total", "The total number of successful rebalance events.", float64(c.rebalances.Load()))
	t("rebalance-latency-total", "The total time spent in rebalances, in ms.", float64(c.rebalanceLatencyTotal.Load()))
	g("rebalance-latency-avg", "The average time taken for a group to complete a rebalance, in ms.", rl.avg())
	g("rebalance-latency-max", "The max time taken for a group to complete a rebalance, in ms.", rl.maximum())
	t("failed-rebalance-total", "The total number of failed rebalance events.", float64(c.failedRebalances.total.Load()))
	ago := func(ns int64) float64 {
		if ns == 0 {
			return -1
		}
		return float64(now.UnixNano()-ns) / 1e9
	}
	g("last-rebalance-seconds-ago", "The number of seconds since the last successful rebalance event.", ago(c.lastRebalance.Load()))
	g("last-heartbeat-seconds-ago", "The number of seconds since the last heartbeat.", ago(c.lastHeartbeat.Load()))
}

// ClientHooks returns a hook that counts a Kafka client's bytes and
// connections under kind (producer, consumer or admin_client, as Kafka's
// clients name their metric groups) and clientID. The client's counts are
// dropped once it is closed.
func (m *Metrics) ClientHooks(kind, clientID string) kgo.Opt {
	return kgo.WithHooks(&clientHook{m: m, c: &clientMetrics{kind: kind, id: clientID}})
}

// clientHook registers its client's counts at the client's first
// connection (a client never used shows nothing) and drops them when the
// client closes.
type clientHook struct {
	m    *Metrics
	c    *clientMetrics
	once sync.Once
}

func (h *clientHook) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	h.c.out.Add(int64(n))
}

func (h *clientHook) OnBrokerRead(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	h.c.in.Add(int64(n))
}

func (h *clientHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.once.Do(func() {
		h.m.mu.Lock()
		h.m.clients[h.c.id+"\x00"+h.c.kind] = h.c
		h.m.mu.Unlock()
	})
	if err == nil {
		h.c.conns.Add(1)
	}
}

func (h *clientHook) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.c.conns.Add(-1) }

func (h *clientHook) OnClientClosed(*kgo.Client) { h.c.released.Store(true) }
