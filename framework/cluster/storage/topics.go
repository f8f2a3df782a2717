package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/internal/kafkalog"
)

// topicStatusSeparator splits an active topic's key,
// status-topic-<topic>:connector-<connector>, as Kafka Connect's
// KafkaStatusBackingStore writes it. Topic names cannot hold ':', so the
// first ':' ends the topic; connector names may hold anything.
const topicStatusSeparator = ":connector-"

// TopicStatus is one active topic of a connector (KIP-558): a topic one of
// its tasks produced to or consumed from, the task that first did, and
// when (ms since the epoch).
type TopicStatus struct {
	Topic             string
	Connector         string
	Task              int
	DiscoverTimestamp int64
}

func topicStatusKey(connector, topic string) []byte {
	return []byte(topicStatusPrefix + topic + topicStatusSeparator + connector)
}

// parseTopicStatusKey returns the topic and connector a key names.
func parseTopicStatusKey(key string) (topic, connector string, ok bool) {
	rest := strings.TrimPrefix(key, topicStatusPrefix)
	i := strings.IndexByte(rest, ':')
	if i <= 0 || !strings.HasPrefix(rest[i:], topicStatusSeparator) {
		return "", "", false
	}
	topic, connector = rest[:i], rest[i+len(topicStatusSeparator):]
	return topic, connector, connector != ""
}

// topicStatusValue is Kafka Connect's value of an active topic:
// {"topic":{"name":..,"connector":..,"task":..,"discoverTimestamp":..}}.
func topicStatusValue(st TopicStatus) []byte {
	b := append([]byte(nil), `{"topic":{"name":`...)
	b = appendString(b, st.Topic)
	b = append(b, `,"connector":`...)
	b = appendString(b, st.Connector)
	b = fmt.Appendf(b, `,"task":%d,"discoverTimestamp":%d}}`, st.Task, st.DiscoverTimestamp)
	return b
}

func parseTopicStatus(v []byte) (TopicStatus, error) {
	raw, err := decode(v)
	if err != nil {
		return TopicStatus{}, err
	}
	outer, ok := raw.(map[string]any)
	if !ok {
		return TopicStatus{}, fmt.Errorf("want an object, found %s", typeName(raw))
	}
	m, ok := outer["topic"].(map[string]any)
	if !ok {
		return TopicStatus{}, fmt.Errorf("topic: want an object, found %s", typeName(outer["topic"]))
	}
	var st TopicStatus
	if st.Topic, ok = m["name"].(string); !ok {
		return TopicStatus{}, fmt.Errorf("name: want a string, found %s", typeName(m["name"]))
	}
	if st.Connector, ok = m["connector"].(string); !ok {
		return TopicStatus{}, fmt.Errorf("connector: want a string, found %s", typeName(m["connector"]))
	}
	task, err := intValue(m["task"])
	if err != nil {
		return TopicStatus{}, fmt.Errorf("task: %w", err)
	}
	ts, err := intValue(m["discoverTimestamp"])
	if err != nil {
		return TopicStatus{}, fmt.Errorf("discoverTimestamp: %w", err)
	}
	st.Task, st.DiscoverTimestamp = int(task), ts
	return st, nil
}

// applyTopic reads an active topic record: a value records the topic for
// the connector its key names, a tombstone forgets it.
func (s *StatusLog) applyTopic(r *kgo.Record) {
	key := string(r.Key)
	topic, conn, ok := parseTopicStatusKey(key)
	if !ok {
		s.logger.Warn("storage: skipping an active topic record whose key names no topic and connector", "key", key)
		return
	}
	if r.Value == nil {
		s.mu.Lock()
		if _, ok := s.topics[conn][topic]; ok {
			delete(s.topics[conn], topic)
			if len(s.topics[conn]) == 0 {
				delete(s.topics, conn)
			}
		}
		s.topicRemovals[conn]++
		s.mu.Unlock()
		return
	}
	st, err := parseTopicStatus(r.Value)
	if err != nil {
		s.logger.Error("storage: skipping an active topic that cannot be read", "key", key, "offset", r.Offset, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics[conn] == nil {
		s.topics[conn] = map[string]TopicStatus{}
	}
	s.topics[conn][topic] = st
}

// PutTopic records an active topic. Like every write, what ActiveTopic and
// Topics return changes only once it is read back.
func (s *StatusLog) PutTopic(ctx context.Context, st TopicStatus) error {
	if err := s.log.Send(ctx, topicStatusKey(st.Connector, st.Topic), topicStatusValue(st)); err != nil {
		return fmt.Errorf("storage: write connector %s's active topic %s: %w", st.Connector, st.Topic, err)
	}
	return nil
}

// ResetTopics removes a connector's active topics: it reads the topic to
// its end, so that every topic recorded before the call is known, and
// writes a tombstone for each.
func (s *StatusLog) ResetTopics(ctx context.Context, connector string) error {
	if err := s.ReadToEnd(ctx); err != nil {
		return err
	}
	topics := s.Topics(connector)
	if len(topics) == 0 {
		return nil
	}
	msgs := make([]kafkalog.Message, len(topics))
	for i, t := range topics {
		msgs[i] = kafkalog.Message{Key: topicStatusKey(connector, t)}
	}
	if err := s.log.SendAll(ctx, msgs...); err != nil {
		return fmt.Errorf("storage: reset connector %s's active topics: %w", connector, err)
	}
	return nil
}

// ActiveTopic returns a connector's active topic as last read, and how
// many of the connector's active topics have been removed so far: a writer
// that remembers the count with a topic it wrote can tell whether a reset
// since may have removed it.
func (s *StatusLog) ActiveTopic(connector, topic string) (st TopicStatus, ok bool, removals uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok = s.topics[connector][topic]
	return st, ok, s.topicRemovals[connector]
}

// Topics returns a connector's active topics as last read, sorted.
func (s *StatusLog) Topics(connector string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.topics[connector]))
	for t := range s.topics[connector] {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
