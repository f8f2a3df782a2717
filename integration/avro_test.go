package integration

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	twmb "github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
	"github.com/connectd/connectd/internal/testserver"
)

// avroConverters are the converter keys of a connector that writes or
// reads Avro through the registry at url.
func avroConverters(url string) map[string]string {
	return map[string]string{
		"key.converter":                       "io.confluent.connect.avro.AvroConverter",
		"key.converter.schema.registry.url":   url,
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": url,
	}
}

func registryClient(t *testing.T, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url), sr.HTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestPostgresCDCAvroSchemaChange streams a table through postgres-cdc with
// Confluent's AvroConverter while the table gains a column: the registry
// holds a second version of the value schema, and every event decodes
// with the schema its id names, by an Avro implementation of its own
// (github.com/twmb/avro) as by the converter.
func TestPostgresCDCAvroSchemaChange(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	pg.Exec("shop", `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))`,
		`INSERT INTO items SELECT i, 'item ' || i, i * 1.25 FROM generate_series(1, 100) i`)
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	cdc := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop",
	}
	maps.Copy(cdc, avroConverters(p.registry))
	if _, err := p.client.CreateConnector(ctx, "pg", cdc); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	const topic = "shop.public.items"
	readRecords(t, p.bootstrap, topic, 100)
	pg.Exec("shop", `INSERT INTO items VALUES (101, 'before the change', 1)`,
		`ALTER TABLE items ADD COLUMN color text DEFAULT 'red'`,
		`INSERT INTO items SELECT i, 'item ' || i, i, 'blue' FROM generate_series(102, 150) i`,
		`UPDATE items SET color = 'green' WHERE id = 5`)
	recs := readRecords(t, p.bootstrap, topic, 151)
	if len(recs) != 151 {
		t.Fatalf("%s holds %d records, want 151 (100 read, 50 inserts, 1 update)", topic, len(recs))
	}

	cl := registryClient(t, p.registry)
	versions, err := cl.SubjectVersions(ctx, topic+"-value")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 {
		t.Fatalf("subject %s-value has versions %v, want 2: one before and one after ADD COLUMN", topic, versions)
	}
	conv, err := converters.New("avro")
	if err != nil {
		t.Fatal(err)
	}
	if err := conv.Configure(map[string]string{"schema.registry.url": p.registry}, false); err != nil {
		t.Fatal(err)
	}
	writers := map[int]*twmb.Schema{}
	seen := map[string]int{}
	colors := map[string]string{}
	for _, r := range recs {
		if len(r.Value) < 5 || r.Value[0] != 0 {
			t.Fatalf("offset %d is not in the wire format: %x", r.Offset, r.Value[:min(len(r.Value), 8)])
		}
		id := int(binary.BigEndian.Uint32(r.Value[1:5]))
		w, ok := writers[id]
		if !ok {
			s, err := cl.SchemaByID(ctx, id)
			if err != nil {
				t.Fatalf("offset %d: schema id %d: %v", r.Offset, id, err)
			}
			if w, err = twmb.Parse(s.Schema); err != nil {
				t.Fatal(err)
			}
			writers[id] = w
		}
		var env map[string]any
		if rest, err := w.Decode(r.Value[5:], &env); err != nil || len(rest) > 0 {
			t.Fatalf("offset %d: the payload does not decode with schema %d: %v", r.Offset, id, err)
		}
		after, _ := env["after"].(map[string]any)
		if after == nil {
			t.Fatalf("offset %d: no after image: %v", r.Offset, env)
		}
		key := fmt.Sprint(after["id"])
		seen[key]++
		if c, ok := after["color"]; ok && c != nil {
			colors[key] = fmt.Sprint(c)
		}
		if _, _, err := conv.ToConnect(topic, r.Value); err != nil {
			t.Fatalf("offset %d: the converter reads it back: %v", r.Offset, err)
		}
	}
	if len(writers) != 2 {
		t.Fatalf("records name %d schema ids, want 2", len(writers))
	}
	for i := 1; i <= 150; i++ {
		want := 1
		if i == 5 {
			want = 2 // read, then updated
		}
		if seen[fmt.Sprint(i)] != want {
			t.Fatalf("row %d: %d events, want %d", i, seen[fmt.Sprint(i)], want)
		}
	}
	if colors["5"] != "green" || colors["120"] != "blue" || colors["101"] != "" {
		t.Fatalf("colors after the change: row 5 %q, row 120 %q, row 101 %q", colors["5"], colors["120"], colors["101"])
	}
	p.stop()
}

// TestPostgresCDCAvroToS3Parquet is TestPostgresCDCToS3Parquet with Avro
// on the topic: postgres-cdc writes with the AvroConverter, s3-sink reads
// with it, and the Parquet objects rebuild the table.
func TestPostgresCDCAvroToS3Parquet(t *testing.T) {
	cdcToS3Parquet(t, func(p *devProcess) map[string]string { return avroConverters(p.registry) })
}

// TestAvroToElastic has postgres-cdc write Avro and elastic-sink read it:
// the index's mapping is derived from the schema the registry holds, and
// the documents are the table's rows.
func TestAvroToElastic(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	pg.Exec("shop", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL, name text NOT NULL)",
		"INSERT INTO accounts SELECT i, i % 100, 'acct ' || i FROM generate_series(0, 499) i")
	es := testserver.StartESFake(t)
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	source := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop",
	}
	maps.Copy(source, avroConverters(p.registry))
	if _, err := p.client.CreateConnector(ctx, "pg", source); err != nil {
		t.Fatal(err)
	}
	const topic = "shop.public.accounts"
	sink := map[string]string{
		"connector.class":                   "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
		"topics":                            topic,
		"connection.url":                    es.URL,
		"transforms":                        "unwrap,key",
		"transforms.unwrap.type":            "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.drop.tombstones": "false",
		"transforms.key.type":               "org.apache.kafka.connect.transforms.ExtractField$Key",
		"transforms.key.field":              "id",
		"behavior.on.null.values":           "delete",
	}
	maps.Copy(sink, avroConverters(p.registry))
	if _, err := p.client.CreateConnector(ctx, "es", sink); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	p.waitTask("es", 0, herder.Running, "")
	pg.Exec("shop", "UPDATE accounts SET balance = balance + 1000 WHERE id < 50", "DELETE FROM accounts WHERE id >= 450")
	want := accountsDocs(t, pg, "shop")
	waitFor(t, 60*time.Second, "the index to hold the table", func() (bool, string) {
		got := es.Docs(topic)
		if len(got) != len(want) {
			return false, fmt.Sprintf("%d documents, want %d", len(got), len(want))
		}
		for id, doc := range want {
			if got[id] != doc {
				return false, fmt.Sprintf("document %s: %s, want %s", id, got[id], doc)
			}
		}
		return true, ""
	})
	mapping := string(es.Mapping(topic))
	for _, m := range []string{`"balance":{"type":"integer"}`, `"id":{"type":"long"}`,
		`"name":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}`} {
		if !strings.Contains(mapping, m) {
			t.Errorf("the mapping %s lacks %s, which the Avro schema's Connect form gives", mapping, m)
		}
	}
	p.stop()
}

// TestAvroBadInputToleranceAndRecovery: a sink reading Avro meets a record
// that is not in the wire format and, later, a registry it cannot reach.
// With errors.tolerance=all the bad record goes to the dead letter queue
// and every other record is written; with the registry unreachable the
// task fails after its retries, commits nothing past the record, and once
// pointed at the registry writes every record exactly once.
func TestAvroBadInputToleranceAndRecovery(t *testing.T) {
	ctx := context.Background()
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	const topic, n = "avro-in", 40
	conv, err := converters.New("avro")
	if err != nil {
		t.Fatal(err)
	}
	if err := conv.Configure(map[string]string{"schema.registry.url": p.registry}, false); err != nil {
		t.Fatal(err)
	}
	createTopic(t, p.bootstrap, topic, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.bootstrap, ",")...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range n {
		v, err := conv.FromConnect(topic, connect.StringSchema, fmt.Sprintf("line %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 17 {
			v = []byte(`{"not":"avro"}`)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	out := filepath.Join(t.TempDir(), "out.txt")
	sink := map[string]string{
		"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": topic, "file": out,
		"key.converter":                       "org.apache.kafka.connect.converters.ByteArrayConverter",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": p.registry,
		"errors.tolerance":                    "all",
	}
	maps.Copy(sink, dlqKeys)
	sink["errors.deadletterqueue.topic.name"] = "avro-dlq"
	if _, err := p.client.CreateConnector(ctx, "file", sink); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "every good line in the file", func() (bool, string) {
		b, _ := os.ReadFile(out)
		lines := strings.Count(string(b), "\n")
		return lines == n-1, fmt.Sprintf("%d lines", lines)
	})
	b, _ := os.ReadFile(out)
	for i := range n {
		want := 1
		if i == 17 {
			want = 0
		}
		if c := strings.Count(string(b), fmt.Sprintf("line %d\n", i)); c != want {
			t.Fatalf("line %d written %d times, want %d", i, c, want)
		}
	}
	dlq := readRecords(t, p.bootstrap, "avro-dlq", 1)
	if len(dlq) != 1 || string(dlq[0].Value) != `{"not":"avro"}` {
		t.Fatalf("the dead letter queue holds %d records: %v", len(dlq), dlq)
	}
	if h := headerMap(dlq[0]); h["__connect.errors.stage"] != "VALUE_CONVERTER" || !strings.Contains(h["__connect.errors.exception.message"], "Unknown magic byte!") {
		t.Fatalf("DLQ headers: %v", h)
	}

	// A second sink over the same records, with a registry nobody answers
	// at, and errors.tolerance=none: it fails and commits nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	out2 := filepath.Join(t.TempDir(), "out2.txt")
	sink2 := map[string]string{
		"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": topic, "file": out2,
		"key.converter":                       "org.apache.kafka.connect.converters.ByteArrayConverter",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": dead,
		"errors.retry.timeout":                "1000",
		"errors.tolerance":                    "all",
	}
	maps.Copy(sink2, dlqKeys)
	sink2["errors.deadletterqueue.topic.name"] = "avro-dlq2"
	sink2["errors.tolerance"] = "none"
	if _, err := p.client.CreateConnector(ctx, "file2", sink2); err != nil {
		t.Fatal(err)
	}
	p.waitTask("file2", 0, herder.Failed, "unreachable")
	if b, _ := os.ReadFile(out2); len(b) != 0 {
		t.Fatalf("the failed sink wrote %q", b)
	}
	sink2["value.converter.schema.registry.url"] = p.registry
	sink2["errors.tolerance"] = "all"
	if _, _, err := p.client.PutConnectorConfig(ctx, "file2", sink2); err != nil {
		t.Fatal(err)
	}
	if err := p.client.RestartTask(ctx, "file2", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the recovered sink's file", func() (bool, string) {
		b, _ := os.ReadFile(out2)
		return strings.Count(string(b), "\n") == n-1, fmt.Sprintf("%d lines", strings.Count(string(b), "\n"))
	})
	b2, _ := os.ReadFile(out2)
	if string(b2) != string(b) {
		t.Fatalf("after recovery the file differs:\n%s\nwant\n%s", b2, b)
	}
	p.stop()
}

// TestDevRegistrySurvivesRestart: `connectd dev` prints its registry's
// address; schemas registered there are in the broker's _schemas topic and
// are there again, with their ids, after the process restarts on its data
// dir.
func TestDevRegistrySurvivesRestart(t *testing.T) {
	ctx := context.Background()
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t), registryPort: freePort(t)}
	p := startDev(t, opts)
	if p.registry != fmt.Sprintf("http://127.0.0.1:%d", opts.registryPort) {
		t.Fatalf("dev printed Schema Registry: %q", p.registry)
	}
	schema := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
	id, err := registryClient(t, p.registry).RegisterSchema(ctx, "r-value", sr.Schema{Schema: schema}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	p.stop()
	p = startDev(t, opts)
	got, err := registryClient(t, p.registry).SchemaByVersion(ctx, "r-value", 1)
	if err != nil || got.ID != id || got.Schema.Schema != schema {
		t.Fatalf("after the restart: %+v, %v", got, err)
	}
	recs := readRecords(t, p.bootstrap, "_schemas", 1)
	if len(recs) != 1 {
		t.Fatalf("_schemas holds %d records, want 1", len(recs))
	}
	if key := string(recs[0].Key); key != `{"keytype":"SCHEMA","subject":"r-value","version":1,"magic":1}` {
		t.Fatalf("_schemas record keyed %q", key)
	}
	p.stop()
}
