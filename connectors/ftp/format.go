package ftp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// parsed is one record of a file before it becomes a connect.Record.
type parsed struct {
	value       any
	valueSchema *connect.Schema
	key         any // with record.key=field
	keySchema   *connect.Schema
	line        int64 // the line it starts on, from 1
	end         int64 // stream position after it
	lines       int64 // line breaks before end
}

// recordSource yields a file's records; io.EOF after the last.
type recordSource interface {
	next() (parsed, error)
}

// transferError is a failure to read from the server (as opposed to
// content the format cannot read): the transfer is worth trying again.
type transferError struct{ err error }

func (e *transferError) Error() string { return e.err.Error() }
func (e *transferError) Unwrap() error { return e.err }

// countReader counts the raw bytes read from the server and marks read
// errors as transfer errors.
type countReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil:
		err = &transferError{err}
	}
	return n, err
}

// formatOpts is what the decoders need of the configuration.
type formatOpts struct {
	format       string
	delim, quote byte
	header       bool
	types        map[string]columnType
	max          int
	keyField     string // with record.key=field
	dec          *decoder
	schemas      *schemaCache
}

// newSource returns the record source of one file's stream. s is
// positioned at the start of the stream, or, when resuming, after the
// header (csv) at its stored position. header is the header row read
// before resuming, for csv.
func newSource(o formatOpts, s *lineScanner, header [][]byte) (recordSource, error) {
	switch o.format {
	case FormatCSV:
		c := &csvSource{o: o, r: &csvReader{s: s, delim: o.delim, quote: o.quote}}
		if header != nil {
			if err := c.setHeader(header); err != nil {
				return nil, err
			}
		}
		return c, nil
	case FormatJSONL:
		return &jsonSource{o: o, s: s}, nil
	case FormatBytes:
		return &bytesSource{o: o, s: s}, nil
	}
	return &lineSource{o: o, s: s}, nil
}

type lineSource struct {
	o formatOpts
	s *lineScanner
}

func (l *lineSource) next() (parsed, error) {
	b, err := l.s.next()
	if err != nil {
		return parsed{}, err
	}
	return parsed{value: l.o.dec.text(trimEOL(b)), valueSchema: connect.StringSchema, line: l.s.line - lineBreak(b) + 1, end: l.s.pos, lines: l.s.line}, nil
}

// lineBreak is 1 when b ends with a line break.
func lineBreak(b []byte) int64 {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

type jsonSource struct {
	o formatOpts
	s *lineScanner
}

func (j *jsonSource) next() (parsed, error) {
	for {
		b, err := j.s.next()
		if err != nil {
			return parsed{}, err
		}
		line := j.s.line - lineBreak(b) + 1
		body := bytes.TrimSpace(trimEOL(b))
		if len(body) == 0 {
			continue
		}
		if j.o.dec.dec != nil {
			body = []byte(j.o.dec.text(body))
		}
		v, err := decodeJSON(body)
		if err != nil {
			return parsed{}, fmt.Errorf("%w: line %d: %v", errParse, line, err)
		}
		p := parsed{value: v, line: line, end: j.s.pos, lines: j.s.line}
		if j.o.keyField != "" {
			if m, ok := v.(map[string]any); ok {
				p.key = m[j.o.keyField]
			}
		}
		return p, nil
	}
}

// decodeJSON decodes one JSON value into Kafka Connect's schemaless
// values: integral numbers become int64, others float64.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	return normaliseJSON(v), nil
}

func normaliseJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normaliseJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normaliseJSON(e)
		}
	}
	return v
}

type csvSource struct {
	o      formatOpts
	r      *csvReader
	schema *connect.Schema
	types  []columnType
	keyIdx int
}

// readHeader reads the header row (or, without one, nothing) and returns
// its raw fields, which a resumed read needs again.
func (c *csvSource) readHeader() ([][]byte, error) {
	if !c.o.header {
		return nil, nil
	}
	fields, _, err := c.r.next()
	if err == io.EOF {
		return nil, nil // an empty file: no records either
	}
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(fields))
	for i, f := range fields {
		out[i] = bytes.Clone(f)
	}
	return out, c.setHeader(out)
}

func (c *csvSource) setHeader(fields [][]byte) error {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = strings.TrimSpace(c.o.dec.text(f))
		if names[i] == "" {
			names[i] = fmt.Sprintf("column%d", i+1)
		}
	}
	return c.setNames(names)
}

func (c *csvSource) setNames(names []string) error {
	s, types, err := c.o.schemas.get(names, c.o.types)
	if err != nil {
		return err
	}
	c.schema, c.types, c.keyIdx = s, types, -1
	for i, n := range names {
		if n == c.o.keyField && c.o.keyField != "" {
			c.keyIdx = i
		}
	}
	if c.o.keyField != "" && c.keyIdx < 0 {
		return fmt.Errorf("%w: the header does not name the key column %q (%s)", errParse, c.o.keyField, KeyFieldKey)
	}
	return nil
}

func (c *csvSource) next() (parsed, error) {
	fields, line, err := c.r.next()
	if err != nil {
		return parsed{}, err
	}
	if c.schema == nil { // no header row: columns are numbered
		names := make([]string, len(fields))
		for i := range names {
			names[i] = fmt.Sprintf("column%d", i+1)
		}
		if err := c.setNames(names); err != nil {
			return parsed{}, err
		}
	}
	if len(fields) != len(c.schema.Fields) {
		return parsed{}, fmt.Errorf("%w: line %d has %d fields, the header %d", errParse, line, len(fields), len(c.schema.Fields))
	}
	st := connect.NewStruct(c.schema)
	for i, f := range fields {
		v, err := c.types[i].value(c.o.dec.text(f))
		if err != nil {
			return parsed{}, fmt.Errorf("%w: line %d, column %q: %v", errParse, line, c.schema.Fields[i].Name, err)
		}
		st.SetIndex(i, v)
	}
	p := parsed{value: st, valueSchema: c.schema, line: line, end: c.r.s.pos, lines: c.r.s.line}
	if c.keyIdx >= 0 {
		p.key, p.keySchema = st.GetIndex(c.keyIdx), c.schema.Fields[c.keyIdx].Schema
	}
	return p, nil
}

type bytesSource struct {
	o    formatOpts
	s    *lineScanner
	done bool
}

func (b *bytesSource) next() (parsed, error) {
	if b.done {
		return parsed{}, io.EOF
	}
	b.done = true
	// What the scanner buffered comes first, then the rest of the stream.
	data, err := io.ReadAll(io.LimitReader(b.s.r, int64(b.o.max)+1))
	if err != nil {
		return parsed{}, err
	}
	if len(data) <= b.o.max && b.s.complete != nil {
		if err := b.s.complete(); err != nil {
			return parsed{}, err
		}
	}
	if len(data) > b.o.max {
		return parsed{}, fmt.Errorf("%w: the file is larger than %d bytes (%s)", errParse, b.o.max, MaxRecordKey)
	}
	b.s.pos += int64(len(data))
	return parsed{value: data, valueSchema: connect.BytesSchema, line: 1, end: b.s.pos, lines: 0}, nil
}

// schemaCache shares the struct schema of csv files with the same header,
// so converters see one schema, not one per file.
type schemaCache struct {
	m map[string]cachedSchema
}

type cachedSchema struct {
	s     *connect.Schema
	types []columnType
}

const maxCachedSchemas = 64

func (c *schemaCache) get(names []string, types map[string]columnType) (*connect.Schema, []columnType, error) {
	k := strings.Join(names, "\x00")
	if e, ok := c.m[k]; ok {
		return e.s, e.types, nil
	}
	s, ts, err := csvSchema(names, types)
	if err != nil {
		return nil, nil, err
	}
	if c.m == nil || len(c.m) >= maxCachedSchemas {
		c.m = map[string]cachedSchema{}
	}
	c.m[k] = cachedSchema{s: s, types: ts}
	return s, ts, nil
}

// isContentError reports whether err is about the file's content (the
// file fails) rather than its transfer (try again). The caller first
// rules out a transfer that ended early, which gzip reports as content.
func isContentError(err error) bool {
	var te *transferError
	var tl *errTooLong
	var ce flate.CorruptInputError
	switch {
	case errors.As(err, &te):
		return false
	case errors.Is(err, errParse), errors.As(err, &tl), errors.As(err, &ce),
		errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}
