package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/configprovider"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/transforms"
)

// Worker configuration keys, as Kafka Connect names them.
const (
	KeyBootstrapServers      = "bootstrap.servers"
	KeyPluginPath            = "plugin.path"
	KeyOffsetFile            = "offset.storage.file.filename"
	KeyListeners             = "listeners"
	KeyAdvertisedHost        = "rest.advertised.host.name"
	KeyAdvertisedPort        = "rest.advertised.port"
	KeyOffsetFlushInterval   = "offset.flush.interval.ms"
	KeyOffsetFlushTimeout    = "offset.flush.timeout.ms"
	KeyShutdownTimeout       = "task.shutdown.graceful.timeout.ms"
	KeyPluginIsolation       = "plugin.isolation"
	KeyKeyConverter          = "key.converter"
	KeyValueConverter        = "value.converter"
	KeyHeaderConverter       = "header.converter"
	KeyClientID              = "client.id"
	KeyRestartBackoffMax     = "task.restart.backoff.max.ms"
	KeyRestartBackoffInitial = "task.restart.backoff.initial.ms"
	KeyTopicCreation         = "topic.creation.enable"
	KeyTopicTracking         = "topic.tracking.enable"
	KeyTopicTrackingReset    = "topic.tracking.allow.reset"
	// REST API keys (Kafka Connect's), and connectd's authentication keys.
	KeyAdminListeners     = "admin.listeners"
	KeyAdvertisedListener = "rest.advertised.listener"
	KeyAllowOrigin        = "access.control.allow.origin"
	KeyAllowMethods       = "access.control.allow.methods"
	KeyRESTUsersFile      = "rest.auth.users.file"
	KeyRESTTokensFile     = "rest.auth.tokens.file"
)

// WorkerConfigDef defines the worker keys this worker understands. Unknown
// keys are warned about, not refused, so Kafka Connect worker files load.
func WorkerConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: KeyBootstrapServers, Type: connect.TypeList, Default: "localhost:9092", Importance: connect.High, Doc: "Kafka brokers to connect to, host:port, comma-separated."},
		connect.ConfigKey{Name: KeyPluginPath, Type: connect.TypeList, Default: "", Importance: connect.Low, Doc: "Folders searched for third-party plugin executables."},
		connect.ConfigKey{Name: KeyOffsetFile, Type: connect.TypeString, Default: "", Importance: connect.High, Doc: "Standalone mode: the file source offsets are stored in."},
		connect.ConfigKey{Name: KeyListeners, Type: connect.TypeList, Default: "http://:8083", Importance: connect.Low, Doc: "REST API listener URLs, http:// or https:// (TLS from the listeners.https.ssl.* keys, or the ssl.* keys when there are none)."},
		connect.ConfigKey{Name: KeyAdminListeners, Type: connect.TypeList, Default: "", Importance: connect.Low, Doc: "Listener URLs of the /admin/* endpoints (TLS from admin.listeners.https.ssl.*, or ssl.*); unset: the regular listeners; empty: none."},
		connect.ConfigKey{Name: KeyAdvertisedListener, Type: connect.TypeString, Default: "", Importance: connect.Low, Doc: "http or https: which listener other workers reach this one at; default http when there is an http listener."},
		connect.ConfigKey{Name: KeyAllowOrigin, Type: connect.TypeString, Default: "", Importance: connect.Low, Doc: "Access-Control-Allow-Origin for cross-origin requests: origins, comma-separated, or *; empty allows only the API's own origin."},
		connect.ConfigKey{Name: KeyAllowMethods, Type: connect.TypeString, Default: "", Importance: connect.Low, Doc: "Access-Control-Allow-Methods for cross-origin requests; empty means GET,POST,HEAD."},
		connect.ConfigKey{Name: KeyRESTUsersFile, Type: connect.TypeString, Default: "", Importance: connect.Medium, Doc: "File of REST users for HTTP basic auth, name:bcrypt-hash[:admin|read-only] a line; set, every request needs credentials."},
		connect.ConfigKey{Name: KeyRESTTokensFile, Type: connect.TypeString, Default: "", Importance: connect.Medium, Doc: "File of REST bearer tokens, name:sha256-hex[:admin|read-only] a line; set, every request needs credentials."},
		connect.ConfigKey{Name: KeyAdvertisedHost, Type: connect.TypeString, Default: "", Importance: connect.Low, Doc: "Host name other workers and status reports use for this worker."},
		connect.ConfigKey{Name: KeyAdvertisedPort, Type: connect.TypeInt, Default: "0", Importance: connect.Low, Doc: "Port other workers and status reports use for this worker."},
		connect.ConfigKey{Name: KeyOffsetFlushInterval, Type: connect.TypeLong, Default: "60000", Importance: connect.Low, Doc: "How often source offsets are committed and sink tasks flushed, in ms.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyOffsetFlushTimeout, Type: connect.TypeLong, Default: "5000", Importance: connect.Low, Doc: "How long an offset commit may take, in ms.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyShutdownTimeout, Type: connect.TypeLong, Default: "5000", Importance: connect.Low, Doc: "How long a task may take to stop and drain, in ms.", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: KeyPluginIsolation, Type: connect.TypeString, Default: "process", Importance: connect.Low, Doc: "process: every connector and task runs in its own plugin process; none: built-in connectors run inside the worker (tests, benchmarks).", Validator: connect.OneOf("process", "none")},
		connect.ConfigKey{Name: KeyKeyConverter, Type: connect.TypeClass, Default: "org.apache.kafka.connect.json.JsonConverter", Importance: connect.High, Doc: "Default converter for record keys."},
		connect.ConfigKey{Name: KeyValueConverter, Type: connect.TypeClass, Default: "org.apache.kafka.connect.json.JsonConverter", Importance: connect.High, Doc: "Default converter for record values."},
		connect.ConfigKey{Name: KeyHeaderConverter, Type: connect.TypeClass, Default: "org.apache.kafka.connect.storage.SimpleHeaderConverter", Importance: connect.Low, Doc: "Default converter for record headers."},
		connect.ConfigKey{Name: KeyClientID, Type: connect.TypeString, Default: "connectd", Importance: connect.Low, Doc: "Prefix of the Kafka client ids."},
		connect.ConfigKey{Name: KeyRestartBackoffInitial, Type: connect.TypeLong, Default: "500", Importance: connect.Low, Doc: "First delay before a task whose plugin process died is started again, in ms; it doubles per attempt.", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: KeyTopicCreation, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Doc: "Whether source tasks create the topics they write to when missing, with the broker's default partitions and replication factor."},
		connect.ConfigKey{Name: KeyTopicTracking, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Doc: "Whether tasks record the topics each connector produces to or consumes from, served by GET /connectors/{c}/topics."},
		connect.ConfigKey{Name: KeyTopicTrackingReset, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Doc: "Whether PUT /connectors/{c}/topics/reset may clear a connector's recorded topics."},
		connect.ConfigKey{Name: KeyRestartBackoffMax, Type: connect.TypeLong, Default: "60000", Importance: connect.Low, Doc: "Longest delay between restarts of a task whose plugin process died, in ms.", Validator: connect.AtLeast(0)},
	)
}

// knownForeignPrefixes are worker keys that belong to Kafka Connect features
// configured elsewhere (distributed mode, security, client overrides); they
// are passed on or ignored without a warning.
var knownForeignPrefixes = []string{
	"group.id", "config.storage.", "offset.storage.", "status.storage.", "producer.", "consumer.", "admin.",
	"session.timeout.ms", "heartbeat.interval.ms", "rebalance.timeout.ms", "scheduled.rebalance.max.delay.ms",
	"key.converter.", "value.converter.", "header.converter.", "rest.", "config.providers", "connector.client.config.override.policy",
	"internal.", "exactly.once.source.support", "inter.worker.", "metrics.", "worker.sync.timeout.ms",
	"security.protocol", "sasl.", "ssl.", "listeners.https.", "admin.listeners.https.",
}

// WorkerConfig is a parsed worker configuration.
type WorkerConfig struct {
	Raw        map[string]string
	Parsed     *connect.Config
	Bootstrap  []string
	PluginPath []string
	// Isolated says whether built-in connectors run as plugin processes.
	Isolated            bool
	OffsetFlushInterval time.Duration
	OffsetFlushTimeout  time.Duration
	ShutdownTimeout     time.Duration
	RestartBackoff      [2]time.Duration // initial, max
	ClientID            string
	TopicCreation       bool
	// TopicTracking says whether tasks record the topics they use
	// (topic.tracking.enable, KIP-558); TopicTrackingReset whether the
	// REST API may reset them (topic.tracking.allow.reset).
	TopicTracking      bool
	TopicTrackingReset bool
	// ConsumerOpts are the sink consumers' options from consumer.* keys.
	ConsumerOpts []kgo.Opt
	// Security are the options of the worker's own Kafka clients (group
	// membership, internal topics) from the unprefixed security.protocol,
	// sasl.* and ssl.* keys. Task clients make theirs per client (see
	// securityOpts).
	Security []kgo.Opt
	// OverridePolicy is connector.client.config.override.policy: All,
	// None or Principal.
	OverridePolicy string
	// ConfigProviders resolves ${provider:path:key} placeholders in
	// connector configs, from the config.providers keys.
	ConfigProviders *configprovider.Resolver
	// Secrets knows every value a config provider resolved, so that logs,
	// status traces and REST responses hide it. It only grows.
	Secrets *configprovider.Redactor
}

// ParseWorkerConfig checks raw and warns (through logger) about keys it does not know.
func ParseWorkerConfig(raw map[string]string, logger *slog.Logger) (*WorkerConfig, error) {
	def := WorkerConfigDef()
	parsed, err := def.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	var unknown []string
	for k := range raw {
		if _, ok := def.Key(k); ok || hasAnyPrefix(k, knownForeignPrefixes) {
			continue
		}
		unknown = append(unknown, k)
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		logger.Warn("unknown worker config key ignored", "key", k)
	}
	if v := raw["rest.extension.classes"]; v != "" {
		logger.Warn("REST extensions are not supported; for authentication use rest.auth.users.file or rest.auth.tokens.file (docs/security.md)", "key", "rest.extension.classes", "value", v)
	}
	ms := func(k string) time.Duration { return time.Duration(parsed.Long(k)) * time.Millisecond }
	providers, err := configprovider.FromWorkerConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	consumer, err := consumerOpts(raw)
	if err != nil {
		return nil, err
	}
	if _, err := producerOpts(raw, producerPrefix); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	policy, err := parseOverridePolicy(raw[KeyOverridePolicy])
	if err != nil {
		return nil, err
	}
	cfg := &WorkerConfig{Raw: raw}
	// Every kind of client is made once here, so a bad key or an unreadable
	// certificate stops the worker at startup, naming the key.
	for _, kind := range []string{clientProducer, clientConsumer, clientAdmin} {
		if _, err := cfg.securityOpts(kind, nil); err != nil {
			return nil, fmt.Errorf("worker config: %w", err)
		}
	}
	security, err := cfg.securityOpts(clientWorker, nil)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	return &WorkerConfig{
		Security:            security,
		OverridePolicy:      policy,
		ConsumerOpts:        consumer,
		Raw:                 raw,
		Parsed:              parsed,
		Bootstrap:           parsed.List(KeyBootstrapServers),
		PluginPath:          parsed.List(KeyPluginPath),
		Isolated:            parsed.String(KeyPluginIsolation) != "none",
		OffsetFlushInterval: ms(KeyOffsetFlushInterval),
		OffsetFlushTimeout:  ms(KeyOffsetFlushTimeout),
		ShutdownTimeout:     ms(KeyShutdownTimeout),
		RestartBackoff:      [2]time.Duration{ms(KeyRestartBackoffInitial), ms(KeyRestartBackoffMax)},
		ClientID:            parsed.String(KeyClientID),
		TopicCreation:       parsed.Bool(KeyTopicCreation),
		TopicTracking:       parsed.Bool(KeyTopicTracking),
		TopicTrackingReset:  parsed.Bool(KeyTopicTrackingReset),
		ConfigProviders:     providers,
		Secrets:             &configprovider.Redactor{},
	}, nil
}

// ConverterDefaults returns the worker's converter keys (and their
// sub-keys), which connectors inherit unless they set their own.
func (c *WorkerConfig) ConverterDefaults() map[string]string {
	out := map[string]string{}
	for _, p := range []string{KeyKeyConverter, KeyValueConverter, KeyHeaderConverter} {
		out[p] = c.Parsed.String(p)
		for k, v := range c.Raw {
			if strings.HasPrefix(k, p+".") {
				out[k] = v
			}
		}
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Connector configuration keys the framework itself reads.
const (
	KeyName           = "name"
	KeyConnectorClass = "connector.class"
	KeyTasksMax       = "tasks.max"
	KeyTopics         = "topics"
	KeyTopicsRegex    = "topics.regex"
	KeyTransforms     = transforms.KeyTransforms
	KeyPredicates     = transforms.KeyPredicates
)

// Config groups of the framework's connector keys, as Kafka Connect names them.
const (
	GroupCommon     = "Common"
	GroupTransforms = "Transforms"
	GroupPredicates = "Predicates"
)

// ConnectorConfigDef is the part of every connector's config that the
// framework reads, Kafka Connect's ConnectorConfig and SinkConnectorConfig:
// the common keys, the transform and predicate aliases, and the error
// handling keys (the dead letter queue ones for sources too, which Kafka
// Connect does not have). Each transform's and predicate's own keys are
// added per config by transforms.ConfigDef.
func ConnectorConfigDef(sink bool) *connect.ConfigDef {
	def := connect.NewConfigDef(
		connect.ConfigKey{Name: KeyName, Type: connect.TypeString, Required: true, Importance: connect.High, Group: GroupCommon, Width: connect.WidthMedium, DisplayName: "Connector name", Doc: "Globally unique name to use for this connector.", Validator: connect.NonEmpty},
		connect.ConfigKey{Name: KeyConnectorClass, Type: connect.TypeString, Required: true, Importance: connect.High, Group: GroupCommon, Width: connect.WidthLong, DisplayName: "Connector class", Doc: "Name or alias of the connector plugin, e.g. datagen or org.apache.kafka.connect.file.FileStreamSinkConnector."},
		connect.ConfigKey{Name: KeyTasksMax, Type: connect.TypeInt, Default: "1", Importance: connect.High, Group: GroupCommon, Width: connect.WidthShort, DisplayName: "Tasks max", Doc: "Maximum number of tasks to use for this connector.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyKeyConverter, Type: connect.TypeClass, Default: "", Importance: connect.Low, Group: GroupCommon, Width: connect.WidthShort, DisplayName: "Key converter class", Doc: "Converter for record keys; the worker's when empty."},
		connect.ConfigKey{Name: KeyValueConverter, Type: connect.TypeClass, Default: "", Importance: connect.Low, Group: GroupCommon, Width: connect.WidthShort, DisplayName: "Value converter class", Doc: "Converter for record values; the worker's when empty."},
		connect.ConfigKey{Name: KeyHeaderConverter, Type: connect.TypeClass, Default: "", Importance: connect.Low, Group: GroupCommon, Width: connect.WidthShort, DisplayName: "Header converter class", Doc: "Converter for record headers; the worker's when empty."},
		connect.ConfigKey{Name: KeyTransforms, Type: connect.TypeList, Default: "", Importance: connect.Low, Group: GroupTransforms, Width: connect.WidthLong, DisplayName: "Transforms", Doc: "Aliases for the transformations to be applied to records.", Validator: uniqueAliases},
		connect.ConfigKey{Name: KeyPredicates, Type: connect.TypeList, Default: "", Importance: connect.Low, Group: GroupPredicates, Width: connect.WidthLong, DisplayName: "Predicates", Doc: "Aliases for the predicates used by transformations.", Validator: uniqueAliases},
	)
	errs := plugin.ErrorConfigDef()
	for _, k := range errs.Keys() {
		if !strings.HasPrefix(k.Name, "errors.deadletterqueue.") {
			def.Define(k)
		}
	}
	if sink {
		def.Define(connect.ConfigKey{Name: KeyTopics, Type: connect.TypeList, Default: "", Importance: connect.High, Group: GroupCommon, Width: connect.WidthLong, DisplayName: "Topics", Doc: "List of topics to consume, separated by commas."})
		def.Define(connect.ConfigKey{Name: KeyTopicsRegex, Type: connect.TypeString, Default: "", Importance: connect.High, Group: GroupCommon, Width: connect.WidthLong, DisplayName: "Topics regex", Doc: "Regular expression of the topics to consume; exclusive with topics."})
	}
	for _, k := range errs.Keys() {
		if strings.HasPrefix(k.Name, "errors.deadletterqueue.") {
			def.Define(k)
		}
	}
	if !sink {
		def.Define(topicCreationGroupsKey())
		for _, k := range sourceExactlyOnceKeys() {
			def.Define(k)
		}
	}
	return def
}

// uniqueAliases rejects a list that names an alias twice, as Kafka
// Connect's alias validator does.
func uniqueAliases(v any) error {
	list, _ := v.([]string)
	seen := map[string]bool{}
	for _, a := range list {
		if seen[a] {
			return errors.New("Duplicate alias provided.")
		}
		seen[a] = true
	}
	return nil
}
