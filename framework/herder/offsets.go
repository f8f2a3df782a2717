package herder

import (
	"context"
	"encoding/json"
)

// ConnectorOffset is one partition's offset, as GET and PATCH
// /connectors/{c}/offsets carry it (KIP-875). For a source connector both
// are the JSON objects its tasks use; for a sink connector the partition
// is {"kafka_topic": T, "kafka_partition": P} and the offset
// {"kafka_offset": O}, the consumer group's committed offset. In an alter
// request an Offset of JSON null removes the partition's offset.
type ConnectorOffset struct {
	Partition json.RawMessage `json:"partition"`
	Offset    json.RawMessage `json:"offset"`
}

// ConnectorOffsets is the body of GET /connectors/{c}/offsets and of PATCH
// /connectors/{c}/offsets.
type ConnectorOffsets struct {
	Offsets []ConnectorOffset `json:"offsets"`
}

// Message is Kafka Connect's {"message": "..."} answer, which the offsets
// alter and reset endpoints return.
type Message struct {
	Message string `json:"message"`
}

// Keys of a sink connector's partitions and offsets in the offsets API, as
// Kafka Connect names them.
const (
	SinkTopicKey     = "kafka_topic"
	SinkPartitionKey = "kafka_partition"
	SinkOffsetKey    = "kafka_offset"
)

// OffsetsManager is implemented by herders that serve Kafka Connect's
// offsets endpoints (KIP-875). Alter and reset are refused with a 400
// unless the connector is STOPPED.
type OffsetsManager interface {
	// ConnectorOffsets returns a connector's committed offsets.
	ConnectorOffsets(ctx context.Context, name string) (ConnectorOffsets, error)
	// AlterConnectorOffsets writes the given offsets; a null offset removes
	// a partition's offset. Partitions not named keep theirs.
	AlterConnectorOffsets(ctx context.Context, name string, offsets []ConnectorOffset) (Message, error)
	// ResetConnectorOffsets removes every offset of the connector, so that
	// it starts over when resumed.
	ResetConnectorOffsets(ctx context.Context, name string) (Message, error)
}

// ConfigPatcher is implemented by herders that serve PATCH
// /connectors/{c}/config (KIP-477) in one step: the patch is merged into
// the connector's current config where it is stored, so that two writes
// cannot interleave between the read and the write. A nil value removes
// its key. An unknown connector is ErrNotFound; the merged config is
// validated as a PUT's is.
type ConfigPatcher interface {
	PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (ConnectorInfo, error)
}

// PatchConfig returns config with patch applied: a nil value removes its
// key, any other sets it. config is not modified.
func PatchConfig(config map[string]string, patch map[string]*string) map[string]string {
	out := make(map[string]string, len(config)+len(patch))
	for k, v := range config {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = *v
	}
	return out
}

// MsgNotStopped is Kafka Connect's 400 message for an offsets alter or
// reset of a connector that is not stopped.
func MsgNotStopped(name string) string {
	return "Connectors must be in the STOPPED state before their offsets can be modified. This can be done " +
		"for the specified connector by issuing a 'PUT' request to the '/connectors/" + name + "/stop' endpoint"
}

// Kafka Connect's answers to a successful offsets alter and reset.
const (
	MsgOffsetsAltered = "The offsets for this connector have been altered successfully"
	MsgOffsetsReset   = "The offsets for this connector have been reset successfully"
)
