package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/testserver"
)

// esSinkConfig is an elastic-sink configuration, as a Confluent user posts
// it, for JSON values without schemas and string keys.
func esSinkConfig(url, topic string, extra map[string]string) map[string]string {
	cfg := map[string]string{
		"connector.class":                "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
		"topics":                         topic,
		"connection.url":                 url,
		"schema.ignore":                  "true",
		"behavior.on.null.values":        "delete",
		"key.converter":                  "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": "false",
		"retry.backoff.ms":               "50",
	}
	maps.Copy(cfg, extra)
	return cfg
}

// keyedProducer writes records with string keys to a topic at a steady
// pace until stopped.
type keyedProducer struct {
	cl   *kgo.Client
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	n    int
	err  error
}

func newKeyedClient(t *testing.T, bootstrap string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produce writes record i (i from 0) every interval: key i%keys, every
// tenth touch of a key a tombstone. It returns once n records are written
// or halt is called.
func (kp *keyedProducer) produce(topic string, n, keys int, interval time.Duration) {
	kp.wg.Add(1)
	go func() {
		defer kp.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; i < n; i++ {
			select {
			case <-kp.stop:
				return
			case <-tick.C:
			}
			key := fmt.Sprintf("k%04d", i%keys)
			var value []byte
			if round := i / keys; (round+i%7)%10 != 9 {
				value = []byte(fmt.Sprintf(`{"key":%q,"i":%d}`, key, i))
			}
			// Synchronously, so a worker's restart (the broker is part
			// of connectd dev) only delays the records.
			if err := kp.cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key), Value: value}).FirstErr(); err != nil {
				kp.mu.Lock()
				kp.err = err
				kp.mu.Unlock()
				return
			}
			kp.mu.Lock()
			kp.n++
			kp.mu.Unlock()
		}
	}()
}

func (kp *keyedProducer) count() int {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	return kp.n
}

func (kp *keyedProducer) wait(t *testing.T) {
	t.Helper()
	kp.wg.Wait()
	if kp.err != nil {
		t.Fatalf("producer: %v", kp.err)
	}
}

// lastStates reads topic to its end and returns each key's last state as
// a document (absent after a tombstone), as JSON with sorted keys.
func lastStates(t *testing.T, bootstrap, topic string) (map[string]string, int) {
	t.Helper()
	recs := kafkatest.ReadToEnd(t, strings.Split(bootstrap, ","), topic)
	out := map[string]string{}
	for _, r := range recs {
		if r.Value == nil {
			delete(out, string(r.Key))
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		out[string(r.Key)] = string(b)
	}
	return out, len(recs)
}

// TestElasticSinkKillNineConverges: an elastic-sink connector on connectd
// dev writes a topic that a producer keeps appending to (inserts, updates
// and tombstones of 600 keys over three partitions) into ZincSearch; the
// worker is killed with SIGKILL mid-way and started again. In the end the
// index holds exactly the topic's last state per key.
//
// Each key recurs every 600 records (6 s at the producer's pace), longer
// than what the task replays after the kill plus what piles up while the
// worker is down: ZincSearch loses a delete that follows a write of the
// same document within its write-ahead log's interval (see
// testserver.Zinc), which is its fault, not the connector's, and the test
// keeps clear of it. Elasticsearch's own semantics are tested with the
// fake (TestElasticSinkFaultsReachDeadLetterQueue, TestPostgresToElastic).
func TestElasticSinkKillNineConverges(t *testing.T) {
	ctx := context.Background()
	z := testserver.StartZinc(t)
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	const topic, n, keys = "accounts", 2400, 600
	createTopic(t, p.bootstrap, topic, 3)
	kp := &keyedProducer{cl: newKeyedClient(t, p.bootstrap), stop: make(chan struct{})}
	kp.produce(topic, n, keys, 10*time.Millisecond)
	defer func() {
		close(kp.stop)
		kp.wg.Wait()
	}()

	cfg := esSinkConfig(z.URL, topic, map[string]string{
		"connection.username": z.User, "connection.password": z.Password,
		"tasks.max": "2", "batch.size": "100", "max.in.flight.requests": "3", "max.buffered.records": "1000",
	})
	if _, err := p.client.CreateConnector(ctx, "es", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("es", 0, herder.Running, "")
	waitFor(t, 60*time.Second, "documents in ZincSearch", func() (bool, string) {
		got := len(z.Search(topic))
		return got >= 200 && kp.count() >= 800, fmt.Sprintf("%d documents, %d records", got, kp.count())
	})

	p.KillNow()
	p = startDev(t, opts)
	p.waitTask("es", 0, herder.Running, "")
	p.waitTask("es", 1, herder.Running, "")

	kp.wait(t)
	adm := kadm.NewClient(newKeyedClient(t, p.bootstrap))
	waitGroupAtEnd(t, adm, "es", topic)
	// A record the producer sent again across the broker's restart is in
	// the topic twice: the topic is what the index must match.
	want, read := lastStates(t, p.bootstrap, topic)
	if read < n {
		t.Fatalf("the topic holds %d records, want at least %d", read, n)
	}
	docs := z.WaitDocs(topic, 2*time.Minute, func(docs map[string]string) (bool, string) {
		d := cmp.Diff(want, docs)
		return d == "", "(-topic +index):\n" + d
	})
	t.Logf("%d documents match the topic's last state of %d keys after %d records and a kill -9", len(docs), keys, n)
	p.stop()
}

// putJSON sends a PUT with a JSON body and fails on anything but 2xx.
func putJSON(t *testing.T, url, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("PUT %s: %d %s", url, res.StatusCode, b)
	}
}

// TestElasticSinkFaultsReachDeadLetterQueue: against the server that
// answers as Elasticsearch documents, documents the index's mapping
// refuses (400) come back from bulk requests in flight and land in the
// dead letter queue as consumed, with the reason, across the plugin
// boundary; items refused with 429 are retried; every other record is
// written exactly as produced, and the offsets are committed to the end.
func TestElasticSinkFaultsReachDeadLetterQueue(t *testing.T) {
	ctx := context.Background()
	es := testserver.StartESFake(t)
	var mu sync.Mutex
	throttled := map[string]bool{}
	es.SetItemFault(func(a testserver.FakeAction) *testserver.FakeError {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(a.ID, "7") && !throttled[a.ID] {
			throttled[a.ID] = true
			return &testserver.FakeError{Status: 429, Type: "es_rejected_execution_exception", Reason: "rejected execution of coordinating operation"}
		}
		return nil
	})
	putJSON(t, es.URL+"/orders", `{}`)
	putJSON(t, es.URL+"/orders/_mapping", `{"properties":{"n":{"type":"long"}}}`)

	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	const topic, n = "orders", 300
	createTopic(t, p.bootstrap, topic, 3)
	cl := newKeyedClient(t, p.bootstrap)
	want := map[string]string{}
	bad := map[string]string{} // key → value
	for i := range n {
		key := fmt.Sprintf("o%03d", i)
		value := fmt.Sprintf(`{"n":%d,"item":"thing %d"}`, i, i)
		if i%50 == 13 {
			value = fmt.Sprintf(`{"n":"not a number %d"}`, i)
			bad[key] = value
		} else {
			want[key] = fmt.Sprintf(`{"item":"thing %d","n":%d}`, i, i)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value),
			Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte(key)}}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := esSinkConfig(es.URL, topic, map[string]string{
		"tasks.max": "2", "batch.size": "20", "max.in.flight.requests": "4", "max.buffered.records": "200",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "orders-dlq",
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true",
	})
	if _, err := p.client.CreateConnector(ctx, "es", cfg); err != nil {
		t.Fatal(err)
	}
	waitGroupAtEnd(t, kadm.NewClient(cl), "es", topic)
	if d := cmp.Diff(want, es.Docs("orders")); d != "" {
		t.Fatalf("index (-want +got):\n%s", d)
	}
	dlq := kafkatest.ReadRecords(t, strings.Split(p.bootstrap, ","), kafkatest.Until{Want: len(bad), Quiet: 2 * time.Second}, "orders-dlq")
	got := map[string]string{}
	for _, r := range dlq {
		h := headerMap(r)
		got[string(r.Key)] = string(r.Value)
		if h["origin"] != string(r.Key) || h["__connect.errors.stage"] != "TASK_PUT" || h["__connect.errors.topic"] != topic ||
			!strings.Contains(h["__connect.errors.exception.message"], "document_parsing_exception") {
			t.Errorf("DLQ record %s: headers %v", r.Key, h)
		}
	}
	if d := cmp.Diff(bad, got); d != "" {
		t.Fatalf("dead letter queue (-refused records +got):\n%s", d)
	}
	if o := es.Overlaps(); len(o) > 0 {
		t.Fatalf("requests in flight shared documents: %v", o)
	}
	p.stop()
}

// TestElasticSinkBlockedStatus: while the index is read-only the task's
// REST status says it is blocked, and why, instead of a bare RUNNING, and
// nothing is committed; once the block is lifted everything is written
// and committed and the status clears.
func TestElasticSinkBlockedStatus(t *testing.T) {
	ctx := context.Background()
	es := testserver.StartESFake(t)
	es.SetWriteBlock("ro", true)
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	const topic = "ro"
	createTopic(t, p.bootstrap, topic, 1)
	cl := newKeyedClient(t, p.bootstrap)
	for i := range 50 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: []byte(`{"v":1}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.client.CreateConnector(ctx, "es", esSinkConfig(es.URL, topic, map[string]string{"max.retries": "2"})); err != nil {
		t.Fatal(err)
	}
	var st herder.TaskState
	waitFor(t, 60*time.Second, "a blocked status", func() (bool, string) {
		var err error
		st, err = p.client.TaskStatus(ctx, "es", 0)
		if err != nil {
			return false, err.Error()
		}
		return st.Progress["state"] == "blocked", fmt.Sprintf("%+v", st)
	})
	if st.State != herder.Running || !strings.Contains(fmt.Sprint(st.Progress["blocked_reason"]), "FORBIDDEN/8/index write") {
		t.Fatalf("status %+v: want RUNNING, blocked by the index's write block", st)
	}
	adm := kadm.NewClient(cl)
	offs, err := adm.FetchOffsets(ctx, "connect-es")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(topic, 0); ok && o.At > 0 {
		t.Fatalf("committed offset %d while nothing could be written", o.At)
	}
	es.SetWriteBlock("ro", false)
	waitGroupAtEnd(t, adm, "es", topic)
	if n := len(es.Docs("ro")); n != 50 {
		t.Fatalf("%d documents, want 50", n)
	}
	waitFor(t, 60*time.Second, "the blocked status to clear", func() (bool, string) {
		st, err := p.client.TaskStatus(ctx, "es", 0)
		if err != nil {
			return false, err.Error()
		}
		return st.Progress["state"] == "idle" && st.Progress["blocked_reason"] == nil, fmt.Sprintf("%+v", st)
	})
	p.stop()
}
