package cluster

import (
	"context"
	"time"

	"github.com/connectd/connectd/framework/cluster/storage"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/runtime"
)

// topicFunc is what task id reports its topics to; nil when the worker
// does not track topics (topic.tracking.enable=false).
func (d *Distributed) topicFunc(id herder.TaskID) runtime.TopicFunc {
	if !d.w.Config.TopicTracking {
		return nil
	}
	return func(topic string) { d.status.recordTopic(d.statuses, id, topic) }
}

// recordTopic queues an active topic for the status topic unless it is
// known already, as Kafka Connect's WorkerTask.recordActiveTopic does. A
// topic this worker queued is not queued again until a tombstone of one of
// the connector's topics has been read since: until the record is read
// back, the status log does not know it, and every batch would queue it
// again; after a reset it must be recorded anew.
func (s *statusWriter) recordTopic(log *storage.StatusLog, id herder.TaskID, topic string) {
	_, known, removals := log.ActiveTopic(id.Connector, topic)
	if known {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := s.topicsSent[id.Connector]
	if r, ok := sent[topic]; ok && r == removals {
		return
	}
	if sent == nil {
		sent = map[string]uint64{}
		s.topicsSent[id.Connector] = sent
	}
	sent[topic] = removals
	st := storage.TopicStatus{Topic: topic, Connector: id.Connector, Task: id.Task, DiscoverTimestamp: time.Now().UnixMilli()}
	s.putLocked(statusReport{conn: id.Connector, task: id.Task, topic: &st})
}

// resetTopics queues tombstones for a connector's active topics, after
// every topic queued before.
func (s *statusWriter) resetTopics(connector string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.topicsSent, connector)
	s.putLocked(statusReport{conn: connector, task: -1, resetTopics: true})
}

// forgetTopics removes a deleted connector's active topics once this
// worker has stopped its instances of it, as Kafka Connect's distributed
// herder does after a rebalance revokes them: tombstones written before
// the tasks stopped could be followed by their last records.
func (d *Distributed) forgetTopics(connector string) {
	if d.w.Config.TopicTracking {
		d.status.resetTopics(connector)
	}
}

// ConnectorActiveTopics implements herder.TopicTracker: the connector's
// active topics as this worker has read them from the status topic.
func (d *Distributed) ConnectorActiveTopics(_ context.Context, name string) (herder.ActiveTopics, error) {
	if !d.w.Config.TopicTracking {
		return herder.ActiveTopics{}, herder.TopicTrackingDisabled()
	}
	return herder.ActiveTopics{Topics: d.statuses.Topics(name)}, nil
}

// ResetConnectorActiveTopics implements herder.TopicTracker. Any worker
// writes the tombstones itself, as in Kafka Connect; the request is not
// forwarded to the leader.
func (d *Distributed) ResetConnectorActiveTopics(ctx context.Context, name string) error {
	if !d.w.Config.TopicTracking {
		return herder.TopicTrackingDisabled()
	}
	if !d.w.Config.TopicTrackingReset {
		return herder.TopicTrackingResetDisabled()
	}
	d.status.mu.Lock()
	delete(d.status.topicsSent, name)
	d.status.mu.Unlock()
	return d.statuses.ResetTopics(ctx, name)
}
