package elasticsink

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

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
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

func testConfig(t *testing.T, kv ...string) *config {
	t.Helper()
	raw := map[string]string{ConnectionURLKey: "http://localhost:9200"}
	for i := 0; i+1 < len(kv); i += 2 {
		raw[kv[i]] = kv[i+1]
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// richSchema has a field of every type Confluent's connector handles.
var richSchema = connect.StructSchema().Name("rich").
	Field("i8", connect.NewSchema(connect.Int8).Build()).
	Field("i16", connect.NewSchema(connect.Int16).Build()).
	Field("i32", connect.NewSchema(connect.Int32).Build()).
	Field("i64", connect.NewSchema(connect.Int64).Build()).
	Field("f32", connect.NewSchema(connect.Float32).Build()).
	Field("f64", connect.NewSchema(connect.Float64).Build()).
	Field("bool", connect.NewSchema(connect.Boolean).Build()).
	Field("str", connect.NewSchema(connect.String).Build()).
	Field("bytes", connect.NewSchema(connect.Bytes).Build()).
	Field("dec", connect.DecimalSchema(2).Build()).
	Field("date", connect.DateSchema().Build()).
	Field("time", connect.TimeSchema().Build()).
	Field("ts", connect.TimestampSchema().Build()).
	Field("smap", connect.MapSchema(connect.NewSchema(connect.String).Build(), connect.NewSchema(connect.Int32).Build()).Build()).
	Field("imap", connect.MapSchema(connect.NewSchema(connect.Int32).Build(), connect.NewSchema(connect.String).Build()).Build()).
	Field("arr", connect.ArraySchema(connect.NewSchema(connect.String).Build()).Build()).
	Field("nested", connect.StructSchema().Field("x", connect.NewSchema(connect.Int64).Optional().Build()).Build()).
	Field("opt", connect.NewSchema(connect.String).Optional().Build()).
	Field("dflt", connect.NewSchema(connect.Int32).Default(int32(7)).Build()).
	Build()

func richValue() *connect.StructValue {
	nested := connect.NewStruct(richSchema.Fields[16].Schema).Put("x", nil)
	return connect.NewStruct(richSchema).
		Put("i8", int8(-8)).Put("i16", int16(16)).Put("i32", int32(32)).Put("i64", int64(1)<<40).
		Put("f32", float32(1.5)).Put("f64", float64(2)).Put("bool", true).Put("str", "é \"q\"\n").
		Put("bytes", []byte{0, 1, 2}).Put("dec", connect.Decimal{Unscaled: big.NewInt(12345), Scale: 2}).
		Put("date", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)).Put("time", time.UnixMilli(3_600_000).UTC()).
		Put("ts", time.UnixMilli(1_700_000_000_123).UTC()).
		Put("smap", map[string]any{"b": int32(2), "a": int32(1)}).
		Put("imap", map[any]any{int32(2): "two", int32(1): "one"}).
		Put("arr", []any{"x", "y"}).Put("nested", nested).Put("opt", nil).Put("dflt", nil)
}

// TestActions: the bulk lines each kind of record makes, as golden text.
func TestActions(t *testing.T) {
	t.Parallel()
	ts := time.UnixMilli(1_700_000_000_000)
	schemaless := map[string]any{"b": true, "a": int64(1), "s": "x\"y\n\u2028", "f": 1.0, "n": nil, "arr": []any{int64(1), "two", 2.5e-7}, "big": 1e21}
	withHeader := func(r *connect.Record, k string, v any) *connect.Record {
		r.Headers = append(r.Headers, connect.Header{Key: "other", Value: "9"}, connect.Header{Key: k, Value: v})
		return r
	}
	keyed := func(key any, value any) *connect.Record {
		return &connect.Record{Topic: "Orders", Partition: 3, Offset: 42, Key: key, Value: value, Timestamp: ts}
	}
	structRec := &connect.Record{Topic: "rich", Partition: 0, Offset: 7, KeySchema: connect.NewSchema(connect.Int32).Build(), Key: int32(5),
		ValueSchema: richSchema, Value: richValue(), Timestamp: ts}
	cases := []struct {
		name string
		cfg  []string
		rec  *connect.Record
	}{
		{"insert, offset version", nil, keyed("k1", schemaless)},
		{"insert, no version", []string{ExternalVersionSrcKey, "none"}, keyed(int64(17), map[string]any{"v": 1.25})},
		{"insert, header version", []string{ExternalVersionHeadKey, "ver"}, withHeader(keyed("k1", map[string]any{}), "ver", "1234")},
		{"insert, numeric header version", []string{ExternalVersionHeadKey, "ver"}, withHeader(keyed("k1", map[string]any{}), "ver", int64(99))},
		{"header missing", []string{ExternalVersionHeadKey, "ver"}, keyed("k1", map[string]any{})},
		{"header not a number", []string{ExternalVersionHeadKey, "ver"}, withHeader(keyed("k1", map[string]any{}), "ver", "12a")},
		{"tombstone, delete", []string{BehaviorOnNullKey, "delete"}, keyed("k1", nil)},
		{"tombstone without key, delete", []string{BehaviorOnNullKey, "delete"}, keyed(nil, nil)},
		{"tombstone, ignore", []string{BehaviorOnNullKey, "ignore"}, keyed("k1", nil)},
		{"tombstone, fail", nil, keyed("k1", nil)},
		{"key.ignore", []string{KeyIgnoreKey, "true"}, keyed("k1", map[string]any{"a": "b"})},
		{"topic.key.ignore", []string{TopicKeyIgnoreKey, "Orders"}, keyed("k1", map[string]any{"a": "b"})},
		{"upsert", []string{WriteMethodKey, "upsert"}, keyed("k1", map[string]any{"a": "b"})},
		{"upsert tombstone, delete", []string{WriteMethodKey, "upsert", BehaviorOnNullKey, "delete"}, keyed("k1", nil)},
		{"autogenerated ids", []string{AutogeneratedIDsKey, "true"}, keyed("k1", map[string]any{"a": "b"})},
		{"data stream, record timestamp", []string{DataStreamTypeKey, "logs", DataStreamDatasetKey, "app"}, keyed("k1", map[string]any{"a": "b", "@timestamp": "old"})},
		{"data stream, timestamp field", []string{DataStreamTypeKey, "logs", DataStreamDatasetKey, "app", DataStreamTimestampKey, "missing,when"}, keyed("k1", map[string]any{"when": int64(1700000000999), "x": "y"})},
		{"data stream, value not an object", []string{DataStreamTypeKey, "logs", DataStreamDatasetKey, "app"}, keyed("k1", "text")},
		{"struct, schema.ignore=false", nil, structRec},
		{"struct, schema.ignore=true", []string{SchemaIgnoreKey, "true"}, structRec},
		{"struct, compact.map.entries=false", []string{CompactMapEntriesKey, "false"}, structRec},
		{"struct key", nil, &connect.Record{Topic: "t", Key: connect.NewStruct(connect.StructSchema().Field("id", connect.NewSchema(connect.Int32).Build()).Build()).Put("id", int32(1)),
			KeySchema: connect.StructSchema().Field("id", connect.NewSchema(connect.Int32).Build()).Build(), Value: map[string]any{}}},
		{"float key", nil, keyed(1.5, map[string]any{})},
		{"null key", nil, keyed(nil, map[string]any{})},
		{"empty key", nil, keyed("", map[string]any{})},
		{"special floats", nil, keyed("k", map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1), "f32": float32(0.1)})},
		{"invalid utf-8", nil, keyed("k\xff", map[string]any{"s": "a\xffb"})},
	}
	var b strings.Builder
	for _, tc := range cases {
		cfg := testConfig(t, tc.cfg...)
		c := converter{cfg: cfg}
		index := indexName(cfg, tc.rec.Topic)
		fmt.Fprintf(&b, "== %s\n", tc.name)
		a, err := c.convert(tc.rec, index)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "error: %v\n", err)
		case a == nil:
			b.WriteString("(nothing written)\n")
		default:
			for _, line := range strings.Split(strings.TrimSuffix(string(a.data), "\n"), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("%s: invalid JSON line %s", tc.name, line)
				}
			}
			b.Write(a.data)
		}
	}
	checkGolden(t, "actions.golden", b.String())
}

// TestMapping: the mapping derived from a schema, as Confluent's Mapping
// class derives it.
func TestMapping(t *testing.T) {
	t.Parallel()
	m, err := buildMapping(richSchema)
	if err != nil {
		t.Fatal(err)
	}
	var pretty map[string]any
	if err := json.Unmarshal(m, &pretty); err != nil {
		t.Fatalf("mapping is not JSON: %v\n%s", err, m)
	}
	out, _ := json.MarshalIndent(pretty, "", "  ")
	checkGolden(t, "mapping.golden", string(out)+"\n")
	for _, s := range []*connect.Schema{nil, connect.NewSchema(connect.String).Build()} {
		if _, err := buildMapping(s); err == nil {
			t.Errorf("buildMapping(%v) succeeded, want an error", s)
		}
	}
}

// TestAppendString: every string comes out as valid JSON that reads back
// as the string (invalid UTF-8 as U+FFFD).
func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x01\x1f\x7f", "tab\tcr\rnl\n", "é日本", "\u2028\u2029", "bad\xffutf8", "<&>"} {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q → %s: %v", s, b, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
			t.Errorf("%q → %s → %q, want %q", s, b, back, want)
		}
	}
}

// FuzzDocument: any JSON value, written as a schemaless document, is valid
// JSON with the same content.
func FuzzDocument(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"x",{"b":null}]`, `"s"`, `{"x":{"y":[true,false,1.5e300]}}`, `{"\u0000":"\ud800"}`} {
		f.Add(s)
	}
	cfg := &config{compactMaps: true, schemaIgnore: true}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return
		}
		v = fromJSON(v)
		b, err := appendDocument(nil, &connect.Record{Value: v}, cfg)
		if err != nil {
			return // too deep
		}
		if !json.Valid(b) {
			t.Fatalf("%s → invalid %s", s, b)
		}
	})
}

// fromJSON makes decoded JSON look like the JsonConverter's schemaless
// values: integers as int64, other numbers as float64.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}
