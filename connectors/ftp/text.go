package ftp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

// lineScanner reads a byte stream line by line, counting the bytes and
// line breaks it consumed, so every record knows the position after it
// and the line it starts on. A line ends at "\n" (a "\r" before it is
// part of the terminator); the last line may lack one.
type lineScanner struct {
	r    *bufio.Reader
	pos  int64 // bytes consumed
	line int64 // line breaks consumed
	max  int   // longest line accepted, terminator included
	long []byte
	// complete, when set, is asked at the end of the stream whether the
	// whole file came: a line cut off by a broken transfer is no line.
	complete func() error
}

func newLineScanner(r io.Reader, bufSize, max int, pos, line int64) *lineScanner {
	return &lineScanner{r: bufio.NewReaderSize(r, bufSize), pos: pos, line: line, max: max}
}

// errTooLong is a line or record longer than record.max.bytes.
type errTooLong struct {
	line int64
	max  int
}

func (e *errTooLong) Error() string {
	return fmt.Sprintf("the record starting on line %d is longer than %d bytes (%s)", e.line, e.max, MaxRecordKey)
}

// next returns the next line with its terminator; it is valid until the
// next call. At the end of the stream it returns io.EOF and no line.
func (s *lineScanner) next() ([]byte, error) {
	b, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(s.long) > s.max {
				return nil, &errTooLong{line: s.line + 1, max: s.max}
			}
			b, err = s.r.ReadSlice('\n')
			s.long = append(s.long, b...)
		}
		b = s.long
	}
	if err == io.EOF && s.complete != nil {
		if cerr := s.complete(); cerr != nil {
			return nil, cerr
		}
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(b) == 0 {
		return nil, io.EOF
	}
	if len(b) > s.max {
		return nil, &errTooLong{line: s.line + 1, max: s.max}
	}
	s.pos += int64(len(b))
	if b[len(b)-1] == '\n' {
		s.line++
	}
	return b, nil
}

// skipBOM drops a UTF-8 byte order mark at the start of the stream.
func (s *lineScanner) skipBOM() error {
	b, err := s.r.Peek(3)
	if err != nil && err != io.EOF {
		return err
	}
	if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		s.r.Discard(3)
		s.pos += 3
	}
	return nil
}

// trimEOL drops a line's terminator.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// decoder turns text of the configured character set into Go strings.
type decoder struct {
	dec *encoding.Decoder // nil: UTF-8
	buf []byte
}

func newDecoder(e encoding.Encoding) *decoder {
	d := &decoder{}
	if e != nil {
		d.dec = e.NewDecoder()
	}
	return d
}

// text decodes b; bytes that are no valid UTF-8 become U+FFFD, as Kafka
// Connect's readers do.
func (d *decoder) text(b []byte) string {
	if d.dec == nil {
		if utf8.Valid(b) {
			return string(b)
		}
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	out, err := d.dec.Bytes(b)
	if err != nil {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	if !utf8.Valid(out) {
		out = bytes.ToValidUTF8(out, []byte("\uFFFD"))
	}
	return string(out)
}

// errParse is a file's content the format cannot read.
var errParse = errors.New("cannot parse")
