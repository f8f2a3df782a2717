package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// readRecords reads topic from the start until it has seen want records
// and then nothing new for two seconds, or a minute has passed.
func readRecords(t *testing.T, bootstrap, topic string, want int) []*kgo.Record {
	t.Helper()
	return kafkatest.ReadRecords(t, strings.Split(bootstrap, ","), kafkatest.Until{Want: want, Quiet: 2 * time.Second}, topic)
}

// topicSize returns how many records topic holds (0 when it does not exist).
func topicSize(t *testing.T, bootstrap, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	return kafkatest.EndOffsets(kadm.NewClient(cl), topic)
}

// chainOf5 is a chain of five transforms, as the end-to-end test
// and benchmark use: InsertField, ReplaceField renaming, MaskField, Filter
// with a predicate that keeps every record, and RegexRouter.
func chainOf5() map[string]string {
	return map[string]string{
		"transforms":                     "insert,rename,mask,keep,route",
		"transforms.insert.type":         "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.insert.static.field": "origin",
		"transforms.insert.static.value": "datagen",
		"transforms.rename.type":         "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.rename.renames":      "seq:sequence",
		"transforms.mask.type":           "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.mask.fields":         "payload",
		"transforms.keep.type":           "org.apache.kafka.connect.transforms.Filter",
		"transforms.keep.predicate":      "isOther",
		"predicates":                     "isOther",
		"predicates.isOther.type":        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
		"predicates.isOther.pattern":     "other.*",
		"transforms.route.type":          "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":         "(.*)",
		"transforms.route.replacement":   "$1-transformed",
		"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": "false",
		"key.converter":                  "org.apache.kafka.connect.storage.StringConverter",
	}
}

// TestTransformChainEndToEnd runs datagen through five transforms in a
// plugin process of the real binary and checks every output record byte
// for byte: the inserted field, the renamed one, the masked one, no record
// filtered, and the topic routed.
func TestTransformChainEndToEnd(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	const n = 500
	cfg := chainOf5()
	for k, v := range map[string]string{"connector.class": "datagen", "topic": "gen", "schema": "simple", "count": fmt.Sprint(n), "batch.size": "37", "record.size": "20"} {
		cfg[k] = v
	}
	if _, err := p.client.CreateConnector(ctx, "gen", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")

	recs := readRecords(t, p.bootstrap, "gen-transformed", n)
	if len(recs) != n {
		t.Fatalf("gen-transformed holds %d records, want %d", len(recs), n)
	}
	seen := map[int64]bool{}
	for _, r := range recs {
		var id int64
		if _, err := fmt.Sscanf(string(r.Value), `{"id":%d,`, &id); err != nil {
			t.Fatalf("record %s: %v", r.Value, err)
		}
		// datagen sets the record's timestamp to the value's ts field.
		want := fmt.Sprintf(`{"id":%d,"sequence":%d,"task":0,"ts":%d,"payload":"","origin":"datagen"}`, id, id, r.Timestamp.UnixMilli())
		if string(r.Value) != want {
			t.Fatalf("record value\n got %s\nwant %s", r.Value, want)
		}
		if r.Key != nil {
			t.Fatalf("record key %q, want null", r.Key)
		}
		if seen[id] {
			t.Fatalf("id %d twice", id)
		}
		seen[id] = true
	}
	for id := range int64(n) {
		if !seen[id] {
			t.Fatalf("id %d missing", id)
		}
	}
	if got := topicSize(t, p.bootstrap, "gen"); got != 0 {
		t.Fatalf("the unrouted topic gen holds %d records", got)
	}

	// The validate endpoint lists the chain's keys under each alias.
	cfg["name"] = "gen"
	infos, err := p.client.ValidateConfig(ctx, "datagen", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if infos.ErrorCount != 0 {
		t.Fatalf("validate finds %d errors in a working config: %+v", infos.ErrorCount, infos)
	}
	groups := strings.Join(infos.Groups, "|")
	for _, g := range []string{"Transforms", "Predicates", "Error Handling", "Transforms: insert", "Transforms: route", "Predicates: isOther"} {
		if !strings.Contains("|"+groups+"|", "|"+g+"|") {
			t.Errorf("validate groups %v lack %q", infos.Groups, g)
		}
	}
	bad := chainOf5()
	for k, v := range map[string]string{"connector.class": "datagen", "transforms.mask.type": "MaskField$Nope", "transforms.rename.renames": "seq"} {
		bad[k] = v
	}
	infos, err = p.client.ValidateConfig(ctx, "datagen", bad)
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]string{}
	for _, c := range infos.Configs {
		errs[c.Definition.Name] = strings.Join(c.Value.Errors, "; ")
	}
	if !strings.Contains(errs["transforms.mask.type"], "MaskField$Nope") || !strings.Contains(errs["transforms.rename.renames"], "transforms.rename.renames") {
		t.Fatalf("validate errors do not name the transform and key: %v", errs)
	}
	if _, err := p.client.CreateConnector(ctx, "bad", bad); err == nil || !strings.Contains(err.Error(), "transforms.mask.type") {
		t.Fatalf("create with a bad chain: %v", err)
	}
}
