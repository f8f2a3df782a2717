package runtime

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
func (w *Worker) connectorProducerOpts(config map[string]string) ([]kgo.Opt, *clientSecurity, error) {
	base, err := producerOpts(w.Config.Raw, producerPrefix)
	if err != nil {
		return nil, nil, err
	}
	over, err := producerOpts(config, producerOverridePrefix)
	if err != nil {
		return nil, nil, err
	}
	sec, err := clientSecurityOf(w.Config.securitySettings(clientProducer, config))
	if err != nil {
		return nil, nil, fmt.Errorf("producer: %w", err)
	}
	return append(append(base, over...), sec.opts...), sec, nil
}

// connectorConsumerOpts returns the security options of a sink task's
// consumer: the worker's, its consumer.* ones, then the connector's
// consumer.override.* ones. The consumer.* timing keys are in
// WorkerConfig.ConsumerOpts.
func (w *Worker) connectorConsumerOpts(config map[string]string) (*clientSecurity, error) {
	sec, err := clientSecurityOf(w.Config.securitySettings(clientConsumer, config))
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	return sec, nil
}

// connectorAdminOpts returns the options of an admin client working for
// connector (config may be nil): the worker's security keys, its admin.*
// ones, then the connector's admin.override.* ones, as Kafka Connect's
// admin clients take them.
func (w *Worker) connectorAdminOpts(config map[string]string, extra ...kgo.Opt) ([]kgo.Opt, *clientSecurity, error) {
	sec, err := clientSecurityOf(w.Config.securitySettings(clientAdmin, config))
	if err != nil {
		return nil, nil, fmt.Errorf("admin client: %w", err)
	}
	return append(w.kafkaOpts(extra...), sec.opts...), sec, nil
}

// lazyAdmin is a task's admin client (topic creation, its dead letter
// queue's topic), made on first use: most task runs never need one.
type lazyAdmin struct {
	opts []kgo.Opt
	sec  *clientSecurity
	once sync.Once
	cl   *kgo.Client
	err  error
}

// newLazyAdmin returns the admin client of a task of the connector whose
// config is config, not connected yet.
func (w *Worker) newLazyAdmin(config map[string]string, clientID string) (*lazyAdmin, error) {
	opts, sec, err := w.connectorAdminOpts(config, kgo.ClientID(clientID), w.Metrics.ClientHooks("admin_client", clientID))
	if err != nil {
		return nil, err
	}
	return &lazyAdmin{opts: opts, sec: sec}, nil
}

// get returns the client, made and checked (see clientSecurity.check) on
// the first call.
func (a *lazyAdmin) get(ctx context.Context) (*kadm.Client, error) {
	a.once.Do(func() {
		if a.cl, a.err = kgo.NewClient(a.opts...); a.err == nil {
			a.err = a.sec.check(ctx, a.cl, "admin client")
		}
	})
	if a.err != nil {
		return nil, fmt.Errorf("admin client: %w", a.err)
	}
	return kadm.NewClient(a.cl), nil
}

// close closes the client if it was made; it must not race with get.
func (a *lazyAdmin) close() {
	if a.cl != nil {
		a.cl.Close()
	}
}
