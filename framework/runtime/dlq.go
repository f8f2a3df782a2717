package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// Dead letter queue context headers, named as Kafka Connect's
// DeadLetterQueueReporter names them. The last two are connectd's, for
// source records, which have no Kafka position.
const (
	dlqHeaderPrefix          = "__connect.errors."
	HeaderDLQTopic           = dlqHeaderPrefix + "topic"
	HeaderDLQPartition       = dlqHeaderPrefix + "partition"
	HeaderDLQOffset          = dlqHeaderPrefix + "offset"
	HeaderDLQConnector       = dlqHeaderPrefix + "connector.name"
	HeaderDLQTask            = dlqHeaderPrefix + "task.id"
	HeaderDLQStage           = dlqHeaderPrefix + "stage"
	HeaderDLQClass           = dlqHeaderPrefix + "class.name"
	HeaderDLQException       = dlqHeaderPrefix + "exception.class.name"
	HeaderDLQMessage         = dlqHeaderPrefix + "exception.message"
	HeaderDLQStacktrace      = dlqHeaderPrefix + "exception.stacktrace"
	HeaderDLQSourcePartition = dlqHeaderPrefix + "source.partition"
	HeaderDLQSourceOffset    = dlqHeaderPrefix + "source.offset"
)

// dlqPartitions is how many partitions a dead letter queue topic gets when
// the worker creates it, as in Kafka Connect.
const dlqPartitions = 1

// dlqWriter writes failed records to a connector's dead letter queue. A
// write that fails is remembered: a sink task does not commit offsets past
// a record that is neither delivered nor in the queue (Kafka Connect only
// logs such a failure), and a source task's offsets wait for the queue's
// acknowledgement like any other record's.
type dlqWriter struct {
	topic    string
	headers  bool
	id       herder.TaskID
	producer *kgo.Client
	m        errorMetrics
	redact   func(string) string

	mu  sync.Mutex
	err error // the first failed write
}

// newDLQWriter creates the topic when missing (one partition, the
// configured replication factor) with the task's admin client, and returns
// a writer producing with p.
func newDLQWriter(ctx context.Context, w *Worker, id herder.TaskID, policy plugin.ErrorPolicy, p *kgo.Client, adm *lazyAdmin, m errorMetrics) (*dlqWriter, error) {
	cctx, cancel := context.WithTimeout(ctx, w.Config.OffsetFlushTimeout)
	defer cancel()
	ac, err := adm.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("Could not initialize dead letter queue with topic=%s: %w", policy.DLQTopic, err)
	}
	resp, err := ac.CreateTopic(cctx, dlqPartitions, policy.DLQReplicationFactor, nil, policy.DLQTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("Could not initialize dead letter queue with topic=%s: %w (check %s)", policy.DLQTopic, err, plugin.KeyDLQReplicationFactor)
	}
	return &dlqWriter{topic: policy.DLQTopic, headers: policy.DLQContextHeaders, id: id, producer: p, m: m, redact: w.redact}, nil
}

// write hands f's record to the producer; done (if not nil) gets the
// outcome. A sink record goes as consumed, raw; a source record as the
// plugin encoded it (see plugin.Record.Err).
func (d *dlqWriter) write(ctx context.Context, f failure, done func(*kgo.Record, error)) {
	kr := &kgo.Record{Topic: d.topic}
	switch {
	case f.consumed != nil:
		c := f.consumed
		kr.Key, kr.Value, kr.Timestamp = c.Key, c.Value, c.Timestamp
		kr.Headers = append(make([]kgo.RecordHeader, 0, len(c.Headers)+10), c.Headers...)
	default:
		s := f.source
		kr.Key, kr.Value = s.Key, s.Value
		if s.TimestampMs != 0 {
			kr.Timestamp = time.UnixMilli(s.TimestampMs)
		}
		kr.Headers = make([]kgo.RecordHeader, 0, len(s.Headers)+10)
		for _, h := range s.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
	}
	if d.headers {
		d.addContext(kr, f)
	}
	d.m.dlqRequests.Inc()
	d.producer.Produce(ctx, kr, func(kr *kgo.Record, err error) {
		if err != nil {
			d.m.dlqFailures.Inc()
			d.mu.Lock()
			if d.err == nil {
				d.err = fmt.Errorf("write to dead letter queue %s: %w", d.topic, err)
			}
			d.mu.Unlock()
		}
		if done != nil {
			done(kr, err)
		}
	})
}

// addContext adds the __connect.errors.* headers. Texts that may echo a
// config value are redacted: a resolved secret never leaves the worker.
func (d *dlqWriter) addContext(kr *kgo.Record, f failure) {
	add := func(k, v string) { kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
	if c := f.consumed; c != nil {
		add(HeaderDLQTopic, c.Topic)
		add(HeaderDLQPartition, strconv.Itoa(int(c.Partition)))
		add(HeaderDLQOffset, strconv.FormatInt(c.Offset, 10))
	} else {
		add(HeaderDLQTopic, f.source.Topic)
		if f.source.SourcePartition != nil {
			add(HeaderDLQSourcePartition, string(f.source.SourcePartition))
		}
		if f.source.SourceOffset != nil {
			add(HeaderDLQSourceOffset, string(f.source.SourceOffset))
		}
	}
	add(HeaderDLQConnector, d.id.Connector)
	add(HeaderDLQTask, strconv.Itoa(d.id.Task))
	add(HeaderDLQStage, f.err.Stage)
	add(HeaderDLQClass, f.err.ClassName)
	add(HeaderDLQException, f.err.ExceptionClass)
	add(HeaderDLQMessage, d.redact(f.err.Message))
	if f.err.Trace != "" {
		add(HeaderDLQStacktrace, d.redact(f.err.Trace))
	}
}

// failed returns the first write that failed, if any.
func (d *dlqWriter) failed() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}
