package converters

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
)

// The keys the schema registry converters share, as Confluent's
// AbstractKafkaSchemaSerDeConfig names them.
const (
	registryURLConfig            = "schema.registry.url"
	basicAuthSourceConfig        = "basic.auth.credentials.source"
	basicAuthUserInfoConfig      = "basic.auth.user.info"
	legacyUserInfoConfig         = "schema.registry.basic.auth.user.info"
	bearerAuthSourceConfig       = "bearer.auth.credentials.source"
	bearerAuthTokenConfig        = "bearer.auth.token"
	autoRegisterConfig           = "auto.register.schemas"
	useLatestVersionConfig       = "use.latest.version"
	latestCompatStrictConfig     = "latest.compatibility.strict"
	keySubjectStrategyConfig     = "key.subject.name.strategy"
	valueSubjectStrategyConfig   = "value.subject.name.strategy"
	maxSchemasPerSubjectConfig   = "max.schemas.per.subject"
	registryRequestTimeoutConfig = "schema.registry.request.timeout.ms"
)

// The subject name strategies, by Confluent's class names.
const (
	topicNameStrategy       = "io.confluent.kafka.serializers.subject.TopicNameStrategy"
	recordNameStrategy      = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
	topicRecordNameStrategy = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
	associatedNameStrategy  = "io.confluent.kafka.serializers.subject.AssociatedNameStrategy"
)

// subjectStrategy names the subject a schema is registered under.
type subjectStrategy int

const (
	strategyTopic subjectStrategy = iota
	strategyRecord
	strategyTopicRecord
)

var strategyNames = map[string]subjectStrategy{
	topicNameStrategy: strategyTopic, "TopicNameStrategy": strategyTopic,
	// AssociatedNameStrategy asks the registry for a topic's associated
	// subject and falls back to TopicNameStrategy; connectd uses the
	// fallback.
	associatedNameStrategy: strategyTopic, "AssociatedNameStrategy": strategyTopic,
	recordNameStrategy: strategyRecord, "RecordNameStrategy": strategyRecord,
	topicRecordNameStrategy: strategyTopicRecord, "TopicRecordNameStrategy": strategyTopicRecord,
}

func validStrategy(v any) error {
	if _, ok := strategyNames[strings.TrimSpace(v.(string))]; !ok {
		return fmt.Errorf("unknown subject name strategy; known: %s, %s, %s", topicNameStrategy, recordNameStrategy, topicRecordNameStrategy)
	}
	return nil
}

// notSupported defines a boolean key of Confluent's converter that this
// one does not implement: false, its default, is accepted; true is refused
// rather than ignored, since it would change the schemas or the data.
func notSupported(name string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low,
		Doc: "Not supported by this converter: only false (the default) is accepted.",
		Validator: func(v any) error {
			if v == true {
				return errors.New("not supported by this converter (only false)")
			}
			return nil
		}}
}

// registryKeys are the definitions of the shared keys.
func registryKeys() []connect.ConfigKey {
	return []connect.ConfigKey{
		{Name: registryURLConfig, Type: connect.TypeList, Required: true, Importance: connect.High,
			Doc: "Comma-separated list of URLs for schema registry instances that can be used to register or look up schemas. A request that cannot reach one is sent to the next."},
		{Name: basicAuthSourceConfig, Type: connect.TypeString, Default: "URL", Importance: connect.Medium,
			Doc:       "Specify how to pick the credentials for Basic Auth header. The supported values are URL (the user info of the URL) and USER_INFO (basic.auth.user.info); SASL_INHERIT is not supported.",
			Validator: connect.OneOf("URL", "USER_INFO"), Recommended: []string{"URL", "USER_INFO"}},
		{Name: basicAuthUserInfoConfig, Type: connect.TypePassword, Default: "", Importance: connect.Medium,
			Doc: "Specify the user info for Basic Auth in the form of {username}:{password}"},
		{Name: legacyUserInfoConfig, Type: connect.TypePassword, Default: "", Importance: connect.Medium,
			Doc: "Deprecated name of basic.auth.user.info."},
		{Name: bearerAuthSourceConfig, Type: connect.TypeString, Default: "STATIC_TOKEN", Importance: connect.Medium,
			Doc:       "Specify how to pick the credentials for Bearer Auth header. Only STATIC_TOKEN (bearer.auth.token) is supported.",
			Validator: connect.OneOf("STATIC_TOKEN"), Recommended: []string{"STATIC_TOKEN"}},
		{Name: bearerAuthTokenConfig, Type: connect.TypePassword, Default: "", Importance: connect.Medium,
			Doc: "Specify the Bearer token to be used for authentication"},
		{Name: autoRegisterConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Medium,
			Doc: "Specify if the Serializer should attempt to register the Schema with Schema Registry"},
		{Name: useLatestVersionConfig, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low,
			Doc: "Specify if the Serializer should use the latest subject version for serialization. Reading, the latest subject version is the reader's schema that data is resolved to."},
		{Name: latestCompatStrictConfig, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
			Doc: "Whether to check for backward compatibility between the latest subject version and the Schema of the object to be serialized"},
		{Name: keySubjectStrategyConfig, Type: connect.TypeClass, Default: topicNameStrategy, Importance: connect.Medium,
			Doc:       "Determines how to construct the subject name under which the key schema is registered with the schema registry. By default, <topic>-key is used as subject.",
			Validator: validStrategy, Recommended: []string{topicNameStrategy, recordNameStrategy, topicRecordNameStrategy}},
		{Name: valueSubjectStrategyConfig, Type: connect.TypeClass, Default: topicNameStrategy, Importance: connect.Medium,
			Doc:       "Determines how to construct the subject name under which the value schema is registered with the schema registry. By default, <topic>-value is used as subject.",
			Validator: validStrategy, Recommended: []string{topicNameStrategy, recordNameStrategy, topicRecordNameStrategy}},
		{Name: maxSchemasPerSubjectConfig, Type: connect.TypeInt, Default: "1000", Importance: connect.Low,
			Doc: "Maximum number of schemas to create or cache locally."},
		{Name: registryRequestTimeoutConfig, Type: connect.TypeInt, Default: "30000", Importance: connect.Low,
			Doc:       "How long, in milliseconds, one request to the schema registry may take (a connectd key). A request that times out is a retriable error (errors.retry.timeout).",
			Validator: connect.AtLeast(1)},
	}
}

// registry is a converter's schema registry client: franz-go's sr client,
// with the caches that make one request per new schema rather than per
// record. It is safe for concurrent use.
type registry struct {
	cl       *sr.Client
	timeout  time.Duration
	autoReg  bool
	latest   bool
	strict   bool
	strategy subjectStrategy
	isKey    bool

	mu       sync.Mutex
	ids      *lru[subjectText, int]      // (subject, schema) -> id
	texts    *lru[int, sr.Schema]        // id -> schema
	versions *lru[subjectID, int]        // (subject, id) -> version
	latests  map[string]sr.SubjectSchema // subject -> latest version
}

type subjectText struct{ subject, text string }

type subjectID struct {
	subject string
	id      int
}

// newRegistry builds the client from a parsed config.
func newRegistry(cfg *connect.Config, isKey bool) (*registry, error) {
	var urls []string
	var user, pass string
	for _, raw := range cfg.List(registryURLConfig) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("%s: %q is not an http or https URL", registryURLConfig, raw)
		}
		if u.User != nil && user == "" {
			// Credentials stay out of the URLs, which appear in errors.
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User = nil
		urls = append(urls, u.String())
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s: no URL", registryURLConfig)
	}
	if strings.EqualFold(cfg.String(basicAuthSourceConfig), "USER_INFO") {
		info := cfg.Password(basicAuthUserInfoConfig)
		if info == "" {
			info = cfg.Password(legacyUserInfoConfig)
		}
		var ok bool
		if user, pass, ok = strings.Cut(info, ":"); !ok {
			return nil, fmt.Errorf("%s: expected {username}:{password}", basicAuthUserInfoConfig)
		}
	}
	timeout := time.Duration(cfg.Int(registryRequestTimeoutConfig)) * time.Millisecond
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// One request per new schema: no connection is kept between them, so
	// a converter leaves no goroutine behind and needs no Close.
	tr.DisableKeepAlives = true
	opts := []sr.ClientOpt{sr.URLs(urls...), sr.HTTPClient(&http.Client{Transport: tr, Timeout: timeout}), sr.UserAgent("connectd")}
	if user != "" {
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	if tok := cfg.Password(bearerAuthTokenConfig); tok != "" {
		opts = append(opts, sr.BearerToken(tok))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	strategyKey := valueSubjectStrategyConfig
	if isKey {
		strategyKey = keySubjectStrategyConfig
	}
	size := cfg.Int(maxSchemasPerSubjectConfig)
	return &registry{
		cl: cl, timeout: timeout, isKey: isKey,
		autoReg:  cfg.Bool(autoRegisterConfig),
		latest:   cfg.Bool(useLatestVersionConfig),
		strict:   cfg.Bool(latestCompatStrictConfig),
		strategy: strategyNames[strings.TrimSpace(cfg.String(strategyKey))],
		ids:      newLRU[subjectText, int](size),
		texts:    newLRU[int, sr.Schema](size),
		versions: newLRU[subjectID, int](size),
		latests:  map[string]sr.SubjectSchema{},
	}, nil
}

// subject names the subject of a schema for topic; recordName is the full
// name of the schema's record (for Avro), or "" when it is not a record.
func (r *registry) subject(topic, recordName string) (string, error) {
	if r.strategy == strategyTopic {
		if r.isKey {
			return topic + "-key", nil
		}
		return topic + "-value", nil
	}
	if recordName == "" {
		key, class, what := valueSubjectStrategyConfig, recordNameStrategy, "value"
		if r.isKey {
			key, what = keySubjectStrategyConfig, "key"
		}
		if r.strategy == strategyTopicRecord {
			class = topicRecordNameStrategy
		}
		return "", fmt.Errorf("In configuration %s = %s, the message %s must only be a record schema", key, class, what)
	}
	if r.strategy == strategyRecord {
		return recordName, nil
	}
	return topic + "-" + recordName, nil
}

func (r *registry) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.timeout)
}

// id returns the id of schema s in subject: registered there when
// auto.register.schemas is on, else looked up (the schema must already be
// registered). The answer is cached.
func (r *registry) id(subject string, s sr.Schema) (int, error) {
	key := subjectText{subject, s.Schema}
	if id, ok := r.ids.get(key); ok {
		return id, nil
	}
	ctx, cancel := r.ctx()
	defer cancel()
	var id int
	if r.autoReg {
		var err error
		if id, err = r.cl.RegisterSchema(ctx, subject, s, -1, -1); err != nil {
			return 0, registryError(fmt.Sprintf("registering the schema under subject %q", subject), err)
		}
	} else {
		ss, err := r.cl.LookupSchema(ctx, subject, s)
		if err != nil {
			return 0, registryError(fmt.Sprintf("looking up the schema in subject %q (auto.register.schemas=false)", subject), err)
		}
		id = ss.ID
	}
	r.ids.put(key, id)
	r.texts.put(id, s)
	return id, nil
}

// schemaByID returns the schema registered with id.
func (r *registry) schemaByID(id int) (sr.Schema, error) {
	if s, ok := r.texts.get(id); ok {
		return s, nil
	}
	ctx, cancel := r.ctx()
	defer cancel()
	s, err := r.cl.SchemaByID(ctx, id)
	if err != nil {
		return sr.Schema{}, registryError(fmt.Sprintf("fetching the schema of id %d", id), err)
	}
	r.texts.put(id, s)
	return s, nil
}

// version returns the version of schema s (of id) in subject.
func (r *registry) version(subject string, id int, s sr.Schema) (int, error) {
	key := subjectID{subject, id}
	if v, ok := r.versions.get(key); ok {
		return v, nil
	}
	ctx, cancel := r.ctx()
	defer cancel()
	ss, err := r.cl.LookupSchema(ctx, subject, s)
	if err != nil {
		return 0, registryError(fmt.Sprintf("looking up the version of schema id %d in subject %q", id, subject), err)
	}
	r.versions.put(key, ss.Version)
	return ss.Version, nil
}

// latestVersion returns the subject's latest version, fetched once (as
// Confluent's latest.cache.ttl.sec=-1 keeps it).
func (r *registry) latestVersion(subject string) (sr.SubjectSchema, error) {
	r.mu.Lock()
	ss, ok := r.latests[subject]
	r.mu.Unlock()
	if ok {
		return ss, nil
	}
	ctx, cancel := r.ctx()
	defer cancel()
	ss, err := r.cl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		return sr.SubjectSchema{}, registryError(fmt.Sprintf("fetching the latest version of subject %q (use.latest.version=true)", subject), err)
	}
	r.mu.Lock()
	r.latests[subject] = ss
	r.mu.Unlock()
	r.texts.put(ss.ID, ss.Schema)
	return ss, nil
}

// RegistryError is the error of a request to the schema registry that the
// registry answered; Code is its error_code (40403: schema not found, 409:
// incompatible, ...).
type RegistryError struct {
	Op         string
	StatusCode int
	Code       int
	Message    string
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("schema registry: %s: %s (HTTP %d, error code %d)", e.Op, e.Message, e.StatusCode, e.Code)
}

// registryError describes a failed request. What may succeed when tried
// again is marked retriable (connect.Retriable): the registry unreachable
// or timing out, and the answers Confluent's serializers treat as
// timeouts (408, 429, 500, 502, 503, 504).
func registryError(op string, err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		e := &RegistryError{Op: op, StatusCode: re.StatusCode, Code: re.ErrorCode, Message: re.Message}
		if e.Message == "" {
			e.Message = string(re.Raw)
		}
		switch re.StatusCode {
		case 408, 429, 500, 502, 503, 504:
			return connect.Retriable(e)
		}
		return e
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return connect.Retriable(fmt.Errorf("schema registry: %s: unreachable: %w", op, err))
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return connect.Retriable(fmt.Errorf("schema registry: %s: unreachable: %w", op, err))
	}
	return fmt.Errorf("schema registry: %s: %w", op, err)
}

// Confluent's wire format: magic byte 0, the schema id as a 4-byte
// big-endian integer, then the payload.
const (
	wireMagic     = 0
	wireGUIDMagic = 1
	wireHeaderLen = 5
)

func appendWireHeader(b []byte, id int) []byte {
	b = append(b, wireMagic)
	return binary.BigEndian.AppendUint32(b, uint32(id))
}

// wireID splits data in Confluent's wire format into schema id and payload.
func wireID(data []byte) (int, []byte, error) {
	if len(data) == 0 {
		return 0, nil, errors.New("Unknown magic byte!: the record is empty, not in the schema registry's wire format")
	}
	switch data[0] {
	case wireMagic:
	case wireGUIDMagic:
		return 0, nil, errors.New("the record names its schema by GUID (magic byte 1), which connectd does not support: use schema ids")
	default:
		return 0, nil, fmt.Errorf("Unknown magic byte!: the record starts with 0x%02x, not 0x00: it was not written in the schema registry's wire format (magic byte 0, 4-byte schema id, payload)", data[0])
	}
	if len(data) < wireHeaderLen {
		return 0, nil, fmt.Errorf("the record has %d bytes, shorter than the 5 of the schema registry's wire header", len(data))
	}
	return int(binary.BigEndian.Uint32(data[1:wireHeaderLen])), data[wireHeaderLen:], nil
}
