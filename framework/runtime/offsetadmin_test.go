package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
)

func offsetsJSON(t *testing.T, o herder.ConnectorOffsets) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func co(partition, offset string) herder.ConnectorOffset {
	c := herder.ConnectorOffset{Partition: json.RawMessage(partition)}
	if offset != "" {
		c.Offset = json.RawMessage(offset)
	}
	return c
}

func wantBadRequest(t *testing.T, err error, msg string) {
	t.Helper()
	var re *herder.RequestError
	if !errors.As(err, &re) || re.Status != 400 || re.Message != msg {
		t.Fatalf("error = %v, want 400 %q", err, msg)
	}
}

// TestSourceOffsetsAlterResetAndResume: a stopped source connector's
// offsets are altered and reset through the herder, and on resume its task
// starts from them, which the records it writes again show.
func TestSourceOffsetsAlterResetAndResume(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "100"})
	if d := diffCounts(wantValues(1, 100), counts(e.readTopic("t1", 100))); d != "" {
		t.Fatal(d)
	}
	waitFor(t, "offset 99 committed", func() (bool, string) {
		got, err := e.h.ConnectorOffsets(ctx, "c1")
		return err == nil && offsetsJSON(t, got) == `{"offsets":[{"partition":{"task":"0"},"offset":{"n":99}}]}`, fmt.Sprint(offsetsJSON(t, got), err)
	})

	// Refused while it runs.
	_, err := e.h.AlterConnectorOffsets(ctx, "c1", []herder.ConnectorOffset{co(`{"task":"0"}`, `{"n":49}`)})
	wantBadRequest(t, err, herder.MsgNotStopped("c1"))
	_, err = e.h.ResetConnectorOffsets(ctx, "c1")
	wantBadRequest(t, err, herder.MsgNotStopped("c1"))

	if err := e.h.SetTargetState(ctx, "c1", herder.TargetStopped); err != nil {
		t.Fatal(err)
	}
	// Partitions are matched whatever the key order or spacing; a null
	// offset removes a partition, here one that the alter also adds.
	msg, err := e.h.AlterConnectorOffsets(ctx, "c1", []herder.ConnectorOffset{
		co(`{ "task" : "0" }`, `{"n":49}`),
		co(`{"task":"9"}`, `{"n":1}`),
		co(`{"task":"9"}`, ""),
	})
	if err != nil || msg.Message != "The offsets for this connector have been altered successfully" {
		t.Fatalf("alter = %+v, %v", msg, err)
	}
	got, err := e.h.ConnectorOffsets(ctx, "c1")
	if err != nil || offsetsJSON(t, got) != `{"offsets":[{"partition":{"task":"0"},"offset":{"n":49}}]}` {
		t.Fatalf("offsets after alter = %s, %v", offsetsJSON(t, got), err)
	}
	// Resumed, the task goes on after n=49: 50..99 a second time.
	if err := e.h.SetTargetState(ctx, "c1", herder.TargetStarted); err != nil {
		t.Fatal(err)
	}
	want := wantValues(1, 100)
	for n := 50; n < 100; n++ {
		want[fmt.Sprintf("0-%d", n)]++
	}
	if d := cmp.Diff(want, counts(e.readTopic("t1", 150))); d != "" {
		t.Fatalf("records after resuming from altered offsets, by how often each was written (-want +got):\n%s", d)
	}

	// Reset: the task starts over at 0.
	waitFor(t, "offset 99 committed again", func() (bool, string) {
		return e.committedN("c1")[`{"task":"0"}`] == 99, fmt.Sprint(e.committedN("c1"))
	})
	if err := e.h.SetTargetState(ctx, "c1", herder.TargetStopped); err != nil {
		t.Fatal(err)
	}
	msg, err = e.h.ResetConnectorOffsets(ctx, "c1")
	if err != nil || msg.Message != "The offsets for this connector have been reset successfully" {
		t.Fatalf("reset = %+v, %v", msg, err)
	}
	if got, err := e.h.ConnectorOffsets(ctx, "c1"); err != nil || offsetsJSON(t, got) != `{"offsets":[]}` {
		t.Fatalf("offsets after reset = %s, %v", offsetsJSON(t, got), err)
	}
	// A second reset finds nothing to remove and still succeeds.
	if _, err := e.h.ResetConnectorOffsets(ctx, "c1"); err != nil {
		t.Fatalf("second reset: %v", err)
	}
	if err := e.h.SetTargetState(ctx, "c1", herder.TargetStarted); err != nil {
		t.Fatal(err)
	}
	for k := range want {
		want[k]++
	}
	if d := cmp.Diff(want, counts(e.readTopic("t1", 250))); d != "" {
		t.Fatalf("records after resuming from reset offsets, by how often each was written (-want +got):\n%s", d)
	}

	if _, err := e.h.ConnectorOffsets(ctx, "nope"); !errors.Is(err, herder.ErrNotFound) {
		t.Fatalf("offsets of an unknown connector: %v", err)
	}
	if _, err := e.h.ResetConnectorOffsets(ctx, "nope"); !errors.Is(err, herder.ErrNotFound) {
		t.Fatalf("reset of an unknown connector: %v", err)
	}
}

// lines returns the lines of a collect sink's file.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// waitSinkCaughtUp waits until the sink's group has committed the end of
// every partition of topic. Flush comes before the commit, so the file
// then holds everything the sink will write.
func waitSinkCaughtUp(t *testing.T, adm *kadm.Client, name, topic string) {
	t.Helper()
	waitFor(t, name+" committed to the end of "+topic, func() (bool, string) {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err != nil {
			return false, err.Error()
		}
		committed, err := adm.FetchOffsets(context.Background(), SinkGroup(name))
		if err != nil {
			return false, err.Error()
		}
		ok := true
		ends.Each(func(lo kadm.ListedOffset) {
			if c, _ := committed.Lookup(topic, lo.Partition); c.At != lo.Offset {
				ok = false
			}
		})
		return ok, fmt.Sprint(committed)
	})
}

// TestSinkOffsetsAlterResetAndResume: a stopped sink connector's consumer
// group offsets are altered and reset through the herder, and on resume it
// reads from them: the records it writes again are exactly those.
func TestSinkOffsetsAlterResetAndResume(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out.txt")
	e.put("src", map[string]string{"connector.class": "counter", "topic": "t1", "count": "300", "batch": "7"})
	e.readTopic("t1", 300)
	adm := kadm.NewClient(kgoClient(t, e))
	ends, err := adm.ListEndOffsets(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	end := map[int32]int64{}
	ends.Each(func(lo kadm.ListedOffset) { end[lo.Partition] = lo.Offset })
	if len(end) != 3 || end[0]+end[1]+end[2] != 300 {
		t.Fatalf("t1's end offsets = %v, want 3 partitions holding 300", end)
	}

	e.put("snk", map[string]string{"connector.class": "collect", "topics": "t1", "file": out})
	waitSinkCaughtUp(t, adm, "snk", "t1")
	if n := len(lines(t, out)); n != 300 {
		t.Fatalf("sink wrote %d lines, want 300", n)
	}
	got, err := e.h.ConnectorOffsets(ctx, "snk")
	want := fmt.Sprintf(`{"offsets":[`+
		`{"partition":{"kafka_partition":0,"kafka_topic":"t1"},"offset":{"kafka_offset":%d}},`+
		`{"partition":{"kafka_partition":1,"kafka_topic":"t1"},"offset":{"kafka_offset":%d}},`+
		`{"partition":{"kafka_partition":2,"kafka_topic":"t1"},"offset":{"kafka_offset":%d}}]}`, end[0], end[1], end[2])
	if err != nil || offsetsJSON(t, got) != want {
		t.Fatalf("sink offsets = %s, %v; want %s", offsetsJSON(t, got), err, want)
	}

	_, err = e.h.AlterConnectorOffsets(ctx, "snk", []herder.ConnectorOffset{co(`{"kafka_topic":"t1","kafka_partition":0}`, `{"kafka_offset":0}`)})
	wantBadRequest(t, err, herder.MsgNotStopped("snk"))

	if err := e.h.SetTargetState(ctx, "snk", herder.TargetStopped); err != nil {
		t.Fatal(err)
	}
	// Partition 0 goes back 5 records; partition 1 loses its committed
	// offset (so it is read from the start); partition 2 is untouched.
	// Numbers may come as strings, as Kafka Connect accepts.
	msg, err := e.h.AlterConnectorOffsets(ctx, "snk", []herder.ConnectorOffset{
		co(`{"kafka_topic":"t1","kafka_partition":"0"}`, fmt.Sprintf(`{"kafka_offset":%d}`, end[0]-5)),
		co(`{"kafka_topic":"t1","kafka_partition":1}`, ""),
	})
	if err != nil || msg.Message != herder.MsgOffsetsAltered {
		t.Fatalf("alter = %+v, %v", msg, err)
	}
	got, err = e.h.ConnectorOffsets(ctx, "snk")
	want = fmt.Sprintf(`{"offsets":[`+
		`{"partition":{"kafka_partition":0,"kafka_topic":"t1"},"offset":{"kafka_offset":%d}},`+
		`{"partition":{"kafka_partition":2,"kafka_topic":"t1"},"offset":{"kafka_offset":%d}}]}`, end[0]-5, end[2])
	if err != nil || offsetsJSON(t, got) != want {
		t.Fatalf("sink offsets after alter = %s, %v; want %s", offsetsJSON(t, got), err, want)
	}
	if err := e.h.SetTargetState(ctx, "snk", herder.TargetStarted); err != nil {
		t.Fatal(err)
	}
	waitSinkCaughtUp(t, adm, "snk", "t1")
	if n, want := len(lines(t, out)), 300+5+int(end[1]); n != want {
		t.Fatalf("after resuming from altered offsets the sink wrote %d lines, want %d", n, want)
	}

	// Reset deletes the group: everything is read again.
	if err := e.h.SetTargetState(ctx, "snk", herder.TargetStopped); err != nil {
		t.Fatal(err)
	}
	msg, err = e.h.ResetConnectorOffsets(ctx, "snk")
	if err != nil || msg.Message != herder.MsgOffsetsReset {
		t.Fatalf("reset = %+v, %v", msg, err)
	}
	if got, err := e.h.ConnectorOffsets(ctx, "snk"); err != nil || offsetsJSON(t, got) != `{"offsets":[]}` {
		t.Fatalf("sink offsets after reset = %s, %v", offsetsJSON(t, got), err)
	}
	if _, err := e.h.ResetConnectorOffsets(ctx, "snk"); err != nil {
		t.Fatalf("second reset (no group left): %v", err)
	}
	if err := e.h.SetTargetState(ctx, "snk", herder.TargetStarted); err != nil {
		t.Fatal(err)
	}
	waitSinkCaughtUp(t, adm, "snk", "t1")
	if n, want := len(lines(t, out)), 600+5+int(end[1]); n != want {
		t.Fatalf("after resuming from reset offsets the sink wrote %d lines, want %d", n, want)
	}
}

// TestSinkOffsetsRefusedWhileGroupHasMembers: the worker's own check is
// the connector's state, but Kafka's is the group: a consumer still in it
// (a sink task that has not stopped yet) makes alter and reset fail with
// Kafka Connect's message, and nothing changes.
func TestSinkOffsetsRefusedWhileGroupHasMembers(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.put("src", map[string]string{"connector.class": "counter", "topic": "t2", "count": "30"})
	e.readTopic("t2", 30)
	member, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.ConsumerGroup(SinkGroup("busy")), kgo.ConsumeTopics("t2"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	read := 0
	for read < 30 {
		member.PollFetches(ctx).EachRecord(func(*kgo.Record) { read++ })
	}
	if err := member.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	entry, err := e.reg.Lookup("collect")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.h.w.AlterConnectorOffsets(ctx, "busy", entry, nil, []herder.ConnectorOffset{co(`{"kafka_topic":"t2","kafka_partition":0}`, `{"kafka_offset":0}`)})
	if err == nil || !strings.Contains(err.Error(), "Failed to alter consumer group offsets for connector busy either because its tasks haven't stopped completely yet") {
		t.Fatalf("alter with a live member: %v", err)
	}
	_, err = e.h.w.ResetConnectorOffsets(ctx, "busy", entry, nil)
	if err == nil || !strings.Contains(err.Error(), "Failed to reset consumer group offsets for connector busy either because its tasks haven't stopped completely yet") {
		t.Fatalf("reset with a live member: %v", err)
	}
	got, err := e.h.w.ConnectorOffsets(ctx, "busy", entry, nil)
	if err != nil || len(got.Offsets) != 3 {
		t.Fatalf("offsets after refused changes = %s, %v", offsetsJSON(t, got), err)
	}
}

func TestParseOffsetsErrors(t *testing.T) {
	t.Parallel()
	sink := map[string]struct {
		in   herder.ConnectorOffset
		want string
	}{
		"no partition":       {co(`null`, `{"kafka_offset":1}`), "The partition for a sink connector offset cannot be null or missing"},
		"no topic":           {co(`{"kafka_partition":1}`, `{"kafka_offset":1}`), "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'"},
		"null topic":         {co(`{"kafka_topic":null,"kafka_partition":1}`, ""), "Kafka topic names must be valid strings and may not be null"},
		"null partition":     {co(`{"kafka_topic":"t","kafka_partition":null}`, ""), "Kafka partitions must be valid numbers and may not be null"},
		"bad partition":      {co(`{"kafka_topic":"t","kafka_partition":"x"}`, ""), "Failed to parse the following Kafka partition value in the provided offsets: 'x'. Partition values for sink connectors need to be integers."},
		"offset without key": {co(`{"kafka_topic":"t","kafka_partition":1}`, `{"offset":1}`), "The offset for a sink connector should either be null or contain the key 'kafka_offset'"},
		"bad offset":         {co(`{"kafka_topic":"t","kafka_partition":1}`, `{"kafka_offset":1.5}`), "Failed to parse the following Kafka offset value in the provided offsets: '1.5'. Offset values for sink connectors need to be integers."},
	}
	for name, tt := range sink {
		_, err := parseSinkOffsets([]herder.ConnectorOffset{tt.in})
		wantBadRequest(t, err, tt.want)
		_ = name
	}
	source := map[string]struct {
		in   herder.ConnectorOffset
		want string
	}{
		"no partition":     {co(`null`, `{"n":1}`), "The partition for a source connector offset cannot be null or missing"},
		"nested partition": {co(`{"a":{"b":1}}`, `{"n":1}`), "Offsets may only contain primitive types as values, but field a contains STRUCT"},
		"array offset":     {co(`{"a":1}`, `{"n":[1]}`), "Offsets may only contain primitive types as values, but field n contains ARRAY"},
	}
	for _, tt := range source {
		_, err := sourceEntries([]herder.ConnectorOffset{tt.in})
		wantBadRequest(t, err, tt.want)
	}
	got, err := parseSinkOffsets([]herder.ConnectorOffset{co(`{"kafka_topic":"t","kafka_partition":"3"}`, `{"kafka_offset":"12"}`), co(`{"kafka_topic":"u","kafka_partition":0}`, "")})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]sinkOffset{{Topic: "t", Partition: 3, At: 12}, {Topic: "u", Partition: 0, At: -1}}, got); d != "" {
		t.Fatalf("parsed (-want +got):\n%s", d)
	}
}

// TestPatchConnectorConfig: a patch merges into the running config (a nil
// value removes its key), the connector restarts with it, and an unknown
// connector or an invalid result changes nothing.
func TestPatchConnectorConfig(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "p1", "count": "10", "batch": "3"})
	e.readTopic("p1", 10)
	twenty := "20"
	info, err := e.h.PatchConnectorConfig(ctx, "c1", map[string]*string{"count": &twenty, "batch": nil})
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := map[string]string{"connector.class": "counter", "topic": "p1", "count": "20", "name": "c1"}
	if d := cmp.Diff(wantCfg, info.Config); d != "" {
		t.Fatalf("patched config (-want +got):\n%s", d)
	}
	// The restarted task goes on from its offset to the new count.
	if d := diffCounts(wantValues(1, 20), counts(e.readTopic("p1", 20))); d != "" {
		t.Fatal(d)
	}
	if _, err := e.h.PatchConnectorConfig(ctx, "nope", map[string]*string{"count": &twenty}); !errors.Is(err, herder.ErrNotFound) {
		t.Fatalf("patch of an unknown connector: %v", err)
	}
	var ve *herder.ValidationError
	if _, err := e.h.PatchConnectorConfig(ctx, "c1", map[string]*string{"topic": nil}); !errors.As(err, &ve) {
		t.Fatalf("patch removing a required key: %v", err)
	}
	cfg, _ := e.h.ConnectorConfig(ctx, "c1")
	if d := cmp.Diff(wantCfg, cfg); d != "" {
		t.Fatalf("config after a refused patch (-want +got):\n%s", d)
	}
}
