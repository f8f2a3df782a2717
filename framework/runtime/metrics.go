package runtime

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/connectd/connectd/framework/herder"
)

// Metrics are the worker's Prometheus metrics: every attribute of Kafka
// Connect's metric groups (connector, connector-task, source-task,
// sink-task, task-error, connect-worker, and in distributed mode
// connect-worker-rebalance and connect-coordinator), named as Strimzi's
// JMX exporter rules for Kafka Connect name them
// (kafka_connect_source_task_source_record_poll_total,
// kafka_connect_worker_connector_running_task_count{connector}, ...), so
// that Grafana dashboards and alerts written for Kafka Connect work; the
// Kafka clients' byte and connection counts under the names the same
// rules give the Java clients' (kafka_producer_outgoing_byte_total, ...);
// and connectd's own (connectd_*). docs/metrics.md lists them all.
//
// Values are read when Prometheus scrapes: the hot paths only add to
// counters and windowed samples. Windowed values (rates, averages,
// maximums, fractions) cover the last two 30-second samples, as Kafka's
// metrics do by default (metrics.sample.window.ms, metrics.num.samples),
// and are NaN when nothing was recorded in that time, as Kafka's are.
type Metrics struct {
	Registry *prometheus.Registry

	mu          sync.Mutex
	connectors  map[string]*connectorMetrics
	tasks       map[herder.TaskID]*taskGroup
	clients     map[string]*clientMetrics
	rebalance   *RebalanceMetrics
	coordinator *CoordinatorMetrics

	workConnectors, workTasks atomic.Int64

	connStart, taskStart startupCounter

	restarts  *prometheus.CounterVec
	txnCommit *prometheus.HistogramVec
}

// NewMetrics registers the worker's metrics, and Go's and the process's
// own, on a new registry.
func NewMetrics() *Metrics {
	labels := []string{"connector", "task"}
	m := &Metrics{
		Registry:   prometheus.NewRegistry(),
		connectors: map[string]*connectorMetrics{},
		tasks:      map[herder.TaskID]*taskGroup{},
		clients:    map[string]*clientMetrics{},
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connectd_task_restarts_total",
			Help: "Times the worker started a task again after its plugin process died."}, labels),
		txnCommit: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connectd_source_task_transaction_commit_seconds",
			Help:    "How long an exactly-once source task's transaction commit takes: flushing its records, writing their offsets, ending the transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, labels),
	}
	m.Registry.MustRegister(m, m.restarts, m.txnCommit, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetWork updates the worker's connector and task counts.
func (m *Metrics) SetWork(connectors, tasks int) {
	m.workConnectors.Store(int64(connectors))
	m.workTasks.Store(int64(tasks))
}

// Windowed statistics, as Kafka's metrics keep them.
const (
	sampleWindow = 30 * time.Second
	numSamples   = 2
)

// windowStat keeps the count, sum, maximum and minimum of the values
// recorded in each of the last numSamples windows.
type windowStat struct {
	mu  sync.Mutex
	s   [numSamples]sample
	cur int
}

type sample struct {
	start         time.Time
	n             int64
	sum, max, min float64
}

func (w *windowStat) record(v float64) { w.recordAt(v, time.Now()) }

func (w *windowStat) recordAt(v float64, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &w.s[w.cur]
	if c.start.IsZero() || now.Sub(c.start) >= sampleWindow {
		w.cur = (w.cur + 1) % numSamples
		c = &w.s[w.cur]
		*c = sample{start: now, max: math.Inf(-1), min: math.Inf(1)}
	}
	c.n++
	c.sum += v
	c.max = max(c.max, v)
	c.min = min(c.min, v)
}

// window is what the samples still in the window hold, and how long they
// cover.
type window struct {
	n             int64
	sum, max, min float64
	elapsed       time.Duration
}

func (w *windowStat) read(now time.Time) window {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := window{max: math.Inf(-1), min: math.Inf(1)}
	var oldest time.Time
	for _, s := range w.s {
		if s.start.IsZero() || now.Sub(s.start) >= numSamples*sampleWindow {
			continue
		}
		out.n += s.n
		out.sum += s.sum
		out.max, out.min = max(out.max, s.max), min(out.min, s.min)
		if oldest.IsZero() || s.start.Before(oldest) {
			oldest = s.start
		}
	}
	// Kafka's Rate divides by at least all but one full sample window.
	out.elapsed = max(now.Sub(oldest), (numSamples-1)*sampleWindow)
	return out
}

func (x window) avg() float64 {
	if x.n == 0 {
		return math.NaN()
	}
	return x.sum / float64(x.n)
}

func (x window) maximum() float64 {
	if x.n == 0 {
		return math.NaN()
	}
	return x.max
}

func (x window) minimum() float64 {
	if x.n == 0 {
		return math.NaN()
	}
	return x.min
}

// rate is the sum of the values per second.
func (x window) rate() float64 { return x.sum / x.elapsed.Seconds() }

// meter is a total and the windowed rate of what is added to it: Kafka's
// Meter (…-total and …-rate).
type meter struct {
	total atomic.Int64
	win   windowStat
}

func (m *meter) Add(n float64) {
	m.total.Add(int64(n))
	m.win.record(n)
}

func (m *meter) Inc() { m.Add(1) }

// counter is a total alone.
type counter struct{ n atomic.Int64 }

func (c *counter) Add(n float64) { c.n.Add(int64(n)) }
func (c *counter) Inc()          { c.n.Add(1) }
func (c *counter) value() float64 {
	return float64(c.n.Load())
}

// gauge is a value set now and then.
type gauge struct{ bits atomic.Uint64 }

func (g *gauge) Set(v float64)  { g.bits.Store(math.Float64bits(v)) }
func (g *gauge) value() float64 { return math.Float64frombits(g.bits.Load()) }

// frequency is the windowed fraction of outcomes that were true: Kafka's
// Frequencies of boolean values (the …-percentage metrics, which Kafka
// reports as fractions between 0 and 1).
type frequency struct{ win windowStat }

func (f *frequency) record(ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	f.win.record(v)
}

// stateTracker measures the time a task spends in each state since it
// started, for running-ratio and pause-ratio.
type stateTracker struct {
	mu      sync.Mutex
	state   herder.State
	since   time.Time
	started time.Time
	in      map[herder.State]time.Duration
}

func newStateTracker(now time.Time) *stateTracker {
	return &stateTracker{state: herder.Unassigned, since: now, started: now, in: map[herder.State]time.Duration{}}
}

func (s *stateTracker) set(st herder.State, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.in[s.state] += now.Sub(s.since)
	s.state, s.since = st, now
}

func (s *stateTracker) current() herder.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// ratio is the fraction of the time since the start spent in st.
func (s *stateTracker) ratio(st herder.State, now time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := now.Sub(s.started)
	if total <= 0 {
		return 0
	}
	d := s.in[st]
	if s.state == st {
		d += now.Sub(s.since)
	}
	return float64(d) / float64(total)
}

// statusName is a state as Kafka Connect's status metrics show it.
func statusName(s herder.State) string { return strings.ToLower(string(s)) }

// taskStates are the states whose task counts the connect-worker group
// keeps per connector (connector-<state>-task-count).
var taskStates = []herder.State{herder.Running, herder.Paused, herder.Failed, herder.Unassigned, "DESTROYED", herder.Restarting}

// connectorMetrics are one connector's connector-metrics group.
type connectorMetrics struct {
	class, typ, version string
	state               atomic.Value // herder.State
}

// taskGroup is one task's metric groups: connector-task, source-task or
// sink-task, task-error.
type taskGroup struct {
	id     herder.TaskID
	sink   bool
	states *stateTracker

	// connector-task-metrics
	batchSize    windowStat
	commitTime   windowStat // ms
	commitResult frequency

	// source-task-metrics
	poll, write   meter
	pollTime      windowStat // ms
	sourceActive  atomic.Int64
	sourceActiveW windowStat
	txnSize       windowStat

	// sink-task-metrics
	read, send                   meter
	putTime                      windowStat // ms
	lagMax                       windowStat
	partitions                   atomic.Int64
	commitSeq                    atomic.Int64
	commitCompletion, commitSkip meter
	sinkActive                   atomic.Int64
	sinkActiveW                  windowStat

	errs errorMetrics

	progressMu sync.Mutex
	progress   map[string]float64
}

// taskMetrics are what a task's executors record into: the group, and the
// older names the executors use.
type taskMetrics struct {
	g                                               *taskGroup
	poll, write, read, send, commitOK, commitFailed recorder
	errs                                            errorMetrics
	txnCommit                                       prometheus.Observer
	txnSize                                         *windowStat
}

// recorder is a counter an executor adds to.
type recorder interface {
	Add(float64)
	Inc()
}

// sourceWrites counts records Kafka acknowledged: written, and no longer
// active.
type sourceWrites struct{ g *taskGroup }

func (w sourceWrites) Add(n float64) {
	w.g.write.Add(n)
	w.g.sourceActive.Add(-int64(n))
}

func (w sourceWrites) Inc() { w.Add(1) }

// errorMetrics are one task's task-error-metrics.
type errorMetrics struct {
	failures, errors, skipped, retries, logged, dlqRequests, dlqFailures *counter
	lastError                                                            *gauge
}

// commitRecorder counts one offset commit's outcome into the
// connector-task group (and, for sinks, the sink-task group).
type commitRecorder struct {
	g  *taskGroup
	ok bool
}

func (c commitRecorder) Add(n float64) {
	for range int(n) {
		c.Inc()
	}
}

func (c commitRecorder) Inc() {
	c.g.commitResult.record(c.ok)
	if c.g.sink {
		c.g.commitSeq.Add(1)
		if c.ok {
			c.g.commitCompletion.Inc()
		}
	}
}

// addTask registers a task's metric groups (a task that runs again after
// its plugin process died keeps them; its totals count since the task was
// started, as Kafka Connect's count since it was last restarted).
func (m *Metrics) addTask(id herder.TaskID, sink bool) *taskGroup {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := &taskGroup{id: id, sink: sink, states: newStateTracker(time.Now())}
	g.errs = errorMetrics{failures: &counter{}, errors: &counter{}, skipped: &counter{}, retries: &counter{}, logged: &counter{},
		dlqRequests: &counter{}, dlqFailures: &counter{}, lastError: &gauge{}}
	m.tasks[id] = g
	return g
}

// removeTask drops a stopped task's groups, unless a newer instance of
// the task replaced them.
func (m *Metrics) removeTask(g *taskGroup) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tasks[g.id] == g {
		delete(m.tasks, g.id)
	}
}

// task returns what a run of task id records into; a task started
// without StartTask (tests) gets a group of its own.
func (m *Metrics) task(connector string, task int) taskMetrics {
	id := herder.TaskID{Connector: connector, Task: task}
	m.mu.Lock()
	g := m.tasks[id]
	m.mu.Unlock()
	if g == nil {
		g = m.addTask(id, false)
	}
	l := prometheus.Labels{"connector": connector, "task": itoa(task)}
	return taskMetrics{
		g:    g,
		poll: &g.poll, write: sourceWrites{g}, read: &g.read, send: &g.send,
		commitOK: commitRecorder{g, true}, commitFailed: commitRecorder{g, false},
		errs:      g.errs,
		txnCommit: m.txnCommit.With(l), txnSize: &g.txnSize,
	}
}

// setProgress keeps the numbers of a task's progress report, flattened to
// dotted keys.
func (g *taskGroup) setProgress(p map[string]any) {
	out := map[string]float64{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, v)
			}
		case float64:
			out[prefix] = x
		case int:
			out[prefix] = float64(x)
		case int64:
			out[prefix] = float64(x)
		case bool:
			if x {
				out[prefix] = 1
			} else {
				out[prefix] = 0
			}
		}
	}
	walk("", p)
	g.progressMu.Lock()
	g.progress = out
	g.progressMu.Unlock()
}

// startConnector registers a connector's group and counts a startup
// attempt.
func (m *Metrics) startConnector(name, class, typ, version string) *connectorMetrics {
	c := &connectorMetrics{class: class, typ: typ, version: version}
	c.state.Store(herder.Unassigned)
	m.mu.Lock()
	m.connectors[name] = c
	m.mu.Unlock()
	m.connStart.attempts.Add(1)
	return c
}

func (m *Metrics) removeConnector(name string, c *connectorMetrics) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.connectors[name] == c {
		delete(m.connectors, name)
	}
}

// startupCounter counts startups of connectors or tasks.
type startupCounter struct {
	attempts, successes, failures atomic.Int64
	results                       frequency
}

func (s *startupCounter) done(ok bool) {
	if ok {
		s.successes.Add(1)
	} else {
		s.failures.Add(1)
	}
	s.results.record(ok)
}

// startupOutcome counts one startup's outcome once.
type startupOutcome struct {
	counter *startupCounter
	once    sync.Once
}

func (o *startupOutcome) done(ok bool) { o.once.Do(func() { o.counter.done(ok) }) }

// clientMetrics are one Kafka client's byte and connection counts.
type clientMetrics struct {
	kind     string // producer, consumer, admin_client
	id       string
	in, out  atomic.Int64
	conns    atomic.Int64
	released atomic.Bool
}

// metricName builds kafka_connect_<group>_<attribute> the way Strimzi's
// rules do: the group without -metrics, the attribute, dashes as
// underscores.
func metricName(group, attr string) string {
	return strings.ReplaceAll("kafka_connect_"+group+"_"+attr, "-", "_")
}

// Describe sends nothing: the metrics are collected unchecked (their
// label values change as connectors come and go).
func (m *Metrics) Describe(chan<- *prometheus.Desc) {}

// emitter writes samples of one scrape.
type emitter struct {
	ch    chan<- prometheus.Metric
	descs map[string]*prometheus.Desc
}

func (e *emitter) emit(name, help string, typ prometheus.ValueType, v float64, labels ...string) {
	keys := make([]string, 0, len(labels)/2)
	vals := make([]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		keys = append(keys, labels[i])
		vals = append(vals, labels[i+1])
	}
	dk := name + "\x00" + strings.Join(keys, ",")
	d := e.descs[dk]
	if d == nil {
		d = prometheus.NewDesc(name, help, keys, nil)
		e.descs[dk] = d
	}
	e.ch <- prometheus.MustNewConstMetric(d, typ, v, vals...)
}

func (e *emitter) gauge(name, help string, v float64, labels ...string) {
	e.emit(name, help, prometheus.GaugeValue, v, labels...)
}

func (e *emitter) counter(name, help string, v float64, labels ...string) {
	e.emit(name, help, prometheus.CounterValue, v, labels...)
}

// Collect reads every group.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	e := &emitter{ch: ch, descs: map[string]*prometheus.Desc{}}
	m.mu.Lock()
	conns := make(map[string]*connectorMetrics, len(m.connectors))
	for k, v := range m.connectors {
		conns[k] = v
	}
	tasks := make([]*taskGroup, 0, len(m.tasks))
	for _, g := range m.tasks {
		tasks = append(tasks, g)
	}
	clients := make([]*clientMetrics, 0, len(m.clients))
	for id, c := range m.clients {
		if c.released.Load() {
			delete(m.clients, id)
			continue
		}
		clients = append(clients, c)
	}
	reb, coord := m.rebalance, m.coordinator
	m.mu.Unlock()
	sort.Slice(tasks, func(i, j int) bool {
		if tasks[i].id.Connector != tasks[j].id.Connector {
			return tasks[i].id.Connector < tasks[j].id.Connector
		}
		return tasks[i].id.Task < tasks[j].id.Task
	})

	m.collectWorker(e, now, tasks)
	for name, c := range conns {
		st, _ := c.state.Load().(herder.State)
		e.gauge("kafka_connect_connector_status", "The status of the connector: 1 for its current status.", 1, "connector", name, "status", statusName(st))
		e.gauge("kafka_connect_connector_connector_class", "The name of the connector class.", 1, "connector", name, "connector_class", c.class)
		e.gauge("kafka_connect_connector_connector_type", "The type of the connector: source or sink.", 1, "connector", name, "connector_type", c.typ)
		e.gauge("kafka_connect_connector_connector_version", "The version of the connector class, as reported by the connector.", 1, "connector", name, "connector_version", c.version)
	}
	for _, g := range tasks {
		g.collect(e, now)
	}
	for _, c := range clients {
		p := "kafka_" + c.kind + "_"
		e.counter(p+"incoming_byte_total", "Bytes read from the brokers by this client.", float64(c.in.Load()), "clientid", c.id)
		e.counter(p+"outgoing_byte_total", "Bytes sent to the brokers by this client.", float64(c.out.Load()), "clientid", c.id)
		e.gauge(p+"connection_count", "Connections this client has open to brokers.", float64(c.conns.Load()), "clientid", c.id)
	}
	if reb != nil {
		reb.collect(e, now)
	}
	if coord != nil {
		coord.collect(e, now)
	}
}

func (m *Metrics) collectWorker(e *emitter, now time.Time, tasks []*taskGroup) {
	e.gauge(metricName("worker", "connector-count"), "The number of connectors run in this worker.", float64(m.workConnectors.Load()))
	e.gauge(metricName("worker", "task-count"), "The number of tasks run in this worker.", float64(m.workTasks.Load()))
	for _, s := range []struct {
		kind string
		c    *startupCounter
	}{{"connector", &m.connStart}, {"task", &m.taskStart}} {
		e.counter(metricName("worker", s.kind+"-startup-attempts-total"), "The total number of "+s.kind+" startups that this worker has attempted.", float64(s.c.attempts.Load()))
		e.counter(metricName("worker", s.kind+"-startup-success-total"), "The total number of "+s.kind+" starts that succeeded.", float64(s.c.successes.Load()))
		e.counter(metricName("worker", s.kind+"-startup-failure-total"), "The total number of "+s.kind+" starts that failed.", float64(s.c.failures.Load()))
		w := s.c.results.win.read(now)
		e.gauge(metricName("worker", s.kind+"-startup-success-percentage"), "The average fraction of this worker's "+s.kind+" starts that succeeded.", w.avg())
		e.gauge(metricName("worker", s.kind+"-startup-failure-percentage"), "The average fraction of this worker's "+s.kind+" starts that failed.", 1-w.avg())
	}
	perConnector := map[string]map[herder.State]int{}
	for _, g := range tasks {
		counts := perConnector[g.id.Connector]
		if counts == nil {
			counts = map[herder.State]int{}
			perConnector[g.id.Connector] = counts
		}
		counts[g.states.current()]++
	}
	for conn, counts := range perConnector {
		total := 0
		for _, n := range counts {
			total += n
		}
		e.gauge(metricName("worker", "connector-total-task-count"), "The number of tasks of the connector on the worker.", float64(total), "connector", conn)
		for _, st := range taskStates {
			name := statusName(st)
			e.gauge(metricName("worker", "connector-"+name+"-task-count"), "The number of "+name+" tasks of the connector on the worker.", float64(counts[st]), "connector", conn)
		}
	}
}

func (g *taskGroup) collect(e *emitter, now time.Time) {
	l := []string{"connector", g.id.Connector, "task", itoa(g.id.Task)}
	st := g.states.current()
	e.gauge("kafka_connect_connector_task_status", "The status of the connector task: 1 for its current status.", 1, append(l, "status", statusName(st))...)
	ct := func(attr, help string, v float64) { e.gauge(metricName("connector-task", attr), help, v, l...) }
	ct("running-ratio", "The fraction of time this task has spent in the running state.", g.states.ratio(herder.Running, now))
	ct("pause-ratio", "The fraction of time this task has spent in the pause state.", g.states.ratio(herder.Paused, now))
	bs, cm, cr := g.batchSize.read(now), g.commitTime.read(now), g.commitResult.win.read(now)
	ct("batch-size-max", "The maximum size of the batches processed by the connector.", bs.maximum())
	ct("batch-size-avg", "The average size of the batches processed by the connector.", bs.avg())
	ct("offset-commit-max-time-ms", "The maximum time in milliseconds taken by this task to commit offsets.", cm.maximum())
	ct("offset-commit-avg-time-ms", "The average time in milliseconds taken by this task to commit offsets.", cm.avg())
	ct("offset-commit-success-percentage", "The average fraction of this task's offset commit attempts that succeeded.", cr.avg())
	ct("offset-commit-failure-percentage", "The average fraction of this task's offset commit attempts that failed.", 1-cr.avg())

	if !g.sink {
		src := func(attr, help string, v float64) { e.gauge(metricName("source-task", attr), help, v, l...) }
		srcTotal := func(attr, help string, v float64) { e.counter(metricName("source-task", attr), help, v, l...) }
		pw, ww, pt, aw, tw := g.poll.win.read(now), g.write.win.read(now), g.pollTime.read(now), g.sourceActiveW.read(now), g.txnSize.read(now)
		srcTotal("source-record-poll-total", "The total number of records produced/polled (before transformation) by this task.", float64(g.poll.total.Load()))
		src("source-record-poll-rate", "The average per-second number of records produced/polled (before transformation) by this task.", pw.rate())
		srcTotal("source-record-write-total", "The number of records output from the transformations and written to Kafka for this task, since it was last restarted.", float64(g.write.total.Load()))
		src("source-record-write-rate", "The average per-second number of records output from the transformations and written to Kafka for this task.", ww.rate())
		src("poll-batch-max-time-ms", "The maximum time in milliseconds taken by this task to poll for a batch of source records.", pt.maximum())
		src("poll-batch-avg-time-ms", "The average time in milliseconds taken by this task to poll for a batch of source records.", pt.avg())
		src("source-record-active-count", "The number of records that have been produced by this task but not yet completely written to Kafka.", float64(g.sourceActive.Load()))
		src("source-record-active-count-max", "The maximum number of records that have been produced by this task but not yet completely written to Kafka.", aw.maximum())
		src("source-record-active-count-avg", "The average number of records that have been produced by this task but not yet completely written to Kafka.", aw.avg())
		src("transaction-size-max", "The number of records in the largest transaction the task committed (exactly-once tasks).", tw.maximum())
		src("transaction-size-avg", "The average number of records in the transactions the task committed (exactly-once tasks).", tw.avg())
		src("transaction-size-min", "The number of records in the smallest transaction the task committed (exactly-once tasks).", tw.minimum())
	} else {
		snk := func(attr, help string, v float64) { e.gauge(metricName("sink-task", attr), help, v, l...) }
		snkTotal := func(attr, help string, v float64) { e.counter(metricName("sink-task", attr), help, v, l...) }
		rw, sw, pt, lw, aw := g.read.win.read(now), g.send.win.read(now), g.putTime.read(now), g.lagMax.read(now), g.sinkActiveW.read(now)
		snkTotal("sink-record-read-total", "The total number of records read from Kafka by this task, since it was last restarted.", float64(g.read.total.Load()))
		snk("sink-record-read-rate", "The average per-second number of records read from Kafka for this task, before transformations.", rw.rate())
		snkTotal("sink-record-send-total", "The total number of records output from the transformations and sent/put to this task, since it was last restarted.", float64(g.send.total.Load()))
		snk("sink-record-send-rate", "The average per-second number of records output from the transformations and sent/put to this task.", sw.rate())
		snk("sink-record-lag-max", "The maximum lag in terms of number of records that the sink task is behind the consumer's position for any topic partitions.", lw.maximum())
		snk("partition-count", "The number of topic partitions assigned to this task.", float64(g.partitions.Load()))
		snk("offset-commit-seq-no", "The current sequence number for offset commits.", float64(g.commitSeq.Load()))
		cw, kw := g.commitCompletion.win.read(now), g.commitSkip.win.read(now)
		snkTotal("offset-commit-completion-total", "The total number of offset commit completions that were completed successfully.", float64(g.commitCompletion.total.Load()))
		snk("offset-commit-completion-rate", "The average per-second number of offset commit completions that were completed successfully.", cw.rate())
		snkTotal("offset-commit-skip-total", "The total number of offset commit completions that were received too late and skipped/ignored.", float64(g.commitSkip.total.Load()))
		snk("offset-commit-skip-rate", "The average per-second number of offset commit completions that were received too late and skipped/ignored.", kw.rate())
		snk("put-batch-max-time-ms", "The maximum time taken by this task to put a batch of sinks records.", pt.maximum())
		snk("put-batch-avg-time-ms", "The average time taken by this task to put a batch of sinks records.", pt.avg())
		snk("sink-record-active-count", "The number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.", float64(g.sinkActive.Load()))
		snk("sink-record-active-count-max", "The maximum number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.", aw.maximum())
		snk("sink-record-active-count-avg", "The average number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.", aw.avg())
	}

	te := func(attr, help string, v float64) { e.gauge(metricName("task-error", attr), help, v, l...) }
	te("total-record-failures", "The number of record processing failures in this task.", g.errs.failures.value())
	te("total-record-errors", "The number of record processing errors in this task.", g.errs.errors.value())
	te("total-records-skipped", "The number of records skipped due to errors.", g.errs.skipped.value())
	te("total-retries", "The number of operations retried.", g.errs.retries.value())
	te("total-errors-logged", "The number of errors that were logged.", g.errs.logged.value())
	te("deadletterqueue-produce-requests", "The number of attempted writes to the dead letter queue.", g.errs.dlqRequests.value())
	te("deadletterqueue-produce-failures", "The number of failed writes to the dead letter queue.", g.errs.dlqFailures.value())
	te("last-error-timestamp", "The epoch timestamp when this task last encountered an error.", g.errs.lastError.value())

	g.progressMu.Lock()
	keys := make([]string, 0, len(g.progress))
	for k := range g.progress {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.gauge("connectd_task_progress", "A running task's progress, as its connector reports it (each number of the status's progress, by its dotted key).", g.progress[k], append(l, "key", k)...)
	}
	g.progressMu.Unlock()
}

func itoa(n int) string { return strconv.Itoa(n) }
