package ftp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// openFile is the file being read: its transfer, decoder and one record
// read ahead, so the last record is known to be the last.
type openFile struct {
	f       *fileState
	part    map[string]any // the file's source partition, shared by its records
	rc      io.ReadCloser
	raw     *countReader
	src     recordSource
	topic   string
	headers []connect.Header // the file's own headers; file.line is added per record
	key     any              // with record.key=path
	counted int64            // raw bytes already counted in the progress

	ahead    parsed
	aheadErr error
	primed   bool
}

// openFile starts reading f where its last returned record ended: with
// REST (FTP) or a seek (SFTP) when the stream is the file itself, else by
// reading from the start and skipping.
func (t *sourceTask) openFile(ctx context.Context, f *fileState) error {
	if f.emitted.eof {
		t.await(f) // nothing left to read
		return nil
	}
	gz := strings.HasSuffix(strings.ToLower(f.name), ".gz")
	pos := f.emitted.pos
	of := &openFile{f: f, part: f.id.partition(), topic: t.topicOf(f)}
	of.headers = []connect.Header{
		{Key: "file.name", Schema: connect.StringSchema, Value: f.name},
		{Key: "file.path", Schema: connect.StringSchema, Value: f.id.path},
		{Key: "file.size", Schema: connect.Int64Schema, Value: f.id.size},
		{Key: "file.modified", Schema: connect.StringSchema, Value: f.id.mtime().Format(time.RFC3339)},
	}
	if t.cfg.keyMode == KeyPath {
		of.key = f.id.path
	}

	from := pos
	if gz || pos == 0 || (t.cfg.format == FormatCSV && t.cfg.csvHeader) {
		from = 0 // the header comes first; a compressed stream has no random access
	}
	s, err := t.startTransfer(ctx, of, from, gz)
	if err != nil {
		return t.openFailed(f, err)
	}
	var header [][]byte
	if t.cfg.format == FormatCSV && t.cfg.csvHeader {
		c := &csvSource{o: t.opts, r: &csvReader{s: s, delim: t.cfg.csvDelim, quote: t.cfg.csvQuote}}
		if header, err = c.readHeader(); err != nil {
			of.rc.Close()
			return t.readFailed(of, err)
		}
		if pos > s.pos && !gz {
			// Resuming after the header: start the transfer again there.
			of.rc.Close()
			if s, err = t.startTransfer(ctx, of, pos, gz); err != nil {
				return t.openFailed(f, err)
			}
		}
	}
	if s.pos < pos { // the stream starts before the position: skip
		if _, err := s.r.Discard(int(min(pos-s.pos, 1<<62))); err != nil {
			of.rc.Close()
			return t.readFailed(of, err)
		}
		s.pos = pos
	}
	if pos > 0 {
		s.line = f.emitted.line
	}
	of.src, err = newSource(t.opts, s, header)
	if err != nil {
		of.rc.Close()
		return t.readFailed(of, err)
	}
	f.stage = stageReading
	t.cur = of
	t.prog.reading(f.id.path)
	if pos > 0 {
		t.log.Info("ftp: resuming file", "file", f.id.String(), "position", pos, "records", f.emitted.records)
	}
	return nil
}

// startTransfer opens the file's stream at from (or at 0 when the server
// refuses) and returns a scanner at that stream position.
func (t *sourceTask) startTransfer(ctx context.Context, of *openFile, from int64, gz bool) (*lineScanner, error) {
	f := of.f
	rc, fetched, err := t.openFetched(ctx, f, from)
	var start int64
	if err == nil && !fetched {
		rc, start, err = t.rem.open(ctx, f.id.path, from, f.id.size)
	}
	if err != nil {
		return nil, err
	}
	if start != from {
		t.log.Info("ftp: the server refuses to start a download in the middle (REST); reading from the start and skipping", "file", f.id.path, "position", from)
	}
	if f.id.size-start == 0 {
		// Nothing to read, but the server waits for the data connection to
		// be used (an FTPS server for its TLS handshake) before it reports
		// the transfer done.
		rc.Read(make([]byte, 1))
	}
	of.rc = rc
	of.raw = &countReader{r: io.LimitReader(rc, f.id.size-start), n: start}
	of.counted = start
	var stream io.Reader = of.raw
	streamPos := start
	if gz {
		zr, err := gzip.NewReader(of.raw)
		if err != nil {
			rc.Close()
			if of.raw.eof && of.raw.n < f.id.size || !isContentError(err) {
				return nil, &transferError{err}
			}
			return nil, fmt.Errorf("%w: not a gzip file: %v", errParse, err)
		}
		zr.Multistream(true)
		stream, streamPos = zr, 0
	}
	// A buffer the size of a small file: a large one per file would cost
	// more than its transfer.
	buf := int64(readBuffer)
	if !gz {
		buf = min(buf, max(4096, f.id.size-start+1))
	}
	s := newLineScanner(stream, int(buf), t.cfg.maxRecord, streamPos, 0)
	raw := of.raw
	s.complete = func() error {
		if raw.n < f.id.size {
			return errShortTransfer
		}
		return nil
	}
	if streamPos == 0 && t.cfg.charset == nil && t.cfg.format != FormatBytes {
		if err := s.skipBOM(); err != nil {
			rc.Close()
			return nil, err
		}
	}
	return s, nil
}

// openFailed handles a download the server refused or a lost connection.
func (t *sourceTask) openFailed(f *fileState, err error) error {
	switch {
	case isTemporaryFileError(err):
		f.attempts++
		if f.attempts >= maxAttempts {
			t.fail(f, err)
			return nil
		}
		t.log.Warn("ftp: the server refuses the download for now; trying again after the next listing", "file", f.id.path, "error", err)
		f.stage = stageQueued
		t.retry(f)
		return nil
	case isFileError(err), isContentError(err):
		t.fail(f, err)
		return nil
	}
	t.requeueFront(f)
	return err
}

// retry puts f back to be read after the next listing.
func (t *sourceTask) retry(f *fileState) {
	f.stage = stageStored
	f.seen = 0
}

func (t *sourceTask) requeueFront(f *fileState) {
	f.stage = stageQueued
	t.queue = append([]*fileState{f}, t.queue...)
}

// readFailed handles an error while reading: content the format cannot
// read fails the file; a transfer that broke off is read again.
func (t *sourceTask) readFailed(of *openFile, err error) error {
	f := of.f
	t.cur = nil
	short := errors.Is(err, errShortTransfer) || of.raw != nil && of.raw.eof && of.raw.n < f.id.size
	if !short && isContentError(err) {
		if of.rc != nil {
			of.rc.Close()
		}
		t.fail(f, err)
		return nil
	}
	if short {
		err = fmt.Errorf("the transfer of %s ended after %d of %d bytes: %w", f.id.path, of.raw.n, f.id.size, err)
	}
	// The transfer broke off: read it again from after the last record
	// returned, on a fresh connection.
	t.cur = of
	return &transferError{err}
}

// readBatch returns up to room records of the file being read.
func (t *sourceTask) readBatch(ctx context.Context, room int) ([]*connect.Record, error) {
	of := t.cur
	var recs []*connect.Record
	for len(recs) < room {
		if len(recs)&255 == 255 && ctx.Err() != nil {
			break
		}
		p, last, err := of.next()
		if err == io.EOF { // the file (or what was left of it) holds no record
			of.f.emitted.eof = true
			t.finished(of)
			break
		}
		if err != nil {
			if rerr := t.readFailed(of, err); rerr != nil {
				return recs, rerr
			}
			break
		}
		if len(recs) == 0 {
			t.track(of.f) // before finished may ask for its commit
		}
		recs = append(recs, t.record(of, p, last))
		if last {
			t.finished(of)
			break
		}
	}
	if len(recs) > 0 {
		of.f.attempts = 0
	}
	t.prog.read(int64(len(recs)), of.raw.n-of.counted)
	of.counted = of.raw.n
	return recs, nil
}

var errShortTransfer = errors.New("ftp: transfer ended early")

// next returns the next record, and whether it is the file's last: a
// record is the last once the next read finds the end of a transfer that
// delivered the whole file.
func (of *openFile) next() (parsed, bool, error) {
	if !of.primed {
		of.ahead, of.aheadErr = of.src.next()
		of.primed = true
	}
	if of.aheadErr != nil {
		return parsed{}, false, of.endErr(of.aheadErr)
	}
	cur := of.ahead
	of.ahead, of.aheadErr = of.src.next()
	if of.aheadErr == io.EOF {
		if err := of.endErr(io.EOF); err != io.EOF {
			of.aheadErr = err
			return cur, false, nil // the error comes with the next call
		}
		return cur, true, nil
	}
	return cur, false, nil
}

// endErr checks, at the end of the stream, that the whole file came and
// the server says the transfer succeeded.
func (of *openFile) endErr(err error) error {
	if err != io.EOF {
		if of.raw.eof && of.raw.n < of.f.id.size {
			return errShortTransfer
		}
		return err
	}
	if of.raw.n < of.f.id.size {
		return errShortTransfer
	}
	if of.rc != nil {
		rc := of.rc
		of.rc = nil
		if cerr := rc.Close(); cerr != nil {
			return &transferError{fmt.Errorf("the server reports the transfer failed: %w", cerr)}
		}
	}
	return io.EOF
}

// finished ends the read of a file whose last record was returned.
func (t *sourceTask) finished(of *openFile) {
	t.cur = nil
	if of.rc != nil {
		of.rc.Close()
	}
	f := of.f
	f.emitted.eof = true
	t.prog.fileDone()
	t.log.Info("ftp: read file", "file", f.id.String(), "records", f.emitted.records, "topic", of.topic)
	t.await(f)
}

// record makes the connect.Record of p.
func (t *sourceTask) record(of *openFile, p parsed, last bool) *connect.Record {
	f := of.f
	f.emitted = position{records: f.emitted.records + 1, line: p.lines, pos: p.end, eof: last}
	r, h := t.slab.next(len(of.headers) + 1)
	*r = connect.Record{
		Topic: of.topic, Partition: -1,
		ValueSchema: p.valueSchema, Value: p.value,
		SourcePartition: of.part, SourceOffset: f.emitted.offset(),
	}
	switch t.cfg.keyMode {
	case KeyPath:
		r.KeySchema, r.Key = connect.StringSchema, of.key
	case KeyField:
		r.KeySchema, r.Key = p.keySchema, p.key
		if p.keySchema != nil && p.key == nil {
			r.KeySchema = optional(p.keySchema)
		}
	}
	copy(h, of.headers)
	h[len(of.headers)] = connect.Header{Key: "file.line", Schema: connect.Int64Schema, Value: p.line}
	r.Headers = h
	return r
}

// slab hands out records and their headers from arrays of slabRecords:
// one allocation of each for many records, not two a record. A slab
// lives as long as any of its records; a record's headers are capped, so
// appending to them copies.
type slab struct {
	recs []connect.Record
	hdrs []connect.Header
}

const slabRecords = 128

func (s *slab) next(headers int) (*connect.Record, []connect.Header) {
	if len(s.recs) == 0 {
		s.recs = make([]connect.Record, slabRecords)
	}
	r := &s.recs[0]
	s.recs = s.recs[1:]
	if len(s.hdrs) < headers {
		s.hdrs = make([]connect.Header, slabRecords*headers)
	}
	h := s.hdrs[:headers:headers]
	s.hdrs = s.hdrs[headers:]
	return r, h
}

func optional(s *connect.Schema) *connect.Schema {
	if s.Optional {
		return s
	}
	c := *s
	c.Optional = true
	return &c
}

// topicOf returns the topic of f's records.
func (t *sourceTask) topicOf(f *fileState) string {
	if !t.cfg.topicPattern {
		return t.cfg.topic
	}
	base, _, _ := strings.Cut(f.name, ".")
	topic := strings.NewReplacer("${file.name}", f.name, "${file.base}", base).Replace(t.cfg.topic)
	b := []byte(topic)
	for i, c := range b {
		if !topicChar(rune(c)) {
			b[i] = '_'
		}
	}
	if len(b) > 249 {
		b = b[:249]
	}
	return string(b)
}
