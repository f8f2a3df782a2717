package configprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type dbConfig struct {
	User     string
	Password string
}

type textSecret struct{ s string }

func (t textSecret) MarshalText() ([]byte, error) { return []byte("text:" + t.s), nil }
func (t textSecret) String() string               { return "opaque" }

type lazySecret struct{ s string }

func (l lazySecret) LogValue() slog.Value { return slog.StringValue("lazy " + l.s) }

func TestRedactingHandlerJSON(t *testing.T) {
	t.Parallel()
	const secret = "pg-s3cret"
	var buf bytes.Buffer
	red := &Redactor{}
	h := NewRedactingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}), red)
	// Bound before the secret is known: must still be redacted.
	logger := slog.New(h).With("connector", "pg", "dsn", "postgres://alice:"+secret+"@db/app").WithGroup("task")
	red.Add(secret)

	wrapped := fmt.Errorf("connect: %w", errors.New("password "+secret+" rejected"))
	logger.Info("connecting with "+secret,
		"id", 0,
		"password", secret,
		"err", wrapped,
		"bytes", []byte("raw "+secret),
		"struct", dbConfig{User: "alice", Password: secret},
		"text", textSecret{secret},
		"lazy", lazySecret{secret},
		slog.Group("outer", "note", "plain", slog.Group("inner", "pw", secret, "cause", wrapped)),
	)
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("log line shows the secret:\n%s", out)
	}

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	want := map[string]any{
		"level":     "INFO",
		"msg":       "connecting with " + Hidden,
		"connector": "pg",
		"dsn":       "postgres://alice:" + Hidden + "@db/app",
		"task": map[string]any{
			"id":       float64(0),
			"password": Hidden,
			"err":      "connect: password " + Hidden + " rejected",
			"bytes":    "raw " + Hidden,
			"struct":   "{User:alice Password:" + Hidden + "}",
			"text":     "opaque",
			"lazy":     "lazy " + Hidden,
			"outer": map[string]any{
				"note":  "plain",
				"inner": map[string]any{"pw": Hidden, "cause": "connect: password " + Hidden + " rejected"},
			},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("log line (-want +got):\n%s", d)
	}
}

// Without a secret in them, values reach the next handler as they were.
func TestRedactingHandlerPassesThrough(t *testing.T) {
	t.Parallel()
	var plain, redacted bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	log := func(l *slog.Logger) {
		l = l.With("worker", "w1").WithGroup("g").With("a", 1).WithGroup("empty")
		l.Info("no attrs here")
		l.Warn("some", "err", errors.New("boom"), "bytes", []byte("xyz"), "struct", dbConfig{User: "u"},
			slog.Group("grp", "k", "v"), slog.Group("", "inline", true))
	}
	log(slog.New(slog.NewJSONHandler(&plain, opts)))
	log(slog.New(NewRedactingHandler(slog.NewJSONHandler(&redacted, opts), NewRedactor("unrelated-secret"))))
	if d := cmp.Diff(plain.String(), redacted.String()); d != "" {
		t.Errorf("redacting handler changed lines without secrets (-plain +redacted):\n%s", d)
	}
}

func TestRedactingHandlerEnabled(t *testing.T) {
	t.Parallel()
	h := NewRedactingHandler(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}), nil)
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the next handler's level")
	}
}
