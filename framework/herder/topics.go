package herder

import (
	"context"
	"net/http"
)

// ActiveTopics is a connector's entry in the body of GET
// /connectors/{c}/topics (KIP-558): {"<c>": {"topics": [...]}}.
type ActiveTopics struct {
	Topics []string `json:"topics"`
}

// TopicTracker is implemented by herders that track the topics each
// connector's tasks have produced to or consumed from since the connector
// was created or its topics were last reset (Kafka Connect's active
// topics, KIP-558).
type TopicTracker interface {
	// ConnectorActiveTopics returns the connector's active topics, sorted.
	// As in Kafka Connect, a connector that does not exist (or no longer
	// does) has none; it is not an error. With topic.tracking.enable=false
	// it returns TopicTrackingDisabled().
	ConnectorActiveTopics(ctx context.Context, name string) (ActiveTopics, error)
	// ResetConnectorActiveTopics forgets the connector's active topics;
	// its tasks record them again as they use them. With
	// topic.tracking.enable=false it returns TopicTrackingDisabled(), with
	// topic.tracking.allow.reset=false TopicTrackingResetDisabled().
	ResetConnectorActiveTopics(ctx context.Context, name string) error
}

// Kafka Connect's 403 messages of the active topics endpoints.
const (
	MsgTopicTrackingDisabled      = "Topic tracking is disabled."
	MsgTopicTrackingResetDisabled = "Topic tracking reset is disabled."
)

// TopicTrackingDisabled is the 403 of the active topics endpoints on a
// worker with topic.tracking.enable=false.
func TopicTrackingDisabled() error {
	return &RequestError{Status: http.StatusForbidden, Message: MsgTopicTrackingDisabled}
}

// TopicTrackingResetDisabled is the 403 of PUT /connectors/{c}/topics/reset
// on a worker with topic.tracking.allow.reset=false.
func TopicTrackingResetDisabled() error {
	return &RequestError{Status: http.StatusForbidden, Message: MsgTopicTrackingResetDisabled}
}
