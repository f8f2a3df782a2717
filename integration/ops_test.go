package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
)

// TestCtl runs every `connectd ctl` command against a live cluster of two
// worker processes, through both workers (so writes are forwarded to the
// leader), and checks what it prints, what it changed and its exit codes.
func TestCtl(t *testing.T) {
	c := newCluster(t, 2)
	w1, w2 := c.workers[0], c.workers[1]
	env := map[string]string{"CONNECTD_URL": w1.client.BaseURL, "CONNECTD_CTL_CONFIG": filepath.Join(t.TempDir(), "ctl.json")}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := ctlRun(t, env, args...)
		if code != want {
			t.Fatalf("ctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	has := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}

	has(run(0, "info"), "Version:", "Kafka cluster:")
	has(run(0, "get", "plugins"), "io.connectd.connectors.DatagenConnector", "org.apache.kafka.connect.file.FileStreamSinkConnector")

	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "out.txt")
	genFile := filepath.Join(dir, "gen.json")
	writeTestFile(t, genFile, `{"name":"gen","config":{"connector.class":"datagen","topic":"ctl","schema":"string","rate":"50","tasks.max":2}}`)
	writeTestFile(t, filepath.Join(dir, "sink.properties"), "name=sink\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\ntopics=ctl\nfile="+out+"\n")

	// A dry run validates and shows what would change, and changes nothing.
	has(run(0, "apply", "-f", dir, "--dry-run"), "connector gen ("+genFile+") would be created", "+ connector.class", "= datagen", "connector sink", "would be created")
	if names, _ := w1.client.Connectors(context.Background()); len(names) != 0 {
		t.Fatalf("a dry run created %v", names)
	}
	has(run(0, "apply", "-f", dir), "connector gen created", "connector sink created")
	c.waitRunning("gen", 2)
	c.waitRunning("sink", 1)

	// The live config differs from the file: the dry run shows the diff.
	writeTestFile(t, genFile, `{"name":"gen","config":{"connector.class":"datagen","topic":"ctl","schema":"string","rate":"20","tasks.max":"2","batch.size":"5"}}`)
	has(run(0, "apply", "-f", dir, "--dry-run", "--url", w2.client.BaseURL), "connector gen ("+genFile+") would be updated", "~ rate", "= 50 -> 20", "+ batch.size", "connector sink ("+filepath.Join(dir, "sink.properties")+") unchanged")
	if cfg, _ := w1.client.ConnectorConfig(context.Background(), "gen"); cfg["rate"] != "50" {
		t.Fatalf("a dry run changed rate to %s", cfg["rate"])
	}
	var plans []map[string]any
	if err := json.Unmarshal([]byte(run(0, "apply", "-f", dir, "--dry-run", "-o", "json")), &plans); err != nil || len(plans) != 2 || plans[0]["action"] != "update" || plans[1]["action"] != "unchanged" {
		t.Fatalf("dry run as JSON: %v %v", plans, err)
	}
	has(run(0, "apply", "-f", dir, "--url", w2.client.BaseURL), "connector gen configured", "connector sink unchanged")
	if cfg, _ := w1.client.ConnectorConfig(context.Background(), "gen"); cfg["rate"] != "20" || cfg["batch.size"] != "5" {
		t.Fatalf("after apply: %v", cfg)
	}

	// An invalid file: nothing is applied, exit 3, the error on its key.
	bad := filepath.Join(t.TempDir(), "bad.json")
	writeTestFile(t, bad, `{"name":"bad","config":{"connector.class":"datagen","topic":"x","tasks.max":"0"}}`)
	has(run(3, "apply", "-f", bad), "connector bad", "is not valid", "! tasks.max:")
	has(run(3, "validate", "-f", bad), "tasks.max")
	has(run(0, "validate", "datagen", "topic=x"), "valid")
	if _, err := w1.client.Connector(context.Background(), "bad"); err == nil {
		t.Fatal("an invalid connector was applied")
	}

	// get, describe, in every output format.
	c.waitRunning("gen", 2)
	has(run(0, "get", "connectors"), "NAME", "gen", "source", "RUNNING", "2/2", "sink", "1/1")
	var listed map[string]json.RawMessage
	if err := json.Unmarshal([]byte(run(0, "get", "connectors", "-o", "json")), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("get connectors -o json: %v %v", listed, err)
	}
	has(run(0, "get", "connectors", "-e", "g.*", "-o", "yaml"), "gen:", "connector.class: datagen")
	waitFor(t, 60*time.Second, "the sink's offsets", func() (bool, string) {
		o, err := w1.client.ConnectorOffsets(context.Background(), "sink")
		return err == nil && len(o.Offsets) > 0, fmt.Sprint(o, err)
	})
	desc := run(0, "describe", "connector", "sink")
	has(desc, "Name:", "sink", "State:", "RUNNING", "Config:", "topics", "Tasks:", "Topics:", "ctl", "Offsets:", `"kafka_topic":"ctl"`)
	has(run(0, "describe", "plugin", "datagen"), "topic", "rate")
	has(run(0, "get", "offsets", "sink"), "PARTITION", "kafka_offset")

	// patch, pause/resume by regular expression, restart.
	has(run(0, "patch", "connector", "gen", "--set", "rate=30", "--unset", "batch.size"), "connector gen patched")
	if cfg, _ := w2.client.ConnectorConfig(context.Background(), "gen"); cfg["rate"] != "30" || cfg["batch.size"] != "" {
		t.Fatalf("after patch: %v", cfg)
	}
	has(run(0, "pause", "connector", "-e", "gen|sink"), "connector gen paused", "connector sink paused")
	waitFor(t, 60*time.Second, "both paused", func() (bool, string) {
		a, _ := w1.client.ConnectorStatus(context.Background(), "gen")
		b, _ := w1.client.ConnectorStatus(context.Background(), "sink")
		return a.Connector.State == herder.Paused && b.Connector.State == herder.Paused, fmt.Sprint(a, b)
	})
	has(run(0, "resume", "connector", "--all"), "connector gen resumed", "connector sink resumed")
	c.waitRunning("gen", 2)
	has(run(0, "restart", "task", "gen", "1"), "task gen-1 restarted")
	has(run(0, "restart", "connector", "sink", "--url", w2.client.BaseURL), "connector sink restarted")

	// Bulk restart of failed tasks: sinks whose file cannot be opened fail;
	// once it can, restarting the failed tasks of every connector brings
	// them back, and tasks that run are left alone.
	missing := filepath.Join(t.TempDir(), "later")
	for _, n := range []string{"broken-1", "broken-2"} {
		if _, err := w1.client.CreateConnector(context.Background(), n, map[string]string{
			"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "ctl", "file": filepath.Join(missing, n+".txt"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"broken-1", "broken-2"} {
		waitFor(t, 60*time.Second, n+" failed", func() (bool, string) {
			st, err := w1.client.ConnectorStatus(context.Background(), n)
			return err == nil && len(st.Tasks) == 1 && st.Tasks[0].State == herder.Failed, fmt.Sprint(st, err)
		})
	}
	has(run(0, "get", "connectors", "-e", "broken-.*"), "0/1")
	if err := os.MkdirAll(missing, 0o755); err != nil {
		t.Fatal(err)
	}
	restarted := run(0, "restart", "connector", "--all", "--only-failed", "--include-tasks")
	has(restarted, "connector broken-1 restarted: task 0", "connector broken-2 restarted: task 0", "connector gen restarted: nothing to restart")
	c.waitRunning("broken-1", 1)
	c.waitRunning("broken-2", 1)

	// Offsets: stop, patch one partition, reset, resume.
	run(0, "stop", "connector", "sink")
	waitFor(t, 60*time.Second, "sink stopped", func() (bool, string) {
		st, _ := w1.client.ConnectorStatus(context.Background(), "sink")
		return st.Connector.State == herder.Stopped, fmt.Sprint(st)
	})
	var patchErr string
	waitFor(t, 60*time.Second, "the offsets patched", func() (bool, string) {
		code, o, e := ctlRun(t, env, "offsets", "patch", "sink", "--partition", `{"kafka_topic":"ctl","kafka_partition":0}`, "--offset", `{"kafka_offset":3}`)
		patchErr = o + e
		return code == 0, patchErr
	})
	has(patchErr, "altered successfully")
	has(run(0, "offsets", "get", "sink", "-o", "json"), `"kafka_offset": 3`)
	has(run(0, "offsets", "reset", "sink"), "reset successfully")
	run(0, "resume", "connector", "sink")

	// Log levels, on one worker and on every worker.
	has(run(0, "log-level", "connector.gen", "DEBUG"), "logger connector.gen set to DEBUG")
	has(run(0, "log-level", "connector.gen"), "DEBUG")
	has(run(0, "get", "loggers"), "root", "connector.gen", "DEBUG")
	has(run(0, "log-level", "connector.sink", "WARN", "--scope", "cluster"), "on every worker")
	waitFor(t, 30*time.Second, "the cluster-scoped level on the other worker", func() (bool, string) {
		l, err := w2.client.LoggerLevel(context.Background(), "connector.sink")
		return err == nil && l.Level == "WARN", fmt.Sprint(l, err)
	})

	// Exit codes scripts rely on.
	run(4, "describe", "connector", "nope")
	run(4, "delete", "connector", "-e", "nothing-.*")
	run(2, "get", "connectors", "-o", "xml")
	run(2, "pause", "connector")

	has(run(0, "delete", "connector", "-e", ".*", "--url", w2.client.BaseURL), "connector broken-1 deleted", "connector gen deleted", "connector sink deleted")
	waitFor(t, 30*time.Second, "no connectors", func() (bool, string) {
		n, err := w1.client.Connectors(context.Background())
		return err == nil && len(n) == 0, fmt.Sprint(n, err)
	})
}

// endpoints is one request of every REST endpoint.
var endpoints = []struct{ method, path string }{
	{"GET", "/"}, {"GET", "/metrics"},
	{"GET", "/connectors"}, {"POST", "/connectors"},
	{"GET", "/connectors/c"}, {"DELETE", "/connectors/c"},
	{"GET", "/connectors/c/config"}, {"PUT", "/connectors/c/config"}, {"PATCH", "/connectors/c/config"},
	{"GET", "/connectors/c/status"}, {"POST", "/connectors/c/restart"},
	{"PUT", "/connectors/c/pause"}, {"PUT", "/connectors/c/resume"}, {"PUT", "/connectors/c/stop"},
	{"GET", "/connectors/c/tasks"}, {"POST", "/connectors/c/tasks"}, {"PUT", "/connectors/c/fence"},
	{"GET", "/connectors/c/tasks/0/status"}, {"POST", "/connectors/c/tasks/0/restart"},
	{"GET", "/connectors/c/offsets"}, {"PATCH", "/connectors/c/offsets"}, {"DELETE", "/connectors/c/offsets"},
	{"GET", "/connectors/c/topics"}, {"PUT", "/connectors/c/topics/reset"},
	{"GET", "/connector-plugins"}, {"GET", "/connector-plugins/datagen/config"}, {"PUT", "/connector-plugins/datagen/config/validate"},
	{"GET", "/admin/loggers"}, {"GET", "/admin/loggers/root"}, {"PUT", "/admin/loggers/root"},
}

// TestSecuredCluster: workers serving https with a generated CA and
// requiring credentials: every endpoint refuses requests without them
// (401) and the read-only role's writes (403); writes sent to any worker
// reach the leader with the caller's credentials, internal requests with
// their signature; ctl speaks all of it.
func TestSecuredCluster(t *testing.T) {
	rest := newRESTSecurity(t)
	c := newSecuredCluster(t, startBrokerProc(t, freePort(t), t.TempDir()), 2, nil, rest)
	w1, w2 := c.workers[0], c.workers[1]
	hc := rest.httpClient()
	call := func(w *workerProc, method, path, auth string) (int, string) {
		t.Helper()
		var body io.Reader
		if method != "GET" && method != "DELETE" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequest(method, w.client.BaseURL+path, body)
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, ep := range endpoints {
		for _, auth := range []string{"", "Basic " + "YWxpY2U6bm9wZQ==", "Bearer nope"} {
			code, body := call(w1, ep.method, ep.path, auth)
			if code != 401 || strings.TrimSpace(body) != `{"error_code":401,"message":"Unauthorized"}` {
				t.Errorf("%s %s with %q: %d %s, want 401 and nothing else", ep.method, ep.path, auth, code, body)
			}
		}
		code, body := call(w1, ep.method, ep.path, rest.reader)
		if ep.method != "GET" && code != 403 {
			t.Errorf("read-only %s %s: %d %s, want 403", ep.method, ep.path, code, body)
		}
		if ep.method == "GET" && (code == 401 || code == 403) {
			t.Errorf("read-only %s %s: %d %s", ep.method, ep.path, code, body)
		}
	}
	if code, _ := call(w1, "GET", "/healthz", ""); code != 200 {
		t.Errorf("/healthz without credentials: %d, want 200 (liveness probes carry none)", code)
	}
	// Plain http on an https listener gets nowhere.
	if resp, err := http.Get(strings.Replace(w1.client.BaseURL, "https://", "http://", 1) + "/connectors"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain http answered %d", resp.StatusCode)
		}
	}

	// ctl with the CA and credentials from a context; writes through both
	// workers, so one of them forwards to the leader.
	env := map[string]string{"CONNECTD_CTL_CONFIG": filepath.Join(t.TempDir(), "ctl.json")}
	if code, _, e := ctlRun(t, env, "config", "set-context", "w1", "--url", w1.client.BaseURL, "--user", adminUser, "--password", adminPass, "--ca-file", rest.caPath); code != 0 {
		t.Fatal(e)
	}
	if code, _, e := ctlRun(t, env, "config", "set-context", "w2", "--url", w2.client.BaseURL, "--token", adminToken, "--ca-file", rest.caPath); code != 0 {
		t.Fatal(e)
	}
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "out.txt")
	writeTestFile(t, filepath.Join(dir, "gen.json"), `{"name":"gen","config":{"connector.class":"datagen","topic":"sec","schema":"string","count":"300","rate":"300","tasks.max":"2"}}`)
	writeTestFile(t, filepath.Join(dir, "sink.json"), `{"name":"sink","config":{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","topics":"sec","file":"`+out+`"}}`)
	for _, ctx := range []string{"w1", "w2"} {
		if code, o, e := ctlRun(t, env, "apply", "-f", dir, "--context", ctx); code != 0 {
			t.Fatalf("apply through %s: %d %s %s", ctx, code, o, e)
		}
	}
	// Task configs reached the leader (a signed internal request): the
	// tasks run.
	c.waitRunning("gen", 2)
	c.waitRunning("sink", 1)
	waitFor(t, 60*time.Second, "every record in the sink's file", func() (bool, string) {
		ids, _ := fileIDs(t, out)
		return len(ids) == 300, fmt.Sprint(len(ids))
	})
	for _, ctx := range []string{"w1", "w2"} {
		for _, args := range [][]string{{"pause", "connector", "gen"}, {"resume", "connector", "gen"}, {"restart", "task", "gen", "0"}, {"restart", "connector", "gen", "--include-tasks"}} {
			if code, o, e := ctlRun(t, env, append(args, "--context", ctx)...); code != 0 {
				t.Fatalf("%v through %s: %d %s %s", args, ctx, code, o, e)
			}
		}
	}
	c.waitRunning("gen", 2)
	// Refused credentials exit 5; an untrusted certificate 6.
	if code, _, e := ctlRun(t, env, "get", "connectors", "--context", "w1", "--password", "nope"); code != 5 || !strings.Contains(e, "401") {
		t.Errorf("wrong password: exit %d %s, want 5", code, e)
	}
	if code, _, e := ctlRun(t, env, "delete", "connector", "gen", "--context", "w2", "--token", "", "--user", readerUser, "--password", readerPass); code != 5 || !strings.Contains(e, "403") {
		t.Errorf("read-only delete: exit %d %s, want 5", code, e)
	}
	if code, _, e := ctlRun(t, map[string]string{}, "get", "connectors", "--url", w1.client.BaseURL, "--user", adminUser, "--password", adminPass); code != 6 {
		t.Errorf("no CA: exit %d %s, want 6", code, e)
	}
}

// TestWorkersOverKafkaTLSAndSASL: workers reach a broker that takes only
// TLS, only SASL/SCRAM, or both, with Kafka's client keys, and every
// record arrives; a worker with a wrong password stops at startup saying
// so.
func TestWorkersOverKafkaTLSAndSASL(t *testing.T) {
	for _, protocol := range []string{"SSL", "SASL_PLAINTEXT", "SASL_SSL"} {
		t.Run(protocol, func(t *testing.T) {
			b, client := startSecuredBrokerProc(t, protocol)
			c := newSecuredCluster(t, b, 2, client, nil)
			out := filepath.Join(t.TempDir(), "out.txt")
			w := c.workers[0]
			if _, err := w.client.CreateConnector(context.Background(), "gen", map[string]string{"connector.class": "datagen", "topic": "t", "schema": "string", "count": "500", "rate": "1000", "tasks.max": "2"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.workers[1].client.CreateConnector(context.Background(), "sink", map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "t", "file": out}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 90*time.Second, "every record in the sink's file", func() (bool, string) {
				ids, _ := fileIDs(t, out)
				return len(ids) == 500, fmt.Sprint(len(ids))
			})
			ids, total := fileIDs(t, out)
			checkIDs(t, "sink file", ids, total, 500, 0)

			if !strings.HasPrefix(protocol, "SASL") {
				return
			}
			// The same worker file with a wrong password.
			props := map[string]string{}
			for k, v := range c.props {
				props[k] = v
			}
			props["sasl.jaas.config"] = strings.Replace(props["sasl.jaas.config"], `password="secret"`, `password="wrong"`, 1)
			props["listeners"] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
			stderr := runWorkerToExit(t, props)
			for _, want := range []string{`SASL authentication as user "connect" with SCRAM-SHA-512 was refused by the brokers (check sasl.jaas.config)`} {
				if !strings.Contains(stderr, want) {
					t.Errorf("worker output lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr, "wrong") {
				t.Errorf("worker output shows the password:\n%s", stderr)
			}
		})
	}
}

// runWorkerToExit runs a worker with props, which must exit with an
// error within a minute, and returns what it wrote to stderr.
func runWorkerToExit(t *testing.T, props map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "worker.properties")
	var b strings.Builder
	for k, v := range props {
		fmt.Fprintf(&b, "%s=%s\n", k, strings.ReplaceAll(v, `\`, `\\`))
	}
	writeTestFile(t, path, b.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, connectdBin, "worker", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the worker did not exit within a minute:\n%s", stderr.String())
	}
	if err == nil {
		t.Fatalf("the worker exited cleanly:\n%s", stderr.String())
	}
	return stderr.String()
}

// TestMetricsDashboardNames: after a run, every worker's /metrics serves
// the names a published Kafka Connect dashboard queries (the list in
// testdata, with its source), with the values the run implies.
func TestMetricsDashboardNames(t *testing.T) {
	c := newCluster(t, 2)
	p := c.createPipeline(c.workers[0], c.workers[1], "m", 400, 2, 400)
	c.underWay(p)
	c.check(p, 0)
	// Scrape every worker; sum each name's samples by label set.
	samples := map[string]float64{}
	names := map[string]bool{}
	for _, w := range c.workers {
		resp, err := http.Get(w.client.BaseURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") || line == "" {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			series, val := line[:i], line[i+1:]
			var v float64
			fmt.Sscan(val, &v)
			samples[series] += v
			name := series
			if j := strings.IndexByte(series, '{'); j >= 0 {
				name = series[:j]
			}
			names[name] = true
		}
		resp.Body.Close()
	}
	f, err := os.Open("testdata/strimzi-kafka-connect-dashboard.metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	served := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		switch fields[1] {
		case "served":
			served++
			if !names[fields[0]] {
				t.Errorf("%s: queried by the dashboard, not served", fields[0])
			}
		case "absent":
			if names[fields[0]] {
				t.Errorf("%s: listed as absent, but served", fields[0])
			}
		default:
			t.Fatalf("testdata line %q", line)
		}
	}
	if served < 15 {
		t.Fatalf("only %d served names in the list", served)
	}
	sum := func(prefix string) float64 {
		total := 0.0
		for s, v := range samples {
			if strings.HasPrefix(s, prefix) {
				total += v
			}
		}
		return total
	}
	for _, check := range []struct {
		series string
		want   func(float64) bool
		what   string
	}{
		{"kafka_connect_worker_connector_count", func(v float64) bool { return v == 2 }, "2 connectors over the workers"},
		{"kafka_connect_worker_task_count", func(v float64) bool { return v == 3 }, "3 tasks over the workers"},
		{"kafka_connect_coordinator_assigned_connectors", func(v float64) bool { return v == 2 }, "2 connectors assigned"},
		{"kafka_connect_coordinator_assigned_tasks", func(v float64) bool { return v == 3 }, "3 tasks assigned"},
		{`kafka_connect_connector_status{connector="m-gen",status="running"}`, func(v float64) bool { return v == 1 }, "the source running"},
		{`kafka_connect_connector_status{connector="m-sink",status="running"}`, func(v float64) bool { return v == 1 }, "the sink running"},
		{`kafka_connect_connector_connector_class{connector="m-gen",connector_class="datagen"}`, func(v float64) bool { return v == 1 }, "its class"},
		{`kafka_connect_connector_task_status{connector="m-gen",status="running"`, func(v float64) bool { return v == 2 }, "2 source tasks running"},
		{`kafka_connect_worker_connector_running_task_count{connector="m-gen"}`, func(v float64) bool { return v == 2 }, "2 running tasks"},
		{`kafka_connect_worker_connector_failed_task_count{connector="m-gen"}`, func(v float64) bool { return v == 0 }, "none failed"},
		{`kafka_connect_source_task_source_record_write_total{connector="m-gen"`, func(v float64) bool { return v == 400 }, "400 records written"},
		{`kafka_connect_source_task_source_record_poll_total{connector="m-gen"`, func(v float64) bool { return v == 400 }, "400 records polled"},
		{`kafka_connect_sink_task_sink_record_read_total{connector="m-sink"`, func(v float64) bool { return v == 400 }, "400 records read"},
		{`kafka_connect_sink_task_sink_record_send_total{connector="m-sink"`, func(v float64) bool { return v == 400 }, "400 records put"},
		{`kafka_connect_sink_task_partition_count{connector="m-sink"`, func(v float64) bool { return v >= 1 }, "its partitions"},
		{`kafka_connect_sink_task_offset_commit_completion_total{connector="m-sink"`, func(v float64) bool { return v >= 1 }, "its commits"},
		{`kafka_connect_connector_task_running_ratio{connector="m-gen"`, func(v float64) bool { return v > 0 && v <= 2 }, "time running"},
		{`kafka_connect_task_error_total_record_failures{connector="m-gen"`, func(v float64) bool { return v == 0 }, "no failures"},
		{"kafka_connect_worker_rebalance_completed_rebalances_total", func(v float64) bool { return v >= 2 }, "rebalances on both workers"},
		{"kafka_connect_worker_rebalance_rebalancing", func(v float64) bool { return v == 0 }, "settled"},
		{"kafka_connect_worker_task_startup_success_total", func(v float64) bool { return v >= 3 }, "tasks started"},
		{"kafka_producer_outgoing_byte_total", func(v float64) bool { return v > 0 }, "bytes produced"},
		{"kafka_consumer_incoming_byte_total", func(v float64) bool { return v > 0 }, "bytes consumed"},
	} {
		if v := sum(check.series); !check.want(v) {
			t.Errorf("%s = %v: want %s", check.series, v, check.what)
		}
	}
}

// TestDevSecured: `connectd dev` with its embedded broker on SASL_SSL and
// its REST API on https with users: connectors run, ctl reaches it with
// the CA it printed, and `connectd consume` reads the records with the
// client keys it wrote.
func TestDevSecured(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(t.TempDir(), "users")
	alice, err := api.HashPassword(adminUser, adminPass, api.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, users, alice+"\n")
	p := proctest.Start(t, "connectd", []string{"REST API", "Kafka bootstrap", "REST CA", "Kafka security"}, connectdBin, "dev",
		"--data-dir", dir, "--rest-port", fmt.Sprint(freePort(t)), "--kafka-port", fmt.Sprint(freePort(t)),
		"--kafka-security-protocol", "SASL_SSL", "--kafka-user", "app:app-secret", "--rest-tls", "--rest-users-file", users,
		"--offset-flush-interval-ms", "200", "--log-level", "warn")
	url := p.Ready["REST API"]
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("REST API at %s, want https", url)
	}
	env := map[string]string{"CONNECTD_URL": url, "CONNECTD_USER": adminUser, "CONNECTD_PASSWORD": adminPass, "CONNECTD_CA_FILE": p.Ready["REST CA"], "CONNECTD_CTL_CONFIG": filepath.Join(t.TempDir(), "ctl.json")}
	cfgFile := filepath.Join(t.TempDir(), "gen.json")
	writeTestFile(t, cfgFile, `{"name":"gen","config":{"connector.class":"datagen","topic":"secure","schema":"string","count":"50","rate":"500"}}`)
	if code, o, e := ctlRun(t, env, "apply", "-f", cfgFile); code != 0 {
		t.Fatalf("apply: %d %s %s", code, o, e)
	}
	if code, _, e := ctlRun(t, map[string]string{"CONNECTD_URL": url, "CONNECTD_CA_FILE": p.Ready["REST CA"]}, "get", "connectors"); code != 5 {
		t.Errorf("no credentials: exit %d %s, want 5", code, e)
	}
	clientProps := filepath.Join(dir, "kafka", "client.properties")
	if !strings.Contains(p.Ready["Kafka security"], clientProps) {
		t.Errorf("Kafka security line %q does not name %s", p.Ready["Kafka security"], clientProps)
	}
	var got int
	waitFor(t, 60*time.Second, "50 records through connectd consume", func() (bool, string) {
		out, err := exec.Command(connectdBin, "consume", "--bootstrap", p.Ready["Kafka bootstrap"], "--consumer-config", clientProps, "--max", "50", "--timeout", "3s", "secure").CombinedOutput()
		got = strings.Count(string(out), "\n")
		return err == nil && got == 50, fmt.Sprint(got, " ", tail(string(out), 300), err)
	})
	// Without the client keys the broker lets nothing in.
	out, _ := exec.Command(connectdBin, "consume", "--bootstrap", p.Ready["Kafka bootstrap"], "--max", "1", "--timeout", "3s", "secure").CombinedOutput()
	if strings.Contains(string(out), "value=") {
		t.Errorf("a plaintext client read records: %s", out)
	}
	p.Stop()
}
