package transforms

import (
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// RegexRouter: Kafka Connect's org.apache.kafka.connect.transforms.RegexRouter.

var regexRouterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "regex", Type: connect.TypeString, Required: true, Importance: connect.High,
		Validator: validRegex,
		Doc:       "The regular expression that the whole topic name must match."},
	connect.ConfigKey{Name: "replacement", Type: connect.TypeString, Required: true, Importance: connect.High,
		Doc: "The new topic name: $1, $2... and ${name} insert the match's groups, \\ escapes the next character."},
)

func validRegex(v any) error {
	if _, err := compileRegex(v.(string)); err != nil {
		return errf("Invalid regex: %v", err)
	}
	return nil
}

type regexRouter struct {
	re   *fullRegex
	repl *replacement
	memo topicMemo[string]
}

func newRegexRouter(cfg *connect.Config, _ Env) (updater, error) {
	re, err := compileRegex(cfg.String("regex"))
	if err != nil {
		v := cfg.String("regex")
		return nil, keyError("regex", &v, "Invalid regex: %v", err)
	}
	repl, err := compileReplacement(cfg.String("replacement"), re.re)
	if err != nil {
		v := cfg.String("replacement")
		return nil, keyError("replacement", &v, "%v", err)
	}
	return &regexRouter{re: re, repl: repl}, nil
}

// route returns the new topic, or topic itself when the regex does not
// match it whole. As Java's replaceFirst after matches(), the replacement
// applies to the first match that find() sees, which is the whole topic
// unless a shorter alternative wins at its start.
func (t *regexRouter) route(topic string) string {
	m := t.re.re.FindStringSubmatchIndex(topic)
	if m == nil {
		return topic
	}
	if m[0] != 0 || m[1] != len(topic) {
		if !t.re.matches(topic) {
			return topic
		}
	}
	out := make([]byte, 0, len(topic)+16)
	out = append(out, topic[:m[0]]...)
	out = t.repl.expand(out, topic, m)
	out = append(out, topic[m[1]:]...)
	return string(out)
}

func (t *regexRouter) update(r *connect.Record, own *owned) (bool, error) {
	topic := t.memo.get(r.Topic, t.route)
	if topic == r.Topic {
		return true, nil
	}
	r.Topic = topic
	return true, nil
}

// TimestampRouter: Kafka Connect's org.apache.kafka.connect.transforms.TimestampRouter.

var timestampRouterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic.format", Type: connect.TypeString, Default: "${topic}-${timestamp}", Importance: connect.High,
		Doc: "The new topic name, where ${topic} stands for the topic and ${timestamp} for the record's formatted timestamp."},
	connect.ConfigKey{Name: "timestamp.format", Type: connect.TypeString, Default: "yyyyMMdd", Importance: connect.High,
		Validator: validDatePattern,
		Doc:       "How to format the timestamp: a java.text.SimpleDateFormat pattern, applied in UTC."},
)

func validDatePattern(v any) error {
	if _, err := compileDateFormat(v.(string)); err != nil {
		return err
	}
	return nil
}

type timestampRouter struct {
	parts  []string // topic.format split at each ${topic}
	tokens []string // topic.format split at each ${topic} and ${timestamp}, kept as tokens
	// fast: topic.format has no '$' but in its placeholders, so one pass
	// over tokens is exact for topics without '$'.
	fast   bool
	format *dateFormat
}

func newTimestampRouter(cfg *connect.Config, _ Env) (updater, error) {
	f, err := compileDateFormat(cfg.String("timestamp.format"))
	if err != nil {
		v := cfg.String("timestamp.format")
		return nil, keyError("timestamp.format", &v, "%v", err)
	}
	t := &timestampRouter{format: f}
	t.parts = splitTopicFormat(cfg.String("topic.format"))
	t.tokens = tokenize(cfg.String("topic.format"))
	for _, tok := range t.tokens {
		if tok != "${topic}" && tok != "${timestamp}" && strings.Contains(tok, "$") {
			t.fast = false
			return t, nil
		}
	}
	t.fast = true
	return t, nil
}

// splitTopicFormat splits format at every ${topic}. Java replaces
// ${topic} first, then ${timestamp} in the result, so a topic name that
// contains "${timestamp}" has it replaced too; Apply does the same.
func splitTopicFormat(format string) []string {
	return strings.Split(format, "${topic}")
}

func (t *timestampRouter) update(r *connect.Record, own *owned) (bool, error) {
	if r.Timestamp.IsZero() {
		return false, dataErr("Timestamp missing on record: %s", recordString(r))
	}
	var tsBuf [64]byte
	ts := t.format.appendFormat(tsBuf[:0], r.Timestamp)
	if t.fast && !strings.Contains(r.Topic, "$") {
		// The usual case: one pass over the format's tokens.
		out := make([]byte, 0, len(r.Topic)+len(ts)+16)
		for _, tok := range t.tokens {
			switch tok {
			case "${topic}":
				out = append(out, r.Topic...)
			case "${timestamp}":
				out = append(out, ts...)
			default:
				out = append(out, tok...)
			}
		}
		r.Topic = string(out)
		return true, nil
	}
	var b strings.Builder
	for i, p := range t.parts {
		if i > 0 {
			b.WriteString(r.Topic)
		}
		b.WriteString(p)
	}
	withTopic := b.String()
	r.Topic = strings.ReplaceAll(withTopic, "${timestamp}", string(ts))
	return true, nil
}

// tokenize splits format into literal text and the placeholders ${topic}
// and ${timestamp}, in order. Replacing ${topic} first and ${timestamp}
// after, as Kafka Connect does, gives the same result as one pass over
// these tokens when the topic holds no '$'.
func tokenize(format string) []string {
	var out []string
	for format != "" {
		i, j := strings.Index(format, "${topic}"), strings.Index(format, "${timestamp}")
		switch {
		case i < 0 && j < 0:
			return append(out, format)
		case j < 0 || (i >= 0 && i < j):
			if i > 0 {
				out = append(out, format[:i])
			}
			out = append(out, "${topic}")
			format = format[i+len("${topic}"):]
		default:
			if j > 0 {
				out = append(out, format[:j])
			}
			out = append(out, "${timestamp}")
			format = format[j+len("${timestamp}"):]
		}
	}
	return out
}
