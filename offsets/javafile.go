package offsets

import (
	"errors"
	"fmt"

	"github.com/connectd/connectd/framework/connect/javaser"
)

// Kafka Connect's standalone worker (FileOffsetBackingStore) keeps its
// offsets as one Java-serialized java.util.HashMap<byte[], byte[]> of
// offset keys to values, both the JSON this package uses. readJavaOffsets
// reads that file, so a standalone connectd takes over a standalone Kafka
// Connect's offsets file as it is; the file is rewritten in connectd's own
// form at the first commit.

// bytesOrNull reads a byte array, a null, or a reference to one.
func bytesOrNull(r *javaser.Reader) ([]byte, bool, error) {
	tc, err := r.U8()
	if err != nil {
		return nil, false, err
	}
	switch tc {
	case javaser.TCNull:
		return nil, true, nil
	case javaser.TCReference:
		v, err := r.Ref()
		if b, ok := v.([]byte); ok && err == nil {
			return b, false, nil
		}
		return nil, false, errors.New("reference is not a byte array")
	case javaser.TCArray:
		c, err := r.ClassDesc()
		if err != nil {
			return nil, false, err
		}
		if c == nil || c.Name != "[B" {
			return nil, false, errors.New("array is not a byte[]")
		}
		idx := r.NewHandle(nil)
		n, err := r.U32()
		if err != nil {
			return nil, false, err
		}
		b, err := r.Take(int(int32(n)))
		if err != nil {
			return nil, false, err
		}
		b = append([]byte(nil), b...)
		r.SetHandle(idx, b)
		return b, false, nil
	}
	return nil, false, fmt.Errorf("type code %#x where a byte[] belongs", tc)
}

// readJavaOffsets reads a HashMap<byte[], byte[]> as Kafka Connect writes
// it and returns its entries; an entry with a null value is left out.
func readJavaOffsets(b []byte) ([]fileEntry, error) {
	r, err := javaser.NewReader(b)
	if err != nil {
		return nil, err
	}
	tc, err := r.U8()
	if err != nil {
		return nil, err
	}
	if tc != javaser.TCObject {
		return nil, fmt.Errorf("holds type code %#x, not a java.util.HashMap", tc)
	}
	c, err := r.ClassDesc()
	if err != nil {
		return nil, err
	}
	if c == nil || c.Name != "java.util.HashMap" {
		return nil, errors.New("does not hold a java.util.HashMap")
	}
	r.NewHandle(nil) // the map itself
	// Its fields (loadFactor, threshold), then what writeObject adds:
	// a block with the capacity and size, then size keys and values.
	for _, code := range c.Fields {
		if _, err := r.Take(javaser.PrimSize[code]); err != nil {
			return nil, err
		}
	}
	if tc, err := r.U8(); err != nil || tc != javaser.TCBlockData {
		return nil, errors.New("HashMap without its block of capacity and size")
	}
	n, err := r.U8()
	if err != nil || n != 8 {
		return nil, errors.New("HashMap block is not capacity and size")
	}
	if _, err := r.U32(); err != nil {
		return nil, err
	}
	size, err := r.U32()
	if err != nil {
		return nil, err
	}
	if int64(size) > int64(r.Len()) {
		return nil, fmt.Errorf("HashMap size %d", int32(size))
	}
	var out []fileEntry
	for range size {
		k, kNull, err := bytesOrNull(r)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		v, vNull, err := bytesOrNull(r)
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
