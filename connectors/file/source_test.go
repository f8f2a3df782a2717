package file

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// startSource starts a source task with short waits, so polls at the end of
// the file return quickly.
func startSource(t *testing.T, config map[string]string, offsets connect.OffsetReader) *sourceTask {
	t.Helper()
	task := &sourceTask{idle: 30 * time.Millisecond, interval: 5 * time.Millisecond}
	if err := task.Start(context.Background(), config, offsets); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop(context.Background()) })
	return task
}

// line is what a test compares of a source record.
type line struct {
	Value    string
	Position int64
}

// pollAll polls until a poll returns nothing, and returns the lines.
func pollAll(t *testing.T, task *sourceTask) []line {
	t.Helper()
	var out []line
	for {
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if len(recs) == 0 {
			return out
		}
		if len(recs) > task.cfg.batchSize {
			t.Fatalf("Poll returned %d records, batch.size is %d", len(recs), task.cfg.batchSize)
		}
		out = append(out, lines(t, recs)...)
	}
}

func lines(t *testing.T, recs []*connect.Record) []line {
	t.Helper()
	out := make([]line, len(recs))
	for i, r := range recs {
		if r.ValueSchema != connect.StringSchema || r.Key != nil || r.KeySchema != nil || r.Partition != -1 {
			t.Fatalf("record %d: schema %v key %v partition %d", i, r.ValueSchema, r.Key, r.Partition)
		}
		if err := connect.Validate(r.ValueSchema, r.Value); err != nil {
			t.Fatal(err)
		}
		if r.SourcePartition[PartitionFilename] == nil || len(r.SourcePartition) != 1 {
			t.Fatalf("source partition %v", r.SourcePartition)
		}
		out[i] = line{r.Value.(string), r.SourceOffset[OffsetPosition].(int64)}
	}
	return out
}

func TestNextLine(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in     string
		line   string
		n      int
		wantOK bool
	}{
		"empty":           {in: ""},
		"no terminator":   {in: "abc"},
		"LF":              {in: "abc\ndef", line: "abc", n: 4, wantOK: true},
		"CRLF":            {in: "abc\r\ndef", line: "abc", n: 5, wantOK: true},
		"lone CR":         {in: "abc\rdef", line: "abc", n: 4, wantOK: true},
		"CR at end waits": {in: "abc\r"},
		"empty line":      {in: "\nabc", line: "", n: 1, wantOK: true},
		"empty CRLF line": {in: "\r\n", line: "", n: 2, wantOK: true},
		"LF then CR":      {in: "\n\r", line: "", n: 1, wantOK: true},
		"CR CR":           {in: "a\r\rb", line: "a", n: 2, wantOK: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, n, ok := nextLine([]byte(tc.in))
			if string(l) != tc.line || n != tc.n || ok != tc.wantOK {
				t.Errorf("nextLine(%q) = %q, %d, %v; want %q, %d, %v", tc.in, l, n, ok, tc.line, tc.n, tc.wantOK)
			}
		})
	}
}

// FuzzNextLine checks that splitting any input into lines loses nothing:
// the lines and their terminators add up to the bytes consumed, and no line
// holds a terminator.
func FuzzNextLine(f *testing.F) {
	for _, s := range []string{"", "a\nb", "a\r\nb\r", "\r\r\n\n", "x\ry"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rest := in
		for {
			l, n, ok := nextLine(rest)
			if !ok {
				break
			}
			if strings.ContainsAny(string(l), "\r\n") || n <= len(l) || n > len(l)+2 {
				t.Fatalf("nextLine(%q) = %q, %d", rest, l, n)
			}
			if !strings.HasPrefix(string(rest), string(l)) {
				t.Fatalf("line %q is not a prefix of %q", l, rest)
			}
			if term := string(rest[len(l):n]); term != "\n" && term != "\r\n" && term != "\r" {
				t.Fatalf("terminator %q", term)
			}
			rest = rest[n:]
		}
		if strings.Contains(string(rest), "\n") || strings.Contains(strings.TrimSuffix(string(rest), "\r"), "\r") {
			t.Fatalf("left %q with a complete line in it", rest)
		}
	})
}

func TestSourceReadsLines(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		data  string
		batch string
		want  []line
	}{
		"LF":                          {data: "one\ntwo\n", want: []line{{"one", 4}, {"two", 8}}},
		"CRLF":                        {data: "one\r\ntwo\r\n", want: []line{{"one", 5}, {"two", 10}}},
		"lone CR":                     {data: "one\rtwo\r\n", want: []line{{"one", 4}, {"two", 9}}},
		"empty lines":                 {data: "\n\na\n", want: []line{{"", 1}, {"", 2}, {"a", 4}}},
		"partial last line held back": {data: "one\ntw", want: []line{{"one", 4}}},
		"CR at end held back":         {data: "one\ntwo\r", want: []line{{"one", 4}}},
		"UTF-8 positions count bytes": {data: "héllo\n日本\n", want: []line{{"héllo", 7}, {"日本", 14}}},
		"invalid UTF-8 replaced":      {data: "a\xffb\n", want: []line{{"a\uFFFDb", 4}}},
		"batches of two": {data: "1\n2\n3\n4\n5\n", batch: "2",
			want: []line{{"1", 2}, {"2", 4}, {"3", 6}, {"4", 8}, {"5", 10}}},
		"empty file": {data: ""},
		"line longer than the buffer": {data: strings.Repeat("x", bufLength*2+3) + "\nend\n",
			want: []line{{strings.Repeat("x", bufLength*2+3), bufLength*2 + 4}, {"end", bufLength*2 + 8}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "in.txt")
			writeFile(t, path, tc.data)
			cfg := map[string]string{FileKey: path, TopicKey: "lines"}
			if tc.batch != "" {
				cfg[BatchSizeKey] = tc.batch
			}
			task := startSource(t, cfg, nil)
			if diff := cmp.Diff(tc.want, pollAll(t, task)); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceRecordShape(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "hello\n")
	task := startSource(t, map[string]string{FileKey: path, TopicKey: "lines"}, nil)
	recs, err := task.Poll(context.Background())
	if err != nil || len(recs) != 1 {
		t.Fatalf("Poll = %d records, %v", len(recs), err)
	}
	r := recs[0]
	got := map[string]any{"topic": r.Topic, "partition": r.SourcePartition, "offset": r.SourceOffset}
	want := map[string]any{
		"topic":     "lines",
		"partition": map[string]any{"filename": path},
		"offset":    map[string]any{"position": int64(6)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if r.Timestamp.IsZero() {
		t.Error("no timestamp")
	}
}

// TestSourceTails appends to the file between polls, including the rest of
// a line whose start was already read.
func TestSourceTails(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "a\nb")
	task := startSource(t, map[string]string{FileKey: path, TopicKey: "t"}, nil)

	steps := []struct {
		appendData string
		want       []line
	}{
		{"", []line{{"a", 2}}},
		{"", nil},
		{"c", nil},
		{"\r", nil},
		{"\nd\n", []line{{"bc", 6}, {"d", 8}}},
		{"e\n", []line{{"e", 10}}},
	}
	for i, s := range steps {
		appendFile(t, path, s.appendData)
		if diff := cmp.Diff(s.want, pollAll(t, task)); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestSourceWakesForAppendedData has a Poll waiting at the end of the file
// while another goroutine appends, and checks that the Poll returns the new
// line rather than waiting out its idle time.
func TestSourceWakesForAppendedData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "")
	task := &sourceTask{idle: time.Minute, interval: 5 * time.Millisecond}
	if err := task.Start(context.Background(), map[string]string{FileKey: path, TopicKey: "t"}, nil); err != nil {
		t.Fatal(err)
	}
	defer task.Stop(context.Background())

	var wg sync.WaitGroup
	var appendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(20 * time.Millisecond)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			appendErr = err
			return
		}
		defer f.Close()
		_, appendErr = f.WriteString("late\n")
	}()
	recs, err := task.Poll(context.Background())
	wg.Wait()
	if err != nil || appendErr != nil {
		t.Fatal(err, appendErr)
	}
	if diff := cmp.Diff([]line{{"late", 5}}, lines(t, recs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSourceWaitsForFile starts before the file exists, as Kafka Connect's
// task allows.
func TestSourceWaitsForFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "later.txt")
	task := startSource(t, map[string]string{FileKey: path, TopicKey: "t"}, nil)
	if got := pollAll(t, task); got != nil {
		t.Fatalf("lines before the file exists: %v", got)
	}
	writeFile(t, path, "x\n")
	if diff := cmp.Diff([]line{{"x", 2}}, pollAll(t, task)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// offsetStore serves one stored offset, round-tripped through JSON as the
// framework stores it.
type offsetStore struct {
	t         *testing.T
	partition map[string]any
	offset    map[string]any
	useNumber bool
}

func (s offsetStore) Offset(p map[string]any) map[string]any {
	if diff := cmp.Diff(s.partition, p); diff != "" {
		s.t.Errorf("asked for partition (-want +got):\n%s", diff)
		return nil
	}
	raw, err := json.Marshal(s.offset)
	if err != nil {
		s.t.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	if s.useNumber {
		d.UseNumber()
	}
	var out map[string]any
	if err := d.Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func TestSourceResumes(t *testing.T) {
	t.Parallel()
	const data = "one\r\ntwo\nthree\nfour"
	tests := map[string]struct {
		offset    map[string]any
		useNumber bool
		want      []line
		wantErr   bool
	}{
		"no offset":            {want: []line{{"one", 5}, {"two", 9}, {"three", 15}}},
		"mid-file":             {offset: map[string]any{"position": 9}, want: []line{{"three", 15}}},
		"mid-file json.Number": {offset: map[string]any{"position": 5}, useNumber: true, want: []line{{"two", 9}, {"three", 15}}},
		"at the end":           {offset: map[string]any{"position": 19}},
		"past the end":         {offset: map[string]any{"position": 20}, wantErr: true},
		"not a number":         {offset: map[string]any{"position": "9"}, wantErr: true},
		"negative":             {offset: map[string]any{"position": -1}, wantErr: true},
		"fraction":             {offset: map[string]any{"position": 1.5}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "in.txt")
			writeFile(t, path, data)
			cfg := map[string]string{FileKey: path, TopicKey: "t"}
			var offsets connect.OffsetReader
			if tc.offset != nil {
				offsets = offsetStore{t, map[string]any{"filename": path}, tc.offset, tc.useNumber}
			}
			task := &sourceTask{idle: 30 * time.Millisecond, interval: 5 * time.Millisecond}
			err := task.Start(context.Background(), cfg, offsets)
			defer task.Stop(context.Background())
			if tc.wantErr {
				if err == nil {
					t.Fatal("Start succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, pollAll(t, task)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSourceRestart stops a task midway and starts another from the offset
// of the last record the first returned: together they read every line once.
func TestSourceRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "1\n2\n3\n4\n5\n")
	cfg := map[string]string{FileKey: path, TopicKey: "t", BatchSizeKey: "2"}
	first := startSource(t, cfg, nil)
	recs, err := first.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = first.Stop(context.Background())
	last := recs[len(recs)-1]
	second := startSource(t, cfg, offsetStore{t, last.SourcePartition, last.SourceOffset, false})
	got := append(lines(t, recs), pollAll(t, second)...)
	want := []line{{"1", 2}, {"2", 4}, {"3", 6}, {"4", 8}, {"5", 10}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSourceTruncatedFileFails(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "aaaa\nbbbb\n")
	task := startSource(t, map[string]string{FileKey: path, TopicKey: "t"}, nil)
	pollAll(t, task)
	if err := os.Truncate(path, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Poll after truncation = %v, want an error saying so", err)
	}
}

func TestSourceStartErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]map[string]string{
		"no file":     {TopicKey: "t"},
		"empty file":  {FileKey: "", TopicKey: "t"},
		"no topic":    {FileKey: filepath.Join(dir, "x")},
		"bad batch":   {FileKey: filepath.Join(dir, "x"), TopicKey: "t", BatchSizeKey: "0"},
		"a directory": {FileKey: dir, TopicKey: "t"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task := &sourceTask{}
			if err := task.Start(context.Background(), cfg, nil); err == nil {
				t.Error("Start succeeded")
			}
			_ = task.Stop(context.Background())
		})
	}
}

func TestSourcePollCancelledAndStopped(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "")
	task := &sourceTask{}
	if err := task.Start(context.Background(), map[string]string{FileKey: path, TopicKey: "t"}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if recs, err := task.Poll(ctx); recs != nil || err != nil {
		t.Errorf("cancelled Poll = %v, %v; want nil, nil", recs, err)
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Poll(context.Background()); !errors.Is(err, connect.ErrStopped) {
		t.Errorf("Poll after Stop = %v, want ErrStopped", err)
	}
}

func TestSourceTaskConfigs(t *testing.T) {
	t.Parallel()
	c := NewSource()
	cfg := map[string]string{FileKey: "/tmp/x", TopicKey: "t", "tasks.max": "4"}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	got, err := c.TaskConfigs(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]map[string]string{cfg}, got); diff != "" {
		t.Errorf("task configs (-want +got):\n%s", diff)
	}
}
