package transforms

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// Kafka Connect compiles RegexRouter's and TopicNameMatches's patterns as
// java.util.regex.Pattern. Go's regexp (RE2 syntax) reads the common
// subset the same way, leftmost-first alternation included; it refuses
// backreferences, lookaround and possessive quantifiers, which are
// reported as invalid patterns.

// fullRegex matches whole strings, as Java's Matcher.matches does.
type fullRegex struct {
	re   *regexp.Regexp // as written: for find and submatches
	full *regexp.Regexp // anchored at both ends
}

func compileRegex(pattern string) (*fullRegex, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	full, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, err
	}
	return &fullRegex{re: re, full: full}, nil
}

func (r *fullRegex) matches(s string) bool { return r.full.MatchString(s) }

// replacement is a compiled Java replacement string (Matcher.appendReplacement):
// \x is a literal x, $n a group number (as many digits as form a group that
// exists), ${name} a named group.
type replacement struct {
	parts []replPart
}

type replPart struct {
	lit   string
	group int // -1: literal
}

// compileReplacement checks repl against re's groups as Java does when it
// first replaces; connectd does it at configuration time.
func compileReplacement(repl string, re *regexp.Regexp) (*replacement, error) {
	r := &replacement{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			r.parts = append(r.parts, replPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	groups := re.NumSubexp()
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i >= len(repl) {
				return nil, fmt.Errorf("character to be escaped is missing")
			}
			lit.WriteByte(repl[i])
		case '$':
			i++
			if i >= len(repl) {
				return nil, fmt.Errorf("Illegal group reference: group index is missing")
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("named capturing group is missing trailing '}'")
				}
				name := repl[i+1 : i+end]
				if name == "" {
					return nil, fmt.Errorf("named capturing group has 0 length name")
				}
				idx := re.SubexpIndex(name)
				if idx < 0 {
					return nil, fmt.Errorf("No group with name {%s}", name)
				}
				flush()
				r.parts = append(r.parts, replPart{group: idx})
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return nil, fmt.Errorf("Illegal group reference")
			}
			n := int(repl[i] - '0')
			if n > groups {
				return nil, fmt.Errorf("No group %d", n)
			}
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
				next := n*10 + int(repl[i+1]-'0')
				if next > groups {
					break
				}
				n = next
				i++
			}
			flush()
			r.parts = append(r.parts, replPart{group: n})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return r, nil
}

// expand appends the replacement for a match with submatch indexes m of s.
func (r *replacement) expand(dst []byte, s string, m []int) []byte {
	for _, p := range r.parts {
		if p.group < 0 {
			dst = append(dst, p.lit...)
			continue
		}
		if a, b := m[2*p.group], m[2*p.group+1]; a >= 0 {
			dst = append(dst, s[a:b]...)
		}
	}
	return dst
}

// topicMemo remembers a per-topic result: records of one task go to few
// topics, so a router or predicate computes each topic's result once.
// It keeps at most maxTopics topics; others are computed each time.
type topicMemo[T any] struct {
	last atomic.Pointer[topicEntry[T]]
	m    sync.Map // string -> *topicEntry[T]
	n    atomic.Int32
}

type topicEntry[T any] struct {
	topic string
	val   T
}

const maxTopics = 1024

func (c *topicMemo[T]) get(topic string, compute func(string) T) T {
	if e := c.last.Load(); e != nil && e.topic == topic {
		return e.val
	}
	if v, ok := c.m.Load(topic); ok {
		e := v.(*topicEntry[T])
		c.last.Store(e)
		return e.val
	}
	e := &topicEntry[T]{topic: topic, val: compute(topic)}
	if c.n.Load() < maxTopics {
		if _, loaded := c.m.LoadOrStore(topic, e); !loaded {
			c.n.Add(1)
		}
	}
	c.last.Store(e)
	return e.val
}
