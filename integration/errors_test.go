package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
)

// Context headers of a dead letter queue record that every failure has.
var contextHeaderKeys = []string{
	"__connect.errors.topic", "__connect.errors.connector.name", "__connect.errors.task.id", "__connect.errors.stage",
	"__connect.errors.class.name", "__connect.errors.exception.class.name", "__connect.errors.exception.message",
	"__connect.errors.exception.stacktrace",
}

func headerMap(r *kgo.Record) map[string]string {
	out := map[string]string{}
	for _, h := range r.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

// numbersFile writes the lines 1..n, with line poison (1-based) replaced by
// "oops", and returns the file and the byte offset where that line starts.
func numbersFile(t *testing.T, n, poison int) (string, int64) {
	t.Helper()
	var b strings.Builder
	var at int64
	for i := 1; i <= n; i++ {
		if i == poison {
			at = int64(b.Len())
			b.WriteString("oops\n")
			continue
		}
		fmt.Fprintf(&b, "%d\n", i)
	}
	path := filepath.Join(t.TempDir(), "numbers.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, at
}

// castSource is a file source of numbersFile's lines through a Cast of the
// value to int32, which "oops" fails.
func castSource(path string, extra map[string]string) map[string]string {
	cfg := map[string]string{
		"connector.class": "FileStreamSource", "file": path, "topic": "nums", "batch.size": "7",
		"value.converter":      "org.apache.kafka.connect.storage.StringConverter",
		"transforms":           "cast",
		"transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
		"transforms.cast.spec": "int32",
	}
	maps.Copy(cfg, extra)
	return cfg
}

var dlqKeys = map[string]string{
	"errors.deadletterqueue.topic.name":               "nums-dlq",
	"errors.deadletterqueue.topic.replication.factor": "1",
	"errors.deadletterqueue.context.headers.enable":   "true",
}

// TestPoisonRecordToleranceAll: a line the Cast cannot parse lands in the
// dead letter queue with its context headers, and every other line flows.
func TestPoisonRecordToleranceAll(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	const n, poison = 60, 23
	path, at := numbersFile(t, n, poison)
	cfg := castSource(path, dlqKeys)
	cfg["errors.tolerance"] = "all"
	if _, err := p.client.CreateConnector(ctx, "nums", cfg); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, p.bootstrap, "nums", n-1)
	counts := map[string]int{}
	for _, r := range recs {
		counts[string(r.Value)]++
	}
	for i := 1; i <= n; i++ {
		want := 1
		if i == poison {
			want = 0
		}
		if counts[strconv.Itoa(i)] != want {
			t.Fatalf("value %d seen %d times, want %d", i, counts[strconv.Itoa(i)], want)
		}
	}
	if len(recs) != n-1 {
		t.Fatalf("nums holds %d records, want %d", len(recs), n-1)
	}

	dlq := readRecords(t, p.bootstrap, "nums-dlq", 1)
	if len(dlq) != 1 {
		t.Fatalf("the dead letter queue holds %d records, want 1", len(dlq))
	}
	d := dlq[0]
	if string(d.Value) != "oops" || d.Key != nil {
		t.Fatalf("DLQ record key %q value %q, want the line as the task read it", d.Key, d.Value)
	}
	h := headerMap(d)
	for _, k := range contextHeaderKeys {
		if h[k] == "" {
			t.Errorf("DLQ record lacks header %s: %v", k, h)
		}
	}
	wantPart, _ := json.Marshal(map[string]string{"filename": path})
	for k, want := range map[string]string{
		"__connect.errors.topic":                "nums",
		"__connect.errors.connector.name":       "nums",
		"__connect.errors.task.id":              "0",
		"__connect.errors.stage":                "TRANSFORMATION",
		"__connect.errors.class.name":           "org.apache.kafka.connect.transforms.Cast$Value",
		"__connect.errors.exception.class.name": "org.apache.kafka.connect.errors.DataException",
		"__connect.errors.source.partition":     string(wantPart),
		"__connect.errors.source.offset":        fmt.Sprintf(`{"position":%d}`, at+int64(len("oops\n"))),
	} {
		if h[k] != want {
			t.Errorf("DLQ header %s = %q, want %q", k, h[k], want)
		}
	}
	if !strings.Contains(h["__connect.errors.exception.message"], "oops") {
		t.Errorf("exception message %q does not name the value", h["__connect.errors.exception.message"])
	}
	st, err := p.client.TaskStatus(ctx, "nums", 0)
	if err != nil || st.State != herder.Running {
		t.Fatalf("task status %+v %v, want RUNNING", st, err)
	}
}

// storedPosition reads the file source's committed position from the dev
// worker's offsets file.
func storedPosition(t *testing.T, dataDir, path string) int64 {
	b, err := os.ReadFile(filepath.Join(dataDir, "offsets.json"))
	if err != nil {
		return -1
	}
	var entries []struct {
		Key   []json.RawMessage `json:"key"`
		Value struct {
			Position int64 `json:"position"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatalf("offsets.json: %v", err)
	}
	for _, e := range entries {
		var part map[string]string
		if len(e.Key) == 2 && json.Unmarshal(e.Key[1], &part) == nil && part["filename"] == path {
			return e.Value.Position
		}
	}
	return -1
}

// TestPoisonRecordToleranceNone: with the default errors.tolerance=none the
// task fails at the line with a readable trace, the lines before it are
// delivered, and the stored offset stops where the bad line starts.
func TestPoisonRecordToleranceNone(t *testing.T) {
	dataDir := t.TempDir()
	p := startDev(t, devOpts{dataDir: dataDir, restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	const n, poison = 60, 23
	path, at := numbersFile(t, n, poison)
	if _, err := p.client.CreateConnector(ctx, "nums", castSource(path, nil)); err != nil {
		t.Fatal(err)
	}
	p.waitTask("nums", 0, herder.Failed, "Tolerance exceeded in error handler")
	st, err := p.client.TaskStatus(ctx, "nums", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"failed in stage TRANSFORMATION with class org.apache.kafka.connect.transforms.Cast$Value", "oops", "Caused by: "} {
		if !strings.Contains(st.Trace, want) {
			t.Errorf("trace lacks %q:\n%s", want, st.Trace)
		}
	}
	waitFor(t, 30*time.Second, "the offset of the line before the bad one", func() (bool, string) {
		pos := storedPosition(t, dataDir, path)
		return pos == at, fmt.Sprintf("stored position %d, bad line at %d", pos, at)
	})
	recs := readRecords(t, p.bootstrap, "nums", poison-1)
	if len(recs) != poison-1 {
		t.Fatalf("nums holds %d records, want the %d before the bad line", len(recs), poison-1)
	}
	for i, r := range recs {
		if string(r.Value) != strconv.Itoa(i+1) {
			t.Fatalf("record %d is %q, want %d", i, r.Value, i+1)
		}
	}
	// Still there, and still not past the bad line.
	time.Sleep(500 * time.Millisecond)
	if pos := storedPosition(t, dataDir, path); pos != at {
		t.Fatalf("stored position moved to %d after the failure; the bad line starts at %d", pos, at)
	}
}

// TestSinkRejectedRecordsToDeadLetterQueue: the file sink cannot write a
// record holding NaN (its put rejects it) nor read one that is not JSON
// (the converter fails); both go to the dead letter queue as consumed, the
// rest reaches the file.
func TestSinkRejectedRecordsToDeadLetterQueue(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.bootstrap, ",")...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const schema = `{"type":"struct","fields":[{"field":"v","type":"double","optional":false}],"optional":false}`
	var values []string
	for i := range 30 {
		v := fmt.Sprintf(`{"schema":%s,"payload":{"v":%d.5}}`, schema, i)
		switch i {
		case 9:
			v = fmt.Sprintf(`{"schema":%s,"payload":{"v":"NaN"}}`, schema)
		case 17:
			v = "not json"
		}
		values = append(values, v)
		r := &kgo.Record{Topic: "readings", Value: []byte(v), Headers: []kgo.RecordHeader{{Key: "i", Value: []byte(strconv.Itoa(i))}}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "out.txt")
	cfg := map[string]string{
		"connector.class": "FileStreamSink", "topics": "readings", "file": out,
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "readings-dlq",
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true",
	}
	if _, err := p.client.CreateConnector(ctx, "snk", cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "28 lines in the file", func() (bool, string) {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 28, string(b)
	})
	dlq := readRecords(t, p.bootstrap, "readings-dlq", 2)
	if len(dlq) != 2 {
		t.Fatalf("the dead letter queue holds %d records, want 2", len(dlq))
	}
	for i, c := range []struct {
		offset       int
		stage, class string
	}{
		{9, "TASK_PUT", "file-sink"},
		{17, "VALUE_CONVERTER", "org.apache.kafka.connect.json.JsonConverter"},
	} {
		d := dlq[i]
		h := headerMap(d)
		if string(d.Value) != values[c.offset] || h["i"] != strconv.Itoa(c.offset) {
			t.Errorf("DLQ record %d: value %q header i=%q, want the consumed record %d as it was", i, d.Value, h["i"], c.offset)
		}
		for k, want := range map[string]string{
			"__connect.errors.topic": "readings", "__connect.errors.partition": "0", "__connect.errors.offset": strconv.Itoa(c.offset),
			"__connect.errors.stage": c.stage, "__connect.errors.class.name": c.class, "__connect.errors.connector.name": "snk",
		} {
			if h[k] != want {
				t.Errorf("DLQ record %d: header %s = %q, want %q", i, k, h[k], want)
			}
		}
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 28 {
		t.Fatalf("the file has %d lines, want 28", len(lines))
	}
	for _, l := range lines {
		if strings.Contains(l, "NaN") {
			t.Fatalf("the file holds %q", l)
		}
	}
}
