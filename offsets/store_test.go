package offsets

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		conn, part, want string
	}{
		"simple":  {"c1", `{"filename":"/a"}`, `["c1",{"filename":"/a"}]`},
		"quoted":  {`we"ird`, `{"b":1,"a":2}`, `["we\"ird",{"b":1,"a":2}]`},
		"nullish": {"c", ``, `["c",null]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k, err := Key(tc.conn, []byte(tc.part))
			if err != nil {
				t.Fatal(err)
			}
			if string(k) != tc.want {
				t.Fatalf("Key = %s, want %s", k, tc.want)
			}
			conn, part, err := ParseKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if conn != tc.conn {
				t.Fatalf("connector = %q, want %q", conn, tc.conn)
			}
			if tc.part != "" {
				want, _ := canonical([]byte(tc.part))
				if string(part) != string(want) {
					t.Fatalf("partition = %s, want %s", part, want)
				}
			}
		})
	}
}

func TestStores(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) (Store, func() Store){
		"memory": func(t *testing.T) (Store, func() Store) {
			m := NewMemory()
			return m, func() Store { return m }
		},
		"file": func(t *testing.T) (Store, func() Store) {
			path := filepath.Join(t.TempDir(), "sub", "offsets.json")
			s, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return s, func() Store {
				s2, err := OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return s2
			}
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, reopen := mk(t)
			must(t, s.Commit(ctx, "a", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":10}`)}}))
			must(t, s.Commit(ctx, "a", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":11}`)}, {Partition: []byte(`{"p":2}`), Offset: []byte(`{"o":5}`)}}))
			must(t, s.Commit(ctx, "b", []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":99}`)}}))
			must(t, s.Commit(ctx, "b", []Entry{{Partition: []byte(`{"p":1}`)}})) // tombstone
			s2 := reopen()
			got, err := s2.Load(ctx, "a")
			must(t, err)
			want := []Entry{{Partition: []byte(`{"p":1}`), Offset: []byte(`{"o":11}`)}, {Partition: []byte(`{"p":2}`), Offset: []byte(`{"o":5}`)}}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("Load(a) (-want +got):\n%s", d)
			}
			got, err = s2.Load(ctx, "b")
			must(t, err)
			if len(got) != 0 {
				t.Fatalf("Load(b) = %v, want none after tombstone", got)
			}
		})
	}
}

func TestFileCorrupt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "offsets.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil {
		t.Fatal("OpenFile of a corrupt file succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
