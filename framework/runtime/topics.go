package runtime

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// TopicFunc records that a task used topic (KIP-558's active topics): a
// source task produced records to it, after its transforms, or a sink task
// read records from it. A task calls it from its own loop, once per batch
// for each topic of the batch (once per run of records with the same
// topic), so it must be quick and must not wait on I/O; tasks of one
// connector call it concurrently.
type TopicFunc func(topic string)

// TopicStatus is one active topic of a connector, as Kafka Connect's
// TopicStatus: the task that first used it, and when (ms since the epoch).
type TopicStatus struct {
	Topic             string
	Connector         string
	Task              int
	DiscoverTimestamp int64
}

// ActiveTopics keeps connectors' active topics in memory, as Kafka
// Connect's MemoryStatusBackingStore does in standalone mode. It is safe
// for concurrent use; a topic already known costs a read lock and a map
// lookup.
type ActiveTopics struct {
	mu sync.RWMutex
	m  map[string]map[string]TopicStatus // connector → topic → status
}

// NewActiveTopics returns an empty ActiveTopics.
func NewActiveTopics() *ActiveTopics {
	return &ActiveTopics{m: map[string]map[string]TopicStatus{}}
}

// Record records topic as active for id's connector, unless it already is:
// the first task to use a topic is the one remembered.
func (a *ActiveTopics) Record(id herder.TaskID, topic string) {
	a.mu.RLock()
	_, ok := a.m[id.Connector][topic]
	a.mu.RUnlock()
	if ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ts := a.m[id.Connector]
	if ts == nil {
		ts = map[string]TopicStatus{}
		a.m[id.Connector] = ts
	}
	if _, ok := ts[topic]; !ok {
		ts[topic] = TopicStatus{Topic: topic, Connector: id.Connector, Task: id.Task, DiscoverTimestamp: time.Now().UnixMilli()}
	}
}

// Topics returns the connector's active topics, sorted.
func (a *ActiveTopics) Topics(connector string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.m[connector]))
	for t := range a.m[connector] {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Status returns one active topic of a connector.
func (a *ActiveTopics) Status(connector, topic string) (TopicStatus, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	st, ok := a.m[connector][topic]
	return st, ok
}

// Reset forgets the connector's active topics.
func (a *ActiveTopics) Reset(connector string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, connector)
}

// topicFunc is what task id reports its topics to; nil when the worker
// does not track topics.
func (h *Standalone) topicFunc(id herder.TaskID) TopicFunc {
	if !h.w.Config.TopicTracking {
		return nil
	}
	return func(topic string) { h.topics.Record(id, topic) }
}

// ConnectorActiveTopics implements herder.TopicTracker.
func (h *Standalone) ConnectorActiveTopics(_ context.Context, name string) (herder.ActiveTopics, error) {
	if !h.w.Config.TopicTracking {
		return herder.ActiveTopics{}, herder.TopicTrackingDisabled()
	}
	return herder.ActiveTopics{Topics: h.topics.Topics(name)}, nil
}

// ResetConnectorActiveTopics implements herder.TopicTracker.
func (h *Standalone) ResetConnectorActiveTopics(_ context.Context, name string) error {
	if !h.w.Config.TopicTracking {
		return herder.TopicTrackingDisabled()
	}
	if !h.w.Config.TopicTrackingReset {
		return herder.TopicTrackingResetDisabled()
	}
	h.topics.Reset(name)
	return nil
}

// reportTopics hands the topics a source batch was produced to (after its
// transforms) to the task's TopicFunc, once per run of records with the
// same topic. Dropped and failed records went to no topic of theirs.
func (r *sourceRun) reportTopics(batch []plugin.Record) {
	report := r.t.spec.Topic
	if report == nil {
		return
	}
	last := ""
	for i := range batch {
		rec := &batch[i]
		if rec.Dropped || rec.Err != nil || rec.Topic == last {
			continue
		}
		last = rec.Topic
		report(last)
	}
}

// reportTopics hands the topics of the partitions a sink poll read records
// from to the task's TopicFunc.
func (r *sinkRun) reportTopics(fetches kgo.Fetches) {
	report := r.t.spec.Topic
	if report == nil {
		return
	}
	last := ""
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 || p.Topic == last {
			return
		}
		last = p.Topic
		report(last)
	})
}
