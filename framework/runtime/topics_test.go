package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// newTopicsEnv is newEnv with extra worker keys.
func newTopicsEnv(t *testing.T, extra map[string]string) *env {
	t.Helper()
	e := newEnv(t, "none")
	raw := map[string]string{}
	for k, v := range e.cfg.Raw {
		raw[k] = v
	}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := ParseWorkerConfig(raw, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.h.Close()
	e.cfg = cfg
	e.start()
	return e
}

func (e *env) activeTopics(name string) []string {
	e.t.Helper()
	got, err := e.h.ConnectorActiveTopics(context.Background(), name)
	if err != nil {
		e.t.Fatalf("active topics of %s: %v", name, err)
	}
	return got.Topics
}

func (e *env) waitActiveTopics(name string, want []string) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%s's active topics %v", name, want), func() (bool, string) {
		got := e.activeTopics(name)
		return cmp.Equal(want, got), fmt.Sprint(got)
	})
}

// produce writes one record to topic.
func (e *env) produce(topic, value string) {
	e.t.Helper()
	cl := kgoClient(e.t, e)
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

func linesIn(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// TestActiveTopicsSourceAndSink: a source's active topic is where its
// records went after its transforms; a sink's are the topics it read
// records from; a reset forgets them until they are used again; deleting a
// connector forgets its topics.
func TestActiveTopicsSourceAndSink(t *testing.T) {
	e := newEnv(t, "none")
	e.put("routed-src", map[string]string{
		"connector.class": "counter", "tasks.max": "2", "topic": "raw", "count": "20", "batch": "5",
		"transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex": "raw", "transforms.route.replacement": "routed",
	})
	e.put("plain-src", map[string]string{"connector.class": "counter", "tasks.max": "1", "topic": "plain", "count": "10"})
	out := filepath.Join(t.TempDir(), "out.txt")
	e.put("snk", map[string]string{"connector.class": "collect", "tasks.max": "1", "topics": "routed,plain", "file": out})

	if n := len(kafkatest.ReadRecords(t, e.cluster.ListenAddrs(), kafkatest.Until{Want: 40}, "routed")); n != 40 {
		t.Fatalf("routed holds %d records, want 40", n)
	}
	e.waitActiveTopics("routed-src", []string{"routed"})
	e.waitActiveTopics("plain-src", []string{"plain"})
	waitFor(t, "the sink to flush every record", func() (bool, string) {
		n := linesIn(out)
		return n >= 50, fmt.Sprint(n, " lines")
	})
	e.waitActiveTopics("snk", []string{"plain", "routed"})

	st, ok := e.h.topics.Status("routed-src", "routed")
	if !ok || st.Task < 0 || st.Task > 1 || st.DiscoverTimestamp <= 0 || st.Connector != "routed-src" {
		t.Errorf("routed-src's status of routed = %+v, %v; want one of its tasks and a discovery time", st, ok)
	}

	if err := e.h.ResetConnectorActiveTopics(context.Background(), "snk"); err != nil {
		t.Fatal(err)
	}
	if got := e.activeTopics("snk"); len(got) != 0 {
		t.Fatalf("snk's active topics after reset = %v, want none", got)
	}
	// Only the topic used after the reset comes back.
	e.produce("plain", "late")
	waitFor(t, "the sink to flush the late record", func() (bool, string) {
		n := linesIn(out)
		return n >= 51, fmt.Sprint(n, " lines")
	})
	e.waitActiveTopics("snk", []string{"plain"})

	if err := e.h.DeleteConnector(context.Background(), "plain-src"); err != nil {
		t.Fatal(err)
	}
	if got := e.activeTopics("plain-src"); len(got) != 0 {
		t.Errorf("deleted plain-src's active topics = %v, want none", got)
	}
	// An unknown connector has no topics, as in Kafka Connect.
	if got := e.activeTopics("nope"); len(got) != 0 {
		t.Errorf("unknown connector's active topics = %v, want none", got)
	}
}

// TestActiveTopicsConfig: topic.tracking.enable=false records nothing and
// answers Kafka Connect's 403; topic.tracking.allow.reset=false refuses a
// reset and keeps the topics.
func TestActiveTopicsConfig(t *testing.T) {
	t.Run("tracking disabled", func(t *testing.T) {
		e := newTopicsEnv(t, map[string]string{KeyTopicTracking: "false"})
		e.put("src", map[string]string{"connector.class": "counter", "tasks.max": "1", "topic": "t1", "count": "10"})
		if n := len(e.readTopic("t1", 10)); n != 10 {
			t.Fatalf("t1 holds %d records, want 10", n)
		}
		_, err := e.h.ConnectorActiveTopics(context.Background(), "src")
		wantForbidden(t, err, herder.MsgTopicTrackingDisabled)
		wantForbidden(t, e.h.ResetConnectorActiveTopics(context.Background(), "src"), herder.MsgTopicTrackingDisabled)
		if got := e.h.topics.Topics("src"); len(got) != 0 {
			t.Errorf("recorded %v with tracking disabled, want nothing", got)
		}
	})
	t.Run("reset not allowed", func(t *testing.T) {
		e := newTopicsEnv(t, map[string]string{KeyTopicTrackingReset: "false"})
		e.put("src", map[string]string{"connector.class": "counter", "tasks.max": "1", "topic": "t1", "count": "10"})
		e.waitActiveTopics("src", []string{"t1"})
		wantForbidden(t, e.h.ResetConnectorActiveTopics(context.Background(), "src"), herder.MsgTopicTrackingResetDisabled)
		if got := e.activeTopics("src"); !cmp.Equal(got, []string{"t1"}) {
			t.Errorf("active topics after a refused reset = %v, want [t1]", got)
		}
	})
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	var re *herder.RequestError
	if !errors.As(err, &re) || re.Status != 403 || re.Message != msg {
		t.Errorf("error = %v, want a 403 %q", err, msg)
	}
}
