package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
)

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsNeverShown runs a standalone worker with the file and env
// config providers. Connectors whose configs hold ${file:...} and ${env:...}
// placeholders run with the resolved values, and no REST response, status
// trace or line of the worker's output (plugin processes included, at
// debug level) contains a resolved value.
func TestSecretsNeverShown(t *testing.T) {
	dir := t.TempDir()
	kport, rport := freePort(t), freePort(t)
	broker := exec.Command(connectdBin, "broker", "--port", strconv.Itoa(kport), "--data-dir", filepath.Join(dir, "kafka"))
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Process.Kill(); broker.Wait() })

	// The secrets: a topic name, an input file's folder, an env value,
	// and an output path that cannot be created (its task fails with an
	// error that would name it).
	const topic, envSecret = "topic-s3cr3t-Qx7", "env-s3cr3t-Lm2"
	secretDir := filepath.Join(dir, "dir-s3cr3t-Hb5")
	badPath := "/nonexistent-s3cr3t-Wk4/out.txt"
	if err := os.MkdirAll(secretDir, 0o755); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(secretDir, "in.txt")
	var lines strings.Builder
	for i := range 40 {
		fmt.Fprintf(&lines, "line %d\n", i)
	}
	os.WriteFile(input, []byte(lines.String()), 0o644)
	secrets := filepath.Join(dir, "secrets.properties")
	os.WriteFile(secrets, []byte(strings.Join([]string{"topic=" + topic, "input=" + input, "bad.path=" + badPath}, "\n")), 0o600)

	props := filepath.Join(dir, "worker.properties")
	os.WriteFile(props, []byte(strings.Join([]string{
		"bootstrap.servers=127.0.0.1:" + strconv.Itoa(kport),
		"listeners=http://127.0.0.1:" + strconv.Itoa(rport),
		"offset.storage.file.filename=" + filepath.Join(dir, "offsets.json"),
		"offset.flush.interval.ms=200",
		"value.converter=org.apache.kafka.connect.storage.StringConverter",
		"config.providers=file,env",
		"config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
		"config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
	}, "\n")), 0o644)
	worker := exec.Command(connectdBin, "standalone", "--log-level", "debug", props)
	worker.Env = append(os.Environ(), "CONNECTD_TEST_SECRET="+envSecret)
	var output lockedBuffer
	worker.Stdout, worker.Stderr = &output, &output
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if worker.ProcessState == nil {
			worker.Process.Kill()
			worker.Wait()
		}
	})
	rest := "http://127.0.0.1:" + strconv.Itoa(rport)
	c := &api.Client{BaseURL: rest}
	ctx := context.Background()
	waitFor(t, 60*time.Second, "the REST API", func() (bool, string) {
		_, err := c.ServerInfo(ctx)
		return err == nil, fmt.Sprint(err)
	})

	topicRef, inputRef, badRef, envRef := "${file:"+secrets+":topic}", "${file:"+secrets+":input}", "${file:"+secrets+":bad.path}", "${env:CONNECTD_TEST_SECRET}"
	src := map[string]string{
		"connector.class": "FileStreamSource", "file": inputRef, "topic": topicRef,
		"transforms": "tag", "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertHeader",
		"transforms.tag.header": "tag", "transforms.tag.value.literal": envRef,
	}
	if _, err := c.CreateConnector(ctx, "src", src); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateConnector(ctx, "bad", map[string]string{"connector.class": "FileStreamSink", "topics": "x", "file": badRef}); err != nil {
		t.Fatal(err)
	}

	// The source ran with the resolved file, topic and header value.
	recs := readRecords(t, "127.0.0.1:"+strconv.Itoa(kport), topic, 40)
	if len(recs) != 40 {
		t.Fatalf("the resolved topic holds %d records, want 40", len(recs))
	}
	for i, r := range recs {
		if string(r.Value) != fmt.Sprintf("line %d", i) || headerMap(r)["tag"] != envSecret {
			t.Fatalf("record %d: value %q, header tag %q", i, r.Value, headerMap(r)["tag"])
		}
	}
	waitFor(t, 60*time.Second, "the bad sink's task FAILED", func() (bool, string) {
		st, err := c.TaskStatus(ctx, "bad", 0)
		return err == nil && st.State == herder.Failed, fmt.Sprint(st, err)
	})

	// Everything the REST API says about the connectors.
	var shown []string
	for _, path := range []string{
		"/connectors?expand=status&expand=info", "/connectors/src", "/connectors/src/config", "/connectors/src/tasks",
		"/connectors/src/status", "/connectors/bad", "/connectors/bad/tasks", "/connectors/bad/status", "/connectors/bad/tasks/0/status",
	} {
		status, body := do(t, rest, "GET", path, "")
		if status != 200 {
			t.Fatalf("GET %s = %d %s", path, status, body)
		}
		shown = append(shown, "GET "+path+": "+body)
	}
	// The placeholders are what the API keeps.
	if status, body := do(t, rest, "GET", "/connectors/src/config", ""); status != 200 || !strings.Contains(body, `"topic":"`+topicRef+`"`) {
		t.Fatalf("GET /connectors/src/config = %s, want the placeholder", body)
	}
	if status, body := do(t, rest, "GET", "/connectors/src/tasks", ""); status != 200 || !strings.Contains(body, `"file":"`+inputRef+`"`) {
		t.Fatalf("GET /connectors/src/tasks = %s, want the placeholder", body)
	}
	st, _ := c.TaskStatus(ctx, "bad", 0)
	if !strings.Contains(st.Trace, "[hidden]") {
		t.Errorf("the failed task's trace does not show where its secret was hidden:\n%s", st.Trace)
	}
	// Validate, with the resolved values failing: the errors hide them.
	for _, body := range []string{
		`{"connector.class":"FileStreamSource","name":"v","file":"` + inputRef + `","topic":"` + topicRef + `","batch.size":"` + envRef + `"}`,
	} {
		status, resp := do(t, rest, "PUT", "/connector-plugins/FileStreamSource/config/validate", body)
		if status != 200 || !strings.Contains(resp, `"batch.size"`) || !strings.Contains(resp, "Invalid value [hidden]") {
			t.Fatalf("validate = %d %s", status, resp)
		}
		shown = append(shown, "validate: "+resp)
	}
	// A create that fails validation answers with the errors, hidden too.
	status, resp := do(t, rest, "POST", "/connectors", `{"name":"v","config":{"connector.class":"FileStreamSource","file":"x","topic":"t","batch.size":"`+envRef+`"}}`)
	if status != 400 {
		t.Fatalf("create with a bad secret = %d %s", status, resp)
	}
	shown = append(shown, "create: "+resp)

	// Stop the worker, then read all it wrote.
	worker.Process.Signal(syscall.SIGTERM)
	if err := worker.Wait(); err != nil {
		t.Fatalf("standalone worker exited with %v after SIGTERM", err)
	}
	log := output.String()
	if !strings.Contains(log, "connector started") {
		t.Fatalf("the worker's output is not its log:\n%s", tail(log, 3000))
	}
	shown = append(shown, "worker output: "+log)
	for _, text := range shown {
		for _, secret := range []string{topic, envSecret, secretDir, badPath} {
			if strings.Contains(text, secret) {
				t.Fatalf("secret %q shown in %s", secret, tail(text, 3000))
			}
		}
	}
}
