package configprovider

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Hidden replaces a secret in redacted text: what Kafka Connect shows for a
// password.
const Hidden = "[hidden]"

// Redactor replaces every occurrence of known secret values in text with
// Hidden. Secrets are only ever added (a value once secret stays hidden, even
// after the connector that used it is gone). It matches exact bytes: a
// secret that text shows escaped or encoded (JSON-escaped, URL-encoded,
// base64) is not found.
//
// The zero Redactor knows no secrets and is ready to use. A Redactor is safe
// for concurrent use; Redact takes no lock.
type Redactor struct {
	mu      sync.Mutex               // serialises Add
	secrets atomic.Pointer[[]string] // sorted, distinct, non-empty; replaced whole on Add
}

// NewRedactor returns a Redactor that knows secrets.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add makes secrets known. Empty strings are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cur []string
	if p := r.secrets.Load(); p != nil {
		cur = *p
	}
	next := slices.Clone(cur)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if i, ok := slices.BinarySearch(next, s); !ok {
			next = slices.Insert(next, i, s)
		}
	}
	if len(next) != len(cur) {
		r.secrets.Store(&next)
	}
}

// Len returns how many distinct secrets r knows.
func (r *Redactor) Len() int {
	return len(r.load())
}

func (r *Redactor) load() []string {
	if p := r.secrets.Load(); p != nil {
		return *p
	}
	return nil
}

// Contains reports whether s holds a known secret.
func (r *Redactor) Contains(s string) bool {
	for _, sec := range r.load() {
		if strings.Contains(s, sec) {
			return true
		}
	}
	return false
}

// Redact returns s with every known secret replaced by Hidden. Where
// occurrences overlap (of one secret, as "aa" in "aaa", or of two), the
// whole overlapping stretch becomes one Hidden, so no part of either is left.
// s itself is returned when it holds no secret.
func (r *Redactor) Redact(s string) string {
	secrets := r.load()
	if len(secrets) == 0 {
		return s
	}
	type span struct{ start, end int }
	var spans []span
	for _, sec := range secrets {
		for from := 0; from < len(s); {
			i := strings.Index(s[from:], sec)
			if i < 0 {
				break
			}
			i += from
			spans = append(spans, span{i, i + len(sec)})
			from = i + 1 // overlapping occurrences too
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	last := 0 // end of text already written or hidden
	for i := 0; i < len(spans); {
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start <= end; i++ {
			end = max(end, spans[i].end)
		}
		b.WriteString(s[last:start])
		b.WriteString(Hidden)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}
