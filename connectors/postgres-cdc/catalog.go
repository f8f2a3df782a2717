package postgrescdc

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// tableID names a table.
type tableID struct{ schema, name string }

func (t tableID) String() string { return t.schema + "." + t.name }

// quoted returns the table's name as SQL, e.g. "public"."Order".
func (t tableID) quoted() string { return quoteIdent(t.schema) + "." + quoteIdent(t.name) }

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// columnMeta is what the catalog says of one column.
type columnMeta struct {
	name    string
	oid     uint32
	typmod  int32
	notNull bool
	pkPos   int // 1-based position in the primary key; 0 when not in it
	typname string
	enum    bool
	// defaultExpr is the column's DEFAULT as pg_get_expr prints it, or nil.
	defaultExpr *string
	dims        int // declared array dimensions
}

// tableMeta is what the catalog says of one table.
type tableMeta struct {
	id       tableID
	oid      uint32
	identity byte // relreplident: d, n, f, i
	columns  []columnMeta
	estRows  int64
}

// hasPK reports whether the table has a primary key.
func (m *tableMeta) hasPK() bool {
	for _, c := range m.columns {
		if c.pkPos > 0 {
			return true
		}
	}
	return false
}

// simpleQuery runs sql (no parameters) and returns its rows as text.
func simpleQuery(ctx context.Context, conn *pgconn.PgConn, sql string) ([][][]byte, error) {
	results, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, nil
	}
	return results[len(results)-1].Rows, results[len(results)-1].Err
}

// tablesQuery lists ordinary tables, partitions included and partitioned
// parents not: pgoutput reports a partition's changes as the partition's
// own, so the snapshot reads partitions too and every row lands in the
// topic its changes go to. With a publication that publishes via the
// partition root (publish_via_partition_root), it is the other way round:
// roots, not partitions.
const tablesQuery = `SELECT c.oid, n.nspname, c.relname, c.relreplident, GREATEST(c.reltuples, 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`

const tablesViaRootQuery = `SELECT c.oid, n.nspname, c.relname, c.relreplident,
CASE WHEN c.relkind = 'p' THEN COALESCE((SELECT sum(GREATEST(p.reltuples, 0)) FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf), 0)::bigint
ELSE GREATEST(c.reltuples, 0)::bigint END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`

const columnsQuery = `SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod, a.attnotnull,
COALESCE((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k(att, n) WHERE k.att = a.attnum), 0),
t.typname, t.typtype, pg_get_expr(d.adbin, d.adrelid), a.attndims
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND a.attrelid IN (%s)
ORDER BY a.attrelid, a.attnum`

// loadTables returns the captured tables, sorted by name, with columns.
// oids, when not empty, limits the query to those tables.
func loadTables(ctx context.Context, conn *pgconn.PgConn, f filter, oids ...uint32) ([]*tableMeta, error) {
	q := tablesQuery
	if f.viaRoot {
		q = tablesViaRootQuery
	}
	if len(oids) > 0 {
		q += " AND c.oid IN (" + joinOIDs(oids) + ")"
	}
	rows, err := simpleQuery(ctx, conn, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []*tableMeta
	byOID := map[uint32]*tableMeta{}
	for _, r := range rows {
		oid, _ := strconv.ParseUint(string(r[0]), 10, 32)
		id := tableID{string(r[1]), string(r[2])}
		if !f.table(id.schema, id.name) {
			continue
		}
		est, _ := strconv.ParseInt(string(r[4]), 10, 64)
		m := &tableMeta{id: id, oid: uint32(oid), identity: r[3][0], estRows: est}
		out = append(out, m)
		byOID[m.oid] = m
	}
	if len(out) == 0 {
		return nil, nil
	}
	keys := make([]uint32, 0, len(byOID))
	for k := range byOID {
		keys = append(keys, k)
	}
	rows, err = simpleQuery(ctx, conn, fmt.Sprintf(columnsQuery, joinOIDs(keys)))
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	for _, r := range rows {
		oid, _ := strconv.ParseUint(string(r[0]), 10, 32)
		m := byOID[uint32(oid)]
		typ, _ := strconv.ParseUint(string(r[2]), 10, 32)
		mod, _ := strconv.ParseInt(string(r[3]), 10, 32)
		pk, _ := strconv.Atoi(string(r[5]))
		cm := columnMeta{name: string(r[1]), oid: uint32(typ), typmod: int32(mod), notNull: string(r[4]) == "t", pkPos: pk,
			typname: string(r[6]), enum: string(r[7]) == "e"}
		if r[8] != nil {
			expr := string(r[8])
			cm.defaultExpr = &expr
		}
		cm.dims, _ = strconv.Atoi(string(r[9]))
		m.columns = append(m.columns, cm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id.String() < out[j].id.String() })
	return out, nil
}

func joinOIDs(oids []uint32) string {
	b := make([]byte, 0, len(oids)*6)
	for i, o := range oids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(o), 10)
	}
	return string(b)
}

// typeCatalog caches user-defined types (enums, domains, their arrays).
type typeCatalog struct {
	conn  func() *pgconn.PgConn
	types map[uint32]typeInfo
	err   error
}

const typesQuery = `SELECT t.oid, t.typname, t.typtype, t.typelem, t.typbasetype, t.typtypmod,
COALESCE((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), ''),
t.typcategory, t.typdelim
FROM pg_type t WHERE t.oid = %d`

// lookup resolves oid, querying the catalog once per type.
func (c *typeCatalog) lookup(oid uint32) (typeInfo, bool) {
	if ti, ok := c.types[oid]; ok {
		return ti, ti.oid != 0
	}
	if c.types == nil {
		c.types = map[uint32]typeInfo{}
	}
	rows, err := simpleQuery(context.Background(), c.conn(), fmt.Sprintf(typesQuery, oid))
	if err != nil || len(rows) == 0 {
		if err != nil {
			c.err = err
		}
		return typeInfo{}, false
	}
	r := rows[0]
	elem, _ := strconv.ParseUint(string(r[3]), 10, 32)
	base, _ := strconv.ParseUint(string(r[4]), 10, 32)
	mod, _ := strconv.ParseInt(string(r[5]), 10, 32)
	ti := typeInfo{oid: oid, name: string(r[1]), typtype: r[2][0], base: uint32(base), basemod: int32(mod), category: r[7][0], delim: r[8][0]}
	if ti.category == 'A' {
		// Only arrays: point, lseg, box and line have an element type too.
		ti.elem = uint32(elem)
	}
	if ti.typtype == 'e' && len(r[6]) > 0 {
		ti.labels = splitComma(string(r[6]))
	}
	c.types[oid] = ti
	return ti, true
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
