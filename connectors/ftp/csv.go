package ftp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// csvReader splits a byte stream into CSV records (RFC 4180 with a
// configurable separator and quote): a quoted field may hold separators,
// line breaks and doubled quotes; an unquoted field is taken as it is.
// Empty lines are skipped. It works on the raw bytes, so positions are
// byte positions of the file whatever its character set.
type csvReader struct {
	s            *lineScanner
	delim, quote byte
	field        []byte // the record's fields, back to back
	ends         []int  // end of each field in field
}

// next returns the fields of the next record (valid until the next call)
// and the line it starts on; io.EOF after the last.
func (c *csvReader) next() ([][]byte, int64, error) {
	for {
		start := c.s.line + 1
		line, err := c.s.next()
		if err != nil {
			return nil, 0, err
		}
		if len(trimEOL(line)) == 0 {
			continue
		}
		fields, err := c.parse(line, start)
		return fields, start, err
	}
}

func (c *csvReader) parse(line []byte, start int64) ([][]byte, error) {
	c.field, c.ends = c.field[:0], c.ends[:0]
	i := 0
	for {
		if i < len(line) && line[i] == c.quote {
			i++
			for {
				j := bytes.IndexByte(line[i:], c.quote)
				if j < 0 {
					// The quoted field goes on on the next line.
					c.field = append(c.field, line[i:]...)
					if len(c.field) > c.s.max {
						return nil, &errTooLong{line: start, max: c.s.max}
					}
					var err error
					line, err = c.s.next()
					if err == io.EOF {
						return nil, fmt.Errorf("%w: line %d: a quoted field is not closed before the end of the file", errParse, start)
					}
					if err != nil {
						return nil, err
					}
					i = 0
					continue
				}
				c.field = append(c.field, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == c.quote { // a doubled quote
					c.field = append(c.field, c.quote)
					i++
					continue
				}
				break
			}
			c.ends = append(c.ends, len(c.field))
			rest := line[i:]
			switch {
			case len(rest) > 0 && rest[0] == c.delim:
				i++
				continue
			case len(trimEOL(rest)) == 0:
				return c.fields(), nil
			default:
				return nil, fmt.Errorf("%w: line %d: %q after a closing quote, where a %q or the end of the line belongs", errParse, start, rest[0], c.delim)
			}
		}
		body := trimEOL(line[i:])
		j := bytes.IndexByte(body, c.delim)
		if j < 0 {
			c.field = append(c.field, body...)
			c.ends = append(c.ends, len(c.field))
			return c.fields(), nil
		}
		c.field = append(c.field, body[:j]...)
		c.ends = append(c.ends, len(c.field))
		i += j + 1
	}
}

func (c *csvReader) fields() [][]byte {
	out := make([][]byte, len(c.ends))
	prev := 0
	for k, e := range c.ends {
		out[k] = c.field[prev:e:e]
		prev = e
	}
	return out
}

// columnType is the type of a csv column (csv.column.types).
type columnType struct {
	kind  string // string, int32, int64, float64, boolean, decimal, date, timestamp
	scale int32
}

func parseColumnTypes(list []string) (map[string]columnType, error) {
	out := map[string]columnType{}
	for _, item := range list {
		name, typ, ok := strings.Cut(item, ":")
		name, typ = strings.TrimSpace(name), strings.ToLower(strings.TrimSpace(typ))
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name:type", item)
		}
		ct := columnType{kind: typ}
		switch {
		case typ == "string", typ == "int32", typ == "int64", typ == "float64", typ == "boolean", typ == "date", typ == "timestamp":
		case strings.HasPrefix(typ, "decimal(") && strings.HasSuffix(typ, ")"):
			s, err := strconv.ParseInt(typ[len("decimal("):len(typ)-1], 10, 32)
			if err != nil || s < 0 {
				return nil, fmt.Errorf("%q: the scale of a decimal is a number", item)
			}
			ct = columnType{kind: "decimal", scale: int32(s)}
		default:
			return nil, fmt.Errorf("%q: unknown type %q (string, int32, int64, float64, boolean, decimal(SCALE), date, timestamp)", item, typ)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("column %q is typed twice", name)
		}
		out[name] = ct
	}
	return out, nil
}

func (t columnType) schema() *connect.Schema {
	switch t.kind {
	case "int32":
		return connect.OptionalInt32
	case "int64":
		return connect.OptionalInt64
	case "float64":
		return connect.OptionalFloat64
	case "boolean":
		return connect.OptionalBoolean
	case "decimal":
		return connect.DecimalSchema(t.scale).Optional().Build()
	case "date":
		return connect.DateSchema().Optional().Build()
	case "timestamp":
		return connect.TimestampSchema().Optional().Build()
	}
	return connect.OptionalString
}

// value converts a cell; an empty cell of a typed column is null.
func (t columnType) value(s string) (any, error) {
	if t.kind == "string" || t.kind == "" {
		return s, nil
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	switch t.kind {
	case "int32":
		n, err := strconv.ParseInt(s, 10, 32)
		return int32(n), err
	case "int64":
		return strconv.ParseInt(s, 10, 64)
	case "float64":
		return strconv.ParseFloat(s, 64)
	case "boolean":
		return strconv.ParseBool(s)
	case "decimal":
		d, err := connect.ParseDecimal(s)
		if err != nil {
			return nil, err
		}
		return rescale(d, t.scale)
	case "date":
		return time.ParseInLocation("2006-01-02", s, time.UTC)
	case "timestamp":
		ts, err := time.Parse(time.RFC3339Nano, s)
		return ts.UTC(), err
	}
	return s, nil
}

// rescale gives d the column's scale, refusing to drop digits.
func rescale(d connect.Decimal, scale int32) (connect.Decimal, error) {
	if d.Scale == scale {
		return d, nil
	}
	if d.Scale < scale {
		d.Unscaled.Mul(d.Unscaled, pow10(scale-d.Scale))
		d.Scale = scale
		return d, nil
	}
	q, r := d.Unscaled.QuoRem(d.Unscaled, pow10(d.Scale-scale), newInt())
	if r.Sign() != 0 {
		return connect.Decimal{}, fmt.Errorf("%s has more than %d decimal places", d, scale)
	}
	return connect.Decimal{Unscaled: q, Scale: scale}, nil
}

// csvSchema builds the value schema of a csv file from its header.
func csvSchema(names []string, types map[string]columnType) (*connect.Schema, []columnType, error) {
	b := connect.StructSchema()
	cts := make([]columnType, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			return nil, nil, fmt.Errorf("%w: the header names column %q twice", errParse, n)
		}
		seen[n] = true
		cts[i] = types[n]
		b.Field(n, cts[i].schema())
	}
	for n := range types {
		if !seen[n] {
			return nil, nil, fmt.Errorf("%w: csv.column.types types column %q, which the header does not name", errParse, n)
		}
	}
	return b.Build(), cts, nil
}

var errNoHeader = errors.New("the file has no header row")

func pow10(n int32) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

func newInt() *big.Int { return new(big.Int) }
