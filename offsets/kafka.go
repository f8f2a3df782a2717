package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/internal/kafkalog"
)

// KafkaOptions configure a Kafka store: Kafka Connect's
// offset.storage.topic, .partitions and .replication.factor.
type KafkaOptions struct {
	// ClientOpts configure the store's Kafka clients (seed brokers at
	// least).
	ClientOpts []kgo.Opt
	Topic      string
	// Partitions is used when the store creates the topic (default 25, as
	// Kafka Connect's offset.storage.partitions).
	Partitions int32
	// ReplicationFactor is used when the store creates the topic; 0 or -1
	// means the broker's default.
	ReplicationFactor int16
	// TopicConfigs are further configs for a topic the store creates
	// (cleanup.policy is always compact).
	TopicConfigs map[string]string
	// Logger receives warnings about the topic and Kafka; nil discards
	// them.
	Logger *slog.Logger
	// ReadCommitted reads only committed transactions' offsets, as Kafka
	// Connect reads offsets when exactly-once source support is enabled:
	// offsets a task wrote in a transaction that was aborted (or that a
	// zombie never finished) are never seen.
	ReadCommitted bool
}

// Kafka is a Store in a compacted Kafka topic, Kafka Connect's offsets
// topic: key ["<connector>",{partition}], value the offset JSON, a null
// value deleting it. Records are partitioned by the murmur2 hash of their
// key, as Kafka's own producer does, so a source partition's offsets stay
// in one topic partition whichever of Kafka Connect or connectd wrote
// them, and either can read the other's topic.
//
// The store reads the whole topic when it opens and keeps reading it in
// the background. Commit returns once every write is acknowledged by all
// in-sync replicas. Load first reads the topic to its current end, so it
// sees every commit made before it was called, by this store or another.
type Kafka struct {
	log   *kafkalog.Log
	topic string

	mu sync.Mutex
	m  map[string]map[string][]byte
}

// NewKafka opens the store, creating its topic (compacted) when missing,
// and returns once it has read the topic. An existing topic that is not
// compacted is refused: compaction keeps the newest offset of every
// partition, deletion would lose them.
func NewKafka(ctx context.Context, o KafkaOptions) (*Kafka, error) {
	if o.Topic == "" {
		return nil, errors.New("offsets: offset.storage.topic is empty; name the offsets topic")
	}
	if o.Partitions == 0 {
		o.Partitions = 25
	}
	s := &Kafka{m: map[string]map[string][]byte{}, topic: o.Topic}
	l, err := kafkalog.Open(ctx, kafkalog.Options{
		ClientOpts:        o.ClientOpts,
		Topic:             o.Topic,
		Partitions:        o.Partitions,
		ReplicationFactor: o.ReplicationFactor,
		TopicConfigs:      o.TopicConfigs,
		Setting:           "offset.storage.topic",
		Purpose:           "source connector offsets",
		Logger:            o.Logger,
		ReadCommitted:     o.ReadCommitted,
	}, s.apply)
	if err != nil {
		return nil, fmt.Errorf("offsets: %w", err)
	}
	s.log = l
	return s, nil
}

// apply runs on the log's reader goroutine for every record read.
func (s *Kafka) apply(r *kgo.Record) {
	conn, part, err := ParseKey(r.Key)
	if err != nil {
		return // not an offset record; Kafka Connect does not use them either
	}
	s.mu.Lock()
	apply(s.m, conn, []Entry{{Partition: part, Offset: r.Value}})
	s.mu.Unlock()
}

// Load implements Store.
func (s *Kafka) Load(ctx context.Context, connector string) ([]Entry, error) {
	if err := s.log.ReadToEnd(ctx); err != nil {
		return nil, fmt.Errorf("offsets: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return entries(s.m[connector]), nil
}

// Commit implements Store.
func (s *Kafka) Commit(ctx context.Context, connector string, es []Entry) error {
	msgs := make([]kafkalog.Message, 0, len(es))
	for _, e := range es {
		k, err := Key(connector, e.Partition)
		if err != nil {
			return err
		}
		msgs = append(msgs, kafkalog.Message{Key: k, Value: e.Offset})
	}
	if err := s.log.SendAll(ctx, msgs...); err != nil {
		return fmt.Errorf("offsets: %w", err)
	}
	return nil
}

// Topic returns the store's topic.
func (s *Kafka) Topic() string { return s.topic }

// Records returns the offsets topic records that store entries for
// connector, for a producer that writes them itself: a source task's
// transactional producer writes them in the transaction that holds the
// records they cover. Their partition is left to the producer's
// partitioner (-1), which must hash keys as Kafka's does (murmur2).
func Records(topic, connector string, es []Entry) ([]*kgo.Record, error) {
	out := make([]*kgo.Record, 0, len(es))
	for _, e := range es {
		k, err := Key(connector, e.Partition)
		if err != nil {
			return nil, err
		}
		out = append(out, &kgo.Record{Topic: topic, Partition: -1, Key: k, Value: e.Offset})
	}
	return out, nil
}

// Close implements Store.
func (s *Kafka) Close() error { return s.log.Close() }

// Topics opens Kafka stores by topic and keeps each open until Close: the
// stores of connectors' own offsets topics (offsets.storage.topic), which
// the tasks of a connector share.
type Topics struct {
	opts KafkaOptions // Topic is set per store

	mu     sync.Mutex
	stores map[string]*Kafka
}

// NewTopics returns an empty set of stores opened with o (its Topic is
// ignored).
func NewTopics(o KafkaOptions) *Topics {
	return &Topics{opts: o, stores: map[string]*Kafka{}}
}

// Open returns the store of topic, opening it (and creating the topic when
// missing) the first time.
func (t *Topics) Open(ctx context.Context, topic string) (Store, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.stores[topic]; ok {
		return s, nil
	}
	o := t.opts
	o.Topic = topic
	s, err := NewKafka(ctx, o)
	if err != nil {
		return nil, err
	}
	t.stores[topic] = s
	return s, nil
}

// Close closes every store opened.
func (t *Topics) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for topic, s := range t.stores {
		errs = append(errs, s.Close())
		delete(t.stores, topic)
	}
	return errors.Join(errs...)
}
