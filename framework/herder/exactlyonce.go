package herder

import "context"

// Exactly-once source support (KIP-618) and inter-worker request signing
// (KIP-507) between the REST API and a distributed herder.

// Headers of a signed internal request, as Kafka Connect names them: the
// request body's signature in base64, and the algorithm that made it.
const (
	SignatureHeader          = "X-Connect-Authorization"
	SignatureAlgorithmHeader = "X-Connect-Request-Signature-Algorithm"
)

// InternalRequest is an internal request (task configs, zombie fencing)
// as it arrived over REST: its body and the signature headers, which the
// herder verifies with the cluster's session key.
type InternalRequest struct {
	Body               []byte
	Signature          string // SignatureHeader; empty when absent
	SignatureAlgorithm string // SignatureAlgorithmHeader; empty when absent
}

type internalRequestKey struct{}

// WithInternalRequest marks ctx as carrying an internal request that came
// over REST, for the herder to verify. Calls a herder makes itself carry
// none and need no signature.
func WithInternalRequest(ctx context.Context, r *InternalRequest) context.Context {
	return context.WithValue(ctx, internalRequestKey{}, r)
}

// InternalRequestFrom returns the internal request ctx carries, if any.
func InternalRequestFrom(ctx context.Context) (*InternalRequest, bool) {
	r, ok := ctx.Value(internalRequestKey{}).(*InternalRequest)
	return r, ok
}

// ZombieFencer is implemented by herders that run source connectors
// exactly once: FenceZombies (Kafka Connect's internal
// PUT /connectors/{c}/fence, served by the leader) fences out the
// producers of the connector's older tasks and writes its task count
// record, so its current tasks may start. It does nothing when that was
// already done for the current task configs.
type ZombieFencer interface {
	FenceZombies(ctx context.Context, connector string) error
}
