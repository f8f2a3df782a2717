package postgrescdc

import (
	"context"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/pgtest"
)

// extTypesTable has a column of every type beyond the basic ones that
// Debezium maps (or leaves out): bits, the contrib extensions, the
// geometric built-ins, multi-dimensional arrays, tsvector.
const extTypesTable = `CREATE TABLE ext (
	id int PRIMARY KEY,
	b1 bit(1), b12 bit(12), vb varbit, vb5 varbit(5),
	hs hstore, lt ltree, lta ltree[], ct citext, cta citext[],
	pt point, ln line, ls lseg, bx box, pa path, pg polygon, ci circle,
	a2 int[][], t2 text[][], a1 int[], ts tsvector)`

const extTypesRow = `INSERT INTO ext VALUES (1,
	B'1', B'101000000001', B'0000000011', B'10000',
	'a=>1, "b c"=>NULL, "q\"<>"=>"x,y"', 'top.science.astronomy', '{a.b,c}', 'MiXeD', '{One,two}',
	'(1.5,-2)', '{1,-1,0}', '[(0,0),(1,1)]', '((2,2),(0,0))', '[(0,0),(1,1),(2,0)]', '((0,0),(1,1),(1,0))', '<(1,1),2>',
	'{{1,2},{3,NULL}}', '{{"a b",c},{d,"e,f"}}', '{{7,8}}', 'the quick brown fox')`

// TestGoldenExtendedTypes snapshots and streams a row with every extended
// type, once with the defaults (hstore as JSON, unknown types left out)
// and once with hstore.handling.mode=map and include.unknown.datatypes,
// and checks the events against testdata/types_ext.golden.
func TestGoldenExtendedTypes(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	pg.Exec("app", "CREATE EXTENSION hstore", "CREATE EXTENSION ltree", "CREATE EXTENSION citext", extTypesTable, extTypesRow)
	p := newPipeline(t, pg, "app", false)
	var out strings.Builder
	for _, m := range []struct{ prefix, hstore, unknown string }{
		{"dflt", "json", "false"},
		{"map", "map", "true"},
	} {
		p.create(m.prefix, p.connectorConfig(map[string]string{
			"topic.prefix": m.prefix, "slot.name": m.prefix, "hstore.handling.mode": m.hstore, "include.unknown.datatypes": m.unknown,
		}))
		pg.WaitStreaming(t, "app", m.prefix)
		out.WriteString(normalize(t, p.readTopics(1, m.prefix+".public.ext")))
	}
	// The same row streamed, to both.
	pg.Exec("app", strings.Replace(extTypesRow, "VALUES (1,", "VALUES (2,", 1))
	for _, prefix := range []string{"dflt", "map"} {
		out.WriteString(normalize(t, p.readTopics(2, prefix+".public.ext")[1:]))
	}
	checkGolden(t, "types_ext.golden", out.String())
}

// TestGoldenPostGIS checks geometry and geography columns against
// testdata/postgis.golden when the server has PostGIS (scripts/servers.sh
// installs Debian's postgresql-15-postgis-3 where apt can). Without it the
// test says so and checks the same values through the wire form PostGIS
// sends (hex EWKB), which is all the connector reads of them.
func TestGoldenPostGIS(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase("app")
	var n int
	if err := pg.Connect("app").QueryRow(context.Background(), "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Log("PostGIS is not installed on this machine (Debian: postgresql-15-postgis-3): checking the EWKB decoding alone")
		checkEWKB(t)
		return
	}
	t.Log("PostGIS is installed: checking geometry and geography columns end to end")
	pg.Exec("app", "CREATE EXTENSION postgis",
		`CREATE TABLE geo (id int PRIMARY KEY, g geometry, gp geometry(Point, 4326), gg geography, gs geometry[])`,
		`INSERT INTO geo VALUES (1, 'LINESTRING(0 0, 1 1)', 'SRID=4326;POINT(1 2)', 'SRID=4326;POINT(-71.06 42.36)', ARRAY['POINT(1 1)'::geometry, NULL])`)
	p := newPipeline(t, pg, "app", false)
	p.create("pg", p.connectorConfig(map[string]string{"table.include.list": `public\.geo`}))
	pg.WaitStreaming(t, "app", "cdc")
	pg.Exec("app", `INSERT INTO geo VALUES (2, 'POLYGON((0 0, 1 0, 1 1, 0 0))', NULL, 'SRID=4326;POINT(2.35 48.85)', '{}')`)
	checkGolden(t, "postgis.golden", normalize(t, p.readTopics(2, "srv.public.geo")))
	checkEWKB(t)
}

// checkEWKB decodes PostGIS's wire form of SRID=4326;POINT(1 2) and of a
// point without SRID, as pgoutput and a text query send them.
func checkEWKB(t *testing.T) {
	t.Helper()
	conv := geoConv(geometrySchema)
	v, err := conv.decode([]byte("0101000020E6100000000000000000F03F0000000000000040"))
	if err != nil {
		t.Fatal(err)
	}
	s := v.(interface{ Get(string) any })
	if srid := s.Get("srid"); srid != int32(4326) {
		t.Fatalf("srid %v, want 4326", srid)
	}
	if wkb := s.Get("wkb").([]byte); len(wkb) != 25 || wkb[0] != 1 {
		t.Fatalf("wkb %x: want the EWKB as sent", wkb)
	}
	v, err = conv.decode([]byte("0101000000000000000000F03F0000000000000040"))
	if err != nil || v.(interface{ Get(string) any }).Get("srid") != nil {
		t.Fatalf("point without SRID: %v %v", v, err)
	}
	if _, err := conv.decode([]byte("01")); err == nil {
		t.Fatal("a short EWKB decoded")
	}
}
