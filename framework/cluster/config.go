package cluster

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/runtime"
)

// Distributed worker configuration keys, as Kafka Connect names them.
const (
	KeyGroupID               = "group.id"
	KeyConfigTopic           = "config.storage.topic"
	KeyConfigReplication     = "config.storage.replication.factor"
	KeyOffsetTopic           = "offset.storage.topic"
	KeyOffsetReplication     = "offset.storage.replication.factor"
	KeyOffsetPartitions      = "offset.storage.partitions"
	KeyStatusTopic           = "status.storage.topic"
	KeyStatusReplication     = "status.storage.replication.factor"
	KeyStatusPartitions      = "status.storage.partitions"
	KeySessionTimeout        = "session.timeout.ms"
	KeyHeartbeatInterval     = "heartbeat.interval.ms"
	KeyRebalanceTimeout      = "rebalance.timeout.ms"
	KeyScheduledRebalanceMax = "scheduled.rebalance.max.delay.ms"
	KeyWorkerSyncTimeout     = "worker.sync.timeout.ms"

	// Exactly-once source support (KIP-618).
	KeyExactlyOnceSourceSupport = "exactly.once.source.support"
	// Inter-worker request signing (KIP-507).
	KeyInterWorkerKeyAlgorithm      = "inter.worker.key.generation.algorithm"
	KeyInterWorkerKeySize           = "inter.worker.key.size"
	KeyInterWorkerKeyTTL            = "inter.worker.key.ttl.ms"
	KeyInterWorkerSignatureAlgo     = "inter.worker.signature.algorithm"
	KeyInterWorkerVerificationAlgos = "inter.worker.verification.algorithms"
)

// ConfigDef defines the distributed worker keys. Kafka Connect's defaults
// apply, except the replication factors: they default to -1 (the broker's
// default) rather than 3, so a one-broker development cluster works
// without setting them.
func ConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: KeyGroupID, Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "The group of workers this worker belongs to: workers with the same group.id share connectors and tasks."},
		connect.ConfigKey{Name: KeyConfigTopic, Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "The compacted topic (one partition) holding connector and task configurations."},
		connect.ConfigKey{Name: KeyConfigReplication, Type: connect.TypeShort, Default: "-1", Importance: connect.Low, Doc: "Replication factor of the config topic when it is created; -1 is the broker's default."},
		connect.ConfigKey{Name: KeyOffsetTopic, Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "The compacted topic holding source connectors' offsets."},
		connect.ConfigKey{Name: KeyOffsetReplication, Type: connect.TypeShort, Default: "-1", Importance: connect.Low, Doc: "Replication factor of the offsets topic when it is created; -1 is the broker's default."},
		connect.ConfigKey{Name: KeyOffsetPartitions, Type: connect.TypeInt, Default: "25", Importance: connect.Low, Doc: "Partitions of the offsets topic when it is created.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyStatusTopic, Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "The compacted topic holding connector and task statuses."},
		connect.ConfigKey{Name: KeyStatusReplication, Type: connect.TypeShort, Default: "-1", Importance: connect.Low, Doc: "Replication factor of the status topic when it is created; -1 is the broker's default."},
		connect.ConfigKey{Name: KeyStatusPartitions, Type: connect.TypeInt, Default: "5", Importance: connect.Low, Doc: "Partitions of the status topic when it is created.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeySessionTimeout, Type: connect.TypeInt, Default: "10000", Importance: connect.High, Doc: "How long the group coordinator waits for a worker's heartbeat before it considers the worker dead, in ms.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyHeartbeatInterval, Type: connect.TypeInt, Default: "3000", Importance: connect.High, Doc: "How often the worker heartbeats to the group coordinator, in ms; below a third of session.timeout.ms.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyRebalanceTimeout, Type: connect.TypeInt, Default: "60000", Importance: connect.High, Doc: "How long every worker has to rejoin once a rebalance starts, in ms.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyScheduledRebalanceMax, Type: connect.TypeInt, Default: "300000", Importance: connect.Medium, Doc: "How long the work of a worker that left waits for it to come back before it is reassigned, in ms; 0 reassigns at once.", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: KeyWorkerSyncTimeout, Type: connect.TypeInt, Default: "3000", Importance: connect.Medium, Doc: "How long a worker waits to catch up with the config topic before it gives up its work and rejoins, in ms.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyExactlyOnceSourceSupport, Type: connect.TypeString, Default: runtime.ExactlyOnceDisabled, Importance: connect.High,
			Doc:       "Whether to enable exactly-once support for source connectors in the cluster by using transactions to write source records and their source offsets, and by proactively fencing out old task generations before bringing up new ones. To enable exactly-once source support on a new cluster, set this property to 'enabled'. To enable support on an existing cluster, first set to 'preparing' on every worker in the cluster, then set to 'enabled'. A rolling upgrade may be used for both changes.",
			Validator: runtime.OneOfFold(runtime.ExactlyOnceDisabled, runtime.ExactlyOncePreparing, runtime.ExactlyOnceEnabled)},
		connect.ConfigKey{Name: KeyInterWorkerKeyAlgorithm, Type: connect.TypeString, Default: defaultHMAC, Importance: connect.Low,
			Doc: "The algorithm to use for generating internal request keys. One of HmacSHA1, HmacSHA224, HmacSHA256, HmacSHA384, HmacSHA512.", Validator: knownHMAC},
		connect.ConfigKey{Name: KeyInterWorkerKeySize, Type: connect.TypeInt, Default: "", Importance: connect.Low,
			Doc: "The size of the key to use for signing internal requests, in bits. If empty, the default key size for the key generation algorithm will be used.", Validator: keySizeBits},
		connect.ConfigKey{Name: KeyInterWorkerKeyTTL, Type: connect.TypeInt, Default: "3600000", Importance: connect.Low,
			Doc: "The TTL of generated session keys used for internal request validation, in milliseconds.", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: KeyInterWorkerSignatureAlgo, Type: connect.TypeString, Default: defaultHMAC, Importance: connect.Low,
			Doc: "The algorithm used to sign internal requests. One of HmacSHA1, HmacSHA224, HmacSHA256, HmacSHA384, HmacSHA512.", Validator: knownHMAC},
		connect.ConfigKey{Name: KeyInterWorkerVerificationAlgos, Type: connect.TypeList, Default: defaultHMAC, Importance: connect.Low,
			Doc: "A list of permitted algorithms for verifying internal requests, which must include the algorithm used for the inter.worker.signature.algorithm property.", Validator: knownHMACs},
	)
}

// Config is a parsed distributed worker configuration.
type Config struct {
	GroupID string

	// RESTClient sends the requests this worker makes of other workers'
	// REST APIs (writes forwarded to the leader, task restarts to the
	// task's worker), with the TLS settings of the worker's https
	// listeners. Nil means a plain client.
	RESTClient *http.Client

	ConfigTopic, OffsetTopic, StatusTopic string
	ConfigRF, OffsetRF, StatusRF          int16
	OffsetPartitions, StatusPartitions    int32

	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration
	MaxDelay, SyncTimeout                               time.Duration

	// ExactlyOnce is exactly.once.source.support, lower case.
	ExactlyOnce string
	// Signing is the inter-worker request signing setup (KIP-507).
	Signing Signing

	// LogLevels are the worker's log levels, which log levels set with
	// scope=cluster change (KIP-976). ParseConfig leaves it nil: the caller
	// sets it to the levels its logger was made with. With none, cluster
	// log levels are read and logged as ignored.
	LogLevels *runtime.LogLevels
}

// ParseConfig reads the distributed keys of a worker config.
func ParseConfig(wc *runtime.WorkerConfig) (Config, error) {
	p, err := ConfigDef().Parse(wc.Raw)
	if err != nil {
		return Config{}, fmt.Errorf("worker config: %w", err)
	}
	ms := func(k string) time.Duration { return time.Duration(p.Int(k)) * time.Millisecond }
	c := Config{
		GroupID:     p.String(KeyGroupID),
		ConfigTopic: p.String(KeyConfigTopic), OffsetTopic: p.String(KeyOffsetTopic), StatusTopic: p.String(KeyStatusTopic),
		ConfigRF: int16(p.Int(KeyConfigReplication)), OffsetRF: int16(p.Int(KeyOffsetReplication)), StatusRF: int16(p.Int(KeyStatusReplication)),
		OffsetPartitions: int32(p.Int(KeyOffsetPartitions)), StatusPartitions: int32(p.Int(KeyStatusPartitions)),
		SessionTimeout: ms(KeySessionTimeout), HeartbeatInterval: ms(KeyHeartbeatInterval), RebalanceTimeout: ms(KeyRebalanceTimeout),
		MaxDelay: ms(KeyScheduledRebalanceMax), SyncTimeout: ms(KeyWorkerSyncTimeout),
	}
	for _, t := range [][2]string{{KeyConfigTopic, c.ConfigTopic}, {KeyOffsetTopic, c.OffsetTopic}, {KeyStatusTopic, c.StatusTopic}} {
		if t[1] == "" {
			return Config{}, fmt.Errorf("worker config: %s must name a topic", t[0])
		}
	}
	if c.ConfigTopic == c.OffsetTopic || c.ConfigTopic == c.StatusTopic || c.OffsetTopic == c.StatusTopic {
		return Config{}, fmt.Errorf("worker config: %s, %s and %s must be three different topics", KeyConfigTopic, KeyOffsetTopic, KeyStatusTopic)
	}
	c.ExactlyOnce = strings.ToLower(p.String(KeyExactlyOnceSourceSupport))
	c.Signing = Signing{
		KeyAlgorithm:       p.String(KeyInterWorkerKeyAlgorithm),
		KeyBytes:           int(p.Int(KeyInterWorkerKeySize)) / 8,
		KeyTTL:             ms(KeyInterWorkerKeyTTL),
		SignatureAlgorithm: p.String(KeyInterWorkerSignatureAlgo),
		Verification:       p.List(KeyInterWorkerVerificationAlgos),
	}
	if !slices.Contains(c.Signing.Verification, c.Signing.SignatureAlgorithm) {
		return Config{}, fmt.Errorf("worker config: %s=%s must be one of %s (%s), so that other workers accept this worker's requests",
			KeyInterWorkerSignatureAlgo, c.Signing.SignatureAlgorithm, KeyInterWorkerVerificationAlgos, strings.Join(c.Signing.Verification, ","))
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		return Config{}, fmt.Errorf("worker config: %s (%s) must be below %s (%s)", KeyHeartbeatInterval, c.HeartbeatInterval, KeySessionTimeout, c.SessionTimeout)
	}
	return c, nil
}
