package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// TestRESTAgainstARealWorker drives every endpoint against connectd dev,
// bad input included, and checks codes and bodies.
func TestRESTAgainstARealWorker(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	c := p.client

	info, err := c.ServerInfo(ctx)
	if err != nil || info.Version == "" || !strings.HasPrefix(info.KafkaClusterID, "connectd-") {
		t.Fatalf("GET / = %+v, %v", info, err)
	}
	plugins, err := c.Plugins(ctx, true)
	var classes []string
	for _, p := range plugins {
		classes = append(classes, p.Class)
	}
	wantClasses := []string{
		"io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
		"io.confluent.connect.s3.S3SinkConnector",
		"io.connectd.connectors.DatagenConnector",
		"io.debezium.connector.postgresql.PostgresConnector",
		"org.apache.kafka.connect.file.FileStreamSinkConnector",
		"org.apache.kafka.connect.file.FileStreamSourceConnector",
	}
	if err != nil || !slices.Equal(classes, wantClasses) {
		t.Fatalf("GET /connector-plugins = %+v, %v; want the built-in connectors %v in class order", plugins, err, wantClasses)
	}

	type call struct {
		method, path, body string
		status             int
		contains           string
	}
	calls := []call{
		{"POST", "/connectors", `{"name":"bad","config":`, 400, ""},
		{"POST", "/connectors", `{"config":{"connector.class":"datagen"}}`, 400, "name"},
		{"POST", "/connectors", `{"name":"x","config":{"connector.class":"nope"}}`, 400, "available connectors are: "},
		{"POST", "/connectors", `{"name":"x","config":{"connector.class":"FileStreamSink","file":"/tmp/x"}}`, 400, "topics"},
		{"POST", "/connectors", `{"name":"x","config":{"connector.class":"datagen","tasks.max":"zero"}}`, 400, "tasks.max"},
		{"GET", "/connectors/missing", "", 404, "Connector missing not found"},
		{"GET", "/connectors/missing/status", "", 404, "missing"},
		{"DELETE", "/connectors/missing", "", 404, "missing"},
		{"PUT", "/connector-plugins/datagen/config/validate", `{"connector.class":"datagen","rate":"fast"}`, 200, `"rate"`},
		{"GET", "/connector-plugins/FileStreamSinkConnector/config", "", 200, `"name":"file"`},
		{"GET", "/healthz", "", 200, "healthy"},
		{"GET", "/metrics", "", 200, "kafka_connect_worker_task_count"},
	}
	for _, cl := range calls {
		status, body := do(t, p.rest, cl.method, cl.path, cl.body)
		if status != cl.status || !strings.Contains(body, cl.contains) {
			t.Errorf("%s %s %s = %d %s; want %d containing %q", cl.method, cl.path, cl.body, status, body, cl.status, cl.contains)
		}
		if status >= 400 {
			var e struct {
				Code    *int   `json:"error_code"`
				Message string `json:"message"`
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Code == nil || *e.Code != status || e.Message == "" {
				t.Errorf("%s %s: error body %s is not Kafka Connect's error JSON", cl.method, cl.path, body)
			}
		}
	}

	// The validate response names the bad field with an error.
	infos, err := c.ValidateConfig(ctx, "datagen", map[string]string{"name": "v", "connector.class": "datagen", "rate": "fast"})
	if err != nil {
		t.Fatal(err)
	}
	if infos.ErrorCount != 1 || !fieldHasError(infos, "rate") {
		t.Fatalf("validate: %d errors, rate has error %v", infos.ErrorCount, fieldHasError(infos, "rate"))
	}

	// Lifecycle through the REST API: create, duplicate, tasks, pause,
	// resume, restart, stop, delete.
	cfg := map[string]string{"connector.class": "datagen", "topic": "r", "rate": "50", "tasks.max": "2"}
	if _, err := c.CreateConnector(ctx, "gen", cfg); err != nil {
		t.Fatal(err)
	}
	var apiErr *api.APIError
	if _, err := c.CreateConnector(ctx, "gen", cfg); !errors.As(err, &apiErr) || apiErr.Code != 409 {
		t.Fatalf("duplicate create: %v", err)
	}
	tasks, err := c.TaskConfigs(ctx, "gen")
	if err != nil || len(tasks) != 2 {
		t.Fatalf("tasks: %+v %v", tasks, err)
	}
	p.waitTask("gen", 1, herder.Running, "")
	waitFor(t, 30*1e9, "the task's records in the metrics", func() (bool, string) {
		_, body := do(t, p.rest, "GET", "/metrics", "")
		return strings.Contains(body, `kafka_connect_source_task_source_record_write_total{connector="gen",task="1"}`), ""
	})
	if err := c.PauseConnector(ctx, "gen"); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Paused, "")
	if err := c.ResumeConnector(ctx, "gen"); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")
	st, err := c.RestartConnector(ctx, "gen", true, false)
	if err != nil || st == nil || st.Connector.State != herder.Restarting || len(st.Tasks) != 2 || st.Tasks[0].State != herder.Restarting {
		t.Fatalf("restart with tasks: %+v %v", st, err)
	}
	p.waitTask("gen", 1, herder.Running, "")
	if err := c.RestartTask(ctx, "gen", 1); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 1, herder.Running, "")
	if err := c.StopConnector(ctx, "gen"); err != nil {
		t.Fatal(err)
	}
	cs, err := c.ConnectorStatus(ctx, "gen")
	if err != nil || cs.Connector.State != herder.Stopped || len(cs.Tasks) != 0 {
		t.Fatalf("status after stop: %+v %v", cs, err)
	}
	if err := c.ResumeConnector(ctx, "gen"); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")
	exp, err := c.ConnectorsExpanded(ctx, "status", "info")
	if err != nil || exp["gen"].Status == nil || exp["gen"].Info == nil || exp["gen"].Info.Type != herder.Source {
		t.Fatalf("expand: %+v %v", exp, err)
	}
	if err := c.DeleteConnector(ctx, "gen"); err != nil {
		t.Fatal(err)
	}
	// Created paused (Kafka Connect 3.5's initial_state): it never runs
	// until resumed.
	status, body := do(t, p.rest, "POST", "/connectors", `{"name":"later","config":{"connector.class":"datagen","topic":"later"},"initial_state":"PAUSED"}`)
	if status != 201 {
		t.Fatalf("create paused: %d %s", status, body)
	}
	p.waitTask("later", 0, herder.Paused, "")
	if err := c.ResumeConnector(ctx, "later"); err != nil {
		t.Fatal(err)
	}
	p.waitTask("later", 0, herder.Running, "")
	if err := c.DeleteConnector(ctx, "later"); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Connectors(ctx); len(n) != 0 {
		t.Fatalf("connectors after delete: %v", n)
	}
	p.stop()
}

func fieldHasError(infos herder.ConfigInfos, name string) bool {
	for _, c := range infos.Configs {
		if c.Value.Name == name {
			return len(c.Value.Errors) > 0
		}
	}
	return false
}

func do(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
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

// TestThirdPartyPluginFromPluginPath builds the example plugin, puts it
// under plugin.path of a standalone worker and runs it to completion.
func TestThirdPartyPluginFromPluginPath(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(plugins, "hello-source"), "../examples/hello-source").CombinedOutput(); err != nil {
		t.Fatalf("build example plugin: %v\n%s", err, out)
	}
	kport, rport := freePort(t), freePort(t)
	broker := exec.Command(connectdBin, "broker", "--port", strconv.Itoa(kport), "--data-dir", filepath.Join(dir, "kafka"))
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Process.Kill(); broker.Wait() })
	props := filepath.Join(dir, "worker.properties")
	os.WriteFile(props, []byte(strings.Join([]string{
		"bootstrap.servers=127.0.0.1:" + strconv.Itoa(kport),
		"listeners=http://127.0.0.1:" + strconv.Itoa(rport),
		"offset.storage.file.filename=" + filepath.Join(dir, "offsets.json"),
		"offset.flush.interval.ms=200",
		"plugin.path=" + plugins,
		"value.converter=org.apache.kafka.connect.storage.StringConverter",
		"some.unknown.key=is only warned about",
	}, "\n")), 0o644)
	conn := filepath.Join(dir, "hello.json")
	os.WriteFile(conn, []byte(`{"name":"hello","config":{"connector.class":"com.example.HelloSourceConnector","topic":"greetings","count":"250"}}`), 0o644)
	worker := exec.Command(connectdBin, "standalone", props, conn)
	var logs strings.Builder
	worker.Stderr = &logs
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if worker.ProcessState == nil {
			worker.Process.Kill()
			worker.Wait()
		}
	})
	c := &api.Client{BaseURL: "http://127.0.0.1:" + strconv.Itoa(rport)}
	waitFor(t, 60*1e9, "the hello connector's task running", func() (bool, string) {
		st, err := c.TaskStatus(context.Background(), "hello", 0)
		if err != nil {
			return false, err.Error()
		}
		return st.State == herder.Running, st.Trace
	})
	counts := map[string]int{}
	for _, v := range kafkatest.ReadValues(t, []string{"127.0.0.1:" + strconv.Itoa(kport)}, "greetings", 250) {
		counts[v]++
	}
	for i := 0; i < 250; i++ {
		if counts["hello "+strconv.Itoa(i)] != 1 {
			t.Fatalf("greeting %d seen %d times", i, counts["hello "+strconv.Itoa(i)])
		}
	}
	if len(counts) != 250 {
		t.Fatalf("%d distinct greetings, want 250", len(counts))
	}
	// Stop the worker before reading its log: exec writes it until then.
	worker.Process.Signal(syscall.SIGTERM)
	if err := worker.Wait(); err != nil {
		t.Fatalf("standalone worker exited with %v after SIGTERM", err)
	}
	if !strings.Contains(logs.String(), "some.unknown.key") {
		t.Fatalf("the unknown worker key was not warned about; log:\n%s", logs.String())
	}
}
