package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// TestRESTAdminLoggers changes a running worker's log levels through
// Kafka Connect's /admin/loggers (KIP-495) and checks what it then logs.
// connectd dev starts at --log-level warn; its REST API logs each request
// at DEBUG ("rest request").
func TestRESTAdminLoggers(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	check := func(method, path, body string, wantStatus int, wantBody string) {
		t.Helper()
		status, got := do(t, p.rest, method, path, body)
		if status != wantStatus || strings.TrimSpace(got) != wantBody {
			t.Fatalf("%s %s %s = %d %s; want %d %s", method, path, body, status, got, wantStatus, wantBody)
		}
	}
	check("GET", "/admin/loggers", "", 200, `{"root":{"level":"WARN","last_modified":null}}`)
	check("GET", "/admin/loggers/root", "", 200, `{"level":"WARN","last_modified":null}`)
	check("GET", "/admin/loggers/nope", "", 404, `{"error_code":404,"message":"Logger nope not found."}`)
	check("PUT", "/admin/loggers/root", `{"level":"LOUD"}`, 404, `{"error_code":404,"message":"invalid log level 'LOUD'."}`)
	check("PUT", "/admin/loggers/root", `{}`, 400, `{"error_code":400,"message":"Desired 'level' parameter was not specified in request."}`)

	do(t, p.rest, "GET", "/connectors/quiet-request", "")
	before := time.Now().UnixMilli()
	check("PUT", "/admin/loggers/root", `{"level":"DEBUG"}`, 200, `["root"]`)
	after := time.Now().UnixMilli()
	do(t, p.rest, "GET", "/connectors/loud-request", "")
	waitFor(t, 30*time.Second, "the request logged at DEBUG", func() (bool, string) {
		return strings.Contains(p.LogTail(1<<20), "/connectors/loud-request"), ""
	})
	if strings.Contains(p.LogTail(1<<20), "/connectors/quiet-request") {
		t.Fatal("a request made while the root logger was at WARN was logged at DEBUG")
	}
	var lvl herder.LoggerLevel
	if _, body := do(t, p.rest, "GET", "/admin/loggers/root", ""); json.Unmarshal([]byte(body), &lvl) != nil ||
		lvl.Level != "DEBUG" || lvl.LastModified == nil || *lvl.LastModified < before || *lvl.LastModified > after {
		t.Fatalf("GET root after PUT = %s; want DEBUG modified in [%d, %d]", body, before, after)
	}

	// A connector's records fall under connector.<name>: quieten one
	// connector, the rest of the worker stays at DEBUG.
	cfg := map[string]string{"connector.class": "datagen", "topic": "logs", "rate": "20"}
	if _, err := p.client.CreateConnector(ctx, "gen", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")
	waitFor(t, 30*time.Second, "the connector's logger known", func() (bool, string) {
		status, body := do(t, p.rest, "GET", "/admin/loggers/connector.gen", "")
		return status == 200 && strings.Contains(body, `"level":"DEBUG"`), body
	})
	affected, err := p.client.SetLoggerLevel(ctx, "connector.gen", "error")
	if err != nil || !slices.Contains(affected, "connector.gen") || !slices.IsSorted(affected) || slices.Contains(affected, "root") {
		t.Fatalf("PUT connector.gen ERROR = %v, %v", affected, err)
	}
	levels, err := p.client.LoggerLevels(ctx)
	if err != nil || levels["connector.gen"].Level != "ERROR" || levels["root"].Level != "DEBUG" {
		t.Fatalf("GET /admin/loggers = %+v, %v", levels, err)
	}
	// Back to WARN for everything, scope=cluster (this worker alone): 204.
	check("PUT", "/admin/loggers/root?scope=cluster", `{"level":"WARN"}`, 204, "")
	levels, err = p.client.LoggerLevels(ctx)
	if err != nil || levels["connector.gen"].Level != "WARN" || levels["root"].Level != "WARN" {
		t.Fatalf("GET /admin/loggers after root WARN = %+v, %v", levels, err)
	}
	p.stop()
}

// TestRESTPatchConnectorConfig patches a running connector's config
// (KIP-477) on connectd dev: keys merge, null removes, the connector runs
// with the result, and bad patches change nothing.
func TestRESTPatchConnectorConfig(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	cfg := map[string]string{"connector.class": "datagen", "topic": "patched", "rate": "20", "tasks.max": "1", "count": "5"}
	if _, err := p.client.CreateConnector(ctx, "gen", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")
	status, body := do(t, p.rest, "PATCH", "/connectors/gen/config", `{"tasks.max":2,"count":null}`)
	want := `{"name":"gen","config":{"connector.class":"datagen","name":"gen","rate":"20","tasks.max":"2","topic":"patched"},"tasks":[{"connector":"gen","task":0},{"connector":"gen","task":1}],"type":"source"}`
	if status != 200 || strings.TrimSpace(body) != want {
		t.Fatalf("PATCH = %d %s; want 200 %s", status, body, want)
	}
	p.waitTask("gen", 1, herder.Running, "")
	got, err := p.client.ConnectorConfig(ctx, "gen")
	if err != nil || got["count"] != "" || got["tasks.max"] != "2" || got["topic"] != "patched" {
		t.Fatalf("config after PATCH = %v, %v", got, err)
	}
	for _, c := range []struct {
		path, body string
		status     int
		has        string
	}{
		{"/connectors/missing/config", `{"rate":"1"}`, 404, `{"error_code":404,"message":"Connector missing not found"}`},
		{"/connectors/gen/config", `{"tasks.max":"zero"}`, 400, `tasks.max`},
		{"/connectors/gen/config", `{"name":"other"}`, 400, `Connector name configuration (other) doesn't match connector name in the URL (gen)`},
		{"/connectors/gen/config", `{"topics":["a"]}`, 400, `Config values must be strings or null: \"topics\" is an array`},
	} {
		status, body := do(t, p.rest, "PATCH", c.path, c.body)
		if status != c.status || !strings.Contains(body, c.has) {
			t.Errorf("PATCH %s %s = %d %s; want %d with %s", c.path, c.body, status, body, c.status, c.has)
		}
	}
	if after, err := p.client.ConnectorConfig(ctx, "gen"); err != nil || fmt.Sprint(after) != fmt.Sprint(got) {
		t.Fatalf("config after refused patches = %v, %v; want %v", after, err, got)
	}
	p.stop()
}

// TestClusterRESTOffsets alters and resets a source connector's offsets on
// a two-worker cluster, one request through each worker, so one of them
// reaches a worker that is not the leader and is forwarded; the records
// written again, counted, show the connector resumed from them.
func TestClusterRESTOffsets(t *testing.T) {
	c := newCluster(t, 2)
	w := c.workers
	ctx := context.Background()
	in := filepath.Join(t.TempDir(), "in.txt")
	var text strings.Builder
	for i := range 40 {
		fmt.Fprintf(&text, "row-%02d\n", i) // 7 bytes a line
	}
	if err := os.WriteFile(in, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.broker.bootstrap()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := w[0].client.CreateConnector(ctx, "rows", map[string]string{"connector.class": "FileStreamSource", "file": in, "topic": "rows"}); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("rows", 1)
	at := func(pos int) string {
		return fmt.Sprintf(`{"offsets":[{"partition":{"filename":%q},"offset":{"position":%d}}]}`, in, pos)
	}
	for _, wp := range w {
		waitFor(t, 60*time.Second, "the offset at the end of the file, through "+wp.id, func() (bool, string) {
			status, body := do(t, wp.client.BaseURL, "GET", "/connectors/rows/offsets", "")
			return status == 200 && strings.TrimSpace(body) == at(280), fmt.Sprint(status, body)
		})
	}
	if n := kafkatest.EndOffsets(adm, "rows"); n != 40 {
		t.Fatalf("%d records, want 40", n)
	}

	if err := w[1].client.StopConnector(ctx, "rows"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "rows stopped everywhere", func() (bool, string) {
		for id, st := range c.statuses("rows") {
			if st.Connector.State != herder.Stopped || len(st.Tasks) != 0 {
				return false, fmt.Sprintf("%s sees %+v", id, st)
			}
		}
		return true, ""
	})
	// Back to row 30 through worker 1.
	msg, err := w[1].client.AlterConnectorOffsets(ctx, "rows", []herder.ConnectorOffset{{
		Partition: json.RawMessage(fmt.Sprintf(`{"filename":%q}`, in)), Offset: json.RawMessage(`{"position":210}`),
	}})
	if err != nil || msg.Message != herder.MsgOffsetsAltered {
		t.Fatalf("alter through %s = %+v, %v", w[1].id, msg, err)
	}
	for _, wp := range w {
		if status, body := do(t, wp.client.BaseURL, "GET", "/connectors/rows/offsets", ""); status != 200 || strings.TrimSpace(body) != at(210) {
			t.Fatalf("GET through %s after alter = %d %s", wp.id, status, body)
		}
	}
	if err := w[0].client.ResumeConnector(ctx, "rows"); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("rows", 1)
	for _, wp := range w {
		waitFor(t, 60*time.Second, "the offset at the end of the file again, through "+wp.id, func() (bool, string) {
			status, body := do(t, wp.client.BaseURL, "GET", "/connectors/rows/offsets", "")
			return status == 200 && strings.TrimSpace(body) == at(280), fmt.Sprint(status, body)
		})
	}
	if n := kafkatest.EndOffsets(adm, "rows"); n != 50 {
		t.Fatalf("%d records after resuming from row 30, want 50", n)
	}

	// Reset through worker 0, refused first while it runs.
	var apiErr *api.APIError
	if _, err := w[0].client.ResetConnectorOffsets(ctx, "rows"); !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Message != herder.MsgNotStopped("rows") {
		t.Fatalf("reset of a running connector: %v", err)
	}
	if err := w[0].client.StopConnector(ctx, "rows"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "rows stopped everywhere again", func() (bool, string) {
		for id, st := range c.statuses("rows") {
			if st.Connector.State != herder.Stopped || len(st.Tasks) != 0 {
				return false, fmt.Sprintf("%s sees %+v", id, st)
			}
		}
		return true, ""
	})
	if msg, err := w[0].client.ResetConnectorOffsets(ctx, "rows"); err != nil || msg.Message != herder.MsgOffsetsReset {
		t.Fatalf("reset through %s = %+v, %v", w[0].id, msg, err)
	}
	if err := w[1].client.ResumeConnector(ctx, "rows"); err != nil {
		t.Fatal(err)
	}
	c.waitRunning("rows", 1)
	waitFor(t, 60*time.Second, "the offset at the end of the file after the reset", func() (bool, string) {
		status, body := do(t, w[0].client.BaseURL, "GET", "/connectors/rows/offsets", "")
		return status == 200 && strings.TrimSpace(body) == at(280), fmt.Sprint(status, body)
	})
	if n := kafkatest.EndOffsets(adm, "rows"); n != 90 {
		t.Fatalf("%d records after resuming from a reset, want 90", n)
	}
	// scope=cluster answers as Kafka Connect does (this worker only).
	if status, body := do(t, w[0].client.BaseURL, "PUT", "/admin/loggers/root?scope=cluster", `{"level":"INFO"}`); status != 204 {
		t.Fatalf("PUT root scope=cluster = %d %s", status, body)
	}
}
