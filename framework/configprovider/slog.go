package configprovider

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
)

// RedactingHandler is a slog.Handler that hides a Redactor's secrets in what
// it passes on to another handler: the message, string attributes, errors,
// and any other attribute value whose text shows a secret, inside groups at
// any depth.
//
// Attributes bound with Logger.With and groups opened with Logger.WithGroup
// are kept here and redacted at every record, not handed to the next
// handler when bound: a logger built before a connector's secrets were known
// must still hide them. Numbers, booleans, times and durations are passed
// on as they are.
type RedactingHandler struct {
	next     slog.Handler
	redactor *Redactor
	ops      []handlerOp // WithAttrs and WithGroup calls, in order
}

// handlerOp is one WithGroup (group set) or WithAttrs (attrs set) call.
type handlerOp struct {
	group string
	attrs []slog.Attr
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

// Handle redacts the record and the bound attributes and passes them on.
func (h *RedactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	attrs := make([]slog.Attr, 0, rec.NumAttrs())
	rec.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, h.redactAttr(a))
		return true
	})
	// Rebuild, innermost first, the nesting that the bound groups and
	// attributes would have given the record in the next handler.
	for i := len(h.ops) - 1; i >= 0; i-- {
		op := h.ops[i]
		if op.group != "" {
			if len(attrs) > 0 { // slog drops empty groups
				attrs = []slog.Attr{{Key: op.group, Value: slog.GroupValue(attrs...)}}
			}
			continue
		}
		bound := make([]slog.Attr, 0, len(op.attrs)+len(attrs))
		for _, a := range op.attrs {
			bound = append(bound, h.redactAttr(a))
		}
		attrs = append(bound, attrs...)
	}
	out := slog.NewRecord(rec.Time, rec.Level, h.redactor.Redact(rec.Message), rec.PC)
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
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
