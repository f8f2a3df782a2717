package s3sink

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// A view is the part of a record a stream writes, as Confluent's
// RecordViews: the value, the key, or the headers.
type view int

const (
	viewValue view = iota
	viewKey
	viewHeaders
)

// extension is what the view adds before the format's extension.
func (v view) extension() string {
	switch v {
	case viewKey:
		return ".keys"
	case viewHeaders:
		return ".headers"
	}
	return ""
}

var (
	headerSchema = connect.StructSchema().Field("key", connect.StringSchema).Field("value", connect.OptionalString).Build()
	headersArray = connect.ArraySchema(headerSchema).Build()
	headersEnvel = connect.StructSchema().Name("RecordHeaders").Field("headers", headersArray).Build()
)

// of returns the schema and value the view writes for r. Enveloped views
// (Parquet keys and headers, JSON headers) wrap the key in a RecordKey
// struct and the headers in a RecordHeaders struct, as Confluent's do.
func (v view) of(r *connect.Record, envelope bool) (*connect.Schema, any) {
	switch v {
	case viewKey:
		if !envelope {
			return r.KeySchema, r.Key
		}
		s := connect.StructSchema().Name("RecordKey").Field("key", r.KeySchema).Build()
		return s, connect.NewStruct(s).Put("key", r.Key)
	case viewHeaders:
		hs := make([]any, len(r.Headers))
		for i, h := range r.Headers {
			var val any
			if h.Value != nil {
				val = headerString(h.Value)
			}
			hs[i] = connect.NewStruct(headerSchema).Put("key", h.Key).Put("value", val)
		}
		if !envelope {
			return headersArray, hs
		}
		return headersEnvel, connect.NewStruct(headersEnvel).Put("headers", hs)
	}
	return r.ValueSchema, r.Value
}

// headerString renders a header value as Kafka Connect's
// Values.convertToString does for the common types.
func headerString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case connect.Decimal:
		return x.String()
	}
	return fmt.Sprint(v)
}

// encoder writes the records of one object.
type encoder interface {
	// write appends r's view.
	write(r *connect.Record) error
	// buffered is what the encoder holds that is not yet in its output.
	buffered() int64
	// flush moves what it holds to its output, where that keeps the
	// object valid (a Parquet row group); others do nothing.
	flush() error
	// close finishes the object (gzip trailer, Parquet footer).
	close() error
	// schema is the schema of the records the object holds (Parquet), or nil.
	schema() *connect.Schema
}

// formatSpec builds the encoders of one format.
type formatSpec struct {
	name         string
	cfg          *config
	json         converters.Converter
	parquetCodec string
}

func newFormatSpec(name string, cfg *config) (*formatSpec, error) {
	f := &formatSpec{name: name, cfg: cfg, parquetCodec: cfg.parquetCodec}
	if name == formatJSON {
		c, err := converters.New("json")
		if err != nil {
			return nil, err
		}
		dec := "BASE64"
		if cfg.decimalNumeric {
			dec = "NUMERIC"
		}
		if err := c.Configure(map[string]string{"schemas.enable": "false", "decimal.format": dec}, false); err != nil {
			return nil, fmt.Errorf("s3-sink: %w", err)
		}
		f.json = c
	}
	return f, nil
}

// extension is the format's object extension (without the view's).
func (f *formatSpec) extension() string {
	switch f.name {
	case formatParquet:
		_, ext := parquetCodec(f.parquetCodec)
		return ext
	case formatByteArray:
		if f.cfg.gzip {
			return f.cfg.byteArrayExt + ".gz"
		}
		return f.cfg.byteArrayExt
	}
	if f.cfg.gzip {
		return ".json.gz"
	}
	return ".json"
}

// fixedCost is what an open object of the format holds beyond its
// buffers, for the memory budget: a gzip writer's window and tables, or a
// Parquet writer's page buffers.
func (f *formatSpec) fixedCost() int64 {
	switch {
	case f.name == formatParquet:
		return 256 << 10
	case f.cfg.gzip:
		return 1 << 20
	}
	return 0
}

// newEncoder starts an object of view v whose first record is r.
func (f *formatSpec) newEncoder(out io.Writer, v view, r *connect.Record) (encoder, error) {
	switch f.name {
	case formatParquet:
		s, _ := v.of(r, true)
		codec, _ := parquetCodec(f.parquetCodec)
		e, err := newParquetEncoder(out, s, codec)
		if err != nil {
			return nil, err
		}
		return &parquetView{enc: e, v: v}, nil
	}
	var gz *gzip.Writer
	if f.cfg.gzip {
		var err error
		if gz, err = gzip.NewWriterLevel(out, f.cfg.gzipLevel); err != nil {
			return nil, fmt.Errorf("s3-sink: %s: %w", CompressionLevelKey, err)
		}
		out = gz
	}
	if f.name == formatByteArray {
		return &byteArrayEncoder{out: out, gz: gz, sep: f.cfg.byteArraySep, v: v}, nil
	}
	return &jsonEncoder{out: out, gz: gz, conv: f.json, v: v}, nil
}

// jsonEncoder writes one JSON value per line, as Confluent's JsonFormat:
// Kafka Connect's JsonConverter with schemas.enable=false.
type jsonEncoder struct {
	out  io.Writer
	gz   *gzip.Writer
	conv converters.Converter
	v    view
	line []byte
}

func (e *jsonEncoder) write(r *connect.Record) error {
	s, val := e.v.of(r, e.v == viewHeaders)
	var err error
	if a, ok := e.conv.(converters.Appender); ok {
		// Straight into the line buffer: no copy of each record's JSON.
		e.line, err = a.AppendFromConnect(e.line[:0], r.Topic, s, val)
	} else {
		var b []byte
		b, err = e.conv.FromConnect(r.Topic, s, val)
		e.line = append(e.line[:0], b...)
	}
	if err != nil {
		return err
	}
	if len(e.line) == 0 { // a tombstone
		e.line = append(e.line, "null"...)
	}
	e.line = append(e.line, '\n')
	_, err = e.out.Write(e.line)
	return err
}

func (e *jsonEncoder) buffered() int64         { return 0 }
func (e *jsonEncoder) flush() error            { return nil }
func (e *jsonEncoder) schema() *connect.Schema { return nil }
func (e *jsonEncoder) close() error {
	if e.gz != nil {
		return e.gz.Close()
	}
	return nil
}

// byteArrayEncoder writes the raw bytes of every record followed by
// format.bytearray.separator, as Confluent's ByteArrayFormat.
type byteArrayEncoder struct {
	out io.Writer
	gz  *gzip.Writer
	sep []byte
	v   view
}

func (e *byteArrayEncoder) write(r *connect.Record) error {
	s, val := e.v.of(r, false)
	if s != nil && s.Type != connect.Bytes {
		return fmt.Errorf("invalid schema type for ByteArrayFormat: %s (use ByteArrayConverter, or JsonFormat)", s.Type)
	}
	var b []byte
	switch x := val.(type) {
	case []byte:
		b = x
	case nil:
	default:
		return fmt.Errorf("ByteArrayFormat is not compatible with values of type %T (use ByteArrayConverter)", val)
	}
	if _, err := e.out.Write(b); err != nil {
		return err
	}
	_, err := e.out.Write(e.sep)
	return err
}

func (e *byteArrayEncoder) buffered() int64         { return 0 }
func (e *byteArrayEncoder) flush() error            { return nil }
func (e *byteArrayEncoder) schema() *connect.Schema { return nil }
func (e *byteArrayEncoder) close() error {
	if e.gz != nil {
		return e.gz.Close()
	}
	return nil
}

type parquetView struct {
	enc *parquetEncoder
	v   view
}

var errSchemaChanged = errors.New("the record's schema differs from the file's")

func (p *parquetView) write(r *connect.Record) error {
	s, val := p.v.of(r, true)
	if p.v == viewValue && s != p.enc.schema && !s.Equal(p.enc.schema) {
		return errSchemaChanged
	}
	return p.enc.write(val)
}

func (p *parquetView) buffered() int64         { return p.enc.buffered() }
func (p *parquetView) flush() error            { return p.enc.flush() }
func (p *parquetView) close() error            { return p.enc.close() }
func (p *parquetView) schema() *connect.Schema { return p.enc.schema }
