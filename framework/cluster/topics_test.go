package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/internal/kafkatest"
)

// lastValues reads the whole status topic st and returns the last value
// of every key whose key starts with status-topic- ("null" for a
// tombstone).
func lastTopicValues(t *testing.T, seeds []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range kafkatest.ReadToEnd(t, seeds, "st") {
		if k := string(r.Key); strings.HasPrefix(k, "status-topic-") {
			v := "null"
			if r.Value != nil {
				v = string(r.Value)
			}
			out[k] = v
		}
	}
	return out
}

// waitTopics waits until n's REST API shows want as name's topics.
func waitTopics(t *testing.T, n *node, name string, want []string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s's topics %v through %s", name, want, n.h.w.ID), func() (bool, string) {
		got, err := n.client.ConnectorTopics(context.Background(), name)
		return err == nil && slices.Equal(got, want), fmt.Sprint(got, err)
	})
}

// TestActiveTopicsAcrossWorkers: a connector whose tasks run on two
// workers has its topic written to the status topic in Kafka Connect's
// format and shown by both; a reset through one worker and a delete clear
// it on both with tombstones; a worker that starts later reads the
// topics back.
func TestActiveTopicsAcrossWorkers(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	seeds := kc.ListenAddrs()
	a, b := startNode(t, seeds), startNode(t, seeds)
	waitFor(t, "both workers to know the leader", func() (bool, string) {
		return a.h.Ready() == nil && b.h.Ready() == nil, ""
	})
	ctx := context.Background()
	const count = 50
	for _, c := range []struct{ name, topic string }{{"s1", "t1"}, {"s2", "t2"}} {
		cfg := map[string]string{"connector.class": "seq", "topic": c.topic, "count": strconv.Itoa(count), "tasks.max": "2"}
		if _, err := a.client.CreateConnector(ctx, c.name, cfg); err != nil {
			t.Fatal(err)
		}
	}
	st := running(t, a, "s1", 2)
	if st.Tasks[0].WorkerID == st.Tasks[1].WorkerID {
		t.Fatalf("both tasks of s1 on %s; want one per worker", st.Tasks[0].WorkerID)
	}
	if n := countRecords(t, seeds, "t1", 2*count); n != 2*count {
		t.Fatalf("t1 holds %d records, want %d", n, 2*count)
	}
	for _, n := range []*node{a, b} {
		waitTopics(t, n, "s1", []string{"t1"})
		waitTopics(t, n, "s2", []string{"t2"})
	}

	// On the status topic, in Kafka Connect's key and value format.
	raw := lastTopicValues(t, seeds)
	var v struct {
		Topic struct {
			Name              string `json:"name"`
			Connector         string `json:"connector"`
			Task              *int   `json:"task"`
			DiscoverTimestamp int64  `json:"discoverTimestamp"`
		} `json:"topic"`
	}
	val, ok := raw["status-topic-t1:connector-s1"]
	if !ok {
		t.Fatalf("no status-topic-t1:connector-s1 record; active topic records: %v", raw)
	}
	if err := json.Unmarshal([]byte(val), &v); err != nil {
		t.Fatalf("value %s: %v", val, err)
	}
	if v.Topic.Name != "t1" || v.Topic.Connector != "s1" || v.Topic.Task == nil || *v.Topic.Task < 0 || *v.Topic.Task > 1 || v.Topic.DiscoverTimestamp <= 0 {
		t.Errorf("value of status-topic-t1:connector-s1 = %s; want t1, s1, task 0 or 1, a discovery time", val)
	}

	// A reset through one worker clears the topics on both.
	if err := b.client.ResetConnectorTopics(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{a, b} {
		waitTopics(t, n, "s1", []string{})
		waitTopics(t, n, "s2", []string{"t2"})
	}
	if got := lastTopicValues(t, seeds)["status-topic-t1:connector-s1"]; got != "null" {
		t.Errorf("last record of status-topic-t1:connector-s1 after reset = %s, want a tombstone", got)
	}

	// Deleting a connector clears its topics.
	if err := a.client.DeleteConnector(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{a, b} {
		waitTopics(t, n, "s2", []string{})
	}
	if got := lastTopicValues(t, seeds)["status-topic-t2:connector-s2"]; got != "null" {
		t.Errorf("last record of status-topic-t2:connector-s2 after delete = %s, want a tombstone", got)
	}

	// A worker started later reads the topics back from the status topic.
	cfg := map[string]string{"connector.class": "seq", "topic": "t3", "count": strconv.Itoa(count), "tasks.max": "1"}
	if _, err := a.client.CreateConnector(ctx, "s3", cfg); err != nil {
		t.Fatal(err)
	}
	waitTopics(t, b, "s3", []string{"t3"})
	c := startNode(t, seeds)
	got, err := c.h.ConnectorActiveTopics(ctx, "s3")
	if err != nil || !slices.Equal(got.Topics, []string{"t3"}) {
		t.Errorf("a new worker's topics of s3 = %v, %v; want [t3] once it has read the status topic", got.Topics, err)
	}
}
