package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// valueCounts reads topic from the start until it has want records and
// nothing more arrives for half a second, and counts each value (the
// payload of the JSON converter's envelope).
func valueCounts(t *testing.T, seeds []string, topic string, want int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, r := range kafkatest.ReadRecords(t, seeds, kafkatest.Until{Want: want, Quiet: 500 * time.Millisecond}, topic) {
		// The worker's default converter is JSON with schemas.
		var v struct{ Payload string }
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Errorf("record value %s: %v", r.Value, err)
		}
		seen[v.Payload]++
	}
	return seen
}

func offsetsText(o herder.ConnectorOffsets) string {
	b, _ := json.Marshal(o)
	return string(b)
}

// TestOffsetsAndPatchThroughAFollower: on a two-worker cluster, every
// offsets and config-patch request goes to the worker that does not lead;
// writes reach the leader, and the connector resumes from the altered
// offsets with the patched config, as the records written again show.
func TestOffsetsAndPatchThroughAFollower(t *testing.T) {
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
	follower, leader := b, a
	if !a.h.isLeader() {
		follower, leader = a, b
	}
	ctx := context.Background()
	fc := follower.client
	cfg := map[string]string{"connector.class": "seq", "topic": "out", "count": "100", "tasks.max": "2"}
	if _, err := fc.CreateConnector(ctx, "s", cfg); err != nil {
		t.Fatal(err)
	}
	running(t, leader, "s", 2)
	valueCounts(t, seeds, "out", 200)
	done := `{"offsets":[{"partition":{"task":"0"},"offset":{"i":99}},{"partition":{"task":"1"},"offset":{"i":99}}]}`
	waitFor(t, "every offset committed, seen through the follower", func() (bool, string) {
		o, err := fc.ConnectorOffsets(ctx, "s")
		return err == nil && offsetsText(o) == done, fmt.Sprint(offsetsText(o), err)
	})

	var apiErr *api.APIError
	_, err = fc.AlterConnectorOffsets(ctx, "s", []herder.ConnectorOffset{{Partition: json.RawMessage(`{"task":"0"}`), Offset: json.RawMessage(`{"i":49}`)}})
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Message != herder.MsgNotStopped("s") {
		t.Fatalf("alter while running: %v", err)
	}

	if err := fc.StopConnector(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "s stopped", func() (bool, string) {
		st, err := leader.client.ConnectorStatus(ctx, "s")
		return err == nil && st.Connector.State == herder.Stopped && len(st.Tasks) == 0, fmt.Sprintf("%+v %v", st, err)
	})
	msg, err := fc.AlterConnectorOffsets(ctx, "s", []herder.ConnectorOffset{
		{Partition: json.RawMessage(`{"task":"0"}`), Offset: json.RawMessage(`{"i":49}`)},
		{Partition: json.RawMessage(`{"task":"1"}`)},
	})
	if err != nil || msg.Message != herder.MsgOffsetsAltered {
		t.Fatalf("alter through the follower = %+v, %v", msg, err)
	}
	for _, n := range []*node{leader, follower} {
		o, err := n.client.ConnectorOffsets(ctx, "s")
		if want := `{"offsets":[{"partition":{"task":"0"},"offset":{"i":49}}]}`; err != nil || offsetsText(o) != want {
			t.Fatalf("offsets through %s after alter = %s, %v; want %s", n.h.w.ID, offsetsText(o), err, want)
		}
	}

	more := "120"
	info, err := fc.PatchConnectorConfig(ctx, "s", map[string]*string{"count": &more})
	if err != nil || info.Config["count"] != "120" || info.Config["topic"] != "out" {
		t.Fatalf("patch through the follower = %+v, %v", info, err)
	}
	if _, err := fc.PatchConnectorConfig(ctx, "nope", map[string]*string{"count": &more}); !errors.As(err, &apiErr) || apiErr.Code != 404 {
		t.Fatalf("patch of an unknown connector: %v", err)
	}
	if err := fc.ResumeConnector(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	// Task 0 goes on after 49, task 1 starts over, both up to 120.
	want := map[string]int{}
	for i := range 100 {
		want["0-"+strconv.Itoa(i)]++
		want["1-"+strconv.Itoa(i)]++
	}
	for i := 50; i < 120; i++ {
		want["0-"+strconv.Itoa(i)]++
	}
	for i := range 120 {
		want["1-"+strconv.Itoa(i)]++
	}
	if d := cmp.Diff(want, valueCounts(t, seeds, "out", 390)); d != "" {
		t.Fatalf("records, by how often each was written (-want +got):\n%s", d)
	}

	if err := fc.StopConnector(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "s stopped again", func() (bool, string) {
		st, err := leader.client.ConnectorStatus(ctx, "s")
		return err == nil && st.Connector.State == herder.Stopped && len(st.Tasks) == 0, fmt.Sprintf("%+v %v", st, err)
	})
	msg, err = fc.ResetConnectorOffsets(ctx, "s")
	if err != nil || msg.Message != herder.MsgOffsetsReset {
		t.Fatalf("reset through the follower = %+v, %v", msg, err)
	}
	for _, n := range []*node{leader, follower} {
		if o, err := n.client.ConnectorOffsets(ctx, "s"); err != nil || offsetsText(o) != `{"offsets":[]}` {
			t.Fatalf("offsets through %s after reset = %s, %v", n.h.w.ID, offsetsText(o), err)
		}
	}
	if _, err := fc.ConnectorOffsets(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.Code != 404 {
		t.Fatalf("offsets of an unknown connector: %v", err)
	}
}
