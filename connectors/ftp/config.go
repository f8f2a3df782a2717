package ftp

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/connectd/connectd/framework/connect"
)

// Configuration keys. Where a Kafka Connect file connector has the same
// setting (spooldir's input.path, input.file.pattern, cleanup.policy,
// finished.path, error.path, file.minimum.age.ms, batch.size), the key is
// named as there.
const (
	ProtocolKey         = "ftp.protocol"
	HostKey             = "ftp.host"
	PortKey             = "ftp.port"
	UsernameKey         = "ftp.username"
	PasswordKey         = "ftp.password"
	PassiveKey          = "ftp.passive"
	TLSCAFileKey        = "ftp.tls.ca.file"
	TLSSkipVerifyKey    = "ftp.tls.skip.verify"
	PrivateKeyPathKey   = "sftp.private.key.path"
	PrivateKeyPassKey   = "sftp.private.key.passphrase"
	KnownHostsPathKey   = "sftp.known.hosts.path"
	StrictHostKeyKey    = "sftp.strict.host.key.checking"
	ConnectTimeoutKey   = "ftp.connect.timeout.ms"
	TimeoutKey          = "ftp.timeout.ms"
	KeepaliveKey        = "ftp.keepalive.interval.ms"
	ReconnectBackoffKey = "ftp.reconnect.backoff.max.ms"
	ReconnectTimeoutKey = "ftp.reconnect.timeout.ms"
	ServerTimezoneKey   = "ftp.server.timezone"
	PrefetchKey         = "ftp.prefetch.files"

	InputPathKey     = "input.path"
	FilePatternKey   = "input.file.pattern"
	RecursiveKey     = "recursive"
	PollIntervalKey  = "poll.interval.ms"
	SortKey          = "input.sort"
	MaxCandidatesKey = "input.max.candidates"
	MinAgeKey        = "file.minimum.age.ms"
	DoneSuffixKey    = "input.done.suffix"

	FormatKey       = "format"
	EncodingKey     = "input.encoding"
	CSVDelimiterKey = "csv.delimiter"
	CSVQuoteKey     = "csv.quote"
	CSVHeaderKey    = "csv.header"
	CSVTypesKey     = "csv.column.types"
	MaxRecordKey    = "record.max.bytes"
	KeyModeKey      = "record.key"
	KeyFieldKey     = "record.key.field"

	CleanupKey      = "cleanup.policy"
	FinishedPathKey = "finished.path"
	ErrorPathKey    = "error.path"
	TopicKey        = "topic"
	BatchSizeKey    = "batch.size"

	// Set by TaskConfigs: which share of the files a task reads.
	taskIndexKey = "ftp.task.index"
	taskCountKey = "ftp.task.count"
)

// Values of ftp.protocol.
const (
	ProtoFTP          = "ftp"
	ProtoFTPS         = "ftps"
	ProtoFTPSImplicit = "ftps-implicit"
	ProtoSFTP         = "sftp"
)

// Values of format.
const (
	FormatLines = "lines"
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
	FormatBytes = "bytes"
)

// Values of cleanup.policy, as spooldir names them (case does not matter).
const (
	CleanupNone   = "none"
	CleanupDelete = "delete"
	CleanupMove   = "move"
)

// Values of input.sort and record.key.
const (
	SortName     = "name"
	SortModified = "modified"
	KeyNone      = "none"
	KeyPath      = "path"
	KeyField     = "field"
)

func configDef() *connect.ConfigDef {
	const conn, input, done, format, after = "Connection", "Input", "Completeness", "Format", "Output"
	return connect.NewConfigDef(
		connect.ConfigKey{Name: ProtocolKey, Type: connect.TypeString, Default: ProtoFTP, Importance: connect.High, Group: conn,
			Validator: connect.OneOf(ProtoFTP, ProtoFTPS, ProtoFTPSImplicit, ProtoSFTP), Recommended: []string{ProtoFTP, ProtoFTPS, ProtoFTPSImplicit, ProtoSFTP},
			Doc: "How to reach the server: ftp (plain), ftps (explicit FTPS: AUTH TLS on the FTP port, then TLS on every data connection), ftps-implicit (TLS from the first byte, usually port 990) or sftp (SSH File Transfer Protocol)."},
		connect.ConfigKey{Name: HostKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: conn,
			Validator: connect.NonEmpty, Doc: "Host name or IP address of the server."},
		connect.ConfigKey{Name: PortKey, Type: connect.TypeInt, Default: "0", Importance: connect.High, Group: conn,
			Validator: connect.Between(0, 65535), Doc: "Port of the server; 0 means the protocol's own: 21 for ftp and ftps, 990 for ftps-implicit, 22 for sftp."},
		connect.ConfigKey{Name: UsernameKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: conn,
			Validator: connect.NonEmpty, Doc: "User to log in as."},
		connect.ConfigKey{Name: PasswordKey, Type: connect.TypePassword, Importance: connect.High, Group: conn,
			Doc: "Password of the user (for sftp, leave it empty to log in with the private key only). Use a config provider (${file:...}, ${env:...}) to keep it out of the connector config; it is never logged."},
		connect.ConfigKey{Name: PassiveKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Group: conn,
			Validator: passiveValid, Doc: "Open FTP data connections in passive mode (EPSV, falling back to PASV), from the connector to the server. Active mode (the server connecting back) is not supported: it does not pass NAT and firewalls, and the FTP client library offers only passive mode."},
		connect.ConfigKey{Name: TLSCAFileKey, Type: connect.TypeString, Importance: connect.Medium, Group: conn,
			Validator: fileValid, Doc: "PEM file of the certificate authorities that sign the FTPS server's certificate; empty means the system's."},
		connect.ConfigKey{Name: TLSSkipVerifyKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: conn,
			Doc: "Accept any FTPS server certificate without checking it. For tests only: it lets anyone in the middle read the data and the password."},
		connect.ConfigKey{Name: PrivateKeyPathKey, Type: connect.TypeString, Importance: connect.Medium, Group: conn,
			Validator: fileValid, Doc: "Private key file (OpenSSH or PEM format) to log in to the SFTP server with; tried before the password."},
		connect.ConfigKey{Name: PrivateKeyPassKey, Type: connect.TypePassword, Importance: connect.Low, Group: conn,
			Doc: "Passphrase of the private key, if it is encrypted."},
		connect.ConfigKey{Name: KnownHostsPathKey, Type: connect.TypeString, Default: "~/.ssh/known_hosts", Importance: connect.Medium, Group: conn,
			Doc: "known_hosts file naming the SFTP server's host key (ssh-keyscan -p PORT HOST >> FILE writes one). A leading ~ is the worker's home directory."},
		connect.ConfigKey{Name: StrictHostKeyKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Medium, Group: conn,
			Doc: "Check the SFTP server's host key against sftp.known.hosts.path and refuse to log in when it is missing or differs. false accepts any host key (and logs its fingerprint): for tests only."},
		connect.ConfigKey{Name: ConnectTimeoutKey, Type: connect.TypeInt, Default: "30000", Importance: connect.Low, Group: conn,
			Validator: connect.AtLeast(100), Doc: "How long connecting and logging in may take, in milliseconds."},
		connect.ConfigKey{Name: TimeoutKey, Type: connect.TypeInt, Default: "60000", Importance: connect.Low, Group: conn,
			Validator: connect.AtLeast(100), Doc: "How long the server may stay silent while the connector waits for a reply or for data, in milliseconds; then the connection counts as lost and is opened again."},
		connect.ConfigKey{Name: KeepaliveKey, Type: connect.TypeInt, Default: "30000", Importance: connect.Low, Group: conn,
			Validator: connect.AtLeast(100), Doc: "How often an idle connection is kept alive (FTP NOOP, SSH keepalive request) between polls, in milliseconds."},
		connect.ConfigKey{Name: ReconnectBackoffKey, Type: connect.TypeInt, Default: "30000", Importance: connect.Low, Group: conn,
			Validator: connect.AtLeast(100), Doc: "Longest wait between attempts to connect again after the connection was lost, in milliseconds; waits start at 200 ms and double."},
		connect.ConfigKey{Name: ReconnectTimeoutKey, Type: connect.TypeLong, Default: "600000", Importance: connect.Low, Group: conn,
			Validator: connect.AtLeast(-1), Doc: "How long the server may stay unreachable before the task fails (FAILED, with the last error), in milliseconds; -1 retries for ever. While it retries, the task's progress shows the connection as down with the error."},
		connect.ConfigKey{Name: ServerTimezoneKey, Type: connect.TypeString, Default: "UTC", Importance: connect.Low, Group: conn,
			Validator: timezoneValid, Doc: "Time zone of the times an FTP server shows in LIST (an IANA name such as Europe/Berlin). Only servers without MLSD need it; exact times come from MDTM, which is in UTC."},
		connect.ConfigKey{Name: PrefetchKey, Type: connect.TypeInt, Default: "16", Importance: connect.Low, Group: conn,
			Validator: connect.Between(0, 256), Doc: "How many small files (up to 64 KiB) waiting their turn the task downloads ahead, on a second connection, while it reads others: the round trips of one transfer then overlap another's. Records still come in the files' order, and a file the second connection cannot fetch is downloaded as if it were not there. 0: one connection a task, no download ahead."},

		connect.ConfigKey{Name: InputPathKey, Type: connect.TypeList, Required: true, Importance: connect.High, Group: input,
			Validator: pathsValid, Doc: "Directories on the server to read files from (absolute paths, comma-separated)."},
		connect.ConfigKey{Name: FilePatternKey, Type: connect.TypeString, Default: ".*", Importance: connect.High, Group: input,
			Validator: regexValid, Doc: "Regular expression the whole file name must match (e.g. .*\\.csv(\\.gz)?). Names starting with a dot are never read: servers differ in showing them, and uploads often write there first."},
		connect.ConfigKey{Name: RecursiveKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium, Group: input,
			Doc: "Read the files of subdirectories too (not of finished.path and error.path, nor of directories starting with a dot)."},
		connect.ConfigKey{Name: PollIntervalKey, Type: connect.TypeLong, Default: "10000", Importance: connect.Medium, Group: input,
			Validator: connect.AtLeast(10), Doc: "How often the input directories are listed when there is nothing to read, in milliseconds."},
		connect.ConfigKey{Name: SortKey, Type: connect.TypeString, Default: SortName, Importance: connect.Medium, Group: input,
			Validator: connect.OneOf(SortName, SortModified), Recommended: []string{SortName, SortModified},
			Doc: "Order in which complete files are read: name (by path) or modified (oldest first, then by path)."},
		connect.ConfigKey{Name: MaxCandidatesKey, Type: connect.TypeInt, Default: "10000", Importance: connect.Low, Group: input,
			Validator: connect.AtLeast(1), Doc: "Most files a listing keeps in memory to read next, the first ones in input.sort order; the rest wait for the next listing. It bounds the task's memory however many files a directory holds."},
		connect.ConfigKey{Name: MinAgeKey, Type: connect.TypeLong, Default: "5000", Importance: connect.High, Group: done,
			Validator: connect.AtLeast(0), Doc: "A file counts as complete once its size and modification time stayed the same across listings at least this many milliseconds apart; 0 reads files as soon as they are listed. Not used with input.done.suffix."},
		connect.ConfigKey{Name: DoneSuffixKey, Type: connect.TypeString, Importance: connect.High, Group: done,
			Doc: "When set (e.g. .done), a file counts as complete as soon as a marker file of its name plus this suffix exists beside it, whatever its age; files without a marker wait. The marker is cleaned up with its file."},

		connect.ConfigKey{Name: FormatKey, Type: connect.TypeString, Default: FormatLines, Importance: connect.High, Group: format,
			Validator: connect.OneOf(FormatLines, FormatCSV, FormatJSONL, FormatBytes), Recommended: []string{FormatLines, FormatCSV, FormatJSONL, FormatBytes},
			Doc: "How files become records: lines (one STRING record per line), csv (one struct per row, fields named by the header row), jsonl (one schemaless value per JSON line), bytes (the whole file as one BYTES record, at most record.max.bytes). Files ending in .gz are gunzipped first."},
		connect.ConfigKey{Name: EncodingKey, Type: connect.TypeString, Default: "UTF-8", Importance: connect.Medium, Group: format,
			Validator: encodingValid, Doc: "Character set of text files (lines, csv, jsonl): UTF-8, ISO-8859-1, windows-1252 or another IANA name. Text becomes UTF-8; bytes that are no valid UTF-8 become U+FFFD. A UTF-8 byte order mark is dropped."},
		connect.ConfigKey{Name: CSVDelimiterKey, Type: connect.TypeString, Default: ",", Importance: connect.Medium, Group: format,
			Validator: asciiCharValid, Doc: "Field separator of csv files: one ASCII character (\\t for a tab)."},
		connect.ConfigKey{Name: CSVQuoteKey, Type: connect.TypeString, Default: "\"", Importance: connect.Low, Group: format,
			Validator: asciiCharValid, Doc: "Quote character of csv files: one ASCII character. A quoted field may hold separators, line breaks and doubled quotes."},
		connect.ConfigKey{Name: CSVHeaderKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Medium, Group: format,
			Doc: "The first row of a csv file names its columns. false names them column1, column2, ..."},
		connect.ConfigKey{Name: CSVTypesKey, Type: connect.TypeList, Importance: connect.Medium, Group: format,
			Validator: typesValid, Doc: "Types of csv columns as name:type pairs (types: string, int32, int64, float64, boolean, decimal(SCALE), date (YYYY-MM-DD), timestamp (RFC 3339)); other columns are strings. Fields are optional: an empty cell is null. A cell that does not parse fails its file."},
		connect.ConfigKey{Name: MaxRecordKey, Type: connect.TypeInt, Default: "1048576", Importance: connect.Low, Group: format,
			Validator: connect.AtLeast(16), Doc: "Largest record in bytes: a longer line or row, or a larger file with format=bytes, fails its file."},
		connect.ConfigKey{Name: KeyModeKey, Type: connect.TypeString, Default: KeyNone, Importance: connect.Low, Group: format,
			Validator: connect.OneOf(KeyNone, KeyPath, KeyField), Recommended: []string{KeyNone, KeyPath, KeyField},
			Doc: "Record keys: none (null), path (the file's path: all records of a file go to one Kafka partition, in order) or field (record.key.field of the csv row or JSON object)."},
		connect.ConfigKey{Name: KeyFieldKey, Type: connect.TypeString, Importance: connect.Low, Group: format,
			Doc: "Field whose value is the key with record.key=field."},

		connect.ConfigKey{Name: TopicKey, Type: connect.TypeString, Required: true, Importance: connect.High, Group: after,
			Validator: topicValid, Doc: "Topic to write to: a name, or a pattern where ${file.name} is the file's name and ${file.base} its name up to the first dot (characters a topic may not hold become _)."},
		connect.ConfigKey{Name: CleanupKey, Type: connect.TypeString, Default: CleanupNone, Importance: connect.High, Group: after,
			Validator: connect.OneOf(CleanupNone, CleanupDelete, CleanupMove), Recommended: []string{CleanupNone, CleanupDelete, CleanupMove},
			Doc: "What happens to a file once the offsets of all its records are committed: none (it stays; the connector remembers it as read while it is there), delete, or move (to finished.path)."},
		connect.ConfigKey{Name: FinishedPathKey, Type: connect.TypeString, Importance: connect.Medium, Group: after,
			Validator: optionalPathValid, Doc: "Directory finished files are moved to with cleanup.policy=move, keeping their path below the input directory."},
		connect.ConfigKey{Name: ErrorPathKey, Type: connect.TypeString, Importance: connect.Medium, Group: after,
			Validator: optionalPathValid, Doc: "Directory files that fail (cannot be downloaded or parsed) are moved to, once the records read before the failure are committed. Empty: they stay, and the task remembers them as failed until it restarts."},
		connect.ConfigKey{Name: BatchSizeKey, Type: connect.TypeInt, Default: "1000", Importance: connect.Low, Group: after,
			Validator: connect.AtLeast(1), Doc: "Most records one poll returns."},
	)
}

func passiveValid(v any) error {
	if b, _ := v.(bool); !b {
		return errors.New("Active FTP mode is not supported; use passive mode (true)")
	}
	return nil
}

func fileValid(v any) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	if _, err := os.Stat(expandHome(s)); err != nil {
		return fmt.Errorf("Cannot read the file: %v", err)
	}
	return nil
}

func timezoneValid(v any) error {
	s, _ := v.(string)
	if _, err := time.LoadLocation(s); err != nil {
		return fmt.Errorf("Unknown time zone: %v", err)
	}
	return nil
}

func pathsValid(v any) error {
	ps, _ := v.([]string)
	if len(ps) == 0 {
		return errors.New("List must be non-empty")
	}
	for _, p := range ps {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%q is not an absolute path", p)
		}
	}
	return nil
}

func optionalPathValid(v any) error {
	s, _ := v.(string)
	if s != "" && !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%q is not an absolute path", s)
	}
	return nil
}

func regexValid(v any) error {
	s, _ := v.(string)
	if _, err := regexp.Compile("^(?:" + s + ")$"); err != nil {
		return fmt.Errorf("Not a regular expression: %v", err)
	}
	return nil
}

func encodingValid(v any) error {
	s, _ := v.(string)
	_, err := lookupEncoding(s)
	return err
}

func asciiCharValid(v any) error {
	s, _ := v.(string)
	if _, err := asciiChar(s); err != nil {
		return err
	}
	return nil
}

func typesValid(v any) error {
	_, err := parseColumnTypes(v.([]string))
	return err
}

func topicValid(v any) error {
	s, _ := v.(string)
	if s == "" {
		return errors.New("String must be non-empty")
	}
	rest := placeholderRE.ReplaceAllString(s, "")
	if strings.Contains(rest, "${") {
		return errors.New("The only placeholders are ${file.name} and ${file.base}")
	}
	if bad := strings.IndexFunc(rest, func(r rune) bool { return !topicChar(r) }); bad >= 0 {
		return fmt.Errorf("A topic name may hold only ASCII letters, digits, '.', '_' and '-', not %q", rest[bad:bad+1])
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`\$\{file\.(name|base)\}`)

func topicChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// asciiChar reads a one-character setting; "\t" stands for a tab.
func asciiChar(s string) (byte, error) {
	if s == `\t` {
		return '\t', nil
	}
	if len(s) != 1 || s[0] >= 0x80 || s[0] == '\n' || s[0] == '\r' {
		return 0, errors.New("Must be one ASCII character other than a line break")
	}
	return s[0], nil
}

// lookupEncoding finds a character set by its IANA name or alias. UTF-8
// comes back as nil: text is then only checked, not decoded.
func lookupEncoding(name string) (encoding.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "utf-8", "utf8":
		return nil, nil
	}
	e, err := ianaindex.IANA.Encoding(name)
	if err != nil || e == nil {
		return nil, fmt.Errorf("Unknown or unsupported character set %q", name)
	}
	if e == unicode.UTF8 {
		return nil, nil
	}
	return e, nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// config is a parsed connector or task configuration.
type config struct {
	protocol           string
	host               string
	port               int
	user, password     string
	tlsCAFile          string
	tlsSkipVerify      bool
	keyPath, keyPass   string
	knownHosts         string
	strictHostKey      bool
	connectTimeout     time.Duration
	timeout            time.Duration
	keepalive          time.Duration
	backoffMax         time.Duration
	reconnectTimeout   time.Duration // < 0: for ever
	serverTZ           *time.Location
	prefetch           int
	inputs             []string
	pattern            *regexp.Regexp
	recursive          bool
	pollInterval       time.Duration
	sortModified       bool
	maxCandidates      int
	minAge             time.Duration
	doneSuffix         string
	format             string
	charset            encoding.Encoding // nil: UTF-8
	csvDelim, csvQuote byte
	csvHeader          bool
	csvTypes           map[string]columnType
	maxRecord          int
	keyMode            string
	keyField           string
	topic              string
	topicPattern       bool
	cleanup            string
	finishedPath       string
	errorPath          string
	batchSize          int
	taskIndex          int
	taskCount          int
}

func parseConfig(raw map[string]string) (*config, error) {
	c, err := configDef().Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("ftp: %w", err)
	}
	cfg := &config{
		protocol:         strings.ToLower(c.String(ProtocolKey)),
		host:             c.String(HostKey),
		port:             c.Int(PortKey),
		user:             c.String(UsernameKey),
		password:         c.Password(PasswordKey),
		tlsCAFile:        expandHome(c.String(TLSCAFileKey)),
		tlsSkipVerify:    c.Bool(TLSSkipVerifyKey),
		keyPath:          expandHome(c.String(PrivateKeyPathKey)),
		keyPass:          c.Password(PrivateKeyPassKey),
		knownHosts:       expandHome(c.String(KnownHostsPathKey)),
		strictHostKey:    c.Bool(StrictHostKeyKey),
		connectTimeout:   time.Duration(c.Long(ConnectTimeoutKey)) * time.Millisecond,
		timeout:          time.Duration(c.Long(TimeoutKey)) * time.Millisecond,
		keepalive:        time.Duration(c.Long(KeepaliveKey)) * time.Millisecond,
		backoffMax:       time.Duration(c.Long(ReconnectBackoffKey)) * time.Millisecond,
		reconnectTimeout: time.Duration(c.Long(ReconnectTimeoutKey)) * time.Millisecond,
		prefetch:         c.Int(PrefetchKey),
		recursive:        c.Bool(RecursiveKey),
		pollInterval:     time.Duration(c.Long(PollIntervalKey)) * time.Millisecond,
		sortModified:     strings.EqualFold(c.String(SortKey), SortModified),
		maxCandidates:    c.Int(MaxCandidatesKey),
		minAge:           time.Duration(c.Long(MinAgeKey)) * time.Millisecond,
		doneSuffix:       c.String(DoneSuffixKey),
		format:           strings.ToLower(c.String(FormatKey)),
		csvHeader:        c.Bool(CSVHeaderKey),
		maxRecord:        c.Int(MaxRecordKey),
		keyMode:          strings.ToLower(c.String(KeyModeKey)),
		keyField:         c.String(KeyFieldKey),
		topic:            c.String(TopicKey),
		cleanup:          strings.ToLower(c.String(CleanupKey)),
		finishedPath:     cleanDir(c.String(FinishedPathKey)),
		errorPath:        cleanDir(c.String(ErrorPathKey)),
		batchSize:        c.Int(BatchSizeKey),
		taskCount:        1,
	}
	if cfg.reconnectTimeout < 0 {
		cfg.reconnectTimeout = -1
	}
	if cfg.port == 0 {
		cfg.port = map[string]int{ProtoFTP: 21, ProtoFTPS: 21, ProtoFTPSImplicit: 990, ProtoSFTP: 22}[cfg.protocol]
	}
	cfg.serverTZ, _ = time.LoadLocation(c.String(ServerTimezoneKey))
	for _, p := range c.List(InputPathKey) {
		cfg.inputs = append(cfg.inputs, cleanDir(p))
	}
	cfg.pattern = regexp.MustCompile("^(?:" + c.String(FilePatternKey) + ")$")
	cfg.charset, _ = lookupEncoding(c.String(EncodingKey))
	cfg.csvDelim, _ = asciiChar(c.String(CSVDelimiterKey))
	cfg.csvQuote, _ = asciiChar(c.String(CSVQuoteKey))
	cfg.csvTypes, _ = parseColumnTypes(c.List(CSVTypesKey))
	cfg.topicPattern = placeholderRE.MatchString(cfg.topic)

	errs := map[string][]string{}
	add := func(key, msg string) { errs[key] = append(errs[key], msg) }
	if cfg.cleanup == CleanupMove && cfg.finishedPath == "" {
		add(FinishedPathKey, "cleanup.policy=move needs finished.path")
	}
	if cfg.csvDelim == cfg.csvQuote {
		add(CSVQuoteKey, "The quote character must differ from csv.delimiter")
	}
	if cfg.keyMode == KeyField && cfg.keyField == "" {
		add(KeyFieldKey, "record.key=field needs record.key.field")
	}
	if cfg.keyMode == KeyField && cfg.format != FormatCSV && cfg.format != FormatJSONL {
		add(KeyModeKey, "record.key=field needs format csv or jsonl")
	}
	for _, dir := range []struct{ key, path string }{{FinishedPathKey, cfg.finishedPath}, {ErrorPathKey, cfg.errorPath}} {
		for _, in := range cfg.inputs {
			if dir.path != "" && dir.path == in {
				add(dir.key, fmt.Sprintf("%s is also an input directory", dir.path))
			}
		}
	}
	if raw[taskCountKey] != "" {
		if _, err := fmt.Sscan(raw[taskCountKey], &cfg.taskCount); err != nil || cfg.taskCount < 1 {
			add(taskCountKey, "not a positive number")
		}
		if _, err := fmt.Sscan(raw[taskIndexKey], &cfg.taskIndex); err != nil || cfg.taskIndex < 0 || cfg.taskIndex >= cfg.taskCount {
			add(taskIndexKey, "not a task index")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ftp: %w", &connect.ConfigError{Errs: errs})
	}
	return cfg, nil
}

// cleanDir cleans an absolute server path; "" stays "".
func cleanDir(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}
