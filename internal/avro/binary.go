package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// AppendLong appends n in Avro's binary encoding of int and long: zigzag,
// then a little-endian base-128 varint.
func AppendLong(b []byte, n int64) []byte {
	u := uint64(n<<1) ^ uint64(n>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// AppendFloat appends a float: 4 bytes, little-endian IEEE 754.
func AppendFloat(b []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
}

// AppendDouble appends a double: 8 bytes, little-endian IEEE 754.
func AppendDouble(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// AppendBytes appends bytes or a string: the length as a long, then the bytes.
func AppendBytes(b []byte, p []byte) []byte {
	return append(AppendLong(b, int64(len(p))), p...)
}

// AppendString appends a string: the length as a long, then its UTF-8 bytes.
func AppendString(b []byte, s string) []byte {
	return append(AppendLong(b, int64(len(s))), s...)
}

// ErrShort is wrapped by the errors of a Reader that ran out of data.
var ErrShort = errors.New("avro: data ends early")

// Reader reads Avro's binary encoding from a byte slice. Errors are
// sticky: after the first, every read returns zero values and Err reports
// it, so a decoder checks once at the end of a record.
type Reader struct {
	Data []byte
	Pos  int
	err  error
}

// Err returns the first error a read met.
func (r *Reader) Err() error { return r.err }

// Fail records err (the first one wins).
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) short(what string) {
	r.Fail(fmt.Errorf("%w: reading %s at offset %d of %d", ErrShort, what, r.Pos, len(r.Data)))
	r.Pos = len(r.Data)
}

// Long reads an int or a long.
func (r *Reader) Long() int64 {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.Pos >= len(r.Data) {
			r.short("a varint")
			return 0
		}
		c := r.Data[r.Pos]
		r.Pos++
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1)
		}
	}
	r.Fail(fmt.Errorf("avro: varint longer than 10 bytes at offset %d", r.Pos))
	r.Pos = len(r.Data)
	return 0
}

// Int reads an int, refusing a value beyond 32 bits.
func (r *Reader) Int() int32 {
	n := r.Long()
	if n < math.MinInt32 || n > math.MaxInt32 {
		r.Fail(fmt.Errorf("avro: int %d out of range at offset %d", n, r.Pos))
		return 0
	}
	return int32(n)
}

// Boolean reads a boolean: one byte, 0 or 1.
func (r *Reader) Boolean() bool {
	if r.Pos >= len(r.Data) {
		r.short("a boolean")
		return false
	}
	c := r.Data[r.Pos]
	r.Pos++
	if c > 1 {
		r.Fail(fmt.Errorf("avro: invalid boolean byte %d at offset %d", c, r.Pos-1))
	}
	return c == 1
}

// Float reads a float.
func (r *Reader) Float() float32 {
	if len(r.Data)-r.Pos < 4 {
		r.short("a float")
		return 0
	}
	f := math.Float32frombits(binary.LittleEndian.Uint32(r.Data[r.Pos:]))
	r.Pos += 4
	return f
}

// Double reads a double.
func (r *Reader) Double() float64 {
	if len(r.Data)-r.Pos < 8 {
		r.short("a double")
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.Data[r.Pos:]))
	r.Pos += 8
	return f
}

// Bytes reads bytes or a string and returns a slice of the data (not a
// copy).
func (r *Reader) Bytes() []byte {
	n := r.Long()
	if r.err != nil {
		return nil
	}
	if n < 0 {
		r.Fail(fmt.Errorf("avro: negative length %d at offset %d", n, r.Pos))
		return nil
	}
	if int64(len(r.Data)-r.Pos) < n {
		r.short("bytes")
		return nil
	}
	b := r.Data[r.Pos : r.Pos+int(n)]
	r.Pos += int(n)
	return b
}

// Fixed reads n bytes and returns a slice of the data.
func (r *Reader) Fixed(n int) []byte {
	if len(r.Data)-r.Pos < n {
		r.short("a fixed")
		return nil
	}
	b := r.Data[r.Pos : r.Pos+n]
	r.Pos += n
	return b
}

// BlockCount reads the count of the next block of an array or a map. A
// negative count is followed by the block's size in bytes, which is read
// and dropped; the count's absolute value is returned. 0 ends the items.
// The count is bounded by the bytes left (each item takes at least
// minItemBytes, which may be 0 for items that take no bytes), so hostile
// data cannot make a decoder allocate without end.
func (r *Reader) BlockCount(minItemBytes int) int {
	n := r.Long()
	if n < 0 {
		if n == math.MinInt64 {
			r.Fail(fmt.Errorf("avro: invalid block count at offset %d", r.Pos))
			return 0
		}
		n = -n
		r.Long()
	}
	if r.err != nil {
		return 0
	}
	left := int64(len(r.Data) - r.Pos)
	if minItemBytes > 0 && n > left/int64(minItemBytes) || n > 1<<24 {
		r.Fail(fmt.Errorf("avro: block of %d items at offset %d is longer than the %d bytes left", n, r.Pos, left))
		return 0
	}
	return int(n)
}
