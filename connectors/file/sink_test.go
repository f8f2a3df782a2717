package file

import (
	"context"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/google/go-cmp/cmp"
)

func startSink(t *testing.T, path string) *sinkTask {
	t.Helper()
	task := &sinkTask{}
	if err := task.Start(context.Background(), map[string]string{FileKey: path, "topics": "t"}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop(context.Background()) })
	return task
}

func values(vs ...any) []*connect.Record {
	recs := make([]*connect.Record, len(vs))
	for i, v := range vs {
		recs[i] = &connect.Record{Topic: "t", Value: v, Offset: int64(i)}
	}
	return recs
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSinkFormatsValues(t *testing.T) {
	t.Parallel()
	point := connect.StructSchema().Name("point").
		Field("y", connect.Int32Schema).
		Field("x", connect.OptionalString).
		Field("tags", connect.ArraySchema(connect.StringSchema).Build()).
		Field("d", connect.NewSchema(connect.Int64).Default(int64(7)).Build()).
		Build()
	when := time.Date(2024, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
	tests := map[string]struct {
		value any
		want  string
	}{
		"string":          {value: "plain text", want: "plain text"},
		"empty string":    {value: "", want: ""},
		"bytes":           {value: []byte("raw bytes"), want: "raw bytes"},
		"tombstone":       {value: nil, want: "null"},
		"bool":            {value: true, want: "true"},
		"int8":            {value: int8(-8), want: "-8"},
		"int64":           {value: int64(1) << 40, want: "1099511627776"},
		"float32":         {value: float32(1.5), want: "1.5"},
		"float64 NaN":     {value: math.NaN(), want: "NaN"},
		"decimal":         {value: connect.Decimal{Unscaled: big.NewInt(-12340), Scale: 3}, want: "-12.340"},
		"time":            {value: when, want: "2024-05-06T07:08:09.01Z"},
		"struct in order": {value: connect.NewStruct(point).Put("y", int32(2)).Put("tags", []any{"a", "b"}), want: `{"y":2,"x":null,"tags":["a","b"],"d":7}`},
		"map sorted":      {value: map[string]any{"b": 1.5, "a": []byte("hi"), "c": when}, want: `{"a":"aGk=","b":1.5,"c":"2024-05-06T07:08:09.01Z"}`},
		"map any keys":    {value: map[any]any{int32(2): "two", int32(10): "ten"}, want: `{"10":"ten","2":"two"}`},
		"array":           {value: []any{int16(1), nil, "x\"y"}, want: `[1,null,"x\"y"]`},
		"nested decimal":  {value: []any{connect.Decimal{Unscaled: big.NewInt(5), Scale: 1}}, want: `[0.5]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "out.txt")
			task := startSink(t, path)
			if err := task.Put(context.Background(), values(tc.value)); err != nil {
				t.Fatal(err)
			}
			if err := task.Flush(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want+"\n", readFile(t, path)); diff != "" {
				t.Errorf("file (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSinkFlushIsDurable reads the file while the task is still open: after
// Flush every line is there.
func TestSinkFlushIsDurable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	task := startSink(t, path)
	ctx := context.Background()
	var want strings.Builder
	for batch := range 3 {
		var vs []any
		for i := range 100 {
			s := strings.Repeat(string(rune('a'+batch)), i)
			vs = append(vs, s)
			want.WriteString(s + "\n")
		}
		if err := task.Put(ctx, values(vs...)); err != nil {
			t.Fatal(err)
		}
		if err := task.Flush(ctx, map[connect.TopicPartition]int64{{Topic: "t"}: 100}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, path); got != want.String() {
			t.Fatalf("after flush %d the file has %d bytes, want %d", batch, len(got), want.Len())
		}
	}
}

// TestSinkAppends restarts the sink on an existing file.
func TestSinkAppends(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	writeFile(t, path, "existing\n")
	ctx := context.Background()
	for _, v := range []string{"first", "second"} {
		task := &sinkTask{}
		if err := task.Start(ctx, map[string]string{FileKey: path}); err != nil {
			t.Fatal(err)
		}
		if err := task.Put(ctx, values(v)); err != nil {
			t.Fatal(err)
		}
		if err := task.Flush(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := task.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff("existing\nfirst\nsecond\n", readFile(t, path)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

// TestSinkStopDropsUnflushed: records put but not flushed are not written;
// the framework delivers them again to the next task.
func TestSinkStopDropsUnflushed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	task := startSink(t, path)
	ctx := context.Background()
	if err := task.Put(ctx, values("kept")); err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := task.Put(ctx, values("redelivered later")); err != nil {
		t.Fatal(err)
	}
	if err := task.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("kept\n", readFile(t, path)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	if err := task.Put(ctx, values("x")); !errors.Is(err, connect.ErrStopped) {
		t.Errorf("Put after Stop = %v, want ErrStopped", err)
	}
	if err := task.Flush(ctx, nil); !errors.Is(err, connect.ErrStopped) {
		t.Errorf("Flush after Stop = %v, want ErrStopped", err)
	}
}

// TestSinkKeepsLinesWhole checks that the buffer reaches the file only in
// whole lines, even when lines do not divide the buffer size.
func TestSinkKeepsLinesWhole(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	task := startSink(t, path)
	line := strings.Repeat("z", 999)
	var vs []any
	for range 3 * writeBuffer / 1000 {
		vs = append(vs, line)
	}
	vs = append(vs, strings.Repeat("L", writeBuffer*2)) // longer than the buffer
	if err := task.Put(context.Background(), values(vs...)); err != nil {
		t.Fatal(err)
	}
	// Not flushed: whatever reached the file must end with a newline.
	got := readFile(t, path)
	if got == "" || !strings.HasSuffix(got, "\n") {
		t.Fatalf("file holds %d bytes, not ending in a whole line", len(got))
	}
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if l != line && l != vs[len(vs)-1] {
			t.Fatalf("torn line of %d bytes", len(l))
		}
	}
}

func TestSinkBatchError(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	task := startSink(t, path)
	err := task.Put(context.Background(), values("a", []any{math.Inf(1)}, "c"))
	var be *connect.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Put = %v, want a *connect.BatchError", err)
	}
	if _, ok := be.Errs[1]; !ok || len(be.Errs) != 1 {
		t.Errorf("failed records %v, want only 1", be.Errs)
	}
	if err := task.Flush(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("a\nc\n", readFile(t, path)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestSinkStartErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]map[string]string{
		"no file":     {},
		"empty file":  {FileKey: ""},
		"missing dir": {FileKey: filepath.Join(dir, "no", "such", "out.txt")},
		"a directory": {FileKey: dir},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task := &sinkTask{}
			if err := task.Start(context.Background(), cfg); err == nil {
				t.Error("Start succeeded")
			}
			_ = task.Stop(context.Background())
		})
	}
}

func TestSinkTaskConfigs(t *testing.T) {
	t.Parallel()
	c := NewSink()
	cfg := map[string]string{FileKey: "/tmp/out", "topics": "a,b"}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	got, err := c.TaskConfigs(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]map[string]string{cfg, cfg, cfg}, got); diff != "" {
		t.Errorf("task configs (-want +got):\n%s", diff)
	}
}
