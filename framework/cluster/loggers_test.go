package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/framework/runtime"
)

// syncBuffer is a buffer a worker's goroutines log into concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loggingNode starts a node whose worker logs through its own LogLevels,
// root at INFO, into the returned buffer.
func loggingNode(t *testing.T, seeds []string) (*node, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	levels := runtime.NewLogLevels(slog.LevelInfo)
	logger := slog.New(levels.Handler(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.Level(math.MinInt32)})))
	return startNodeLogging(t, seeds, logger), buf
}

// loggerLevel is GET /admin/loggers/{name} on n.
func loggerLevel(t *testing.T, n *node, name string) (level string, modified bool) {
	t.Helper()
	resp, err := http.Get(n.client.BaseURL + "/admin/loggers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Level        string `json:"level"`
		LastModified *int64 `json:"last_modified"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /admin/loggers/%s on %s = %d %s", name, n.h.w.ID, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Level, out.LastModified != nil
}

// putLevel is PUT /admin/loggers/{name}?scope=... on n; it returns the
// status and body.
func putLevel(t *testing.T, n *node, name, scope, level string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, n.client.BaseURL+"/admin/loggers/"+name+"?scope="+scope,
		strings.NewReader(`{"level":"`+level+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClusterLoggerLevel: PUT /admin/loggers/{name}?scope=cluster through
// one worker sets the level on every worker (KIP-976): their GET shows it
// and their logs change. A worker started later leaves alone the levels
// written before it started, as Kafka Connect does, and applies the ones
// written after.
func TestClusterLoggerLevel(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	seeds := kc.ListenAddrs()
	a, aLog := loggingNode(t, seeds)
	b, bLog := loggingNode(t, seeds)
	waitFor(t, "both workers to know the leader", func() (bool, string) {
		return a.h.Ready() == nil && b.h.Ready() == nil, ""
	})
	for _, n := range []*node{a, b} {
		if lvl, mod := loggerLevel(t, n, "root"); lvl != "INFO" || mod {
			t.Fatalf("root on %s before any change: %s (modified %t); want INFO, never modified", n.h.w.ID, lvl, mod)
		}
	}
	nodes := []struct {
		n   *node
		log *syncBuffer
	}{{a, aLog}, {b, bLog}}
	for _, tc := range nodes {
		tc.n.h.logger.Debug("probe before")
		if strings.Contains(tc.log.String(), "probe before") {
			t.Fatalf("%s logged DEBUG under INFO:\n%s", tc.n.h.w.ID, tc.log)
		}
	}

	// Through a, in lower case as a client may send it.
	if status, body := putLevel(t, a, "root", "cluster", "debug"); status != http.StatusNoContent || body != "" {
		t.Fatalf("PUT root?scope=cluster = %d %q; want 204 and no body", status, body)
	}
	for _, n := range []*node{a, b} {
		waitFor(t, "root at DEBUG on "+n.h.w.ID, func() (bool, string) {
			lvl, mod := loggerLevel(t, n, "root")
			return lvl == "DEBUG" && mod, lvl
		})
	}
	// What each worker logs follows: its own debug records, and its REST
	// API's line for every request, which it logs at DEBUG.
	for _, tc := range nodes {
		tc.n.h.logger.Debug("probe after")
		if !strings.Contains(tc.log.String(), `level=DEBUG msg="probe after"`) {
			t.Errorf("%s at DEBUG did not log a debug record:\n%s", tc.n.h.w.ID, tc.log)
		}
		loggerLevel(t, tc.n, "root")
		waitFor(t, "a debug request line in "+tc.n.h.w.ID+"'s log", func() (bool, string) {
			return strings.Contains(tc.log.String(), `level=DEBUG msg="rest request" method=GET path=/admin/loggers/root`), ""
		})
	}

	// A worker started now left alone the level written before it started.
	c, cLog := loggingNode(t, seeds)
	if lvl, mod := loggerLevel(t, c, "root"); lvl != "INFO" || mod {
		t.Fatalf("root on the late worker: %s (modified %t); want its own INFO, as Kafka Connect ignores levels written before a worker starts", lvl, mod)
	}
	c.h.logger.Debug("probe late")
	if strings.Contains(cLog.String(), "level=DEBUG") {
		t.Fatalf("the late worker logs DEBUG:\n%s", cLog)
	}
	// A level set through it afterwards reaches every worker, it included.
	waitFor(t, "the late worker to know the leader", func() (bool, string) { return c.h.Ready() == nil, "" })
	if status, body := putLevel(t, c, "root", "CLUSTER", "WARN"); status != http.StatusNoContent {
		t.Fatalf("PUT root?scope=CLUSTER through the late worker = %d %s", status, body)
	}
	for _, n := range []*node{a, b, c} {
		waitFor(t, "root at WARN on "+n.h.w.ID, func() (bool, string) {
			lvl, _ := loggerLevel(t, n, "root")
			return lvl == "WARN", lvl
		})
	}
	nodes = append(nodes, struct {
		n   *node
		log *syncBuffer
	}{c, cLog})
	for _, tc := range nodes {
		tc.n.h.logger.Info("probe info")
		tc.n.h.logger.Warn("probe warn")
		if s := tc.log.String(); strings.Contains(s, "probe info") || !strings.Contains(s, "probe warn") {
			t.Errorf("%s under WARN logged:\n%s", tc.n.h.w.ID, s)
		}
	}

	// scope=worker stays on the worker it reaches.
	if status, body := putLevel(t, a, "root", "worker", "ERROR"); status != http.StatusOK || strings.TrimSpace(body) != `["root"]` {
		t.Fatalf("PUT root?scope=worker = %d %s", status, body)
	}
	if lvl, _ := loggerLevel(t, a, "root"); lvl != "ERROR" {
		t.Errorf("root on a after a worker-scoped ERROR: %s", lvl)
	}
	for _, n := range []*node{b, c} {
		if lvl, _ := loggerLevel(t, n, "root"); lvl != "WARN" {
			t.Errorf("root on %s after a worker-scoped ERROR on a: %s; want WARN", n.h.w.ID, lvl)
		}
	}
}
