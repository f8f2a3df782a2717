package storage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestStatusLogActiveTopicsWireFormat: active topics and their reset, byte
// for byte as Kafka Connect's KafkaStatusBackingStore writes them.
func TestStatusLogActiveTopicsWireFormat(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-status")
	s := openStatus(t, seeds, topic)
	ctx := ctxT(t)
	must(t, s.PutTopic(ctx, TopicStatus{Topic: "orders", Connector: "my-conn", Task: 2, DiscoverTimestamp: 1700000000123}))
	must(t, s.PutTopic(ctx, TopicStatus{Topic: "t.1", Connector: "a:connector-b", Task: 0, DiscoverTimestamp: 5}))
	must(t, s.ResetTopics(ctx, "my-conn"))

	want := map[string][]string{
		"status-topic-orders:connector-my-conn":    {`{"topic":{"name":"orders","connector":"my-conn","task":2,"discoverTimestamp":1700000000123}}`, "null"},
		"status-topic-t.1:connector-a:connector-b": {`{"topic":{"name":"t.1","connector":"a:connector-b","task":0,"discoverTimestamp":5}}`},
	}
	if d := cmp.Diff(want, byKey(readRaw(t, seeds, topic))); d != "" {
		t.Fatalf("records on the status topic (-want +got):\n%s", d)
	}
	must(t, s.ReadToEnd(ctx))
	if got := s.Topics("my-conn"); len(got) != 0 {
		t.Errorf("my-conn's topics after reset = %v, want none", got)
	}
	if d := cmp.Diff([]string{"t.1"}, s.Topics("a:connector-b")); d != "" {
		t.Errorf("topics of a connector whose name holds the separator (-want +got):\n%s", d)
	}
}

// TestStatusLogReadsActiveTopics: records another worker (or Kafka
// Connect) wrote are read back by every worker; tombstones remove them and
// count as removals; records that cannot be read are skipped.
func TestStatusLogReadsActiveTopics(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-status")
	createTopic(t, seeds, topic, 5)
	produceRaw(t, seeds, topic,
		rawRecord{Key: "status-topic-b:connector-c", Value: `{"topic":{"name":"b","connector":"c","task":1,"discoverTimestamp":20}}`},
		rawRecord{Key: "status-topic-a:connector-c", Value: `{"topic":{"name":"a","connector":"c","task":0,"discoverTimestamp":10}}`},
		rawRecord{Key: "status-topic-gone:connector-c", Value: `{"topic":{"name":"gone","connector":"c","task":0,"discoverTimestamp":30}}`},
		rawRecord{Key: "status-topic-gone:connector-c", Value: "null"},
		rawRecord{Key: "status-topic-bad:connector-c", Value: `{"topic":{"name":"bad","connector":"c","task":"x","discoverTimestamp":1}}`},
		rawRecord{Key: "status-topic-nokey", Value: `{"topic":{"name":"nokey","connector":"c","task":0,"discoverTimestamp":1}}`},
		rawRecord{Key: "status-topic-x:connector-", Value: `{"topic":{"name":"x","connector":"","task":0,"discoverTimestamp":1}}`},
	)
	s := openStatus(t, seeds, topic)
	if d := cmp.Diff([]string{"a", "b"}, s.Topics("c")); d != "" {
		t.Errorf("topics of c (-want +got):\n%s", d)
	}
	st, ok, removals := s.ActiveTopic("c", "b")
	if want := (TopicStatus{Topic: "b", Connector: "c", Task: 1, DiscoverTimestamp: 20}); !ok || st != want || removals != 1 {
		t.Errorf("ActiveTopic(c, b) = %+v, %v, %d; want %+v, true, 1", st, ok, removals, want)
	}
	if got := s.Topics(""); len(got) != 0 {
		t.Errorf("topics of an empty connector name = %v, want none", got)
	}

	// A second worker's reset reaches the first.
	other := openStatus(t, seeds, topic)
	ctx := ctxT(t)
	must(t, other.ResetTopics(ctx, "c"))
	deadline := time.Now().Add(20 * time.Second)
	for len(s.Topics("c")) > 0 && time.Now().Before(deadline) {
		must(t, s.ReadToEnd(ctx))
	}
	if got := s.Topics("c"); len(got) != 0 {
		t.Errorf("topics of c after the other worker's reset = %v, want none", got)
	}
	if _, _, removals := s.ActiveTopic("c", "a"); removals != 3 {
		t.Errorf("removals of c = %d, want 3", removals)
	}
}

func TestParseTopicStatusKey(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		key              string
		topic, connector string
		ok               bool
	}{
		"plain":                  {key: "status-topic-t:connector-c", topic: "t", connector: "c", ok: true},
		"connector with colons":  {key: "status-topic-t:connector-a:b:connector-c", topic: "t", connector: "a:b:connector-c", ok: true},
		"no separator":           {key: "status-topic-t-c"},
		"empty topic":            {key: "status-topic-:connector-c"},
		"empty connector":        {key: "status-topic-t:connector-"},
		"other text after colon": {key: "status-topic-t:conn-c"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			topic, conn, ok := parseTopicStatusKey(tc.key)
			if d := cmp.Diff([]any{tc.topic, tc.connector, tc.ok}, []any{topic, conn, ok}, cmpopts.EquateEmpty()); ok != tc.ok || (ok && d != "") {
				t.Errorf("parseTopicStatusKey(%q) (-want +got):\n%s", tc.key, d)
			}
		})
	}
}
