package plugin

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEncodeMapMatchesEncodingJSON checks that the fast path writes exactly
// what encoding/json writes: offsets are compared as bytes.
func TestEncodeMapMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	values := []any{"", "a", "file.txt", `q"uote`, `back\slash`, "<html>&", "é", "\n", int64(-1), int64(1 << 62), 0, int32(7), true, false, nil, 1.5, 3.0, []any{1}, map[string]any{"x": 1}}
	keys := []string{"a", "b", "filename", "position", "lsn", "ü", "<k>", "task"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		m := map[string]any{}
		for n := r.IntN(5); n > 0; n-- {
			m[keys[r.IntN(len(keys))]] = values[r.IntN(len(values))]
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeMap(m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("EncodeMap(%#v) = %s, encoding/json writes %s", m, got, want)
		}
	}
}

func TestDecodeMapNumbers(t *testing.T) {
	t.Parallel()
	got, err := DecodeMap([]byte(`{"i":9007199254740993,"f":1.5,"n":{"x":[1,2.5]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(9007199254740993), "f": 1.5, "n": map[string]any{"x": []any{int64(1), 2.5}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("DecodeMap (-want +got):\n%s", d)
	}
}

func BenchmarkEncodeMap(b *testing.B) {
	m := map[string]any{"filename": "/data/in/orders-2026-11-22.csv", "position": int64(123456789)}
	for b.Loop() {
		if _, err := EncodeMap(m); err != nil {
			b.Fatal(err)
		}
	}
}
