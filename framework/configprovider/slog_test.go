package configprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
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

// A logger that already logged (and so built its next handler) with bound
// attributes must hide a secret added afterwards.
func TestRedactingHandlerSecretAddedLater(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	red := &Redactor{}
	logger := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil), red)).
		With("dsn", "postgres://alice:later-s3cret@db").WithGroup("g").With("pw", "later-s3cret")
	logger.Info("before")
	if !strings.Contains(buf.String(), "later-s3cret") {
		t.Fatalf("before Add, the value was hidden: %s", buf.String())
	}
	buf.Reset()
	red.Add("later-s3cret")
	logger.Info("after", "k", "v")
	if strings.Contains(buf.String(), "later-s3cret") {
		t.Fatalf("after Add, the line shows the secret: %s", buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["dsn"] != "postgres://alice:"+Hidden+"@db" || !cmp.Equal(got["g"], map[string]any{"pw": Hidden, "k": "v"}) {
		t.Errorf("line after Add = %v", got)
	}
}

// For the race detector: log from several goroutines while secrets are added.
func TestRedactingHandlerConcurrent(t *testing.T) {
	t.Parallel()
	red := &Redactor{}
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(NewRedactingHandler(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, nil), red)).With("bound", "<s-0-9>")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				red.Add(fmt.Sprintf("<s-%d-%d>", w, i))
				logger.Info("line", "v", fmt.Sprintf("<s-%d-%d>", w, i))
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	// Each line's v was added as a secret before the line was logged.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["v"] != Hidden {
			t.Errorf("line shows a secret added before it was logged: %s", l)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
