package integration

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
)

// TestPostgresCDCToS3Parquet streams a table through postgres-cdc into
// Kafka (Debezium's envelope, JSON with schemas) and out through s3-sink
// as Parquet; rebuilding the table from the Parquet objects (read with
// parquet-go) gives exactly the table: nested envelope structs, decimals,
// dates, timestamps, arrays and nulls all survive.
func TestPostgresCDCToS3Parquet(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	pg.Exec("shop", `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), born date,
		seen timestamp, active boolean NOT NULL, tags text[])`,
		`INSERT INTO items SELECT i, 'item ' || i, (i * 1.25)::numeric(10,2), date '2020-01-01' + i,
			timestamp '2024-03-10 12:00:00' + i * interval '1 minute', i % 2 = 0,
			CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY['a' || i, 'b'] END FROM generate_series(1, 2000) i`)
	b := newS3Bucket(t)
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	cdc := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "shop", "topic.prefix": "shop", "time.precision.mode": "connect",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
	}
	if _, err := p.client.CreateConnector(ctx, "pg", cdc); err != nil {
		t.Fatal(err)
	}
	sink := b.sinkConfig("shop.public.items", "format.class", "io.confluent.connect.s3.format.parquet.ParquetFormat",
		"flush.size", "300", "rotate.schedule.interval.ms", "2000", "timezone", "UTC", "behavior.on.null.values", "ignore",
		"value.converter.schemas.enable", "true")
	if _, err := p.client.CreateConnector(ctx, "s3", sink); err != nil {
		t.Fatal(err)
	}
	p.waitTask("pg", 0, herder.Running, "")
	p.waitTask("s3", 0, herder.Running, "")
	rng := rand.New(rand.NewSource(7))
	c := pg.Connect("shop")
	defer c.Close(ctx)
	for i := 0; i < 300; i++ {
		id := 1 + rng.Intn(2400)
		var err error
		switch rng.Intn(4) {
		case 0:
			_, err = c.Exec(ctx, "DELETE FROM items WHERE id = $1", id)
		case 1:
			_, err = c.Exec(ctx, `INSERT INTO items VALUES ($1, $2, $3, date '2021-06-01', now()::timestamp(3), true, ARRAY['new']) ON CONFLICT (id) DO NOTHING`,
				id, fmt.Sprintf("new %d", id), fmt.Sprintf("%d.%02d", id, id%100))
		default:
			_, err = c.Exec(ctx, "UPDATE items SET price = price + 1, name = name || '+', tags = NULL WHERE id = $1", id)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := tableRows(t, c)
	var got map[string]string
	waitFor(t, 3*time.Minute, "the bucket to rebuild the table", func() (bool, string) {
		if st, err := p.client.TaskStatus(ctx, "s3", 0); err == nil && st.State == herder.Failed {
			t.Fatalf("s3 task failed: %s", st.Trace)
		}
		got = rebuildFromParquet(t, b.objects(t))
		return len(got) == len(want) && diffRows(want, got) == "", diffRows(want, got)
	})
	p.stop()
}

// tableRows renders every row as renderRow renders a Parquet row.
func tableRows(t *testing.T, c *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT id, name, coalesce(price::text, 'null'), born - date '1970-01-01',
		(extract(epoch from seen) * 1000)::bigint, active, coalesce(array_to_string(tags, ','), 'null') FROM items`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, days, seen int64
		var name, price, tags string
		var active bool
		if err := rows.Scan(&id, &name, &price, &days, &seen, &active, &tags); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(id)] = fmt.Sprintf("%d|%s|%s|%d|%d|%t|%s", id, name, price, days, seen, active, tags)
	}
	return out
}

// renderRow renders a row image (the envelope's before or after).
func renderRow(m map[string]any) (string, string) {
	id := toInt(m["id"])
	price := "null"
	switch v := m["price"].(type) {
	case float64:
		price = strconv.FormatFloat(v, 'f', 2, 64)
	case *big.Float:
		price = v.Text('f', 2)
	}
	tags := "null"
	if a, ok := m["tags"].([]any); ok {
		parts := make([]string, len(a))
		for i, e := range a {
			parts[i] = fmt.Sprint(e)
		}
		tags = strings.Join(parts, ",")
	}
	return fmt.Sprint(id), fmt.Sprintf("%d|%v|%s|%d|%d|%v|%s", id, m["name"], price, toInt(m["born"]), toInt(m["seen"]), m["active"], tags)
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	case time.Time:
		return x.UnixMilli()
	}
	return -1
}

// rebuildFromParquet applies the change events of the Parquet objects in
// offset order and returns the rows they leave.
func rebuildFromParquet(t *testing.T, objs map[string][]byte) map[string]string {
	t.Helper()
	type obj struct {
		part, start int64
		key         string
	}
	var list []obj
	for k := range objs {
		name := k[strings.LastIndex(k, "/")+1:]
		f := strings.Split(strings.TrimSuffix(name, ".snappy.parquet"), "+")
		if len(f) != 3 {
			t.Fatalf("object %s is not named <topic>+<partition>+<offset>.snappy.parquet", k)
		}
		p, _ := strconv.ParseInt(f[1], 10, 64)
		o, _ := strconv.ParseInt(f[2], 10, 64)
		list = append(list, obj{p, o, k})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].part != list[j].part {
			return list[i].part < list[j].part
		}
		return list[i].start < list[j].start
	})
	state := map[string]string{}
	for _, o := range list {
		rd := parquet.NewReader(bytes.NewReader(objs[o.key]))
		for {
			row := map[string]any{}
			if err := rd.Read(&row); err != nil {
				break
			}
			switch row["op"] {
			case "r", "c", "u":
				id, r := renderRow(row["after"].(map[string]any))
				state[id] = r
			case "d":
				id, _ := renderRow(row["before"].(map[string]any))
				delete(state, id)
			default:
				t.Fatalf("%s: a row with op %v: %v", o.key, row["op"], row)
			}
		}
	}
	return state
}
