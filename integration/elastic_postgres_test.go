package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
	"github.com/connectd/connectd/internal/testserver"
)

// accountsDocs is the accounts table as documents by id: its rows as the
// sink writes them (JSON, keys sorted).
func accountsDocs(t *testing.T, pg *pgtest.Server, db string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range accountsRows(t, pg, db) {
		var key struct{ ID int64 }
		var row map[string]any
		if err := json.Unmarshal([]byte(k), &key); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(v), &row); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(row)
		out[fmt.Sprint(key.ID)] = string(b)
	}
	return out
}

// TestPostgresToElastic: the migration path end to end. postgres-cdc
// streams a table that a writer keeps changing (inserts, updates,
// deletes); elastic-sink writes the topic into the index as Debezium users
// configure it (ExtractNewRecordState keeping the tombstones that follow
// deletes, the key's id field as document id, tombstones delete); the
// worker is killed with SIGKILL in the middle and started again. Once the
// writer stops and the sink caught up, the index equals the table, deletes
// included.
//
// The index is the in-project server that answers as Elasticsearch does
// (testserver.ESFake), with its mapping derived from the record schema:
// ZincSearch loses a delete that follows a write of the same row within its
// write-ahead log's interval (see testserver.Zinc), and a writer changing
// random rows hits that, whatever the client.
func TestPostgresToElastic(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	const initial = 3000
	pg.Exec("shop", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL, name text NOT NULL)",
		fmt.Sprintf("INSERT INTO accounts SELECT i, i %% 100, 'acct ' || i FROM generate_series(0, %d) i", initial-1))
	es := testserver.StartESFake(t)

	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	source := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop", "snapshot.fetch.size": "500",
		"heartbeat.interval.ms": "500", "status.update.interval.ms": "500",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
	}
	if _, err := p.client.CreateConnector(ctx, "pg", source); err != nil {
		t.Fatal(err)
	}
	const topic = "shop.public.accounts"
	sink := map[string]string{
		"connector.class":                   "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
		"topics":                            topic,
		"connection.url":                    es.URL,
		"key.converter":                     "org.apache.kafka.connect.json.JsonConverter",
		"value.converter":                   "org.apache.kafka.connect.json.JsonConverter",
		"transforms":                        "unwrap,key",
		"transforms.unwrap.type":            "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.drop.tombstones": "false",
		"transforms.key.type":               "org.apache.kafka.connect.transforms.ExtractField$Key",
		"transforms.key.field":              "id",
		"behavior.on.null.values":           "delete",
		"batch.size":                        "200",
		"max.in.flight.requests":            "4",
		"max.buffered.records":              "2000",
		"retry.backoff.ms":                  "50",
	}
	if _, err := p.client.CreateConnector(ctx, "es", sink); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	p.waitTask("es", 0, herder.Running, "")
	w := startWriter(pg, "shop", initial, 7)
	defer func() {
		select {
		case <-w.stop:
		default:
			w.halt()
		}
	}()
	waitFor(t, 60*time.Second, "the snapshot and changes in the index", func() (bool, string) {
		n := len(es.Docs(topic))
		return n >= initial && w.commits.Load() >= 200, fmt.Sprintf("%d documents, %d transactions", n, w.commits.Load())
	})

	p.KillNow()
	time.Sleep(300 * time.Millisecond)
	p = startDev(t, opts)
	p.waitTask("pg", 0, herder.Running, "")
	p.waitTask("es", 0, herder.Running, "")
	waitFor(t, 60*time.Second, "changes after the restart", func() (bool, string) {
		c := w.commits.Load()
		return c >= 600, fmt.Sprint(c)
	})
	w.halt()

	want := accountsDocs(t, pg, "shop")
	// The source has streamed everything once the topic, read until it is
	// quiet, rebuilds the table; the sink has written everything once its
	// group committed the topic's end.
	rows := accountsRows(t, pg, "shop")
	if got, n, _ := rebuildTopic(t, p.bootstrap, topic, len(rows)); diffRows(rows, got) != "" {
		t.Fatalf("the topic (%d records) does not rebuild the table:\n%s", n, diffRows(rows, got))
	}
	waitGroupAtEnd(t, kadm.NewClient(newKeyedClient(t, p.bootstrap)), "es", topic)
	if d := cmp.Diff(want, es.Docs(topic)); d != "" {
		t.Fatalf("the index differs from the table after %d transactions and a kill -9 (-table +index):\n%s", w.commits.Load(), d)
	}
	if !strings.Contains(string(es.Mapping(topic)), `"balance":{"type":"integer"}`) {
		t.Errorf("the index's mapping %s is not the one derived from the row schema", es.Mapping(topic))
	}
	if o := es.Overlaps(); len(o) > 0 {
		t.Fatalf("requests in flight shared documents: %v", o)
	}
	t.Logf("%d documents equal the table's rows after %d transactions and a kill -9", len(want), w.commits.Load())
	p.stop()
}
