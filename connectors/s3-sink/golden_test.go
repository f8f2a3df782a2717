package s3sink

import (
	"bytes"
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

// encodeAll writes recs as one object of the view in the format of cfg.
func encodeAll(t *testing.T, raw map[string]string, v view, recs []*connect.Record) []byte {
	t.Helper()
	cfg, err := parseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.format
	if v == viewKey {
		name = cfg.keysFormat
	} else if v == viewHeaders {
		name = cfg.headersFormat
	}
	spec, err := newFormatSpec(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc, err := spec.newEncoder(&buf, v, recs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := enc.write(r); err != nil {
			t.Fatalf("write %v: %v", r.Value, err)
		}
	}
	if err := enc.close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func goldenConfig(kv ...string) map[string]string {
	cfg := map[string]string{BucketKey: "b", FlushSizeKey: "10", FormatClassKey: JSONFormatClass}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return cfg
}

// schemaless are values as the JSON converter with schemas off makes them.
func schemaless() []*connect.Record {
	vals := []any{
		map[string]any{"id": int64(1), "name": "a\"b\n", "tags": []any{"x", nil, true}, "nested": map[string]any{"f": 1.5, "big": 1e20}},
		"a string", int64(42), 0.1, 100.0, 1e-7, true, []any{int64(1), 2.5},
		map[string]any{"empty": map[string]any{}, "unicode": "grüße ✓", "control": "\u0001"},
	}
	out := make([]*connect.Record, len(vals))
	for i, v := range vals {
		out[i] = &connect.Record{Topic: "t", Offset: int64(i), Value: v, Key: []byte("k"),
			Headers: []connect.Header{{Key: "h", Value: "v"}, {Key: "n", Value: int32(7)}}}
	}
	return out
}

// TestJSONGolden pins the bytes of JSON objects: one JSON value per line,
// as Confluent's JsonFormat writes (JsonConverter, schemas off): struct
// fields in schema order, Decimals base64 (or numbers with
// json.decimal.format=NUMERIC), Dates as days, Timestamps as ms, floats as
// Java prints doubles, keys raw and headers enveloped.
func TestJSONGolden(t *testing.T) {
	t.Parallel()
	recs := orders("orders", 1, 6)
	checkGolden(t, "orders.json", encodeAll(t, goldenConfig(), viewValue, recs))
	checkGolden(t, "orders-numeric.json", encodeAll(t, goldenConfig(JSONDecimalFormatKey, "NUMERIC"), viewValue, recs))
	checkGolden(t, "schemaless.json", encodeAll(t, goldenConfig(), viewValue, schemaless()))
	checkGolden(t, "schemaless.keys.json", encodeAll(t, goldenConfig(), viewKey, schemaless()))
	checkGolden(t, "schemaless.headers.json", encodeAll(t, goldenConfig(), viewHeaders, schemaless()))
	gz := encodeAll(t, goldenConfig(CompressionTypeKey, "gzip"), viewValue, recs)
	if got, want := gunzip(t, gz), encodeAll(t, goldenConfig(), viewValue, recs); !bytes.Equal(got, want) {
		t.Fatalf("gzip object decompresses to\n%s\nwant\n%s", got, want)
	}
}

// TestByteArrayGolden pins ByteArray objects: each value's bytes, then the
// separator (default the line separator; Java escapes understood).
func TestByteArrayGolden(t *testing.T) {
	t.Parallel()
	recs := []*connect.Record{
		{Topic: "t", Value: []byte("one")}, {Topic: "t", Value: []byte{0, 1, 0xff}}, {Topic: "t", ValueSchema: connect.BytesSchema, Value: []byte("three")},
		{Topic: "t", Value: nil},
	}
	checkGolden(t, "values.bin", encodeAll(t, goldenConfig(FormatClassKey, ByteArrayFormatClass), viewValue, recs))
	checkGolden(t, "values-sep.bin", encodeAll(t, goldenConfig(FormatClassKey, ByteArrayFormatClass, ByteArraySeparatorKey, `|\t`), viewValue, recs))
	cfg, _ := parseConfig(goldenConfig(FormatClassKey, ByteArrayFormatClass))
	spec, _ := newFormatSpec(formatByteArray, cfg)
	bad := &connect.Record{Topic: "t", ValueSchema: connect.StringSchema, Value: "text"}
	enc, _ := spec.newEncoder(&bytes.Buffer{}, viewValue, bad)
	if err := enc.write(bad); err == nil {
		t.Fatal("a string value was written as bytes")
	}
}
