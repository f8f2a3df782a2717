package connect

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecimal(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in        string
		unscaled  int64
		scale     int32
		roundTrip string
	}{
		"integer":       {"42", 42, 0, "42"},
		"scale kept":    {"-12.340", -12340, 3, "-12.340"},
		"leading zero":  {"0.05", 5, 2, "0.05"},
		"negative tiny": {"-0.001", -1, 3, "-0.001"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDecimal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Unscaled.Int64() != tc.unscaled || d.Scale != tc.scale {
				t.Fatalf("ParseDecimal(%s) = %s×10^-%d, want %d×10^-%d", tc.in, d.Unscaled, d.Scale, tc.unscaled, tc.scale)
			}
			if s := d.String(); s != tc.roundTrip {
				t.Fatalf("String() = %s, want %s", s, tc.roundTrip)
			}
			back := DecimalFromBytes(d.Bytes(), d.Scale)
			if back.Unscaled.Cmp(d.Unscaled) != 0 {
				t.Fatalf("bytes round trip: %s, want %s", back.Unscaled, d.Unscaled)
			}
		})
	}
	if _, err := ParseDecimal("1.2.3"); err == nil {
		t.Fatal("ParseDecimal accepted 1.2.3")
	}
}

// TestDecimalBytes checks the two's-complement encoding Kafka Connect's
// Decimal.fromLogical writes (BigInteger.toByteArray).
func TestDecimalBytes(t *testing.T) {
	t.Parallel()
	tests := map[int64][]byte{0: {0}, 1: {1}, 127: {0x7f}, 128: {0, 0x80}, -1: {0xff}, -128: {0x80}, -129: {0xff, 0x7f}, 256: {1, 0}}
	for n, want := range tests {
		got := Decimal{Unscaled: big.NewInt(n)}.Bytes()
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Bytes(%d) (-want +got):\n%s", n, d)
		}
		if back := DecimalFromBytes(got, 0).Unscaled.Int64(); back != n {
			t.Errorf("DecimalFromBytes(Bytes(%d)) = %d", n, back)
		}
	}
}

// TestDecimalAppendBytes checks that AppendBytes writes what Bytes returns,
// at every byte-length boundary of int64 and beyond it.
func TestDecimalAppendBytes(t *testing.T) {
	t.Parallel()
	var ns []*big.Int
	for k := uint(0); k <= 72; k++ {
		p := new(big.Int).Lsh(big.NewInt(1), k)
		for _, d := range []int64{-1, 0, 1} {
			v := new(big.Int).Add(p, big.NewInt(d))
			ns = append(ns, v, new(big.Int).Neg(v))
		}
	}
	ns = append(ns, big.NewInt(math.MaxInt64), big.NewInt(math.MinInt64), nil)
	for _, n := range ns {
		d := Decimal{Unscaled: n}
		got := d.AppendBytes([]byte("x"))
		if diff := cmp.Diff(append([]byte("x"), d.Bytes()...), got); diff != "" {
			t.Errorf("AppendBytes(%s) (-Bytes +got):\n%s", n, diff)
		}
	}
}

func TestDateAndTime(t *testing.T) {
	t.Parallel()
	d := time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)
	if got := DateToDays(d); got != -1 {
		t.Fatalf("DateToDays(1969-12-31) = %d, want -1", got)
	}
	if got := DaysToDate(19000); !got.Equal(time.Date(2022, 1, 8, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("DaysToDate(19000) = %s", got)
	}
	tm := time.Date(2020, 5, 6, 13, 14, 15, 16_000_000, time.UTC)
	if got := TimeToMillis(tm); got != 47655016 {
		t.Fatalf("TimeToMillis = %d, want 47655016", got)
	}
	if got := MillisToTime(47655016); got.Hour() != 13 || got.Year() != 1970 {
		t.Fatalf("MillisToTime = %s", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	point := StructSchema().Name("Point").
		Field("x", Int32Schema).
		Field("label", OptionalString).
		Field("tags", ArraySchema(StringSchema).Optional().Build()).
		Field("attrs", MapSchema(StringSchema, Int64Schema).Optional().Build()).
		Field("price", DecimalSchema(2).Optional().Build()).
		Build()
	tests := map[string]struct {
		schema  *Schema
		value   any
		wantErr string
	}{
		"struct ok":              {point, NewStruct(point).Put("x", int32(1)).Put("tags", []any{"a"}).Put("attrs", map[string]any{"k": int64(2)}).Put("price", Decimal{Unscaled: big.NewInt(199), Scale: 2}), ""},
		"missing required field": {point, NewStruct(point), `field "x"`},
		"wrong field type":       {point, NewStruct(point).Put("x", int64(1)), "int64"},
		"bad array element":      {point, NewStruct(point).Put("x", int32(1)).Put("tags", []any{1}), "array element 0"},
		"bad map value":          {point, NewStruct(point).Put("x", int32(1)).Put("attrs", map[string]any{"k": "v"}), `map value "k"`},
		"null optional":          {OptionalInt8, nil, ""},
		"null required":          {Int8Schema, nil, "null value"},
		"schemaless anything":    {nil, map[string]any{"a": 1}, ""},
		"timestamp":              {TimestampSchema().Build(), time.Now(), ""},
		"timestamp wrong type":   {TimestampSchema().Build(), int64(1), "does not match"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := Validate(tc.schema, tc.value)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigDef(t *testing.T) {
	t.Parallel()
	def := NewConfigDef(
		ConfigKey{Name: "host", Type: TypeString, Required: true, Doc: "Host."},
		ConfigKey{Name: "port", Type: TypeInt, Default: "5432", Validator: Between(1, 65535), Doc: "Port."},
		ConfigKey{Name: "tables", Type: TypeList, Default: "", Doc: "Tables."},
		ConfigKey{Name: "ssl", Type: TypeBoolean, Default: "false", Doc: "TLS."},
		ConfigKey{Name: "password", Type: TypePassword, Default: "", Doc: "Secret."},
		ConfigKey{Name: "mode", Type: TypeString, Default: "initial", Validator: OneOf("initial", "never"), Doc: "Mode."},
	)
	c, err := def.Parse(map[string]string{"host": "db", "tables": " a , b,,c ", "ssl": "TRUE", "password": "s3cret", "mode": "NEVER"})
	if err != nil {
		t.Fatal(err)
	}
	if c.String("host") != "db" || c.Int("port") != 5432 || !c.Bool("ssl") || c.Password("password") != "s3cret" {
		t.Fatalf("parsed %v", c.values)
	}
	if d := cmp.Diff([]string{"a", "b", "c"}, c.List("tables")); d != "" {
		t.Fatalf("tables (-want +got):\n%s", d)
	}
	_, err = def.Parse(map[string]string{"port": "70000", "ssl": "maybe", "password": "s3cret", "mode": "sometimes"})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Parse of a bad config: %v", err)
	}
	for _, key := range []string{"host", "port", "ssl", "mode"} {
		if len(ce.Errs[key]) == 0 {
			t.Errorf("no error for %s in %v", key, ce.Errs)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("an error shows the password: %v", err)
	}
	values := def.Validate(map[string]string{"port": "x"})
	got := map[string]int{}
	for _, v := range values {
		got[v.Name] = len(v.Errors)
	}
	if d := cmp.Diff(map[string]int{"host": 1, "port": 1, "tables": 0, "ssl": 0, "password": 0, "mode": 0}, got); d != "" {
		t.Fatalf("Validate error counts (-want +got):\n%s", d)
	}
}

func TestRetriable(t *testing.T) {
	t.Parallel()
	base := errors.New("connection reset")
	err := Retriable(base)
	if !IsRetriable(err) || !errors.Is(err, base) {
		t.Fatalf("Retriable(%v) lost its nature: %v", base, err)
	}
	if IsRetriable(base) || Retriable(nil) != nil {
		t.Fatal("IsRetriable of a plain error, or Retriable(nil)")
	}
}

func TestTypeOf(t *testing.T) {
	t.Parallel()
	s := &Schema{Type: Struct, Fields: []Field{{Name: "a", Schema: &Schema{Type: String}}}}
	tests := []struct {
		v    any
		want Type
	}{
		{int8(1), Int8}, {int16(1), Int16}, {int32(1), Int32}, {int64(1), Int64},
		{float32(1), Float32}, {float64(1), Float64}, {true, Boolean}, {"x", String},
		{[]byte("x"), Bytes}, {[]any{1}, Array}, {map[string]any{}, Map}, {map[any]any{}, Map},
		{NewStruct(s), Struct},
		{1, ""}, {uint64(1), ""}, {time.Unix(0, 0), ""}, {nil, ""},
	}
	for _, tt := range tests {
		if got := TypeOf(tt.v); got != tt.want {
			t.Errorf("TypeOf(%T) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestStructFreeze(t *testing.T) {
	t.Parallel()
	s := StructSchema().Field("a", StringSchema).Build()
	v := NewStruct(s).Put("a", "x")
	if v.Frozen() {
		t.Fatal("a new struct is frozen")
	}
	if v.Freeze() != v || !v.Frozen() {
		t.Fatal("Freeze did not freeze the struct")
	}
	for name, set := range map[string]func(){"SetIndex": func() { v.SetIndex(0, "y") }, "Put": func() { v.Put("a", "y") }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on a frozen struct did not panic", name)
				}
			}()
			set()
		}()
	}
	if v.Get("a") != "x" {
		t.Fatalf("frozen struct changed: %v", v.Get("a"))
	}
}
