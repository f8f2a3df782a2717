package s3sink

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/connectd/connectd/framework/connect"
)

// Parquet objects are written as Confluent's ParquetFormat writes them:
// the Connect schema mapped as AvroData maps it to Avro and parquet-avro
// maps Avro to Parquet. Structs are groups with their fields in schema
// order; int8 and int16 widen to INT32; Decimal is BINARY DECIMAL(precision,
// scale) (precision from the schema's connect.decimal.precision parameter,
// else 64, AvroData's default); Date is INT32 DATE, Time INT32
// TIME(MILLIS), Timestamp INT64 TIMESTAMP(MILLIS), both UTC-adjusted;
// optional schemas are optional fields; maps with string keys are MAP
// groups, other maps lists of key/value groups (AvroData's MapEntry);
// arrays are 3-level LIST groups (parquet-avro's layout when lists may hold
// nulls; Confluent writes the older 2-level layout for lists that cannot).

// pnode mirrors the Parquet schema for shredding values into columns.
type pnode struct {
	kind     int // pLeaf, pStruct, pList, pMap, pMapList
	optional bool
	schema   *connect.Schema
	children []*pnode // struct fields; list: element; maps: key, value
	col      int      // leaf: column index
	rep      int      // list and maps: the repetition level of their repeated group
	leaves   []int    // the columns under this node
	leaf     func(v any) (parquet.Value, error)
}

const (
	pLeaf = iota
	pStruct
	pList
	pMap
	pMapList
)

// field names a node in its parent group.
type field struct {
	parquet.Node
	name string
}

func (f field) Name() string                       { return f.name }
func (f field) Value(reflect.Value) reflect.Value  { return reflect.Value{} }
func (f field) String() string                     { return f.name }
func newGroup(fields []parquet.Field) orderedGroup { return orderedGroup{groupOf(fields), fields} }
func groupOf(fields []parquet.Field) parquet.Group {
	g := parquet.Group{}
	for _, f := range fields {
		g[f.Name()] = f.(field).Node
	}
	return g
}

// orderedGroup is a group whose fields keep the order they were given
// (parquet.Group sorts them by name; Avro records keep schema order).
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

type listGroup struct{ orderedGroup }

func (listGroup) Type() parquet.Type { return listType }

type mapGroup struct{ orderedGroup }

func (mapGroup) Type() parquet.Type { return mapType }

var (
	listType = parquet.List(parquet.String()).Type()
	mapType  = parquet.Map(parquet.String(), parquet.String()).Type()
)

// parquetSchema maps a Connect struct schema to a Parquet schema and the
// shredding tree of its values.
func parquetSchema(s *connect.Schema) (*parquet.Schema, *pnode, error) {
	if s == nil {
		return nil, nil, errors.New("Parquet needs a schema: use a converter with schemas (e.g. JsonConverter with schemas.enable=true)")
	}
	if s.Type != connect.Struct {
		return nil, nil, fmt.Errorf("Parquet needs a struct value schema, got %s", s)
	}
	b := &schemaBuilder{}
	node, root, err := b.node(s, 0, 0)
	if err != nil {
		return nil, nil, err
	}
	root.optional = false
	name := s.Name
	if name == "" {
		name = "ConnectDefault"
	}
	if o, ok := node.(interface{ Fields() []parquet.Field }); ok {
		node = newGroup(o.Fields())
	}
	return parquet.NewSchema(name, node), root, nil
}

type schemaBuilder struct{ cols int }

// node builds the Parquet node of s; rep is the repetition depth so far.
func (b *schemaBuilder) node(s *connect.Schema, rep, depth int) (parquet.Node, *pnode, error) {
	if depth > 64 {
		return nil, nil, errors.New("schema nested more than 64 levels")
	}
	pn := &pnode{optional: s.Optional, schema: s}
	var n parquet.Node
	switch s.Type {
	case connect.Struct:
		pn.kind = pStruct
		if len(s.Fields) == 0 {
			return nil, nil, fmt.Errorf("struct %s has no fields: Parquet groups need one", s)
		}
		fields := make([]parquet.Field, 0, len(s.Fields))
		for _, f := range s.Fields {
			cn, cp, err := b.node(f.Schema, rep, depth+1)
			if err != nil {
				return nil, nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
			fields = append(fields, field{cn, f.Name})
			pn.children = append(pn.children, cp)
			pn.leaves = append(pn.leaves, cp.leaves...)
		}
		n = newGroup(fields)
	case connect.Array:
		pn.kind, pn.rep = pList, rep+1
		en, ep, err := b.node(s.Items, rep+1, depth+1)
		if err != nil {
			return nil, nil, fmt.Errorf("array items: %w", err)
		}
		pn.children, pn.leaves = []*pnode{ep}, ep.leaves
		elem := newGroup([]parquet.Field{field{en, "element"}})
		n = listGroup{newGroup([]parquet.Field{field{parquet.Repeated(elem), "list"}})}
	case connect.Map:
		pn.rep = rep + 1
		kn, kp, err := b.node(s.Keys, rep+1, depth+1)
		if err != nil {
			return nil, nil, fmt.Errorf("map keys: %w", err)
		}
		vn, vp, err := b.node(s.Values, rep+1, depth+1)
		if err != nil {
			return nil, nil, fmt.Errorf("map values: %w", err)
		}
		pn.children = []*pnode{kp, vp}
		pn.leaves = append(slices.Clone(kp.leaves), vp.leaves...)
		if s.Keys.Type == connect.String && !s.Keys.Optional {
			pn.kind = pMap
			kv := newGroup([]parquet.Field{field{kn, "key"}, field{vn, "value"}})
			n = mapGroup{newGroup([]parquet.Field{field{parquet.Repeated(kv), "key_value"}})}
		} else {
			pn.kind = pMapList
			entry := newGroup([]parquet.Field{field{kn, "key"}, field{vn, "value"}})
			n = listGroup{newGroup([]parquet.Field{field{parquet.Repeated(newGroup([]parquet.Field{field{entry, "element"}})), "list"}})}
		}
	default:
		leaf, conv, err := leafNode(s)
		if err != nil {
			return nil, nil, err
		}
		pn.kind, pn.col, pn.leaf = pLeaf, b.cols, conv
		pn.leaves = []int{b.cols}
		b.cols++
		n = leaf
	}
	if s.Optional {
		n = parquet.Optional(n)
	} else {
		n = parquet.Required(n)
	}
	return n, pn, nil
}

func leafNode(s *connect.Schema) (parquet.Node, func(any) (parquet.Value, error), error) {
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, nil, err
		}
		precision := 64
		if p, ok := s.Parameters["connect.decimal.precision"]; ok {
			if precision, err = strconv.Atoi(p); err != nil {
				return nil, nil, fmt.Errorf("decimal precision %q: %w", p, err)
			}
		}
		return parquet.Decimal(int(scale), precision, parquet.ByteArrayType), func(v any) (parquet.Value, error) {
			d, ok := v.(connect.Decimal)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			if d.Scale != scale {
				return parquet.Value{}, fmt.Errorf("decimal %s has scale %d, the schema's is %d", d, d.Scale, scale)
			}
			return parquet.ByteArrayValue(d.Bytes()), nil
		}, nil
	case connect.DateName:
		return parquet.Date(), timeConv(s, func(t time.Time) parquet.Value { return parquet.Int32Value(connect.DateToDays(t)) }), nil
	case connect.TimeName:
		return parquet.Time(parquet.Millisecond), timeConv(s, func(t time.Time) parquet.Value { return parquet.Int32Value(connect.TimeToMillis(t)) }), nil
	case connect.TimestampName:
		return parquet.Timestamp(parquet.Millisecond), timeConv(s, func(t time.Time) parquet.Value { return parquet.Int64Value(t.UnixMilli()) }), nil
	}
	switch s.Type {
	case connect.Boolean:
		return parquet.Leaf(parquet.BooleanType), func(v any) (parquet.Value, error) {
			b, ok := v.(bool)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			return parquet.BooleanValue(b), nil
		}, nil
	case connect.Int8, connect.Int16, connect.Int32:
		return parquet.Leaf(parquet.Int32Type), func(v any) (parquet.Value, error) {
			switch x := v.(type) {
			case int8:
				return parquet.Int32Value(int32(x)), nil
			case int16:
				return parquet.Int32Value(int32(x)), nil
			case int32:
				return parquet.Int32Value(x), nil
			}
			return parquet.Value{}, typeMismatch(s, v)
		}, nil
	case connect.Int64:
		return parquet.Leaf(parquet.Int64Type), func(v any) (parquet.Value, error) {
			x, ok := v.(int64)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			return parquet.Int64Value(x), nil
		}, nil
	case connect.Float32:
		return parquet.Leaf(parquet.FloatType), func(v any) (parquet.Value, error) {
			x, ok := v.(float32)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			return parquet.FloatValue(x), nil
		}, nil
	case connect.Float64:
		return parquet.Leaf(parquet.DoubleType), func(v any) (parquet.Value, error) {
			x, ok := v.(float64)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			return parquet.DoubleValue(x), nil
		}, nil
	case connect.String:
		return parquet.String(), func(v any) (parquet.Value, error) {
			x, ok := v.(string)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			return parquet.ByteArrayValue([]byte(x)), nil
		}, nil
	case connect.Bytes:
		return parquet.Leaf(parquet.ByteArrayType), func(v any) (parquet.Value, error) {
			x, ok := v.([]byte)
			if !ok {
				return parquet.Value{}, typeMismatch(s, v)
			}
			return parquet.ByteArrayValue(x), nil
		}, nil
	}
	return nil, nil, fmt.Errorf("unsupported schema type %s", s.Type)
}

func timeConv(s *connect.Schema, f func(time.Time) parquet.Value) func(any) (parquet.Value, error) {
	return func(v any) (parquet.Value, error) {
		t, ok := v.(time.Time)
		if !ok {
			return parquet.Value{}, typeMismatch(s, v)
		}
		return f(t), nil
	}
}

func typeMismatch(s *connect.Schema, v any) error {
	return fmt.Errorf("value of Go type %T does not match schema %s", v, s)
}

// shredder turns values into Parquet rows, reusing its buffers.
type shredder struct {
	root *pnode
	cols [][]parquet.Value
}

// row shreds one struct value into a row (valid until the next call).
func (sh *shredder) row(v any, out parquet.Row) (parquet.Row, error) {
	if sh.cols == nil {
		sh.cols = make([][]parquet.Value, len(sh.root.leaves))
	}
	for i := range sh.cols {
		sh.cols[i] = sh.cols[i][:0]
	}
	if v == nil {
		return nil, errors.New("a null value cannot be a Parquet row")
	}
	if err := sh.shred(sh.root, v, 0, 0); err != nil {
		return nil, err
	}
	out = out[:0]
	for _, c := range sh.cols {
		out = append(out, c...)
	}
	return out, nil
}

func (sh *shredder) nulls(n *pnode, r, d int) {
	for _, c := range n.leaves {
		sh.cols[c] = append(sh.cols[c], parquet.NullValue().Level(r, d, c))
	}
}

func (sh *shredder) shred(n *pnode, v any, r, d int) error {
	if v == nil {
		v = n.schema.Default
	}
	if n.optional {
		if v == nil {
			sh.nulls(n, r, d)
			return nil
		}
		d++
	} else if v == nil {
		return fmt.Errorf("null value for required schema %s", n.schema)
	}
	switch n.kind {
	case pLeaf:
		pv, err := n.leaf(v)
		if err != nil {
			return err
		}
		sh.cols[n.col] = append(sh.cols[n.col], pv.Level(r, d, n.col))
	case pStruct:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return typeMismatch(n.schema, v)
		}
		for i, c := range n.children {
			f := n.schema.Fields[i]
			if err := sh.shred(c, sv.GetIndex(i), r, d); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
	case pList:
		elems, ok := v.([]any)
		if !ok {
			return typeMismatch(n.schema, v)
		}
		if len(elems) == 0 {
			sh.nulls(n, r, d)
			return nil
		}
		for i, e := range elems {
			ri := r
			if i > 0 {
				ri = n.rep
			}
			if err := sh.shred(n.children[0], e, ri, d+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	case pMap, pMapList:
		keys, vals, err := mapEntries(v)
		if err != nil {
			return typeMismatch(n.schema, v)
		}
		if len(keys) == 0 {
			sh.nulls(n, r, d)
			return nil
		}
		// A MapEntry list's element group is required: no extra level.
		for i := range keys {
			ri := r
			if i > 0 {
				ri = n.rep
			}
			if err := sh.shred(n.children[0], keys[i], ri, d+1); err != nil {
				return fmt.Errorf("map key: %w", err)
			}
			if err := sh.shred(n.children[1], vals[i], ri, d+1); err != nil {
				return fmt.Errorf("map value %v: %w", keys[i], err)
			}
		}
	}
	return nil
}

// mapEntries lists a map's entries, string keys sorted (Go maps have no
// order; a Java HashMap's would differ anyway).
func mapEntries(v any) ([]any, []any, error) {
	switch m := v.(type) {
	case map[string]any:
		ks := slices.Sorted(maps.Keys(m))
		keys, vals := make([]any, len(ks)), make([]any, len(ks))
		for i, k := range ks {
			keys[i], vals[i] = k, m[k]
		}
		return keys, vals, nil
	case map[any]any:
		type kv struct {
			s    string
			k, v any
		}
		entries := make([]kv, 0, len(m))
		for k, val := range m {
			entries = append(entries, kv{fmt.Sprint(k), k, val})
		}
		slices.SortFunc(entries, func(a, b kv) int {
			if a.s < b.s {
				return -1
			}
			if a.s > b.s {
				return 1
			}
			return 0
		})
		keys, vals := make([]any, len(entries)), make([]any, len(entries))
		for i, e := range entries {
			keys[i], vals[i] = e.k, e.v
		}
		return keys, vals, nil
	}
	return nil, nil, errors.New("not a map")
}

// parquetCodec returns the codec of parquet.codec and the object
// extension Confluent's sink gives it.
func parquetCodec(name string) (compress.Codec, string) {
	switch name {
	case "snappy":
		return &parquet.Snappy, ".snappy.parquet"
	case "gzip":
		return &parquet.Gzip, ".gz.parquet"
	case "lz4":
		return &parquet.Lz4Raw, ".lz4raw.parquet"
	case "zstd":
		return &parquet.Zstd, ".zstd.parquet"
	case "brotli":
		return &parquet.Brotli, ".br.parquet"
	}
	return &parquet.Uncompressed, ".parquet"
}

// parquetEncoder writes one Parquet object: rows go to a row group held
// in memory, flushed to out as a row group when it grows past
// rowGroupBytes or when the task needs the memory; close writes the footer.
type parquetEncoder struct {
	w       *parquet.Writer
	sh      shredder
	row     parquet.Row
	out     *countingWriter
	schema  *connect.Schema
	written int64 // bytes of out at the last flush
}

// rowGroupBytes bounds the rows an open Parquet file holds in memory.
const rowGroupBytes = 8 << 20

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newParquetEncoder(out io.Writer, s *connect.Schema, codec compress.Codec) (*parquetEncoder, error) {
	schema, root, err := parquetSchema(s)
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: out}
	w := parquet.NewWriter(cw, schema, parquet.Compression(codec), parquet.PageBufferSize(64<<10),
		parquet.CreatedBy("connectd s3-sink", Version, ""))
	return &parquetEncoder{w: w, sh: shredder{root: root}, out: cw, schema: s}, nil
}

func (e *parquetEncoder) write(v any) error {
	row, err := e.sh.row(v, e.row)
	if err != nil {
		return err
	}
	e.row = row
	if _, err := e.w.WriteRows([]parquet.Row{row}); err != nil {
		return err
	}
	if e.buffered() >= rowGroupBytes {
		return e.flush()
	}
	return nil
}

// buffered is the size of the row group held in memory.
func (e *parquetEncoder) buffered() int64 {
	n := e.w.Size() - e.out.n
	if n < 0 {
		return 0
	}
	return n
}

func (e *parquetEncoder) flush() error { return e.w.Flush() }
func (e *parquetEncoder) close() error { return e.w.Close() }
