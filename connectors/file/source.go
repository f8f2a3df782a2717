package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
	"unicode/utf8"

	"github.com/connectd/connectd/framework/connect"
)

// Source partition and offset field names, as Kafka Connect writes them.
const (
	PartitionFilename = "filename"
	OffsetPosition    = "position"
)

const (
	// idleWait is how long Poll waits for a complete line before it returns
	// (nil, nil), as the SDK asks.
	idleWait = time.Second
	// checkInterval is how often a waiting Poll looks for appended data.
	// Stat and read on a local file are cheap; there is no portable file
	// notification in the standard library.
	checkInterval = 100 * time.Millisecond
	// maxLine bounds the buffer. A file with no line breaks (a binary file
	// named by mistake) would otherwise grow it without end.
	maxLine   = 64 << 20
	bufLength = 64 << 10
)

// sourceTask tails one file. Poll reads what was appended since the last
// call into buf and returns its complete lines; a line still missing its
// terminator stays in buf until the rest arrives.
type sourceTask struct {
	cfg       sourceConfig
	partition map[string]any
	f         *os.File // nil until the file exists
	buf       []byte
	start     int   // buf[start:end] is read but not yet returned
	end       int   //
	pos       int64 // file position of buf[start]: the offset after the last line returned
	stopped   bool

	// Zero means the constants above; tests shorten them.
	idle, interval time.Duration
}

var _ connect.SourceTask = (*sourceTask)(nil)

// Start parses the configuration, reads the stored position and opens the
// file. A file that does not exist yet is not an error: Poll waits for it,
// as Kafka Connect's task does.
func (t *sourceTask) Start(_ context.Context, raw map[string]string, offsets connect.OffsetReader) error {
	cfg, err := parseSourceConfig(raw)
	if err != nil {
		return err
	}
	t.cfg = cfg
	t.partition = map[string]any{PartitionFilename: cfg.path}
	t.pos, t.start, t.end, t.stopped = 0, 0, 0, false
	if offsets != nil {
		if off := offsets.Offset(t.partition); off != nil {
			p, err := connect.OffsetInt64(off[OffsetPosition])
			if err == nil && p < 0 {
				err = fmt.Errorf("%d is negative", p)
			}
			if err != nil {
				return fmt.Errorf("file-source: stored offset of %q: %s: %w", cfg.path, OffsetPosition, err)
			}
			t.pos = p
		}
	}
	if err := t.open(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (t *sourceTask) open() error {
	f, err := os.Open(t.cfg.path)
	if err != nil {
		return fmt.Errorf("file-source: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = fmt.Errorf("%q is a directory", t.cfg.path)
	}
	if err == nil && fi.Size() < t.pos {
		err = fmt.Errorf("stored position %d is past the end of %q (%d bytes): the file was truncated or replaced; "+
			"reset the connector's offsets to read it from the start", t.pos, t.cfg.path, fi.Size())
	}
	if err == nil && t.pos > 0 {
		_, err = f.Seek(t.pos, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("file-source: %w", err)
	}
	t.f = f
	if t.buf == nil {
		t.buf = make([]byte, bufLength)
	}
	return nil
}

// Poll returns up to batch.size complete lines. At the end of the file it
// waits for more, checking every 100ms, and returns (nil, nil) after about a
// second without a complete line, or at once when ctx is done.
func (t *sourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.stopped {
		return nil, connect.ErrStopped
	}
	idle, interval := t.idle, t.interval
	if idle == 0 {
		idle = idleWait
	}
	if interval == 0 {
		interval = checkInterval
	}
	deadline := time.Now().Add(idle)
	for {
		if t.f == nil {
			if err := t.open(); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		if t.f != nil {
			recs, err := t.readLines()
			if err != nil || len(recs) > 0 {
				return recs, err
			}
			if err := t.checkTruncated(); err != nil {
				return nil, err
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if sleepCtx(ctx, min(interval, left)) != nil {
			return nil, nil
		}
	}
}

// readLines returns the complete lines buffered or readable now, at most
// batch.size of them.
func (t *sourceTask) readLines() ([]*connect.Record, error) {
	var recs []*connect.Record
	now := time.Now()
	for len(recs) < t.cfg.batchSize {
		line, n, ok := nextLine(t.buf[t.start:t.end])
		if !ok {
			read, err := t.fill()
			if err != nil {
				if len(recs) > 0 {
					return recs, nil // the error will recur on the next Poll
				}
				return nil, err
			}
			if read == 0 {
				break
			}
			continue
		}
		t.start += n
		t.pos += int64(n)
		recs = append(recs, &connect.Record{
			Topic:           t.cfg.topic,
			Partition:       -1,
			ValueSchema:     connect.StringSchema,
			Value:           lineString(line),
			Timestamp:       now,
			SourcePartition: t.partition,
			SourceOffset:    map[string]any{OffsetPosition: t.pos},
		})
	}
	return recs, nil
}

// fill reads more of the file into buf, first moving the unreturned bytes
// to its front and growing it when a single line fills it.
func (t *sourceTask) fill() (int, error) {
	if t.start > 0 {
		t.end = copy(t.buf, t.buf[t.start:t.end])
		t.start = 0
	}
	if t.end == len(t.buf) {
		if len(t.buf) >= maxLine {
			return 0, fmt.Errorf("file-source: %q: line at position %d is longer than %d bytes", t.cfg.path, t.pos, maxLine)
		}
		t.buf = append(t.buf, make([]byte, len(t.buf))...)
	}
	n, err := t.f.Read(t.buf[t.end:])
	t.end += n
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		return n, fmt.Errorf("file-source: read %q: %w", t.cfg.path, err)
	}
	return n, nil
}

// checkTruncated fails when the file became shorter than what was read:
// reading on would stall at a position past its end (Kafka Connect's task
// stalls silently). A file replaced by rename is not noticed: the task keeps
// the old one open.
func (t *sourceTask) checkTruncated() error {
	fi, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("file-source: stat %q: %w", t.cfg.path, err)
	}
	if read := t.pos + int64(t.end-t.start); fi.Size() < read {
		return fmt.Errorf("file-source: %q shrank to %d bytes after %d were read: the file was truncated; "+
			"reset the connector's offsets to read it from the start", t.cfg.path, fi.Size(), read)
	}
	return nil
}

// Stop closes the file; later Polls return connect.ErrStopped.
func (t *sourceTask) Stop(context.Context) error {
	t.stopped = true
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	if err != nil {
		return fmt.Errorf("file-source: close %q: %w", t.cfg.path, err)
	}
	return nil
}

// nextLine finds the first line of b. A line ends at "\n", "\r\n" or a lone
// "\r", as in Kafka Connect's task; n counts the terminator. A "\r" at the
// end of b is no terminator yet: a "\n" may follow. ok is false when b holds
// no complete line.
func nextLine(b []byte) (line []byte, n int, ok bool) {
	i := bytes.IndexAny(b, "\r\n")
	switch {
	case i < 0:
		return nil, 0, false
	case b[i] == '\n':
		return b[:i], i + 1, true
	case i+1 == len(b):
		return nil, 0, false
	case b[i+1] == '\n':
		return b[:i], i + 2, true
	default:
		return b[:i], i + 1, true
	}
}

// lineString decodes a line as UTF-8, replacing invalid bytes with U+FFFD as
// Kafka Connect's reader does, so the STRING value is valid text.
func lineString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
