package runtime

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
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

// Producer keys: Kafka Connect passes worker keys prefixed producer. to
// the producers of source tasks and dead letter queues, and a connector's
// producer.override. keys (under the default override policy, All) on top
// of them. These are the ones connectd maps onto its Kafka client.
const (
	producerPrefix         = "producer."
	producerOverridePrefix = "producer.override."
)

// compressionCodecs are compression.type's values. Kafka's producer
// defaults to none, where the Kafka client connectd uses would otherwise
// compress with snappy; connectd follows Kafka.
var compressionCodecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// producerKeys map a producer key (without its prefix) onto an option.
var producerKeys = map[string]func(key, v string) (kgo.Opt, error){
	"compression.type": func(key, v string) (kgo.Opt, error) {
		c, ok := compressionCodecs[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			names := make([]string, 0, len(compressionCodecs))
			for n := range compressionCodecs {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("Invalid value %s for configuration %s: String must be one of: %s", v, key, strings.Join(names, ", "))
		}
		return kgo.ProducerBatchCompression(c), nil
	},
	"linger.ms": func(key, v string) (kgo.Opt, error) {
		ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("Invalid value %s for configuration %s: Value must be a non-negative number of milliseconds", v, key)
		}
		return kgo.ProducerLinger(time.Duration(ms) * time.Millisecond), nil
	},
}

// producerOpts returns the producer options that raw's keys with prefix
// set: the worker's producer.* keys, or a connector's producer.override.*
// keys. The worker's start with Kafka's default compression, none.
func producerOpts(raw map[string]string, prefix string) ([]kgo.Opt, error) {
	var out []kgo.Opt
	if prefix == producerPrefix {
		out = append(out, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	keys := make([]string, 0, len(producerKeys))
	for k := range producerKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys) // one order, so errors are the same each time
	for _, k := range keys {
		v, ok := raw[prefix+k]
		if !ok {
			continue
		}
		opt, err := producerKeys[k](prefix+k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, opt)
	}
	return out, nil
}

// connectorProducerOpts returns the producer options of a task of the
// connector whose config is config: the worker's, then the connector's
// overrides. They are made afresh for every client: the Kafka client
// writes into the codec list a compression option holds, so one option
// value must not serve clients made concurrently.
func (w *Worker) connectorProducerOpts(config map[string]string) ([]kgo.Opt, error) {
	base, err := producerOpts(w.Config.Raw, producerPrefix)
	if err != nil {
		return nil, err
	}
	over, err := producerOpts(config, producerOverridePrefix)
	if err != nil {
		return nil, err
	}
	return append(base, over...), nil
}

// producerOverrideErrors adds to errs, by key, what is wrong with config's
// producer.override.* keys, for validation (which reports keys outside the
// connector's definition too, as Kafka Connect reports client overrides).
func producerOverrideErrors(config map[string]string, errs map[string][]string) {
	for k, parse := range producerKeys {
		key := producerOverridePrefix + k
		if v, ok := config[key]; ok {
			if _, err := parse(key, v); err != nil {
				errs[key] = append(errs[key], err.Error())
			}
		}
	}
}
