package runtime

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/connectd/connectd/framework/herder"
)

func TestParseTopicCreationErrors(t *testing.T) {
	t.Parallel()
	base := map[string]string{"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "3"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   map[string][]string
	}{
		{"none", map[string]string{"topic": "x"}, nil},
		{"default only", base, nil},
		{"missing default partitions", with("topic.creation.default.partitions", "<unset>"), map[string][]string{
			"topic.creation.default.partitions": {`Missing required configuration "topic.creation.default.partitions" which has no default value.`}}},
		{"zero replication", with("topic.creation.default.replication.factor", "0"), map[string][]string{
			"topic.creation.default.replication.factor": {"Invalid value 0 for configuration topic.creation.default.replication.factor: Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default"}}},
		{"negative partitions", with("topic.creation.default.partitions", "-5"), map[string][]string{
			"topic.creation.default.partitions": {"Invalid value -5 for configuration topic.creation.default.partitions: Number of partitions must be positive, or -1 to use the broker's default"}}},
		{"group without include", with("topic.creation.groups", "compacted"), map[string][]string{
			"topic.creation.compacted.include": {`Missing required configuration "topic.creation.compacted.include" which has no default value: name the topics (regular expressions) group compacted takes`}}},
		{"bad regex", with("topic.creation.groups", "g", "topic.creation.g.include", "a(b"), map[string][]string{
			"topic.creation.g.include": {"Invalid value a(b for configuration topic.creation.g.include: error parsing regexp: missing closing ): `a(b`"}}},
		{"unlisted group", with("topic.creation.other.include", "x"), map[string][]string{
			"topic.creation.other.include": {"Topic creation group other is not listed in topic.creation.groups; list it there or remove this key"}}},
		{"bad cleanup policy", with("topic.creation.default.cleanup.policy", "forever"), map[string][]string{
			"topic.creation.default.cleanup.policy": {"Invalid value forever for configuration topic.creation.default.cleanup.policy: cleanup.policy must be compact, delete or both"}}},
		{"unknown topic config", with("topic.creation.default.retention.forever", "1"), map[string][]string{
			"topic.creation.default.retention.forever": {"Invalid value 1 for configuration topic.creation.default.retention.forever: retention.forever is not a Kafka topic config"}}},
		{"default listed", with("topic.creation.groups", "default"), map[string][]string{
			"topic.creation.groups": {"Invalid value default for configuration topic.creation.groups: the default group is always defined and must not be listed"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := parseTopicCreation(tc.config)
			if len(errs) == 0 {
				errs = nil
			}
			if diff := cmp.Diff(tc.want, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopicCreationGroupOrder(t *testing.T) {
	t.Parallel()
	tc, errs := parseTopicCreation(map[string]string{
		"topic.creation.default.replication.factor": "-1", "topic.creation.default.partitions": "1",
		"topic.creation.default.compression.type": "lz4",
		"topic.creation.groups":                   "inorder, compacted",
		"topic.creation.inorder.include":          "status.*, audit",
		"topic.creation.inorder.exclude":          "status-x",
		"topic.creation.inorder.partitions":       "2",
		"topic.creation.compacted.include":        ".*",
		"topic.creation.compacted.cleanup.policy": "compact",
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for topic, want := range map[string]string{"status-1": "inorder", "audit": "inorder", "audits": "compacted", "status-x": "compacted"} {
		if g := tc.group(topic); g.name != want {
			t.Errorf("%s: group %s, want %s", topic, g.name, want)
		}
	}
	// A group inherits the default group's settings it does not set.
	g := tc.group("audit")
	if g.partitions != 2 || g.replicationFactor != -1 || *g.configs["compression.type"] != "lz4" {
		t.Errorf("inorder group: %+v", g)
	}
}

// A source connector's topics are created with the partitions,
// replication factor and configs of the group that takes them, as the
// broker reports them back.
func TestTopicCreationGroupsCreateTopics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "orders-compacted", "count": "10",
		"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "5",
		"topic.creation.groups":                        "compacted",
		"topic.creation.compacted.include":             ".*-compacted",
		"topic.creation.compacted.partitions":          "2",
		"topic.creation.compacted.cleanup.policy":      "compact",
		"topic.creation.compacted.min.insync.replicas": "1",
	})
	e.put("c2", map[string]string{"connector.class": "counter", "topic": "orders", "count": "10",
		"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "5",
		"topic.creation.default.retention.ms": "3600000",
	})
	e.waitTaskState("c1", 0, herder.Running, "")
	e.waitTaskState("c2", 0, herder.Running, "")
	e.readTopic("orders-compacted", 10)
	e.readTopic("orders", 10)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	details, err := adm.ListTopics(ctx, "orders-compacted", "orders")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range details.Sorted() {
		got[d.Topic] = fmt.Sprintf("partitions=%d rf=%d", len(d.Partitions), d.Partitions.NumReplicas())
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "orders-compacted", "orders")
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			if c.Source == kmsg.ConfigSourceDynamicTopicConfig && c.Value != nil {
				got[rc.Name+" "+c.Key] = *c.Value
			}
		}
	}
	want := map[string]string{
		"orders-compacted":                     "partitions=2 rf=1",
		"orders-compacted cleanup.policy":      "compact",
		"orders-compacted min.insync.replicas": "1",
		"orders":                               "partitions=5 rf=1",
		"orders retention.ms":                  "3600000",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("topics as the broker has them (-want +got):\n%s", diff)
	}
}

// Invalid KIP-158 settings are refused when the connector is created.
func TestTopicCreationRefusedAtCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	_, _, err := e.h.PutConnectorConfig(context.Background(), "c1", map[string]string{"name": "c1", "connector.class": "counter", "topic": "x",
		"topic.creation.default.replication.factor": "0", "topic.creation.default.partitions": "1"}, false)
	if err == nil {
		t.Fatal("a replication factor of 0 was accepted")
	}
	if got := err.Error(); !strings.Contains(got, "topic.creation.default.replication.factor") {
		t.Fatalf("the error does not name the key: %v", err)
	}
}
