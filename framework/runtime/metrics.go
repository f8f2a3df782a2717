package runtime

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the worker's Prometheus metrics. Names follow what the
// Prometheus JMX exporter makes of Kafka Connect's metric groups
// (kafka_connect_<group>_<metric>), so dashboards built for Kafka Connect
// find them.
type Metrics struct {
	Registry *prometheus.Registry

	sourcePoll   *prometheus.CounterVec
	sourceWrite  *prometheus.CounterVec
	sinkRead     *prometheus.CounterVec
	sinkSend     *prometheus.CounterVec
	commitOK     *prometheus.CounterVec
	commitFailed *prometheus.CounterVec
	restarts     *prometheus.CounterVec

	// Kafka Connect's task-error-metrics group.
	errFailures *prometheus.CounterVec
	errErrors   *prometheus.CounterVec
	errSkipped  *prometheus.CounterVec
	errRetries  *prometheus.CounterVec
	errLogged   *prometheus.CounterVec
	dlqRequests *prometheus.CounterVec
	dlqFailures *prometheus.CounterVec
	errLastTime *prometheus.GaugeVec
	tasks       prometheus.Gauge
	connectors  prometheus.Gauge

	// Exactly-once source tasks' transactions.
	txnCommit *prometheus.HistogramVec
	txnSize   *prometheus.HistogramVec
}

// NewMetrics registers the worker's metrics, and Go's own, on a new registry.
func NewMetrics() *Metrics {
	labels := []string{"connector", "task"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		Registry:     prometheus.NewRegistry(),
		sourcePoll:   counter("kafka_connect_source_task_metrics_source_record_poll_total", "Records polled from the source task, before transformation."),
		sourceWrite:  counter("kafka_connect_source_task_metrics_source_record_write_total", "Records the source task wrote to Kafka (acknowledged)."),
		sinkRead:     counter("kafka_connect_sink_task_metrics_sink_record_read_total", "Records read from Kafka by the sink task."),
		sinkSend:     counter("kafka_connect_sink_task_metrics_sink_record_send_total", "Records handed to the sink task's put."),
		commitOK:     counter("kafka_connect_connector_task_metrics_offset_commit_success_total", "Offset commits that succeeded."),
		commitFailed: counter("kafka_connect_connector_task_metrics_offset_commit_failure_total", "Offset commits that failed."),
		restarts:     counter("connectd_task_restarts_total", "Times the worker started a task again after its plugin process died."),
		errFailures:  counter("kafka_connect_task_error_metrics_total_record_failures", "The number of record processing failures in this task."),
		errErrors:    counter("kafka_connect_task_error_metrics_total_record_errors", "The number of record processing errors in this task."),
		errSkipped:   counter("kafka_connect_task_error_metrics_total_records_skipped", "The number of records skipped due to errors."),
		errRetries:   counter("kafka_connect_task_error_metrics_total_retries", "The number of operations retried."),
		errLogged:    counter("kafka_connect_task_error_metrics_total_errors_logged", "The number of errors that were logged."),
		dlqRequests:  counter("kafka_connect_task_error_metrics_deadletterqueue_produce_requests", "The number of attempted writes to the dead letter queue."),
		dlqFailures:  counter("kafka_connect_task_error_metrics_deadletterqueue_produce_failures", "The number of failed writes to the dead letter queue."),
		errLastTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_connect_task_error_metrics_last_error_timestamp",
			Help: "The epoch timestamp when this task last encountered an error."}, labels),
		txnCommit: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connectd_source_task_transaction_commit_seconds",
			Help:    "How long an exactly-once source task's transaction commit takes: flushing its records, writing their offsets, ending the transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, labels),
		txnSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kafka_connect_source_task_metrics_transaction_size",
			Help: "Records in each transaction an exactly-once source task committed.", Buckets: prometheus.ExponentialBuckets(1, 4, 12)}, labels),
		tasks:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_connect_connect_worker_metrics_task_count", Help: "Tasks run by this worker."}),
		connectors: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_connect_connect_worker_metrics_connector_count", Help: "Connectors run by this worker."}),
	}
	m.Registry.MustRegister(m.sourcePoll, m.sourceWrite, m.sinkRead, m.sinkSend, m.commitOK, m.commitFailed, m.restarts, m.tasks, m.connectors,
		m.errFailures, m.errErrors, m.errSkipped, m.errRetries, m.errLogged, m.dlqRequests, m.dlqFailures, m.errLastTime,
		m.txnCommit, m.txnSize, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// taskMetrics are one task's counters, looked up once per run.
type taskMetrics struct {
	poll, write, read, send, commitOK, commitFailed prometheus.Counter
	errs                                            errorMetrics
	txnCommit, txnSize                              prometheus.Observer
}

// errorMetrics are one task's task-error-metrics.
type errorMetrics struct {
	failures, errors, skipped, retries, logged, dlqRequests, dlqFailures prometheus.Counter
	lastError                                                            prometheus.Gauge
}

func (m *Metrics) task(connector string, task int) taskMetrics {
	l := prometheus.Labels{"connector": connector, "task": itoa(task)}
	return taskMetrics{
		poll: m.sourcePoll.With(l), write: m.sourceWrite.With(l),
		read: m.sinkRead.With(l), send: m.sinkSend.With(l),
		commitOK: m.commitOK.With(l), commitFailed: m.commitFailed.With(l),
		txnCommit: m.txnCommit.With(l), txnSize: m.txnSize.With(l),
		errs: errorMetrics{
			failures: m.errFailures.With(l), errors: m.errErrors.With(l), skipped: m.errSkipped.With(l),
			retries: m.errRetries.With(l), logged: m.errLogged.With(l),
			dlqRequests: m.dlqRequests.With(l), dlqFailures: m.dlqFailures.With(l), lastError: m.errLastTime.With(l),
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
