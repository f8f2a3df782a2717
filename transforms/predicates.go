package transforms

import (
	"github.com/connectd/connectd/framework/connect"
)

// The predicates Kafka Connect ships, under
// org.apache.kafka.connect.transforms.predicates.

var topicNameMatchesDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "pattern", Type: connect.TypeString, Required: true, Importance: connect.Medium,
		Validator: func(v any) error {
			if v.(string) == "" {
				return errf("String must be non-empty")
			}
			return validRegex(v)
		},
		Doc: "The regular expression that the whole topic name must match."},
)

// topicNameMatches is true for records whose whole topic matches pattern.
type topicNameMatches struct {
	re   *fullRegex
	memo topicMemo[bool]
}

func newTopicNameMatches(cfg *connect.Config, _ Env) (Predicate, error) {
	p := cfg.String("pattern")
	re, err := compileRegex(p)
	if err != nil {
		return nil, keyError("pattern", &p, "entry must be a Java-compatible regular expression: %v", err)
	}
	return &topicNameMatches{re: re}, nil
}

func (p *topicNameMatches) Test(r *connect.Record) bool {
	return p.memo.get(r.Topic, p.re.matches)
}

var hasHeaderKeyDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "name", Type: connect.TypeString, Required: true, Importance: connect.Medium,
		Validator: func(v any) error {
			if v.(string) == "" {
				return errf("String must be non-empty")
			}
			return nil
		},
		Doc: "The header name."},
)

// hasHeaderKey is true for records with at least one header called name.
type hasHeaderKey struct{ name string }

func newHasHeaderKey(cfg *connect.Config, _ Env) (Predicate, error) {
	return hasHeaderKey{name: cfg.String("name")}, nil
}

func (p hasHeaderKey) Test(r *connect.Record) bool {
	for i := range r.Headers {
		if r.Headers[i].Key == p.name {
			return true
		}
	}
	return false
}

// recordIsTombstone is true for records with a null value.
type recordIsTombstone struct{}

func newRecordIsTombstone(*connect.Config, Env) (Predicate, error) { return recordIsTombstone{}, nil }

func (recordIsTombstone) Test(r *connect.Record) bool { return r.Value == nil }
