package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/pgtest"
)

// TestExtractNewRecordStateEndToEnd runs postgres-cdc with Debezium's
// unwrap transform configured as Debezium's documentation configures it
// (rewrite, add.fields=op,table,lsn,source.ts_ms, add.headers) in the
// plugin process of the real binary, and checks every record the topic
// gets, schema included: snapshot reads, an insert, an update and a delete
// become rows with __deleted and the metadata fields, the delete's
// tombstone is dropped, and the heartbeats, which are not change events,
// pass unchanged.
func TestExtractNewRecordStateEndToEnd(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	pg.Exec("shop",
		"CREATE TABLE customers (id int PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL, tier text DEFAULT 'standard')",
		"ALTER TABLE customers REPLICA IDENTITY FULL",
		"INSERT INTO customers VALUES (1001, 'Sally', 'Thomas', 'sally.thomas@acme.com', 'gold'), (1002, 'George', 'Bailey', 'gbailey@foobar.com', DEFAULT), (1003, 'Edward', 'Walker', 'ed@walker.com', DEFAULT)")

	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	cfg := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop", "heartbeat.interval.ms": "300",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"transforms":                             "unwrap",
		"transforms.unwrap.type":                 "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.handling.mode": "rewrite",
		"transforms.unwrap.add.fields":           "op,table,lsn,source.ts_ms",
		"transforms.unwrap.add.headers":          "op,db",
		"transforms.unwrap.add.headers.prefix":   "dbz_",
	}
	if _, err := p.client.CreateConnector(ctx, "pg", cfg); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	const topic = "shop.public.customers"
	waitFor(t, 60*time.Second, "the snapshot in "+topic, func() (bool, string) {
		c := topicCount(t, p.bootstrap, topic)
		return c >= 3, fmt.Sprint(c)
	})
	pg.Exec("shop",
		"INSERT INTO customers VALUES (1004, 'Anne', 'Kretchmar', 'annek@noanswer.org', NULL)",
		"UPDATE customers SET first_name = 'Anne Marie' WHERE id = 1004",
		"DELETE FROM customers WHERE id = 1004",
		"INSERT INTO customers VALUES (1005, 'Sarah', 'Thompson', 'kitt@acme.com', 'silver')")

	recs := kafkatest.ReadRecords(t, strings.Split(p.bootstrap, ","), kafkatest.Until{Want: 7, Quiet: 3 * time.Second, Timeout: time.Minute}, topic)
	row := func(id int, first, last, email, tier, deleted, op string) string {
		return fmt.Sprintf(`{"id":%d,"first_name":%q,"last_name":%q,"email":%q,"tier":%q,"__deleted":%q,"__op":%q,"__table":"customers"}`,
			id, first, last, email, tier, deleted, op)
	}
	want := []string{
		row(1001, "Sally", "Thomas", "sally.thomas@acme.com", "gold", "false", "r"),
		row(1002, "George", "Bailey", "gbailey@foobar.com", "standard", "false", "r"),
		row(1003, "Edward", "Walker", "ed@walker.com", "standard", "false", "r"),
		// A null with a default reads as the default: Debezium's rewrite
		// does so, and so does the JsonConverter.
		row(1004, "Anne", "Kretchmar", "annek@noanswer.org", "standard", "false", "c"),
		row(1004, "Anne Marie", "Kretchmar", "annek@noanswer.org", "standard", "false", "u"),
		// The delete is its before row, marked deleted; its tombstone is dropped.
		row(1004, "Anne Marie", "Kretchmar", "annek@noanswer.org", "standard", "true", "d"),
		row(1005, "Sarah", "Thompson", "kitt@acme.com", "silver", "false", "c"),
	}
	wantSchema := `{"type":"struct","name":"shop.public.customers.Value","optional":false,"fields":[
		{"field":"id","type":"int32","optional":false},
		{"field":"first_name","type":"string","optional":false},
		{"field":"last_name","type":"string","optional":false},
		{"field":"email","type":"string","optional":false},
		{"field":"tier","type":"string","optional":true,"default":"standard"},
		{"field":"__deleted","type":"string","optional":true},
		{"field":"__op","type":"string","optional":true},
		{"field":"__table","type":"string","optional":true},
		{"field":"__lsn","type":"int64","optional":true},
		{"field":"__source_ts_ms","type":"int64","optional":true}]}`
	var got []string
	for i, r := range recs {
		if r.Value == nil {
			t.Fatalf("record %d is a tombstone: the transform drops them (key %s)", i, r.Key)
		}
		var v struct {
			Schema  json.RawMessage
			Payload map[string]any
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("record %d: %v: %s", i, err, r.Value)
		}
		if d := cmp.Diff(jsonValue(t, wantSchema), jsonValue(t, string(v.Schema))); d != "" {
			t.Fatalf("record %d: value schema (-want +got):\n%s", i, d)
		}
		// The position and time vary: check they are there, then leave them out.
		for _, f := range []string{"__lsn", "__source_ts_ms"} {
			if n, ok := v.Payload[f].(float64); !ok || n <= 0 {
				t.Fatalf("record %d: %s = %v in %s", i, f, v.Payload[f], r.Value)
			}
			delete(v.Payload, f)
		}
		b, _ := json.Marshal(v.Payload)
		got = append(got, string(b))
		id := v.Payload["id"]
		if wantKey := fmt.Sprintf(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"shop.public.customers.Key"},"payload":{"id":%v}}`, id); !jsonEqual(t, wantKey, string(r.Key)) {
			t.Fatalf("record %d: key %s, want %s", i, r.Key, wantKey)
		}
		hdrs := map[string]string{}
		for _, h := range r.Headers {
			hdrs[h.Key] = string(h.Value)
		}
		if d := cmp.Diff(map[string]string{"dbz_op": v.Payload["__op"].(string), "dbz_db": "shop"}, hdrs); d != "" {
			t.Fatalf("record %d: headers (-want +got):\n%s", i, d)
		}
	}
	for i := range want {
		want[i] = string(jsonValueBytes(t, want[i]))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("rows (-want +got):\n%s", d)
	}
	t.Logf("%d rows as expected, the last %s with headers %v", len(got), recs[len(recs)-1].Value, recs[len(recs)-1].Headers)

	// Heartbeats are not change events: they pass as the connector wrote them.
	hb := kafkatest.ReadRecords(t, strings.Split(p.bootstrap, ","), kafkatest.Until{Want: 1, Timeout: time.Minute}, "__debezium-heartbeat.shop")
	if len(hb) == 0 {
		t.Fatal("no heartbeat")
	}
	var v struct {
		Schema struct {
			Name string
		}
		Payload map[string]any
	}
	if err := json.Unmarshal(hb[0].Value, &v); err != nil || v.Schema.Name != "io.debezium.connector.common.Heartbeat" || v.Payload["ts_ms"] == nil || len(hb[0].Headers) != 0 {
		t.Fatalf("heartbeat %s, headers %v: %v", hb[0].Value, hb[0].Headers, err)
	}
	p.stop()
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

// jsonValueBytes re-encodes s as encoding/json writes it: keys sorted.
func jsonValueBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := json.Marshal(jsonValue(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	return cmp.Equal(jsonValue(t, a), jsonValue(t, b))
}
