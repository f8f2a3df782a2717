package postgrescdc

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite golden files and the README config table")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

const typesTable = `CREATE TABLE types (
	id int PRIMARY KEY,
	i2 smallint, i8 bigint NOT NULL, f4 real, f8 double precision,
	n numeric(10,3), nv numeric, b boolean, t text, vc varchar(20), c char(3), by bytea,
	d date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3), tstz timestamptz, ttz timetz,
	iv interval, u uuid, j json, jb jsonb, ai int[], at text[], e mood)`

const typesRow = `INSERT INTO types VALUES (1,
	-7, 9007199254740993, 1.5, -2.25,
	1234567.891, -0.00125, true, 'text é', 'var', 'ab', '\x00ff10',
	'2024-02-29', '13:14:15.123456', '13:14:15.987', '2024-02-29 13:14:15.123456', '1969-12-31 23:59:59.999',
	'2024-02-29 13:14:15.5+02', '13:14:15.25-03:30',
	'1 year 2 months 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": null}',
	'{1,NULL,3}', '{"a b","c,d",NULL}', 'happy')`

// TestGoldenStream runs the connector in a real worker and checks the
// JsonConverter output (schemas on) of every operation and type against
// testdata/stream.golden.
func TestGoldenStream(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app",
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		typesTable,
		"CREATE TABLE toasty (id int PRIMARY KEY, big text, other int)",
	)
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"skipped.operations": "none"}))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app",
		typesRow,
		"INSERT INTO types (id, i8) VALUES (2, 0)",
		"UPDATE types SET t = 'changed' WHERE id = 1",
		"DELETE FROM types WHERE id = 2",
		"ALTER TABLE types REPLICA IDENTITY FULL",
		"UPDATE types SET f8 = 3.5 WHERE id = 1",
		"UPDATE types SET id = 10 WHERE id = 1",
		"ALTER TABLE toasty ALTER COLUMN big SET STORAGE EXTERNAL",
		"INSERT INTO toasty SELECT 1, string_agg(md5(i::text), '') FROM generate_series(1, 400) i",
		"UPDATE toasty SET other = 7 WHERE id = 1",
		"TRUNCATE types",
	)
	msgs := p.readTopics(12, "srv.public.types", "srv.public.toasty")
	// Each topic in its own order; the topics in name order.
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Topic > msgs[j].Topic })
	// The TOASTed value is 12800 characters: shorten it for the file.
	for i := range msgs {
		msgs[i].Value = []byte(strings.ReplaceAll(string(msgs[i].Value), toastValue(), "<400 md5 sums>"))
	}
	checkGolden(t, "stream.golden", normalize(t, msgs))
}

func toastValue() string {
	var b strings.Builder
	for i := 1; i <= 400; i++ {
		b.WriteString(md5hex(i))
	}
	return b.String()
}

// TestGoldenSnapshotModes snapshots the same row under other
// decimal.handling.mode and time.precision.mode values, and checks the
// read events (op "r", the last one marked snapshot "last") against
// testdata/snapshot_modes.golden.
func TestGoldenSnapshotModes(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app",
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		typesTable,
		typesRow,
		"INSERT INTO types (id, i8, n, nv) VALUES (2, 0, 'NaN', 'NaN')",
	)
	p := newPipeline(t, pg, "app", false)
	modes := []struct{ prefix, decimal, time string }{
		{"str", "string", "connect"},
		{"dbl", "double", "adaptive_time_microseconds"},
	}
	var out strings.Builder
	for _, m := range modes {
		p.create(m.prefix, p.connectorConfig(map[string]string{
			"topic.prefix": m.prefix, "slot.name": m.prefix, "decimal.handling.mode": m.decimal, "time.precision.mode": m.time,
		}))
		out.WriteString(normalize(t, p.readTopics(2, m.prefix+".public.types")))
	}
	checkGolden(t, "snapshot_modes.golden", out.String())
}

// TestGoldenDefaults checks that column defaults reach the schemas as
// Debezium puts them: literals as they are, function defaults (serial's
// nextval, now(), gen_random_uuid()) as the type's placeholder, NULL as
// none; testdata/defaults.golden.
func TestGoldenDefaults(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app",
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		`CREATE TABLE dflt (
			id serial PRIMARY KEY,
			name text NOT NULL DEFAULT 'anon',
			qty int DEFAULT 5,
			neg bigint DEFAULT -3,
			price numeric(6,2) DEFAULT 1.5,
			active boolean DEFAULT true,
			created timestamptz NOT NULL DEFAULT now(),
			day date DEFAULT '2020-01-02',
			m mood DEFAULT 'ok',
			u uuid DEFAULT gen_random_uuid(),
			note varchar(10) DEFAULT NULL,
			raw bytea DEFAULT '\x01')`,
		"INSERT INTO dflt (created, u) VALUES ('2024-01-01 00:00:00+00', '1b4e28ba-2fa1-11d2-883f-0016d3cca427')",
	)
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(nil))
	msgs := p.readTopics(1, "srv.public.dflt")
	checkGolden(t, "defaults.golden", normalize(t, msgs))
}
