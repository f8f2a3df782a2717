package offsets

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kafka Connect's standalone worker (FileOffsetBackingStore) keeps its
// offsets as one Java-serialized java.util.HashMap<byte[], byte[]> of
// offset keys to values, both the JSON this package uses. readJavaOffsets
// reads that file, so a standalone connectd takes over a standalone Kafka
// Connect's offsets file as it is; the file is rewritten in connectd's own
// form at the first commit.

// isJavaSerialized reports whether b starts with Java serialization's
// stream header.
func isJavaSerialized(b []byte) bool {
	return len(b) >= 4 && b[0] == 0xAC && b[1] == 0xED && b[2] == 0 && b[3] == 5
}

// javaStream reads the subset of the Java Object Serialization Stream
// Protocol a HashMap of byte arrays needs.
type javaStream struct {
	b       []byte
	handles []any
}

var errJavaTruncated = errors.New("truncated Java serialization stream")

func (r *javaStream) take(n int) ([]byte, error) {
	if n < 0 || len(r.b) < n {
		return nil, errJavaTruncated
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

func (r *javaStream) u8() (byte, error) {
	b, err := r.take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *javaStream) u16() (int, error) {
	b, err := r.take(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (r *javaStream) u32() (int, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return int(int32(binary.BigEndian.Uint32(b))), nil
}

func (r *javaStream) utf() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	b, err := r.take(n)
	return string(b), err
}

type javaClass struct {
	name       string
	flags      byte
	fieldCodes []byte
	super      *javaClass
}

const (
	tcNull      = 0x70
	tcReference = 0x71
	tcClassDesc = 0x72
	tcObject    = 0x73
	tcArray     = 0x75
	tcBlockData = 0x77
	tcEndBlock  = 0x78
	baseHandle  = 0x7E0000
)

func (r *javaStream) ref() (any, error) {
	h, err := r.u32()
	if err != nil {
		return nil, err
	}
	if i := h - baseHandle; i >= 0 && i < len(r.handles) {
		return r.handles[i], nil
	}
	return nil, fmt.Errorf("reference to unknown handle %#x", h)
}

func (r *javaStream) class() (*javaClass, error) {
	tc, err := r.u8()
	if err != nil {
		return nil, err
	}
	switch tc {
	case tcNull:
		return nil, nil
	case tcReference:
		v, err := r.ref()
		if c, ok := v.(*javaClass); ok && err == nil {
			return c, nil
		}
		return nil, errors.New("reference is not a class descriptor")
	case tcClassDesc:
	default:
		return nil, fmt.Errorf("type code %#x where a class descriptor belongs", tc)
	}
	c := &javaClass{}
	if c.name, err = r.utf(); err != nil {
		return nil, err
	}
	if _, err := r.take(8); err != nil {
		return nil, err
	}
	r.handles = append(r.handles, c)
	if c.flags, err = r.u8(); err != nil {
		return nil, err
	}
	n, err := r.u16()
	if err != nil {
		return nil, err
	}
	for range n {
		code, err := r.u8()
		if err != nil {
			return nil, err
		}
		if _, err := r.utf(); err != nil {
			return nil, err
		}
		if code == 'L' || code == '[' {
			return nil, fmt.Errorf("class %s has object fields", c.name)
		}
		c.fieldCodes = append(c.fieldCodes, code)
	}
	if tc, err := r.u8(); err != nil || tc != tcEndBlock {
		return nil, fmt.Errorf("class %s has annotations", c.name)
	}
	c.super, err = r.class()
	return c, err
}

var primSize = map[byte]int{'B': 1, 'Z': 1, 'C': 2, 'S': 2, 'I': 4, 'F': 4, 'J': 8, 'D': 8}

// object reads a byte array, a null, or a reference to one.
func (r *javaStream) bytesOrNull() ([]byte, bool, error) {
	tc, err := r.u8()
	if err != nil {
		return nil, false, err
	}
	switch tc {
	case tcNull:
		return nil, true, nil
	case tcReference:
		v, err := r.ref()
		if b, ok := v.([]byte); ok && err == nil {
			return b, false, nil
		}
		return nil, false, errors.New("reference is not a byte array")
	case tcArray:
		c, err := r.class()
		if err != nil {
			return nil, false, err
		}
		if c == nil || c.name != "[B" {
			return nil, false, errors.New("array is not a byte[]")
		}
		idx := len(r.handles)
		r.handles = append(r.handles, nil)
		n, err := r.u32()
		if err != nil {
			return nil, false, err
		}
		b, err := r.take(n)
		if err != nil {
			return nil, false, err
		}
		b = append([]byte(nil), b...)
		r.handles[idx] = b
		return b, false, nil
	}
	return nil, false, fmt.Errorf("type code %#x where a byte[] belongs", tc)
}

// readJavaOffsets reads a HashMap<byte[], byte[]> as Kafka Connect writes
// it and returns its entries; an entry with a null value is left out.
func readJavaOffsets(b []byte) ([]fileEntry, error) {
	r := &javaStream{b: b[4:]}
	tc, err := r.u8()
	if err != nil {
		return nil, err
	}
	if tc != tcObject {
		return nil, fmt.Errorf("holds type code %#x, not a java.util.HashMap", tc)
	}
	c, err := r.class()
	if err != nil {
		return nil, err
	}
	if c == nil || c.name != "java.util.HashMap" {
		return nil, errors.New("does not hold a java.util.HashMap")
	}
	r.handles = append(r.handles, nil) // the map itself
	// Its fields (loadFactor, threshold), then what writeObject adds:
	// a block with the capacity and size, then size keys and values.
	for _, code := range c.fieldCodes {
		if _, err := r.take(primSize[code]); err != nil {
			return nil, err
		}
	}
	if tc, err := r.u8(); err != nil || tc != tcBlockData {
		return nil, errors.New("HashMap without its block of capacity and size")
	}
	n, err := r.u8()
	if err != nil || n != 8 {
		return nil, errors.New("HashMap block is not capacity and size")
	}
	if _, err := r.u32(); err != nil {
		return nil, err
	}
	size, err := r.u32()
	if err != nil {
		return nil, err
	}
	if size < 0 || size > len(r.b) {
		return nil, fmt.Errorf("HashMap size %d", size)
	}
	var out []fileEntry
	for range size {
		k, kNull, err := r.bytesOrNull()
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		v, vNull, err := r.bytesOrNull()
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		if kNull || vNull {
			continue
		}
		out = append(out, fileEntry{Key: k, Value: v})
	}
	return out, nil
}
