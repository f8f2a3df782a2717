package converters

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestStringConverter(t *testing.T) {
	t.Parallel()
	utf16 := "\xFE\xFF\x00a\x00 \x00s\x00t\x00r\x00i\x00n\x00g" // Java's "a string".getBytes(UTF_16)
	tests := map[string]struct {
		cfg    map[string]string
		schema *connect.Schema
		value  any
		want   string
		back   any // ToConnect of want; nil: value
	}{
		"string":          {schema: connect.StringSchema, value: "a string", want: "a string"},
		"boolean":         {schema: connect.BooleanSchema, value: true, want: "true", back: "true"},
		"schemaless":      {value: true, want: "true", back: "true"},
		"int":             {value: int32(-7), want: "-7", back: "-7"},
		"double":          {value: 1e10, want: "1.0E10", back: "1.0E10"},
		"float":           {value: float32(0.5), want: "0.5", back: "0.5"},
		"NaN":             {value: math.NaN(), want: "NaN", back: "NaN"},
		"decimal":         {value: dec(156, 2), want: "1.56", back: "1.56"},
		"bytes":           {value: []byte{1, 2}, want: "AQI=", back: "AQI="},
		"array":           {value: []any{int8(1), "a\"b"}, want: `[1,"a\"b"]`, back: `[1,"a\"b"]`},
		"map":             {value: map[string]any{"b": 1, "a": nil}, want: `{"a":null,"b":1}`, back: `{"a":null,"b":1}`},
		"timestamp":       {value: time.UnixMilli(4000000000), want: "1970-02-16T07:06:40.000Z", back: "1970-02-16T07:06:40.000Z"},
		"invalid UTF-8":   {value: "a\xffb", want: "a\xffb", back: "a\uFFFDb"},
		"UTF-16":          {cfg: map[string]string{"converter.encoding": "UTF-16"}, value: "a string", want: utf16},
		"UTF-16LE":        {cfg: map[string]string{"converter.encoding": "utf-16le"}, value: "é😀", want: "\xE9\x00\x3D\xD8\x00\xDE"},
		"encoding alias":  {cfg: map[string]string{"encoding": "UTF-16BE"}, value: "a", want: "\x00a"},
		"Latin-1":         {cfg: map[string]string{"converter.encoding": "ISO-8859-1"}, value: "é€", want: "\xE9?", back: "é?"},
		"ASCII":           {cfg: map[string]string{"converter.encoding": "US-ASCII"}, value: "é", want: "?", back: "?"},
		"converter wins":  {cfg: map[string]string{"converter.encoding": "UTF-8", "encoding": "UTF-16"}, value: "a", want: "a"},
		"empty string":    {value: "", want: ""},
		"empty in UTF-16": {cfg: map[string]string{"converter.encoding": "UTF-16"}, value: "", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _ := New("string")
			if err := c.Configure(tc.cfg, false); err != nil {
				t.Fatal(err)
			}
			got, err := c.FromConnect("topic", tc.schema, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("FromConnect = %q, want %q", got, tc.want)
			}
			schema, back, err := c.ToConnect("topic", got)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.back
			if want == nil {
				want = tc.value
			}
			if schema != connect.OptionalString {
				t.Errorf("ToConnect schema = %v, want the optional string schema", schema)
			}
			if diff := cmp.Diff(want, back); diff != "" {
				t.Errorf("ToConnect (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStringConverterNull(t *testing.T) {
	t.Parallel()
	c, _ := New("string")
	if got, err := c.FromConnect("topic", connect.OptionalString, nil); got != nil || err != nil {
		t.Errorf("FromConnect(nil) = %q, %v; want nil, nil", got, err)
	}
	s, v, err := c.ToConnect("topic", nil)
	if s != connect.OptionalString || v != nil || err != nil {
		t.Errorf("ToConnect(nil) = %v, %v, %v; want the optional string schema and nil", s, v, err)
	}
}

func TestStringConverterErrors(t *testing.T) {
	t.Parallel()
	c, _ := New("string")
	if err := c.Configure(map[string]string{"converter.encoding": "EBCDIC"}, true); err == nil || !strings.Contains(err.Error(), "unsupported character set") {
		t.Errorf("Configure(EBCDIC) = %v", err)
	}
	if err := c.Configure(map[string]string{"encoding": "EBCDIC"}, true); err == nil {
		t.Error("Configure(encoding=EBCDIC) succeeded")
	}
	if _, err := c.FromConnect("topic", nil, struct{}{}); err == nil || !strings.HasPrefix(err.Error(), "string converter: ") {
		t.Errorf("FromConnect(struct{}{}) = %v", err)
	}
}

func TestByteArrayConverter(t *testing.T) {
	t.Parallel()
	c, _ := New("bytes")
	if err := c.Configure(map[string]string{"anything": "x"}, false); err != nil {
		t.Fatal(err)
	}
	sample := []byte("sample")
	tests := map[string]struct {
		schema  *connect.Schema
		value   any
		want    []byte
		wantErr string
	}{
		"bytes":      {schema: connect.BytesSchema, value: sample, want: sample},
		"schemaless": {value: sample, want: sample},
		"null":       {schema: connect.BytesSchema, value: nil},
		"bad schema": {schema: connect.Int32Schema, value: sample, wantErr: "Invalid schema type for ByteArrayConverter: INT32"},
		"bad value":  {schema: connect.BytesSchema, value: 12, wantErr: "ByteArrayConverter is not compatible with objects of type int"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := c.FromConnect("topic", tc.schema, tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FromConnect = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != string(tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("FromConnect = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, data := range [][]byte{sample, nil} {
		s, v, err := c.ToConnect("topic", data)
		if s != connect.OptionalBytes || err != nil {
			t.Errorf("ToConnect(%q) = %v, %v", data, s, err)
		}
		if b, _ := v.([]byte); string(b) != string(data) || (data == nil) != (v == nil) {
			t.Errorf("ToConnect(%q) value = %#v", data, v)
		}
	}
}
