package elasticsink

import (
	"bytes"
	"encoding/json"
)

// scanBulk reads a bulk answer the way parseBulk does, without building a
// map or a value per member: an answer of thousands of items is read in a
// pass over its bytes, and only item errors (rare) go through
// encoding/json. It returns false for anything it does not expect, and
// parseBulk then reads the answer with encoding/json.
func scanBulk(body []byte) (bulkAnswer, bool) {
	s := jsonScanner{b: body}
	var a bulkAnswer
	if !s.open('{') {
		return a, false
	}
	for more := !s.close('}'); more; more = s.next('}') {
		key, ok := s.key()
		if !ok {
			return a, false
		}
		switch string(key) {
		case "errors":
			switch {
			case s.literal("true"):
				a.Errors = true
			case s.literal("false"):
			default:
				return a, false
			}
		case "error":
			start := s.i
			if !s.skip() {
				return a, false
			}
			raw := s.b[start:s.i]
			if string(raw) != "null" {
				var str string
				if json.Unmarshal(raw, &str) != nil {
					str = string(raw)
				}
				a.Error = str
			}
		case "items":
			if a.Items != nil || !s.open('[') {
				return a, false // twice: encoding/json keeps the last
			}
			a.Items = []itemResult{}
			for more := !s.close(']'); more; more = s.next(']') {
				it, ok := s.item()
				if !ok {
					return a, false
				}
				a.Items = append(a.Items, it)
			}
		default:
			if foldsTo(key, "errors", "error", "items") || !s.skip() {
				return a, false // encoding/json matches names without regard to case
			}
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return a, false
	}
	if a.Items == nil {
		a.Items = []itemResult{}
	}
	return a, true
}

// jsonScanner walks JSON text; every method returns false at anything
// unexpected, leaving the answer to encoding/json.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\r' || s.b[s.i] == '\t') {
		s.i++
	}
}

func (s *jsonScanner) open(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// close consumes c if it comes next.
func (s *jsonScanner) close(c byte) bool { return s.open(c) }

// next consumes a comma (true: another member follows) or the closer.
func (s *jsonScanner) next(closer byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ',' {
		s.i++
		return true
	}
	if s.i < len(s.b) && s.b[s.i] == closer {
		s.i++
		return false
	}
	s.i = len(s.b) + 1 // malformed: the end check fails
	return false
}

// str reads a string without escapes and returns its bytes.
func (s *jsonScanner) str() ([]byte, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(s.b[s.i+1:], '"')
	if end < 0 {
		return nil, false
	}
	v := s.b[s.i+1 : s.i+1+end]
	if bytes.IndexByte(v, '\\') >= 0 {
		return nil, false
	}
	s.i += end + 2
	return v, true
}

func (s *jsonScanner) key() ([]byte, bool) {
	k, ok := s.str()
	if !ok || !s.open(':') {
		return nil, false
	}
	return k, true
}

func (s *jsonScanner) literal(lit string) bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// skip passes over one value, checking only its nesting and strings.
func (s *jsonScanner) skip() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return s.i > start
		case '"', '{', '[', ':':
			return false
		}
		s.i++
	}
	return s.i > start
}

func (s *jsonScanner) skipString() bool {
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return true
		}
	}
	return false
}

// int reads a non-negative integer.
func (s *jsonScanner) int() (int, bool) {
	s.ws()
	n, start := 0, s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 9 {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start || (s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E' || (s.b[s.i] >= '0' && s.b[s.i] <= '9'))) {
		return 0, false
	}
	return n, true
}

// item reads {"<action>": {... "status": N, "result": "...", "error": {...}}}.
func (s *jsonScanner) item() (itemResult, bool) {
	var it itemResult
	if !s.open('{') {
		return it, false
	}
	if _, ok := s.key(); !ok || !s.open('{') {
		return it, false
	}
	for more := !s.close('}'); more; more = s.next('}') {
		key, ok := s.key()
		if !ok {
			return it, false
		}
		switch string(key) {
		case "status":
			if it.Status, ok = s.int(); !ok {
				return it, false
			}
		case "result":
			r, ok := s.str()
			if !ok {
				return it, false
			}
			it.Result = string(r)
		case "error":
			start := s.i
			if !s.skip() {
				return it, false
			}
			var e itemErrorJ
			if err := json.Unmarshal(s.b[start:s.i], &e); err != nil {
				return it, false
			}
			if e.Type != "" || e.Reason != "" {
				it.Error = &e
			}
		default:
			if foldsTo(key, "status", "result", "error") || !s.skip() {
				return it, false
			}
		}
	}
	if s.i > len(s.b) || !s.close('}') {
		return it, false
	}
	return it, true
}

// foldsTo reports whether key equals one of names but for case.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}
