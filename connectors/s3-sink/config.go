package s3sink

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Configuration keys, named as Confluent's S3 sink names them.
const (
	BucketKey              = "s3.bucket.name"
	RegionKey              = "s3.region"
	StoreURLKey            = "store.url"
	PathStyleKey           = "s3.path.style.access.enabled"
	AccessKeyIDKey         = "aws.access.key.id"
	SecretAccessKeyKey     = "aws.secret.access.key"
	CredentialsProviderKey = "s3.credentials.provider.class"
	StorageClassKey        = "storage.class"
	TopicsDirKey           = "topics.dir"
	DirectoryDelimKey      = "directory.delim"
	FileDelimKey           = "file.delim"
	ZeroPadWidthKey        = "filename.offset.zero.pad.width"
	FlushSizeKey           = "flush.size"
	RotateIntervalKey      = "rotate.interval.ms"
	RotateScheduleKey      = "rotate.schedule.interval.ms"
	FormatClassKey         = "format.class"
	CompressionTypeKey     = "s3.compression.type"
	CompressionLevelKey    = "s3.compression.level"
	ParquetCodecKey        = "parquet.codec"
	ByteArrayExtensionKey  = "format.bytearray.extension"
	ByteArraySeparatorKey  = "format.bytearray.separator"
	JSONDecimalFormatKey   = "json.decimal.format"
	PartSizeKey            = "s3.part.size"
	PartRetriesKey         = "s3.part.retries"
	RetryBackoffKey        = "s3.retry.backoff.ms"
	PartitionerClassKey    = "partitioner.class"
	PartitionFieldKey      = "partition.field.name"
	PartitionDurationKey   = "partition.duration.ms"
	PathFormatKey          = "path.format"
	LocaleKey              = "locale"
	TimezoneKey            = "timezone"
	TimestampExtractorKey  = "timestamp.extractor"
	TimestampFieldKey      = "timestamp.field"
	NullValuesKey          = "behavior.on.null.values"
	TombstonePartitionKey  = "tombstone.encoded.partition"
	StoreKeysKey           = "store.kafka.keys"
	StoreHeadersKey        = "store.kafka.headers"
	KeysFormatKey          = "keys.format.class"
	HeadersFormatKey       = "headers.format.class"
	SSEAKey                = "s3.ssea.name"
	SSEKMSKeyIDKey         = "s3.sse.kms.key.id"
	SSECustomerKeyKey      = "s3.sse.customer.key"
	ACLCannedKey           = "s3.acl.canned"
	ObjectTaggingKey       = "s3.object.tagging"
	SchemaCompatibilityKey = "schema.compatibility"
	ConditionalWritesKey   = "enable.conditional.writes"

	// Keys of connectd's own (Confluent's sink has none like them).
	MemoryBudgetKey      = "s3.memory.budget.bytes"
	UploadConcurrencyKey = "s3.upload.concurrency"
)

// Java class names Confluent documents, accepted as values.
const (
	JSONFormatClass      = "io.confluent.connect.s3.format.json.JsonFormat"
	ByteArrayFormatClass = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat"
	ParquetFormatClass   = "io.confluent.connect.s3.format.parquet.ParquetFormat"
	AvroFormatClass      = "io.confluent.connect.s3.format.avro.AvroFormat"
	S3StorageClass       = "io.confluent.connect.s3.storage.S3Storage"

	partitionerPackage     = "io.confluent.connect.storage.partitioner."
	DefaultPartitioner     = partitionerPackage + "DefaultPartitioner"
	FieldPartitioner       = partitionerPackage + "FieldPartitioner"
	TimeBasedPartitioner   = partitionerPackage + "TimeBasedPartitioner"
	DailyPartitioner       = partitionerPackage + "DailyPartitioner"
	HourlyPartitioner      = partitionerPackage + "HourlyPartitioner"
	defaultCredentialChain = "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
)

// Format names, partitioner names, extractor names: what the config's class
// values resolve to.
const (
	formatJSON      = "json"
	formatByteArray = "bytearray"
	formatParquet   = "parquet"

	partDefault = "default"
	partField   = "field"
	partTime    = "time"
	partDaily   = "daily"
	partHourly  = "hourly"

	extractWallclock   = "Wallclock"
	extractRecord      = "Record"
	extractRecordField = "RecordField"
)

var formatNames = map[string]string{
	JSONFormatClass: formatJSON, "JsonFormat": formatJSON, "json": formatJSON,
	ByteArrayFormatClass: formatByteArray, "ByteArrayFormat": formatByteArray, "bytearray": formatByteArray,
	ParquetFormatClass: formatParquet, "ParquetFormat": formatParquet, "parquet": formatParquet,
}

var partitionerNames = map[string]string{
	DefaultPartitioner: partDefault, "DefaultPartitioner": partDefault,
	FieldPartitioner: partField, "FieldPartitioner": partField,
	TimeBasedPartitioner: partTime, "TimeBasedPartitioner": partTime,
	DailyPartitioner: partDaily, "DailyPartitioner": partDaily,
	HourlyPartitioner: partHourly, "HourlyPartitioner": partHourly,
}

var extractorNames = map[string]string{
	extractWallclock: extractWallclock, TimeBasedPartitioner + "$WallclockTimestampExtractor": extractWallclock,
	extractRecord: extractRecord, TimeBasedPartitioner + "$RecordTimestampExtractor": extractRecord,
	extractRecordField: extractRecordField, TimeBasedPartitioner + "$RecordFieldTimestampExtractor": extractRecordField,
}

// minPartSize is S3's smallest part of a multipart upload (but the last).
const minPartSize = 5 << 20

// maxPartSize is S3's largest part.
const maxPartSize = 5 << 30

const groupConnector, groupStorage, groupPartitioner, groupS3 = "Connector", "Storage", "Partitioner", "S3"

func classValidator(names map[string]string, what string) connect.ValidatorFunc {
	return func(v any) error {
		s, _ := v.(string)
		if _, ok := names[s]; !ok {
			if s == AvroFormatClass || s == "AvroFormat" {
				return errors.New("Avro is not supported: use JsonFormat, ByteArrayFormat or ParquetFormat")
			}
			return fmt.Errorf("unknown %s %q", what, s)
		}
		return nil
	}
}

func configDef() *connect.ConfigDef {
	formats := []string{JSONFormatClass, ByteArrayFormatClass, ParquetFormatClass}
	return connect.NewConfigDef(
		connect.ConfigKey{Name: BucketKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: groupS3,
			Doc: "The S3 bucket the objects are written to.", Validator: connect.NonEmpty},
		connect.ConfigKey{Name: RegionKey, Type: connect.TypeString, Default: "us-west-2", Importance: connect.Medium, Group: groupS3,
			Doc: "The AWS region the bucket is in, and the requests are signed for."},
		connect.ConfigKey{Name: StoreURLKey, Type: connect.TypeString, Importance: connect.High, Group: groupS3,
			Doc: "An S3-compatible endpoint to use instead of AWS's (e.g. `http://minio:9000`); empty: AWS's endpoint of the region."},
		connect.ConfigKey{Name: PathStyleKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Group: groupS3,
			Doc: "Address buckets in the path (`endpoint/bucket/key`) rather than the host name; S3-compatible servers mostly need it."},
		connect.ConfigKey{Name: AccessKeyIDKey, Type: connect.TypeString, Importance: connect.High, Group: groupS3,
			Doc: "The access key id; empty: the AWS SDK's default credential chain (environment, shared config, instance or task role)."},
		connect.ConfigKey{Name: SecretAccessKeyKey, Type: connect.TypePassword, Importance: connect.High, Group: groupS3,
			Doc: "The secret access key that goes with `aws.access.key.id`."},
		connect.ConfigKey{Name: CredentialsProviderKey, Type: connect.TypeClass, Default: defaultCredentialChain, Importance: connect.Low, Group: groupS3,
			Doc: "Accepted for compatibility; only the default chain (or the keys above) is used.",
			Validator: func(v any) error {
				if s, _ := v.(string); s != defaultCredentialChain && s != "" {
					return fmt.Errorf("only %s is supported; set %s and %s for static keys", defaultCredentialChain, AccessKeyIDKey, SecretAccessKeyKey)
				}
				return nil
			}},
		connect.ConfigKey{Name: StorageClassKey, Type: connect.TypeClass, Default: S3StorageClass, Importance: connect.Low, Group: groupStorage,
			Doc: "The storage class: only S3 storage is offered.", Validator: connect.OneOf(S3StorageClass, "S3Storage")},
		connect.ConfigKey{Name: TopicsDirKey, Type: connect.TypeString, Default: "topics", Importance: connect.High, Group: groupStorage,
			Doc: "The top folder of every object key."},
		connect.ConfigKey{Name: DirectoryDelimKey, Type: connect.TypeString, Default: "/", Importance: connect.Medium, Group: groupStorage,
			Doc: "The separator of the folders of an object key."},
		connect.ConfigKey{Name: FileDelimKey, Type: connect.TypeString, Default: "+", Importance: connect.Medium, Group: groupStorage,
			Doc: "The separator of topic, Kafka partition and start offset in an object's name."},
		connect.ConfigKey{Name: ZeroPadWidthKey, Type: connect.TypeInt, Default: "10", Importance: connect.Low, Group: groupStorage,
			Doc: "The width the start offset in an object's name is zero-padded to.", Validator: connect.Between(0, 19)},
		connect.ConfigKey{Name: FlushSizeKey, Type: connect.TypeInt, Required: true, Importance: connect.High, Group: groupConnector,
			Doc: "The number of records an object holds at most: a file is uploaded once it has this many.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: RotateIntervalKey, Type: connect.TypeLong, Default: "-1", Importance: connect.High, Group: groupConnector,
			Doc: "Close a file once the time of a record (per `timestamp.extractor`) is this many ms after the time of its first record; -1: never. With the Wallclock extractor the wall clock closes idle files too."},
		connect.ConfigKey{Name: RotateScheduleKey, Type: connect.TypeLong, Default: "-1", Importance: connect.Medium, Group: groupConnector,
			Doc: "Close every file at the next multiple of this many ms since midnight in `timezone` after it was opened, records arriving or not; -1: never. Needs `timezone`."},
		connect.ConfigKey{Name: FormatClassKey, Type: connect.TypeClass, Required: true, Importance: connect.High, Group: groupConnector,
			Doc: "The format of the objects.", Recommended: formats, Validator: classValidator(formatNames, "format")},
		connect.ConfigKey{Name: CompressionTypeKey, Type: connect.TypeString, Default: "none", Importance: connect.Low, Group: groupStorage,
			Doc:         "Compression of JSON and ByteArray objects (`.gz` is added to their names); Parquet uses `parquet.codec`.",
			Recommended: []string{"none", "gzip"}, Validator: connect.OneOf("none", "gzip")},
		connect.ConfigKey{Name: CompressionLevelKey, Type: connect.TypeInt, Default: "-1", Importance: connect.Low, Group: groupStorage,
			Doc: "The gzip level, -1 (the default level) or 0 to 9.", Validator: connect.Between(-1, 9)},
		connect.ConfigKey{Name: ParquetCodecKey, Type: connect.TypeString, Default: "snappy", Importance: connect.Low, Group: groupStorage,
			Doc:         "The compression codec of Parquet objects; it names them `.<codec>.parquet` as Confluent's sink does (`.parquet` for none).",
			Recommended: []string{"none", "snappy", "gzip", "lz4", "zstd", "brotli"}, Validator: connect.OneOf("none", "uncompressed", "snappy", "gzip", "lz4", "zstd", "brotli")},
		connect.ConfigKey{Name: ByteArrayExtensionKey, Type: connect.TypeString, Default: ".bin", Importance: connect.Low, Group: groupStorage,
			Doc: "The extension of ByteArray objects."},
		connect.ConfigKey{Name: ByteArraySeparatorKey, Type: connect.TypeString, Default: `\n`, Importance: connect.Low, Group: groupStorage,
			Doc: "The bytes written after every record of a ByteArray object (Java escapes `\\n`, `\\r`, `\\t` and `\\\\` are understood)."},
		connect.ConfigKey{Name: JSONDecimalFormatKey, Type: connect.TypeString, Default: "BASE64", Importance: connect.Low, Group: groupStorage,
			Doc: "How JSON objects write decimals: `BASE64` (the unscaled bytes) or `NUMERIC`.", Recommended: []string{"BASE64", "NUMERIC"},
			Validator: connect.OneOf("BASE64", "NUMERIC")},
		connect.ConfigKey{Name: PartSizeKey, Type: connect.TypeInt, Default: "26214400", Importance: connect.High, Group: groupS3,
			Doc:       "The part size of multipart uploads: an object larger than this goes up in parts of this size as it is written.",
			Validator: connect.Between(minPartSize, 2147483647)},
		connect.ConfigKey{Name: PartRetriesKey, Type: connect.TypeInt, Default: "3", Importance: connect.Medium, Group: groupS3,
			Doc: "How often a failed S3 request (a part, an object, a multipart completion) is retried before the task fails.", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: RetryBackoffKey, Type: connect.TypeLong, Default: "200", Importance: connect.Low, Group: groupS3,
			Doc: "The first backoff in ms between retries of S3 requests; it doubles each retry (up to 20 s), with jitter.", Validator: connect.AtLeast(0)},
		connect.ConfigKey{Name: PartitionerClassKey, Type: connect.TypeClass, Default: DefaultPartitioner, Importance: connect.High, Group: groupPartitioner,
			Doc: "How records are sorted into folders.", Recommended: []string{DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, DailyPartitioner, HourlyPartitioner},
			Validator: classValidator(partitionerNames, "partitioner")},
		connect.ConfigKey{Name: PartitionFieldKey, Type: connect.TypeList, Importance: connect.Medium, Group: groupPartitioner,
			Doc: "FieldPartitioner: the value fields (struct values; dots name nested fields) whose values make the folders, `name=value` each."},
		connect.ConfigKey{Name: PartitionDurationKey, Type: connect.TypeLong, Default: "-1", Importance: connect.Medium, Group: groupPartitioner,
			Doc: "TimeBasedPartitioner: the length in ms of a time folder."},
		connect.ConfigKey{Name: PathFormatKey, Type: connect.TypeString, Importance: connect.Medium, Group: groupPartitioner,
			Doc: "TimeBasedPartitioner: a Joda-Time pattern for the time folders, e.g. `'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`."},
		connect.ConfigKey{Name: LocaleKey, Type: connect.TypeString, Importance: connect.Medium, Group: groupPartitioner,
			Doc: "Time-based partitioners: the locale of `path.format` (e.g. `en-US`); required by them."},
		connect.ConfigKey{Name: TimezoneKey, Type: connect.TypeString, Importance: connect.Medium, Group: groupPartitioner,
			Doc: "Time-based partitioners and `rotate.schedule.interval.ms`: the IANA time zone of paths and schedules (e.g. `UTC`, `Europe/Berlin`)."},
		connect.ConfigKey{Name: TimestampExtractorKey, Type: connect.TypeString, Default: extractWallclock, Importance: connect.Medium, Group: groupPartitioner,
			Doc:         "Where time-based partitioning and `rotate.interval.ms` take a record's time from: `Wallclock` (when it is written), `Record` (the Kafka timestamp) or `RecordField` (`timestamp.field`).",
			Recommended: []string{extractWallclock, extractRecord, extractRecordField}, Validator: classValidator(extractorNames, "timestamp extractor")},
		connect.ConfigKey{Name: TimestampFieldKey, Type: connect.TypeString, Default: "timestamp", Importance: connect.Medium, Group: groupPartitioner,
			Doc: "RecordField extractor: the value field holding the time (Timestamp, epoch ms number, or ISO-8601 string; dots name nested fields)."},
		connect.ConfigKey{Name: NullValuesKey, Type: connect.TypeString, Default: "fail", Importance: connect.Low, Group: groupConnector,
			Doc:         "What a record with a null value (a tombstone) does: `fail` (the record fails: dead letter queue or task failure per `errors.tolerance`), `ignore` (skipped), `write` (written to the `tombstone.encoded.partition` folder; needs `store.kafka.keys`).",
			Recommended: []string{"fail", "ignore", "write"}, Validator: connect.OneOf("fail", "ignore", "write")},
		connect.ConfigKey{Name: TombstonePartitionKey, Type: connect.TypeString, Default: "tombstone", Importance: connect.Low, Group: groupConnector,
			Doc: "With `behavior.on.null.values=write`, the folder tombstones are written to."},
		connect.ConfigKey{Name: StoreKeysKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: groupConnector,
			Doc: "Also write every record's key, to an object named as the value's with `.keys` before the extension."},
		connect.ConfigKey{Name: StoreHeadersKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: groupConnector,
			Doc: "Also write every record's headers, to an object named as the value's with `.headers` before the extension."},
		connect.ConfigKey{Name: KeysFormatKey, Type: connect.TypeClass, Default: JSONFormatClass, Importance: connect.Low, Group: groupConnector,
			Doc: "The format of key objects.", Recommended: formats, Validator: classValidator(formatNames, "format")},
		connect.ConfigKey{Name: HeadersFormatKey, Type: connect.TypeClass, Default: JSONFormatClass, Importance: connect.Low, Group: groupConnector,
			Doc: "The format of header objects.", Recommended: formats, Validator: classValidator(formatNames, "format")},
		connect.ConfigKey{Name: SSEAKey, Type: connect.TypeString, Importance: connect.Low, Group: groupS3,
			Doc: "Server-side encryption: empty (the bucket's default), `AES256` or `aws:kms`.", Recommended: []string{"", "AES256", "aws:kms"},
			Validator: connect.OneOf("", "AES256", "aws:kms")},
		connect.ConfigKey{Name: SSEKMSKeyIDKey, Type: connect.TypeString, Importance: connect.Low, Group: groupS3,
			Doc: "With `s3.ssea.name=aws:kms`, the KMS key id; empty: the account's default key."},
		connect.ConfigKey{Name: SSECustomerKeyKey, Type: connect.TypePassword, Importance: connect.Low, Group: groupS3,
			Doc: "A base64 AES-256 key for server-side encryption with a customer key (SSE-C)."},
		connect.ConfigKey{Name: ACLCannedKey, Type: connect.TypeString, Importance: connect.Low, Group: groupS3,
			Doc: "A canned ACL for every object (e.g. `bucket-owner-full-control`); empty: none."},
		connect.ConfigKey{Name: ObjectTaggingKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: groupS3,
			Doc: "Tag every object with `startOffset`, `endOffset` and `recordCount`."},
		connect.ConfigKey{Name: SchemaCompatibilityKey, Type: connect.TypeString, Default: "NONE", Importance: connect.High, Group: groupConnector,
			Doc:         "`NONE`: a record whose schema differs from its file's starts a new file. `BACKWARD`/`FULL`: a newer schema version starts a new file, records of older versions are projected to it. `FORWARD`: an older version starts a new file, newer versions are projected to the file's.",
			Recommended: []string{"NONE", "BACKWARD", "FORWARD", "FULL"}, Validator: connect.OneOf("NONE", "BACKWARD", "FORWARD", "FULL")},
		connect.ConfigKey{Name: ConditionalWritesKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Group: groupS3,
			Doc: "Write objects only if absent (`If-None-Match: *`), and before opening a file look for an object of its name left by an earlier run, continuing after it: a replay never replaces an object, and no record lands twice. Turn off only for servers that refuse conditional writes."},
		connect.ConfigKey{Name: MemoryBudgetKey, Type: connect.TypeLong, Default: "268435456", Importance: connect.Medium, Group: groupConnector,
			Doc:       "The bytes a task may hold in buffers of open files and uploads in flight, all partitions together. At the budget the largest file goes up as a multipart part (if it holds 5 MiB) or is closed early.",
			Validator: connect.AtLeast(minPartSize)},
		connect.ConfigKey{Name: UploadConcurrencyKey, Type: connect.TypeInt, Default: "4", Importance: connect.Low, Group: groupConnector,
			Doc: "How many uploads (objects and parts) a task runs at once.", Validator: connect.Between(1, 64)},
	)
}

// config is a parsed, checked configuration.
type config struct {
	bucket, region, storeURL string
	pathStyle                bool
	accessKey, secretKey     string

	topicsDir, dirDelim, fileDelim string
	zeroPad                        int

	flushSize      int
	rotateInterval time.Duration // 0: off
	rotateSchedule time.Duration // 0: off

	format, keysFormat, headersFormat string
	gzip                              bool
	gzipLevel                         int
	parquetCodec                      string
	byteArrayExt                      string
	byteArraySep                      []byte
	decimalNumeric                    bool

	partSize     int
	partRetries  int
	retryBackoff time.Duration

	partitioner       string
	partitionFields   []string
	partitionDuration time.Duration
	pathFormat        string
	locale            string
	tz                *time.Location
	extractor         string
	timestampField    string

	nullValues         string
	tombstonePartition string
	storeKeys          bool
	storeHeaders       bool

	ssea, kmsKeyID, sseCustomerKey string
	acl                            string
	tagging                        bool
	compatibility                  string
	conditional                    bool

	memoryBudget int64
	concurrency  int
}

// parseConfig checks raw and returns it typed. Errors name the key to fix.
func parseConfig(raw map[string]string) (*config, error) {
	c, err := configDef().Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("s3-sink: %w", err)
	}
	cfg := &config{
		bucket: c.String(BucketKey), region: c.String(RegionKey), storeURL: c.String(StoreURLKey),
		pathStyle: c.Bool(PathStyleKey), accessKey: c.String(AccessKeyIDKey), secretKey: c.Password(SecretAccessKeyKey),
		topicsDir: c.String(TopicsDirKey), dirDelim: c.String(DirectoryDelimKey), fileDelim: c.String(FileDelimKey),
		zeroPad:   c.Int(ZeroPadWidthKey),
		flushSize: c.Int(FlushSizeKey),
		format:    formatNames[c.String(FormatClassKey)], keysFormat: formatNames[c.String(KeysFormatKey)],
		headersFormat: formatNames[c.String(HeadersFormatKey)],
		gzip:          strings.EqualFold(c.String(CompressionTypeKey), "gzip"), gzipLevel: c.Int(CompressionLevelKey),
		parquetCodec: strings.ToLower(c.String(ParquetCodecKey)), byteArrayExt: c.String(ByteArrayExtensionKey),
		byteArraySep:   []byte(unescapeJava(raw, ByteArraySeparatorKey)),
		decimalNumeric: strings.EqualFold(c.String(JSONDecimalFormatKey), "NUMERIC"),
		partSize:       c.Int(PartSizeKey), partRetries: c.Int(PartRetriesKey),
		retryBackoff:      time.Duration(c.Long(RetryBackoffKey)) * time.Millisecond,
		partitioner:       partitionerNames[c.String(PartitionerClassKey)],
		partitionFields:   c.List(PartitionFieldKey),
		partitionDuration: time.Duration(c.Long(PartitionDurationKey)) * time.Millisecond,
		pathFormat:        c.String(PathFormatKey), locale: c.String(LocaleKey),
		extractor: extractorNames[c.String(TimestampExtractorKey)], timestampField: c.String(TimestampFieldKey),
		nullValues: strings.ToLower(c.String(NullValuesKey)), tombstonePartition: c.String(TombstonePartitionKey),
		storeKeys: c.Bool(StoreKeysKey), storeHeaders: c.Bool(StoreHeadersKey),
		ssea: c.String(SSEAKey), kmsKeyID: c.String(SSEKMSKeyIDKey), sseCustomerKey: c.Password(SSECustomerKeyKey),
		acl: c.String(ACLCannedKey), tagging: c.Bool(ObjectTaggingKey),
		compatibility: strings.ToUpper(c.String(SchemaCompatibilityKey)), conditional: c.Bool(ConditionalWritesKey),
		memoryBudget: c.Long(MemoryBudgetKey), concurrency: c.Int(UploadConcurrencyKey),
	}
	if cfg.parquetCodec == "uncompressed" {
		cfg.parquetCodec = "none"
	}
	if v := c.Long(RotateIntervalKey); v > 0 {
		cfg.rotateInterval = time.Duration(v) * time.Millisecond
	}
	if v := c.Long(RotateScheduleKey); v > 0 {
		cfg.rotateSchedule = time.Duration(v) * time.Millisecond
	}
	errs := map[string][]string{}
	bad := func(key, format string, args ...any) { errs[key] = append(errs[key], fmt.Sprintf(format, args...)) }
	if tz := c.String(TimezoneKey); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			bad(TimezoneKey, "Invalid value %s for configuration %s: unknown time zone", tz, TimezoneKey)
		}
		cfg.tz = loc
	}
	if cfg.rotateSchedule > 0 && cfg.tz == nil && errs[TimezoneKey] == nil {
		bad(TimezoneKey, "%s needs %s (the zone whose midnight the schedule counts from)", RotateScheduleKey, TimezoneKey)
	}
	switch cfg.partitioner {
	case partField:
		if len(cfg.partitionFields) == 0 {
			bad(PartitionFieldKey, "FieldPartitioner needs %s", PartitionFieldKey)
		}
	case partDaily:
		cfg.partitionDuration = 24 * time.Hour
		cfg.pathFormat = "'year'=YYYY" + cfg.dirDelim + "'month'=MM" + cfg.dirDelim + "'day'=dd"
	case partHourly:
		cfg.partitionDuration = time.Hour
		cfg.pathFormat = "'year'=YYYY" + cfg.dirDelim + "'month'=MM" + cfg.dirDelim + "'day'=dd" + cfg.dirDelim + "'hour'=HH"
	}
	if cfg.timeBased() {
		if cfg.partitionDuration <= 0 {
			bad(PartitionDurationKey, "TimeBasedPartitioner needs a positive %s", PartitionDurationKey)
		}
		if strings.TrimSpace(cfg.pathFormat) == "" || cfg.pathFormat == cfg.dirDelim {
			bad(PathFormatKey, "Path format cannot be empty.")
		} else {
			cfg.pathFormat = strings.TrimSuffix(cfg.pathFormat, cfg.dirDelim)
			if _, err := parseJoda(cfg.pathFormat, cfg.locale); err != nil {
				bad(PathFormatKey, "Invalid value %s for configuration %s: %v", cfg.pathFormat, PathFormatKey, err)
			}
		}
		if strings.TrimSpace(cfg.locale) == "" {
			bad(LocaleKey, "Locale cannot be empty.")
		}
		if cfg.tz == nil && errs[TimezoneKey] == nil {
			bad(TimezoneKey, "Timezone cannot be empty.")
		}
	}
	if cfg.nullValues == "write" && !cfg.storeKeys {
		bad(NullValuesKey, "%s=write needs %s=true: a tombstone's key is all it carries", NullValuesKey, StoreKeysKey)
	}
	if cfg.ssea == "" && cfg.kmsKeyID != "" {
		bad(SSEKMSKeyIDKey, "%s needs %s=aws:kms", SSEKMSKeyIDKey, SSEAKey)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("s3-sink: %w", &connect.ConfigError{Errs: errs})
	}
	return cfg, nil
}

func (c *config) timeBased() bool {
	return c.partitioner == partTime || c.partitioner == partDaily || c.partitioner == partHourly
}

// unescapeJava reads the byte array separator untrimmed (the parsed value
// loses surrounding blanks), with Java's escapes understood: Confluent's
// default is the JVM's line separator, and users write it escaped.
func unescapeJava(raw map[string]string, key string) string {
	v, ok := raw[key]
	if !ok {
		v = `\n`
	}
	r := strings.NewReplacer(`\n`, "\n", `\r`, "\r", `\t`, "\t", `\\`, `\`)
	return r.Replace(v)
}
