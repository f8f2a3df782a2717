package javaser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Stream protocol constants (java.io.ObjectStreamConstants).
const (
	Magic          = 0xACED
	Version        = 5
	TCNull         = 0x70
	TCReference    = 0x71
	TCClassDesc    = 0x72
	TCObject       = 0x73
	TCString       = 0x74
	TCArray        = 0x75
	TCBlockData    = 0x77
	TCEndBlock     = 0x78
	TCLongString   = 0x7C
	BaseHandle     = 0x7E0000
	SCSerializable = 0x02
)

// ErrTruncated is returned when a stream ends before what it announced.
var ErrTruncated = errors.New("javaser: truncated Java serialization stream")

// IsStream reports whether b starts with the stream header.
func IsStream(b []byte) bool {
	return len(b) >= 4 && binary.BigEndian.Uint16(b) == Magic && binary.BigEndian.Uint16(b[2:]) == Version
}

// Class is a class descriptor: its name, flags, the type codes of its
// fields (primitive ones only) and its superclass's descriptor.
type Class struct {
	Name   string
	Flags  byte
	Fields []byte
	Super  *Class
}

// Reader reads one stream. It keeps the handle table; the caller reads
// the objects its format holds and registers them with NewHandle.
type Reader struct {
	b       []byte
	handles []any
}

// NewReader reads b, which starts at the stream header.
func NewReader(b []byte) (*Reader, error) {
	if !IsStream(b) {
		return nil, errors.New("javaser: not a Java serialization stream")
	}
	return &Reader{b: b[4:]}, nil
}

// Len is the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

// Take returns the next n bytes.
func (r *Reader) Take(n int) ([]byte, error) {
	if n < 0 || len(r.b) < n {
		return nil, ErrTruncated
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

// U8 reads a byte.
func (r *Reader) U8() (byte, error) {
	b, err := r.Take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// U16 reads a big-endian 16-bit number.
func (r *Reader) U16() (uint16, error) {
	b, err := r.Take(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(b), nil
}

// U32 reads a big-endian 32-bit number.
func (r *Reader) U32() (uint32, error) {
	b, err := r.Take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// U64 reads a big-endian 64-bit number.
func (r *Reader) U64() (uint64, error) {
	b, err := r.Take(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// UTF reads a string as DataOutput.writeUTF writes it: a 16-bit length
// and modified UTF-8.
func (r *Reader) UTF() (string, error) {
	n, err := r.U16()
	if err != nil {
		return "", err
	}
	b, err := r.Take(int(n))
	if err != nil {
		return "", err
	}
	return DecodeModifiedUTF8(b)
}

// NewHandle assigns the next handle to v and returns its index, for
// SetHandle once v is read whole.
func (r *Reader) NewHandle(v any) int {
	r.handles = append(r.handles, v)
	return len(r.handles) - 1
}

// SetHandle replaces what handle index i refers to.
func (r *Reader) SetHandle(i int, v any) { r.handles[i] = v }

// Ref reads a handle (after TCReference) and returns what it refers to.
func (r *Reader) Ref() (any, error) {
	h, err := r.U32()
	if err != nil {
		return nil, err
	}
	i := int64(h) - BaseHandle
	if i < 0 || i >= int64(len(r.handles)) {
		return nil, fmt.Errorf("javaser: reference to unknown handle %#x", h)
	}
	return r.handles[i], nil
}

// ClassDesc reads a class descriptor: null (nil), a reference to one read
// before, or a new one, whose fields must all be primitive and which has
// no annotations.
func (r *Reader) ClassDesc() (*Class, error) {
	tc, err := r.U8()
	if err != nil {
		return nil, err
	}
	switch tc {
	case TCNull:
		return nil, nil
	case TCReference:
		v, err := r.Ref()
		if err != nil {
			return nil, err
		}
		c, ok := v.(*Class)
		if !ok {
			return nil, errors.New("javaser: reference is not a class descriptor")
		}
		return c, nil
	case TCClassDesc:
	default:
		return nil, fmt.Errorf("javaser: type code %#x where a class descriptor belongs", tc)
	}
	c := &Class{}
	if c.Name, err = r.UTF(); err != nil {
		return nil, err
	}
	if _, err := r.Take(8); err != nil { // serialVersionUID
		return nil, err
	}
	r.NewHandle(c)
	if c.Flags, err = r.U8(); err != nil {
		return nil, err
	}
	n, err := r.U16()
	if err != nil {
		return nil, err
	}
	for range n {
		code, err := r.U8()
		if err != nil {
			return nil, err
		}
		if _, err := r.UTF(); err != nil {
			return nil, err
		}
		if code == 'L' || code == '[' {
			return nil, fmt.Errorf("javaser: class %s has object fields, which this reader does not take", c.Name)
		}
		c.Fields = append(c.Fields, code)
	}
	if tc, err := r.U8(); err != nil || tc != TCEndBlock {
		return nil, fmt.Errorf("javaser: class %s has annotations, which this reader does not take", c.Name)
	}
	if c.Super, err = r.ClassDesc(); err != nil {
		return nil, err
	}
	return c, nil
}

// PrimSize is the size in the stream of a primitive field by type code.
var PrimSize = map[byte]int{'B': 1, 'Z': 1, 'C': 2, 'S': 2, 'I': 4, 'F': 4, 'J': 8, 'D': 8}

// EncodeModifiedUTF8 encodes s as DataOutput.writeUTF does: NUL as two
// bytes and characters beyond the BMP as surrogate pairs of three bytes
// each.
func EncodeModifiedUTF8(s string) []byte {
	var out []byte
	for _, r := range s {
		switch {
		case r != 0 && r < 0x80:
			out = append(out, byte(r))
		case r < 0x800:
			out = append(out, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
		case r < 0x10000:
			out = append(out, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
		default:
			r -= 0x10000
			for _, u := range []rune{0xD800 + r>>10, 0xDC00 + r&0x3FF} {
				out = append(out, 0xE0|byte(u>>12), 0x80|byte(u>>6&0x3F), 0x80|byte(u&0x3F))
			}
		}
	}
	return out
}

// DecodeModifiedUTF8 reads what EncodeModifiedUTF8 writes.
func DecodeModifiedUTF8(b []byte) (string, error) {
	var rs []rune
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			rs = append(rs, rune(c))
			i++
		case c&0xE0 == 0xC0 && i+1 < len(b):
			rs = append(rs, rune(c&0x1F)<<6|rune(b[i+1]&0x3F))
			i += 2
		case c&0xF0 == 0xE0 && i+2 < len(b):
			rs = append(rs, rune(c&0x0F)<<12|rune(b[i+1]&0x3F)<<6|rune(b[i+2]&0x3F))
			i += 3
		default:
			return "", errors.New("javaser: bad modified UTF-8")
		}
	}
	// Join surrogate pairs.
	var sb []byte
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r >= 0xD800 && r < 0xDC00 && i+1 < len(rs) && rs[i+1] >= 0xDC00 && rs[i+1] < 0xE000 {
			r = 0x10000 + (r-0xD800)<<10 + (rs[i+1] - 0xDC00)
			i++
		}
		sb = utf8.AppendRune(sb, r)
	}
	return string(sb), nil
}
