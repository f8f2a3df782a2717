package offsets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaOptions configure a Kafka store: Kafka Connect's
// offset.storage.topic, .partitions and .replication.factor.
type KafkaOptions struct {
	// Client options for the store's own client (seed brokers at least).
	ClientOpts []kgo.Opt
	Topic      string
	// Partitions is used when the store creates the topic (default 25, as
	// Kafka Connect's offset.storage.partitions).
	Partitions int32
	// ReplicationFactor is used when the store creates the topic; -1 means
	// the broker's default.
	ReplicationFactor int16
}

// Kafka is a Store in a compacted Kafka topic, Kafka Connect's offsets
// topic: key ["<connector>",{partition}], value the offset JSON, a null
// value deleting it. Records are keyed so Kafka's default partitioner puts
// a source partition's offsets in one topic partition, as Kafka Connect's
// producer does, and either can read the other's topic.
//
// Commit returns once every write is acknowledged by all in-sync replicas.
// Load first reads the topic to its current end, so it sees every commit
// made before it was called, by this store or another.
type Kafka struct {
	cl    *kgo.Client
	adm   *kadm.Client
	topic string

	mu  sync.Mutex // serialises catching up; guards m and pos
	m   map[string]map[string][]byte
	pos map[int32]int64 // per partition, the offset after the last record read
}

// NewKafka opens the store, creating its topic (compacted) when missing.
// An existing topic that is not compacted is refused: compaction would
// not keep the newest offset of every partition, deletion would lose them.
func NewKafka(ctx context.Context, o KafkaOptions) (*Kafka, error) {
	if o.Topic == "" {
		return nil, errors.New("offsets: offset.storage.topic is empty")
	}
	if o.Partitions == 0 {
		o.Partitions = 25
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = -1
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), o.ClientOpts...),
		kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // also after compaction moves the log start
		kgo.KeepControlRecords(),                          // so transaction markers count toward the end
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("offsets: %w", err)
	}
	s := &Kafka{cl: cl, adm: kadm.NewClient(cl), topic: o.Topic, m: map[string]map[string][]byte{}, pos: map[int32]int64{}}
	if err := s.ensureTopic(ctx, o); err != nil {
		cl.Close()
		return nil, err
	}
	return s, nil
}

func (s *Kafka) ensureTopic(ctx context.Context, o KafkaOptions) error {
	compact := "compact"
	resp, err := s.adm.CreateTopic(ctx, o.Partitions, o.ReplicationFactor, map[string]*string{"cleanup.policy": &compact}, o.Topic)
	if err == nil {
		err = resp.Err
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("offsets: create topic %s: %w", o.Topic, err)
	}
	configs, err := s.adm.DescribeTopicConfigs(ctx, o.Topic)
	if err != nil {
		return fmt.Errorf("offsets: describe topic %s: %w", o.Topic, err)
	}
	rc, err := configs.On(o.Topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return fmt.Errorf("offsets: describe topic %s: %w", o.Topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && (c.Value == nil || *c.Value != "compact") {
			v := "<none>"
			if c.Value != nil {
				v = *c.Value
			}
			return fmt.Errorf("offsets: topic %s has cleanup.policy=%s; the offsets topic must be compacted (cleanup.policy=compact)", o.Topic, v)
		}
	}
	return nil
}

// Load implements Store.
func (s *Kafka) Load(ctx context.Context, connector string) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	return entries(s.m[connector]), nil
}

// catchUp reads the topic until it has consumed up to the end offsets the
// topic had when catchUp started. Callers hold mu.
//
// The record at end-1 of every partition exists to be read: Kafka never
// compacts a partition's active segment, and transaction markers are kept
// as records here (KeepControlRecords), so waiting for it terminates.
func (s *Kafka) catchUp(ctx context.Context) error {
	ends, err := s.adm.ListEndOffsets(ctx, s.topic)
	if err != nil {
		return fmt.Errorf("offsets: end offsets of %s: %w", s.topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > s.pos[o.Partition] {
			want[o.Partition] = o.Offset
		}
	})
	for len(want) > 0 {
		fetches := s.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("offsets: read %s: %w", s.topic, err)
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if ferr == nil {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("offsets: read %s: %w", s.topic, ferr)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			s.pos[r.Partition] = r.Offset + 1
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			conn, part, err := ParseKey(r.Key)
			if err != nil {
				return // not an offset record; Kafka Connect skips them too
			}
			apply(s.m, conn, []Entry{{Partition: part, Offset: r.Value}})
		})
	}
	return nil
}

// Commit implements Store.
func (s *Kafka) Commit(ctx context.Context, connector string, es []Entry) error {
	recs := make([]*kgo.Record, 0, len(es))
	for _, e := range es {
		k, err := Key(connector, e.Partition)
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Topic: s.topic, Key: k, Value: e.Offset, Timestamp: time.Now()})
	}
	if err := s.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("offsets: write %s: %w", s.topic, err)
	}
	return nil
}

// Close implements Store.
func (s *Kafka) Close() error {
	s.cl.Close()
	return nil
}
