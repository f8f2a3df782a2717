package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// rawCall makes one request to a worker's REST API and returns the status
// and body.
func rawCall(t *testing.T, w *workerProc, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimRight(w.client.BaseURL, "/")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitTopicsEverywhere waits until every live worker shows want as
// connector name's active topics.
func (c *cluster) waitTopicsEverywhere(name string, want []string) {
	c.t.Helper()
	for _, w := range c.live() {
		waitFor(c.t, 60*time.Second, fmt.Sprintf("%s's topics %v through %s", name, want, w.id), func() (bool, string) {
			got, err := w.client.ConnectorTopics(context.Background(), name)
			return err == nil && slices.Equal(got, want), fmt.Sprint(got, err)
		})
	}
}

// TestRESTTopics drives Kafka Connect's active topics endpoints (KIP-558)
// on a two-worker cluster: two datagen sources and a FileStream sink that
// reads both their topics show their topics through every worker; a reset
// clears the sink's; the topics survive a restart of every worker, and a
// record read after it records its topic again; deleting a source clears
// its topics.
func TestRESTTopics(t *testing.T) {
	c := newCluster(t, 2)
	w := c.workers
	ctx := context.Background()
	const n = 200
	for _, name := range []string{"tp-a", "tp-b"} {
		gen := map[string]string{
			"connector.class": "datagen", "topic": name, "schema": "string",
			"count": fmt.Sprint(n), "rate": "1000", "batch.size": "20", "tasks.max": "1",
		}
		if _, err := w[0].client.CreateConnector(ctx, "gen-"+name, gen); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "out.txt")
	sink := map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "tp-b,tp-a", "file": out}
	if _, err := w[1].client.CreateConnector(ctx, "snk", sink); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.broker.bootstrap()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	waitFor(t, 60*time.Second, "every record in Kafka", func() (bool, string) {
		a, b := topicCount(t, c.broker.bootstrap(), "tp-a"), topicCount(t, c.broker.bootstrap(), "tp-b")
		return a == n && b == n, fmt.Sprint(a, " ", b)
	})
	waitGroupAtEnd(t, adm, "snk", "tp-a")
	waitGroupAtEnd(t, adm, "snk", "tp-b")
	if _, lines := lineCounts(t, out); lines < 2*n {
		t.Fatalf("the sink wrote %d lines, want at least %d", lines, 2*n)
	}

	c.waitTopicsEverywhere("gen-tp-a", []string{"tp-a"})
	c.waitTopicsEverywhere("gen-tp-b", []string{"tp-b"})
	c.waitTopicsEverywhere("snk", []string{"tp-a", "tp-b"})
	if status, body := rawCall(t, w[0], http.MethodGet, "/connectors/snk/topics"); status != 200 || body != `{"snk":{"topics":["tp-a","tp-b"]}}` {
		t.Errorf("GET /connectors/snk/topics = %d %s", status, body)
	}
	if status, body := rawCall(t, w[1], http.MethodGet, "/connectors/nope/topics"); status != 200 || body != `{"nope":{"topics":[]}}` {
		t.Errorf("GET /connectors/nope/topics = %d %s; want Kafka Connect's empty answer", status, body)
	}

	if status, body := rawCall(t, w[1], http.MethodPut, "/connectors/snk/topics/reset"); status != 202 || body != "" {
		t.Fatalf("PUT /connectors/snk/topics/reset = %d %q; want 202 and no body", status, body)
	}
	c.waitTopicsEverywhere("snk", []string{})
	c.waitTopicsEverywhere("gen-tp-a", []string{"tp-a"})

	// Restart every worker: the topics come back from the status topic.
	for _, wp := range w {
		wp.Stop()
	}
	c.workers = nil
	for range 2 {
		c.addWorker(freePort(t))
	}
	c.waitStable()
	c.waitRunning("snk", 1)
	c.waitTopicsEverywhere("gen-tp-a", []string{"tp-a"})
	c.waitTopicsEverywhere("gen-tp-b", []string{"tp-b"})
	c.waitTopicsEverywhere("snk", []string{})

	// A record the sink reads after the restart records its topic again.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "tp-b", Value: []byte(`"late"`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c.waitTopicsEverywhere("snk", []string{"tp-b"})

	if err := c.workers[0].client.DeleteConnector(ctx, "gen-tp-a"); err != nil {
		t.Fatal(err)
	}
	c.waitTopicsEverywhere("gen-tp-a", []string{})
	c.waitTopicsEverywhere("gen-tp-b", []string{"tp-b"})
}
