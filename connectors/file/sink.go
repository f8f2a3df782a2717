package file

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

const writeBuffer = 64 << 10

// sinkTask appends one line per record to a file.
//
// Several tasks may append to the same file (TaskConfigs returns tasks.max
// of them, as Kafka Connect does). Their lines interleave but never mix:
// the file is opened with O_APPEND, and the buffer only ever reaches the file
// in whole lines, each write one system call.
type sinkTask struct {
	path    string
	f       *os.File
	w       *bufio.Writer
	line    []byte // reused between records
	stopped bool
}

var _ connect.SinkTask = (*sinkTask)(nil)

// Start opens the file for appending, creating it if missing. The directory
// must exist.
func (t *sinkTask) Start(_ context.Context, raw map[string]string) error {
	path, err := parseSinkConfig(raw)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("file-sink: %w", err)
	}
	t.path, t.f, t.w, t.stopped = path, f, bufio.NewWriterSize(f, writeBuffer), false
	return nil
}

// Put buffers one line per record; see appendValue for how values read.
// A value that cannot be written (a NaN inside a struct, say) is reported in
// a *connect.BatchError and the others are written.
func (t *sinkTask) Put(_ context.Context, records []*connect.Record) error {
	if t.stopped {
		return connect.ErrStopped
	}
	var failed map[int]error
	for i, r := range records {
		line, err := appendValue(t.line[:0], r.Value)
		if err != nil {
			if failed == nil {
				failed = map[int]error{}
			}
			failed[i] = fmt.Errorf("file-sink: format value of %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			continue
		}
		line = append(line, '\n')
		t.line = line
		// Keep lines whole in the buffer: bufio would otherwise fill it with
		// the head of a line and write that alone. A line longer than the
		// buffer goes straight to the file in one write.
		if len(line) > t.w.Available() && t.w.Buffered() > 0 {
			if err := t.w.Flush(); err != nil {
				return fmt.Errorf("file-sink: write %q: %w", t.path, err)
			}
		}
		if _, err := t.w.Write(line); err != nil {
			return fmt.Errorf("file-sink: write %q: %w", t.path, err)
		}
	}
	if cap(t.line) > writeBuffer {
		t.line = nil // do not keep one huge record's buffer
	}
	if failed != nil {
		return &connect.BatchError{Errs: failed}
	}
	return nil
}

// Flush writes the buffered lines and fsyncs the file, so they survive a
// crash once it returns.
func (t *sinkTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if t.stopped {
		return connect.ErrStopped
	}
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("file-sink: write %q: %w", t.path, err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("file-sink: sync %q: %w", t.path, err)
	}
	return nil
}

// Stop closes the file. Lines put since the last Flush are dropped, not
// written: their offsets were not committed, so they come again to a later
// task, and writing them now would only duplicate them. (Kafka Connect's
// task writes them.)
func (t *sinkTask) Stop(context.Context) error {
	if t.stopped || t.f == nil {
		t.stopped = true
		return nil
	}
	t.stopped = true
	if err := t.f.Close(); err != nil {
		return fmt.Errorf("file-sink: close %q: %w", t.path, err)
	}
	return nil
}

// appendValue appends the text of a record value to b.
//
// Kafka Connect writes value.toString(). Here strings and []byte are
// written as they are, nil as "null" (as Kafka Connect's println does),
// numbers and booleans as Go's strconv formats them, Decimals in plain
// notation and times in RFC 3339. Structs, maps and arrays are written as
// JSON (struct fields in schema order, map keys sorted), which unlike
// Java's Struct{...} text can be read back.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return append(b, x...), nil
	case []byte:
		return append(b, x...), nil
	case float32:
		return strconv.AppendFloat(b, float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case time.Time:
		return x.AppendFormat(b, time.RFC3339Nano), nil
	}
	return appendJSON(b, v)
}

func appendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case connect.Decimal:
		return append(b, x.String()...), nil
	case *connect.StructValue:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '{')
		for i, f := range x.Schema().Fields {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONString(b, f.Name); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, x.Get(f.Name)); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return append(b, '}'), nil
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
		}
		return append(b, '}'), nil
	case map[any]any:
		// JSON keys are strings: write each key's text, sorted.
		type entry struct {
			key string
			val any
		}
		entries := make([]entry, 0, len(x))
		for k, val := range x {
			kb, err := appendValue(nil, k)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{string(kb), val})
		}
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		b = append(b, '{')
		for i, e := range entries {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONString(b, e.key); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, e.val); err != nil {
				return nil, fmt.Errorf("key %q: %w", e.key, err)
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return append(b, ']'), nil
	}
	// Strings, []byte (base64, as the JSON converter writes bytes), floats
	// (NaN and infinities fail), times, and anything outside the data model.
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

func appendJSONString(b []byte, s string) ([]byte, error) {
	j, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}
