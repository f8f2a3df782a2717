package configprovider

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
)

// RedactingHandler is a slog.Handler that hides a Redactor's secrets in what
// it passes on to another handler: the message, string attributes, errors,
// and any other attribute value whose text shows a secret, inside groups at
// any depth. Numbers, booleans, times and durations are passed on as they
// are.
//
// Attributes bound with Logger.With are redacted with the secrets known when
// a record is logged, not only those known when they were bound: a logger
// built before a connector's secrets were added must still hide them. The
// next handler derived from the bound attributes is therefore rebuilt after
// every Redactor.Add that adds a secret, on the next record.
type RedactingHandler struct {
	next     slog.Handler
	redactor *Redactor
	ops      []handlerOp // WithAttrs and WithGroup calls, in order

	// derived is next with ops applied, bound attributes redacted with the
	// secrets in derived.secrets.
	derived atomic.Pointer[derivedHandler]
}

// handlerOp is one WithGroup (group set) or WithAttrs (attrs set) call.
type handlerOp struct {
	group string
	attrs []slog.Attr
}

type derivedHandler struct {
	secrets *[]string // the Redactor's secrets it was built with
	h       slog.Handler
}

// NewRedactingHandler returns a handler that redacts with r and passes
// records on to next. Secrets added to r later are hidden from then on, also
// by loggers derived before. A nil r hides nothing.
func NewRedactingHandler(next slog.Handler, r *Redactor) *RedactingHandler {
	if r == nil {
		r = &Redactor{}
	}
	return &RedactingHandler{next: next, redactor: r}
}

// Enabled reports whether the next handler handles records at level.
func (h *RedactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(handlerOp{attrs: slices.Clone(attrs)})
}

// WithGroup returns a handler that puts the attributes of every record, and
// those added later, in the group name.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(handlerOp{group: name})
}

func (h *RedactingHandler) with(op handlerOp) *RedactingHandler {
	return &RedactingHandler{next: h.next, redactor: h.redactor, ops: append(slices.Clip(h.ops), op)}
}

// Handle redacts the record and passes it on.
func (h *RedactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	next := h.nextHandler()
	out := slog.NewRecord(rec.Time, rec.Level, h.redactor.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.redactAttr(a))
		return true
	})
	return next.Handle(ctx, out)
}

// nextHandler returns the next handler with the bound groups and redacted
// attributes applied, built anew when secrets were added since.
func (h *RedactingHandler) nextHandler() slog.Handler {
	if len(h.ops) == 0 {
		return h.next
	}
	// Load the secrets before redacting with them: if an Add comes in
	// between, the result is keyed older than it is and merely rebuilt once
	// more, never kept when stale.
	secrets := h.redactor.secrets.Load()
	if d := h.derived.Load(); d != nil && d.secrets == secrets {
		return d.h
	}
	n := h.next
	for _, op := range h.ops {
		if op.group != "" {
			n = n.WithGroup(op.group)
			continue
		}
		attrs := make([]slog.Attr, len(op.attrs))
		for i, a := range op.attrs {
			attrs[i] = h.redactAttr(a)
		}
		n = n.WithAttrs(attrs)
	}
	h.derived.Store(&derivedHandler{secrets: secrets, h: n})
	return n
}

func (h *RedactingHandler) redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); h.redactor.Contains(s) {
			return slog.String(a.Key, h.redactor.Redact(s))
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = h.redactAttr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if s, ok := h.redactAny(v.Any()); ok {
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactAny returns the redacted text of x, and true, if any of the ways a
// handler may print x shows a secret.
func (h *RedactingHandler) redactAny(x any) (string, bool) {
	if h.redactor.Len() == 0 {
		return "", false // spare the formatting below
	}
	switch t := x.(type) {
	case nil:
		return "", false
	case error:
		if s := t.Error(); h.redactor.Contains(s) {
			return h.redactor.Redact(s), true
		}
		return "", false
	case []byte:
		// JSONHandler prints these as base64, where no secret would be found.
		if s := string(t); h.redactor.Contains(s) {
			return h.redactor.Redact(s), true
		}
		return "", false
	}
	text := fmt.Sprintf("%+v", x)
	leak := h.redactor.Contains(text)
	if m, ok := x.(encoding.TextMarshaler); ok && !leak {
		if b, err := m.MarshalText(); err == nil {
			leak = h.redactor.Contains(string(b))
		}
	}
	if m, ok := x.(json.Marshaler); ok && !leak {
		if b, err := m.MarshalJSON(); err == nil {
			leak = h.redactor.Contains(string(b))
		}
	}
	if !leak {
		return "", false
	}
	return h.redactor.Redact(text), true
}
