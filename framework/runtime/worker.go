package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/offsets"
)

// Worker runs connectors and tasks assigned to it. It holds what they share:
// the worker config, the plugin registry, the offset store and Kafka client
// options. It keeps no record of which connectors exist: a herder does.
type Worker struct {
	ID      string
	Config  *WorkerConfig
	Plugins *Registry
	Offsets offsets.Store
	Logger  *slog.Logger
	// KafkaOpts are the base options of every Kafka client the worker
	// makes; each kind of client adds its security options (see
	// InternalKafkaOpts and the connector*Opts methods).
	KafkaOpts []kgo.Opt
	Metrics   *Metrics
	// ExactlyOnce is the worker's exactly-once source setting; the zero
	// value (standalone mode) is disabled.
	ExactlyOnce ExactlyOnce
	// OpenOffsetsTopic, when set, opens the store of a connector's own
	// offsets topic (offsets.storage.topic, distributed mode); the worker
	// keeps each one open once opened.
	OpenOffsetsTopic func(ctx context.Context, topic string) (offsets.Store, error)

	clusterMu sync.Mutex
	clusterID string
}

// NewWorker assembles a worker. id is how status reports name it
// (host:port of its REST API, as Kafka Connect does).
func NewWorker(id string, cfg *WorkerConfig, plugins *Registry, store offsets.Store, logger *slog.Logger) *Worker {
	return &Worker{ID: id, Config: cfg, Plugins: plugins, Offsets: store, Logger: redactingLogger(logger, cfg.Secrets), KafkaOpts: kafkaBaseOpts(cfg), Metrics: NewMetrics()}
}

// kafkaBaseOpts are the options every Kafka client of a worker starts
// from: the brokers, and metadata refreshed quickly enough that new topics
// and moved partitions are seen within a second. Security options come on
// top, per kind of client.
func kafkaBaseOpts(cfg *WorkerConfig) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(cfg.Bootstrap...),
		kgo.MetadataMinAge(500 * time.Millisecond),
		kgo.MetadataMaxAge(30 * time.Second),
	}
}

// BaseKafkaOpts are the options of the worker's own Kafka clients (group
// membership, the config, status and offsets topics): the base options
// and the worker's unprefixed security keys.
func BaseKafkaOpts(cfg *WorkerConfig) []kgo.Opt {
	return append(kafkaBaseOpts(cfg), cfg.Security...)
}

// InternalKafkaOpts are BaseKafkaOpts on top of the worker's KafkaOpts
// (which tests extend), in a fresh slice.
func (w *Worker) InternalKafkaOpts(extra ...kgo.Opt) []kgo.Opt {
	return append(w.kafkaOpts(w.Config.Security...), extra...)
}

// kafkaOpts returns the base client options plus extra, in a fresh slice
// (tasks build their clients concurrently).
func (w *Worker) kafkaOpts(extra ...kgo.Opt) []kgo.Opt {
	out := make([]kgo.Opt, 0, len(w.KafkaOpts)+len(extra))
	return append(append(out, w.KafkaOpts...), extra...)
}

// CheckKafka connects a worker's own client to the brokers and returns
// an error wrapping ErrKafkaAuthentication when they refuse its TLS
// handshake or SASL credentials, so that a worker with wrong credentials
// stops at startup saying so. Brokers that cannot be reached are not an
// error here.
func CheckKafka(ctx context.Context, cfg *WorkerConfig) error {
	sec, err := clientSecurityOf(cfg.securitySettings(clientWorker, nil))
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(kafkaBaseOpts(cfg), sec.opts...)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	return sec.check(ctx, cl, "worker")
}

// StateFunc receives a connector's or task's state changes.
type StateFunc func(state herder.State, trace string)

// TaskSpec is what the worker needs to run one task.
type TaskSpec struct {
	ID     herder.TaskID
	Entry  *PluginEntry
	Config map[string]string // the task's config, framework keys included
	Report StateFunc
	// Progress, when set, receives the task's progress while it runs, as
	// its plugin reports it (see connect.ProgressReporter): asked every
	// few seconds, handed on when it changed.
	Progress ProgressFunc
	// Topic, when set, receives the topics the task uses (KIP-558).
	Topic TopicFunc
	// PreProducerCheck, when set, is called before an exactly-once source
	// task's transactional producer starts: it confirms the task may run
	// (the herder checks its generation, its assignment and that older
	// tasks were fenced). An error wrapping ErrTaskNotReady makes the
	// worker try again after a backoff; any other fails the task.
	PreProducerCheck func(ctx context.Context) error
}

// StartTask starts a task's executor in the background, paused if asked.
func (w *Worker) StartTask(spec TaskSpec, paused bool) *Task {
	logger := w.Logger.With("connector", spec.ID.Connector, "task", spec.ID.Task, "worker", w.ID)
	// The task's metric groups follow its states and progress, and count
	// its startups: an attempt per run, a success at its first RUNNING,
	// a failure when the run ends before that.
	g := w.Metrics.addTask(spec.ID, spec.Entry != nil && spec.Entry.Info.Kind == plugin.Sink)
	report := spec.Report
	spec.Report = func(s herder.State, trace string) {
		g.states.set(s, time.Now())
		report(s, trace)
	}
	progress := spec.Progress
	spec.Progress = func(p map[string]any) {
		g.setProgress(p)
		if progress != nil {
			progress(p)
		}
	}
	t := &Task{w: w, spec: spec, logger: logger, done: make(chan struct{}), resume: make(chan struct{}), metrics: g}
	t.paused.Store(paused)
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	go t.supervise(ctx)
	return t
}

// clientID names a Kafka client of a task, as Kafka Connect does.
func (w *Worker) clientID(kind string, id herder.TaskID) string {
	return fmt.Sprintf("%s-%s-%s-%d", w.Config.ClientID, kind, id.Connector, id.Task)
}

// ServerInfo answers GET /: the version and the Kafka cluster's id, asked
// of the brokers once and then remembered (empty while they cannot be
// reached).
func (w *Worker) ServerInfo(ctx context.Context) herder.ServerInfo {
	w.clusterMu.Lock()
	defer w.clusterMu.Unlock()
	if w.clusterID == "" {
		cl, err := kgo.NewClient(w.InternalKafkaOpts()...)
		if err == nil {
			mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			m, err := kadm.NewClient(cl).BrokerMetadata(mctx)
			cancel()
			cl.Close()
			if err == nil {
				w.clusterID = m.Cluster
			}
		}
	}
	return herder.ServerInfo{Version: Version, Commit: Commit, KafkaClusterID: w.clusterID}
}

// PluginInfos lists the connector plugins this worker can run, each under
// its first alias (Kafka Connect's class name) when it has one, in class
// name order as Kafka Connect lists them.
func (w *Worker) PluginInfos() []herder.PluginInfo {
	var out []herder.PluginInfo
	for _, e := range w.Plugins.Entries() {
		class := e.Info.Name
		if len(e.Info.Aliases) > 0 {
			class = e.Info.Aliases[0]
		}
		out = append(out, herder.PluginInfo{Class: class, Type: string(e.Info.Kind), Version: e.Info.Version})
	}
	slices.SortFunc(out, func(a, b herder.PluginInfo) int { return strings.Compare(a.Class, b.Class) })
	return out
}

// PluginConfig describes the config keys of the plugin class names.
func (w *Worker) PluginConfig(class string) ([]herder.ConfigKeyInfo, error) {
	e, err := w.Plugins.Lookup(class)
	if err != nil {
		return nil, herder.NotFound("%s", err.Error())
	}
	return herder.KeyInfos(e.Info.Config), nil
}
