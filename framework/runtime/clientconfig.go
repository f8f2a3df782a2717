package runtime

import (
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka Connect passes worker keys prefixed consumer. to the sink tasks'
// consumers. These are the ones connectd maps onto its Kafka client; the
// group timing ones decide how fast a dead worker's sink partitions move.
var consumerKeys = map[string]func(time.Duration) kgo.GroupOpt{
	"consumer.session.timeout.ms":    kgo.SessionTimeout,
	"consumer.heartbeat.interval.ms": kgo.HeartbeatInterval,
	"consumer.max.poll.interval.ms":  kgo.RebalanceTimeout,
}

// consumerOpts returns the sink consumers' options from a worker config's
// consumer.* keys.
func consumerOpts(raw map[string]string) ([]kgo.Opt, error) {
	var out []kgo.Opt
	for key, opt := range consumerKeys {
		v, ok := raw[key]
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 32)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("worker config: %s=%q is not a positive number of milliseconds", key, v)
		}
		out = append(out, opt(time.Duration(ms)*time.Millisecond))
	}
	return out, nil
}
