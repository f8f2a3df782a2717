package postgrescdc

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Configuration keys, named as Debezium's Postgres connector names them.
const (
	HostnameKey               = "database.hostname"
	PortKey                   = "database.port"
	UserKey                   = "database.user"
	PasswordKey               = "database.password"
	DBNameKey                 = "database.dbname"
	TopicPrefixKey            = "topic.prefix"
	PluginNameKey             = "plugin.name"
	SlotNameKey               = "slot.name"
	SlotDropOnStopKey         = "slot.drop.on.stop"
	PublicationNameKey        = "publication.name"
	PublicationAutoKey        = "publication.autocreate.mode"
	SchemaIncludeKey          = "schema.include.list"
	SchemaExcludeKey          = "schema.exclude.list"
	TableIncludeKey           = "table.include.list"
	TableExcludeKey           = "table.exclude.list"
	ColumnIncludeKey          = "column.include.list"
	ColumnExcludeKey          = "column.exclude.list"
	SnapshotModeKey           = "snapshot.mode"
	SnapshotFetchSizeKey      = "snapshot.fetch.size"
	HeartbeatIntervalKey      = "heartbeat.interval.ms"
	HeartbeatQueryKey         = "heartbeat.action.query"
	HeartbeatPrefixKey        = "topic.heartbeat.prefix"
	TombstonesKey             = "tombstones.on.delete"
	DecimalModeKey            = "decimal.handling.mode"
	TimePrecisionKey          = "time.precision.mode"
	SkippedOperationsKey      = "skipped.operations"
	MessageKeyColumnsKey      = "message.key.columns"
	MaxBatchSizeKey           = "max.batch.size"
	StatusIntervalKey         = "status.update.interval.ms"
	RetryBackoffMaxKey        = "retriable.restart.connector.wait.ms"
	ProgressIntervalKey       = "snapshot.progress.interval.ms"
	UnavailablePlaceholderKey = "unavailable.value.placeholder"
	SnapshotMaxThreadsKey     = "snapshot.max.threads"
	TxMetadataKey             = "provide.transaction.metadata"
	TxTopicKey                = "topic.transaction"
	HstoreModeKey             = "hstore.handling.mode"
	UnknownTypesKey           = "include.unknown.datatypes"
	SignalCollectionKey       = "signal.data.collection"
	SignalChannelsKey         = "signal.enabled.channels"
	SignalPollIntervalKey     = "signal.poll.interval.ms"
	SignalKafkaTopicKey       = "signal.kafka.topic"
	SignalKafkaServersKey     = "signal.kafka.bootstrap.servers"
	SignalKafkaGroupKey       = "signal.kafka.groupId"
	SignalKafkaPollKey        = "signal.kafka.poll.timeout.ms"
	IncrementalChunkKey       = "incremental.snapshot.chunk.size"
	SignalKafkaCommitKey      = "signal.kafka.consumer.offset.commit.enabled"
)

// Values of hstore.handling.mode.
const (
	HstoreJSON = "json"
	HstoreMap  = "map"
)

// Signal channels of signal.enabled.channels.
const (
	ChannelSource = "source"
	ChannelKafka  = "kafka"
)

// Values of snapshot.mode.
const (
	SnapshotInitial     = "initial"
	SnapshotAlways      = "always"
	SnapshotNoData      = "no_data"
	SnapshotNever       = "never" // Debezium's older name of no_data
	SnapshotInitialOnly = "initial_only"
	SnapshotWhenNeeded  = "when_needed"
)

// Values of publication.autocreate.mode.
const (
	PublicationAllTables = "all_tables"
	PublicationFiltered  = "filtered"
	PublicationDisabled  = "disabled"
)

// Values of decimal.handling.mode.
const (
	DecimalPrecise = "precise"
	DecimalDouble  = "double"
	DecimalString  = "string"
)

// Values of time.precision.mode.
const (
	TimeAdaptive        = "adaptive"
	TimeAdaptiveMicros  = "adaptive_time_microseconds"
	TimeConnect         = "connect"
	defaultPlaceholder  = "__debezium_unavailable_value"
	defaultHeartbeatPre = "__debezium-heartbeat"
)

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

func configDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: HostnameKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: "Postgres",
			Validator: connect.NonEmpty, Doc: "Resolvable hostname or IP address of the Postgres server."},
		connect.ConfigKey{Name: PortKey, Type: connect.TypeInt, Default: "5432", Importance: connect.High, Group: "Postgres",
			Validator: connect.Between(1, 65535), Doc: "Port of the Postgres server."},
		connect.ConfigKey{Name: UserKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: "Postgres",
			Validator: connect.NonEmpty, Doc: "Name of the Postgres user; it needs the REPLICATION attribute (or superuser) and SELECT on the captured tables."},
		connect.ConfigKey{Name: PasswordKey, Type: connect.TypePassword, Importance: connect.High, Group: "Postgres",
			Doc: "Password of the Postgres user."},
		connect.ConfigKey{Name: DBNameKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: "Postgres",
			Validator: connect.NonEmpty, Doc: "Name of the database to capture changes from."},
		connect.ConfigKey{Name: TopicPrefixKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: "Postgres",
			Validator: topicPrefixValid, Doc: "Logical name of the server: the prefix of every topic (<prefix>.<schema>.<table>), of the schema names, and the source partition of the offsets. Never change it once the connector ran."},
		connect.ConfigKey{Name: PluginNameKey, Type: connect.TypeString, Default: "pgoutput", Importance: connect.Medium, Group: "Replication",
			Validator: connect.OneOf("pgoutput"), Recommended: []string{"pgoutput"}, Doc: "Logical decoding plugin. Only pgoutput, built into Postgres 10 and later, is supported."},
		connect.ConfigKey{Name: SlotNameKey, Type: connect.TypeString, Default: "debezium", Importance: connect.Medium, Group: "Replication",
			Validator: identValid, Doc: "Name of the logical replication slot; lower-case letters, digits and underscores. One slot per connector."},
		connect.ConfigKey{Name: SlotDropOnStopKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: "Replication",
			Doc: "Drop the slot when the task stops gracefully. For tests and demos only: the next start cannot resume and takes a new snapshot."},
		connect.ConfigKey{Name: PublicationNameKey, Type: connect.TypeString, Default: "dbz_publication", Importance: connect.Medium, Group: "Replication",
			Validator: identValid, Doc: "Name of the publication the slot decodes with."},
		connect.ConfigKey{Name: PublicationAutoKey, Type: connect.TypeString, Default: PublicationAllTables, Importance: connect.Medium, Group: "Replication",
			Validator:   connect.OneOf(PublicationAllTables, PublicationFiltered, PublicationDisabled),
			Recommended: []string{PublicationAllTables, PublicationFiltered, PublicationDisabled},
			Doc:         "How the publication is made when it is missing: all_tables (FOR ALL TABLES; needs superuser), filtered (FOR TABLE with the captured tables, kept in step at every start) or disabled (it must exist)."},
		connect.ConfigKey{Name: SchemaIncludeKey, Type: connect.TypeList, Importance: connect.Medium, Group: "Filters",
			Validator: regexList, Doc: "Regular expressions matching the names of the schemas to capture (the whole name must match). Empty: every schema but the system ones. Not with schema.exclude.list."},
		connect.ConfigKey{Name: SchemaExcludeKey, Type: connect.TypeList, Importance: connect.Medium, Group: "Filters",
			Validator: regexList, Doc: "Regular expressions matching the names of schemas not to capture. Not with schema.include.list."},
		connect.ConfigKey{Name: TableIncludeKey, Type: connect.TypeList, Importance: connect.Medium, Group: "Filters",
			Validator: regexList, Doc: "Regular expressions matching <schema>.<table> of the tables to capture. Empty: every table of the captured schemas. Not with table.exclude.list."},
		connect.ConfigKey{Name: TableExcludeKey, Type: connect.TypeList, Importance: connect.Medium, Group: "Filters",
			Validator: regexList, Doc: "Regular expressions matching <schema>.<table> of tables not to capture. Not with table.include.list."},
		connect.ConfigKey{Name: ColumnIncludeKey, Type: connect.TypeList, Importance: connect.Low, Group: "Filters",
			Validator: regexList, Doc: "Regular expressions matching <schema>.<table>.<column> of the columns to put in change event values. Not with column.exclude.list."},
		connect.ConfigKey{Name: ColumnExcludeKey, Type: connect.TypeList, Importance: connect.Low, Group: "Filters",
			Validator: regexList, Doc: "Regular expressions matching <schema>.<table>.<column> of columns to leave out of change event values. Not with column.include.list."},
		connect.ConfigKey{Name: SnapshotModeKey, Type: connect.TypeString, Default: SnapshotInitial, Importance: connect.Medium, Group: "Snapshot",
			Validator:   connect.OneOf(SnapshotInitial, SnapshotAlways, SnapshotNoData, SnapshotNever, SnapshotInitialOnly, SnapshotWhenNeeded),
			Recommended: []string{SnapshotInitial, SnapshotAlways, SnapshotNoData, SnapshotInitialOnly, SnapshotWhenNeeded},
			Doc: "When to read the tables' current rows: initial (once, when no offsets exist; an interrupted snapshot resumes), always (at every start), no_data (never; only changes; never is an alias), " +
				"initial_only (once, then no streaming), when_needed (when no offsets exist or the slot cannot resume from them)."},
		connect.ConfigKey{Name: SnapshotFetchSizeKey, Type: connect.TypeInt, Default: "10240", Importance: connect.Medium, Group: "Snapshot",
			Validator: connect.AtLeast(1), Doc: "Rows read per query while snapshotting a table: the size of a primary key chunk."},
		connect.ConfigKey{Name: ProgressIntervalKey, Type: connect.TypeLong, Default: "10000", Importance: connect.Low, Group: "Snapshot",
			Validator: connect.AtLeast(100), Doc: "How often the snapshot logs its progress (tables done, rows done of estimated, ETA), in milliseconds."},
		connect.ConfigKey{Name: HeartbeatIntervalKey, Type: connect.TypeInt, Default: "0", Importance: connect.Medium, Group: "Replication",
			Validator: connect.AtLeast(0), Doc: "How often to send a heartbeat record (to <topic.heartbeat.prefix>.<topic.prefix>) carrying the stream's position, in milliseconds; 0 disables. " +
				"Heartbeats let the slot advance while the captured tables are idle, so the server does not keep WAL for them."},
		connect.ConfigKey{Name: HeartbeatQueryKey, Type: connect.TypeString, Importance: connect.Low, Group: "Replication",
			Doc: "A statement run in the captured database at every heartbeat, e.g. an update of a heartbeat table, so the slot sees changes on a database that has none."},
		connect.ConfigKey{Name: HeartbeatPrefixKey, Type: connect.TypeString, Default: defaultHeartbeatPre, Importance: connect.Low, Group: "Replication",
			Validator: connect.NonEmpty, Doc: "Prefix of the heartbeat topic's name."},
		connect.ConfigKey{Name: TombstonesKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Medium, Group: "Events",
			Doc: "Follow every delete event with a tombstone (the key with a null value), so compacted topics drop the row."},
		connect.ConfigKey{Name: DecimalModeKey, Type: connect.TypeString, Default: DecimalPrecise, Importance: connect.Medium, Group: "Events",
			Validator: connect.OneOf(DecimalPrecise, DecimalDouble, DecimalString), Recommended: []string{DecimalPrecise, DecimalDouble, DecimalString},
			Doc: "How NUMERIC and MONEY columns are represented: precise (Kafka Connect's Decimal; io.debezium.data.VariableScaleDecimal for NUMERIC without a scale), double, or string."},
		connect.ConfigKey{Name: TimePrecisionKey, Type: connect.TypeString, Default: TimeAdaptive, Importance: connect.Medium, Group: "Events",
			Validator:   connect.OneOf(TimeAdaptive, TimeAdaptiveMicros, TimeConnect),
			Recommended: []string{TimeAdaptive, TimeAdaptiveMicros, TimeConnect},
			Doc:         "How DATE, TIME and TIMESTAMP are represented: adaptive (io.debezium.time types with the column's precision), adaptive_time_microseconds (TIME always as io.debezium.time.MicroTime) or connect (Kafka Connect's Date, Time and Timestamp, milliseconds)."},
		connect.ConfigKey{Name: SkippedOperationsKey, Type: connect.TypeList, Default: "t", Importance: connect.Low, Group: "Events",
			Validator: skippedOpsValid, Doc: "Operations not to emit: c (inserts), u (updates), d (deletes), t (truncates), or none."},
		connect.ConfigKey{Name: MessageKeyColumnsKey, Type: connect.TypeString, Importance: connect.Low, Group: "Events",
			Validator: keyColumnsValid, Doc: "Key columns for tables that need other keys than their primary key: <schema>.<table regex>:<column>,<column> entries separated by semicolons."},
		connect.ConfigKey{Name: UnavailablePlaceholderKey, Type: connect.TypeString, Default: defaultPlaceholder, Importance: connect.Low, Group: "Events",
			Doc: "Value put in place of an unchanged TOASTed column that the server did not send."},
		connect.ConfigKey{Name: SnapshotMaxThreadsKey, Type: connect.TypeInt, Default: "1", Importance: connect.Medium, Group: "Snapshot",
			Validator: connect.AtLeast(1), Doc: "How many tables (or key ranges of one large table) the initial snapshot reads at once, each on its own connection under the same exported snapshot."},
		connect.ConfigKey{Name: IncrementalChunkKey, Type: connect.TypeInt, Default: "1024", Importance: connect.Medium, Group: "Snapshot",
			Validator: connect.AtLeast(1), Doc: "Rows an incremental snapshot reads per chunk, between two watermarks."},
		connect.ConfigKey{Name: SignalCollectionKey, Type: connect.TypeString, Importance: connect.Medium, Group: "Signals",
			Validator: signalCollectionValid, Doc: "The signal table, as <schema>.<table>, with three text columns (id, type, data): rows inserted into it are signals to the connector (execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot, log), and the incremental snapshot writes its watermarks into it. Always captured. Empty: no source channel, and no incremental snapshots."},
		connect.ConfigKey{Name: SignalChannelsKey, Type: connect.TypeList, Default: ChannelSource, Importance: connect.Medium, Group: "Signals",
			Validator: channelsValid, Doc: "Where signals come from: source (rows of signal.data.collection) and kafka (records of signal.kafka.topic)."},
		connect.ConfigKey{Name: SignalPollIntervalKey, Type: connect.TypeLong, Default: "5000", Importance: connect.Low, Group: "Signals",
			Validator: connect.AtLeast(1), Doc: "How often the connector looks for signals on the Kafka channel when no change arrives, in milliseconds."},
		connect.ConfigKey{Name: SignalKafkaTopicKey, Type: connect.TypeString, Importance: connect.Medium, Group: "Signals",
			Doc: "The Kafka signal topic (its partition 0 is read); records whose key is topic.prefix carry a signal as JSON {\"id\", \"type\", \"data\"}. Default: <topic.prefix>-signal."},
		connect.ConfigKey{Name: SignalKafkaServersKey, Type: connect.TypeString, Importance: connect.Medium, Group: "Signals",
			Doc: "Bootstrap servers of the Kafka cluster holding signal.kafka.topic; needed with the kafka channel."},
		connect.ConfigKey{Name: SignalKafkaGroupKey, Type: connect.TypeString, Default: "kafka-signal", Importance: connect.Low, Group: "Signals",
			Doc: "Consumer group id of the Kafka signal channel, for its committed offsets (signal.kafka.consumer.offset.commit.enabled)."},
		connect.ConfigKey{Name: SignalKafkaPollKey, Type: connect.TypeInt, Default: "0", Importance: connect.Low, Group: "Signals",
			Validator: connect.AtLeast(0), Doc: "Accepted for compatibility; the channel's consumer runs in the background and hands signals on as they arrive."},
		connect.ConfigKey{Name: SignalKafkaCommitKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium, Group: "Signals",
			Doc: "Commit each Kafka signal's offset for signal.kafka.groupId once it is handed on, and start after the last committed one (or at the topic's start): signals sent while the connector is down are not lost. false starts at the topic's end."},
		connect.ConfigKey{Name: TxMetadataKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: "Events",
			Doc: "Write a BEGIN and an END event for every transaction to <topic.prefix>.<topic.transaction>, with the number of events per table, and a transaction block (id, total_order, data_collection_order) into every change event."},
		connect.ConfigKey{Name: TxTopicKey, Type: connect.TypeString, Default: "transaction", Importance: connect.Low, Group: "Events",
			Validator: connect.NonEmpty, Doc: "Suffix of the transaction metadata topic's name: <topic.prefix>.<topic.transaction>."},
		connect.ConfigKey{Name: HstoreModeKey, Type: connect.TypeString, Default: HstoreJSON, Importance: connect.Low, Group: "Events",
			Validator: connect.OneOf(HstoreJSON, HstoreMap), Recommended: []string{HstoreJSON, HstoreMap},
			Doc: "How hstore columns are represented: json (io.debezium.data.Json, a JSON object as text) or map (a MAP of STRING to optional STRING)."},
		connect.ConfigKey{Name: UnknownTypesKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: "Events",
			Doc: "Put columns of types without a mapping into the events as BYTES (their text form); false leaves them out."},
		connect.ConfigKey{Name: MaxBatchSizeKey, Type: connect.TypeInt, Default: "2048", Importance: connect.Low, Group: "Performance",
			Validator: connect.AtLeast(1), Doc: "The most records one poll returns."},
		connect.ConfigKey{Name: StatusIntervalKey, Type: connect.TypeInt, Default: "10000", Importance: connect.Low, Group: "Replication",
			Validator: connect.AtLeast(100), Doc: "How often the connector reports its position to the server at the latest, in milliseconds. A newly committed position is reported within a second."},
		connect.ConfigKey{Name: RetryBackoffMaxKey, Type: connect.TypeLong, Default: "10000", Importance: connect.Low, Group: "Replication",
			Validator: connect.AtLeast(100), Doc: "Longest wait between attempts to reconnect after the server went away, in milliseconds; waits start at 100 ms and double."},
	)
}

func topicPrefixValid(v any) error {
	s, _ := v.(string)
	if s == "" {
		return errors.New("String must be non-empty")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("Topic prefix may hold only ASCII letters, digits, '.', '_' and '-', not %q", r)
		}
	}
	return nil
}

func signalCollectionValid(v any) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	_, err := parseTableID(s)
	return err
}

// parseTableID reads <schema>.<table>; Debezium's form with the database
// in front (<db>.<schema>.<table>) is accepted too.
func parseTableID(s string) (tableID, error) {
	parts := strings.Split(s, ".")
	switch len(parts) {
	case 2:
		return tableID{parts[0], parts[1]}, nil
	case 3:
		return tableID{parts[1], parts[2]}, nil
	}
	return tableID{}, fmt.Errorf("%q is not <schema>.<table>", s)
}

func channelsValid(v any) error {
	for _, ch := range v.([]string) {
		switch strings.ToLower(ch) {
		case ChannelSource, ChannelKafka:
		default:
			return fmt.Errorf("%q is not a signal channel here (source, kafka)", ch)
		}
	}
	return nil
}

func identValid(v any) error {
	s, _ := v.(string)
	if !identRE.MatchString(s) || len(s) > 63 {
		return errors.New("Must be at most 63 lower-case letters, digits, '_' or '$', starting with a letter or '_'")
	}
	return nil
}

func regexList(v any) error {
	for _, p := range v.([]string) {
		if _, err := regexp.Compile("^(?:" + p + ")$"); err != nil {
			return fmt.Errorf("%q is not a regular expression: %v", p, err)
		}
	}
	return nil
}

func skippedOpsValid(v any) error {
	for _, op := range v.([]string) {
		switch op {
		case "c", "u", "d", "t", "none":
		default:
			return fmt.Errorf("%q is not one of c, u, d, t, none", op)
		}
	}
	return nil
}

func keyColumnsValid(v any) error {
	_, err := parseKeyColumns(v.(string))
	return err
}

// keyColumns is one entry of message.key.columns.
type keyColumns struct {
	table   *regexp.Regexp
	columns []string
}

func parseKeyColumns(s string) ([]keyColumns, error) {
	var out []keyColumns
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		i := strings.LastIndexByte(entry, ':')
		if i <= 0 || i == len(entry)-1 {
			return nil, fmt.Errorf("%q is not <schema>.<table>:<column>[,<column>...]", entry)
		}
		re, err := regexp.Compile("^(?:" + entry[:i] + ")$")
		if err != nil {
			return nil, fmt.Errorf("%q: %v", entry[:i], err)
		}
		cols := connect.SplitList(entry[i+1:])
		if len(cols) == 0 {
			return nil, fmt.Errorf("%q names no column", entry)
		}
		out = append(out, keyColumns{table: re, columns: cols})
	}
	return out, nil
}

// config is a parsed connector or task configuration.
type config struct {
	host, user, password, dbname string
	port                         int
	prefix                       string
	slot                         string
	dropSlotOnStop               bool
	publication                  string
	publicationMode              string
	filter                       filter
	snapshotMode                 string
	fetchSize                    int
	progressInterval             time.Duration
	heartbeatInterval            time.Duration
	heartbeatQuery               string
	heartbeatTopic               string
	tombstones                   bool
	decimalMode                  string
	timeMode                     string
	skipped                      map[string]bool
	keyColumns                   []keyColumns
	placeholder                  string
	maxBatch                     int
	statusInterval               time.Duration
	backoffMax                   time.Duration
	snapshotThreads              int
	incrChunk                    int
	signalTable                  *tableID
	channels                     map[string]bool
	signalPoll                   time.Duration
	signalTopic                  string
	signalServers                []string
	signalGroup                  string
	signalCommit                 bool
	txMetadata                   bool
	txTopic                      string
	hstoreMode                   string
	unknownTypes                 bool
}

func parseConfig(raw map[string]string) (*config, error) {
	c, err := configDef().Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("postgres-cdc: %w", err)
	}
	cfg := &config{
		host: c.String(HostnameKey), port: c.Int(PortKey), user: c.String(UserKey), password: c.Password(PasswordKey),
		dbname: c.String(DBNameKey), prefix: c.String(TopicPrefixKey), slot: c.String(SlotNameKey),
		dropSlotOnStop: c.Bool(SlotDropOnStopKey), publication: c.String(PublicationNameKey),
		publicationMode: strings.ToLower(c.String(PublicationAutoKey)), snapshotMode: strings.ToLower(c.String(SnapshotModeKey)),
		fetchSize: c.Int(SnapshotFetchSizeKey), progressInterval: time.Duration(c.Long(ProgressIntervalKey)) * time.Millisecond,
		heartbeatInterval: time.Duration(c.Long(HeartbeatIntervalKey)) * time.Millisecond, heartbeatQuery: c.String(HeartbeatQueryKey),
		tombstones: c.Bool(TombstonesKey), decimalMode: strings.ToLower(c.String(DecimalModeKey)),
		timeMode: strings.ToLower(c.String(TimePrecisionKey)), skipped: map[string]bool{},
		placeholder: c.String(UnavailablePlaceholderKey), maxBatch: c.Int(MaxBatchSizeKey),
		statusInterval: time.Duration(c.Long(StatusIntervalKey)) * time.Millisecond,
		backoffMax:     time.Duration(c.Long(RetryBackoffMaxKey)) * time.Millisecond,
	}
	cfg.snapshotThreads, cfg.incrChunk = c.Int(SnapshotMaxThreadsKey), c.Int(IncrementalChunkKey)
	cfg.txMetadata, cfg.txTopic = c.Bool(TxMetadataKey), cfg.prefix+"."+c.String(TxTopicKey)
	cfg.hstoreMode, cfg.unknownTypes = strings.ToLower(c.String(HstoreModeKey)), c.Bool(UnknownTypesKey)
	if sc := c.String(SignalCollectionKey); sc != "" {
		id, _ := parseTableID(sc)
		cfg.signalTable = &id
	}
	cfg.channels = map[string]bool{}
	for _, ch := range c.List(SignalChannelsKey) {
		cfg.channels[strings.ToLower(ch)] = true
	}
	cfg.signalPoll = time.Duration(c.Long(SignalPollIntervalKey)) * time.Millisecond
	cfg.signalTopic = c.String(SignalKafkaTopicKey)
	if cfg.signalTopic == "" {
		cfg.signalTopic = cfg.prefix + "-signal"
	}
	cfg.signalServers = connect.SplitList(c.String(SignalKafkaServersKey))
	cfg.signalGroup, cfg.signalCommit = c.String(SignalKafkaGroupKey), c.Bool(SignalKafkaCommitKey)
	if cfg.snapshotMode == SnapshotNever {
		cfg.snapshotMode = SnapshotNoData
	}
	cfg.heartbeatTopic = c.String(HeartbeatPrefixKey) + "." + cfg.prefix
	for _, op := range c.List(SkippedOperationsKey) {
		if op != "none" {
			cfg.skipped[op] = true
		}
	}
	cfg.keyColumns, _ = parseKeyColumns(c.String(MessageKeyColumnsKey))
	errs := map[string][]string{}
	pairs := [][2]string{{SchemaIncludeKey, SchemaExcludeKey}, {TableIncludeKey, TableExcludeKey}, {ColumnIncludeKey, ColumnExcludeKey}}
	for _, p := range pairs {
		if len(c.List(p[0])) > 0 && len(c.List(p[1])) > 0 {
			errs[p[1]] = append(errs[p[1]], fmt.Sprintf("%s and %s cannot both be set: use one of them", p[0], p[1]))
		}
	}
	if cfg.channels[ChannelKafka] && len(cfg.signalServers) == 0 {
		errs[SignalKafkaServersKey] = append(errs[SignalKafkaServersKey], "The kafka signal channel needs the bootstrap servers of the signal topic's cluster")
	}
	if cfg.channels[ChannelSource] && cfg.signalTable == nil && raw[SignalChannelsKey] != "" {
		errs[SignalCollectionKey] = append(errs[SignalCollectionKey], "The source signal channel needs the signal table: <schema>.<table>")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("postgres-cdc: %w", &connect.ConfigError{Errs: errs})
	}
	cfg.filter = newFilter(c.List(SchemaIncludeKey), c.List(SchemaExcludeKey), c.List(TableIncludeKey), c.List(TableExcludeKey),
		c.List(ColumnIncludeKey), c.List(ColumnExcludeKey))
	cfg.filter.signal = cfg.signalTable
	return cfg, nil
}

// filter decides which schemas, tables and columns are captured.
type filter struct {
	schemaInc, schemaExc, tableInc, tableExc, colInc, colExc []*regexp.Regexp
	signal                                                   *tableID // always captured, as Debezium captures it
	// viaRoot is set when the publication publishes partitions' changes
	// as their root table's (publish_via_partition_root).
	viaRoot bool
}

func compileAll(ps []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(ps))
	for _, p := range ps {
		out = append(out, regexp.MustCompile("^(?:"+p+")$"))
	}
	return out
}

func newFilter(si, se, ti, te, ci, ce []string) filter {
	return filter{schemaInc: compileAll(si), schemaExc: compileAll(se), tableInc: compileAll(ti), tableExc: compileAll(te), colInc: compileAll(ci), colExc: compileAll(ce)}
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

var systemSchemas = map[string]bool{"pg_catalog": true, "information_schema": true, "pg_toast": true}

// table reports whether schema.table is captured.
func (f filter) table(schema, table string) bool {
	if f.signal != nil && f.signal.schema == schema && f.signal.name == table {
		return true
	}
	if systemSchemas[schema] || strings.HasPrefix(schema, "pg_temp") || strings.HasPrefix(schema, "pg_toast") {
		return false
	}
	if len(f.schemaInc) > 0 && !anyMatch(f.schemaInc, schema) || anyMatch(f.schemaExc, schema) {
		return false
	}
	full := schema + "." + table
	if len(f.tableInc) > 0 && !anyMatch(f.tableInc, full) || anyMatch(f.tableExc, full) {
		return false
	}
	return true
}

// column reports whether a column goes into the event values.
func (f filter) column(schema, table, column string) bool {
	full := schema + "." + table + "." + column
	if len(f.colInc) > 0 && !anyMatch(f.colInc, full) || anyMatch(f.colExc, full) {
		return false
	}
	return true
}

// keyColumnsFor returns the message.key.columns of schema.table, or nil.
func (c *config) keyColumnsFor(schema, table string) []string {
	for _, k := range c.keyColumns {
		if k.table.MatchString(schema + "." + table) {
			return k.columns
		}
	}
	return nil
}
