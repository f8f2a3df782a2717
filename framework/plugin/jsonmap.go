package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

// EncodeMap renders a source partition or offset as canonical JSON: keys
// sorted, so equal maps give equal bytes and the bytes can be map keys.
func EncodeMap(m map[string]any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	return json.Marshal(m)
}

// DecodeMap parses what EncodeMap wrote. Integral numbers come back as
// int64 and others as float64, so an offset a task stored as int64 reads
// back as int64.
func DecodeMap(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("plugin: decode %q: %w", b, err)
	}
	return normalise(m).(map[string]any), nil
}

func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalise(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalise(e)
		}
		return x
	}
	return v
}

// offsetMap is an OffsetReader over offsets keyed by encoded partition.
type offsetMap map[string]map[string]any

func newOffsetMap(offsets []connect.SourceOffset) (offsetMap, error) {
	m := make(offsetMap, len(offsets))
	for _, o := range offsets {
		k, err := EncodeMap(o.Partition)
		if err != nil {
			return nil, err
		}
		m[string(k)] = o.Offset
	}
	return m, nil
}

func (m offsetMap) Offset(partition map[string]any) map[string]any {
	k, err := EncodeMap(partition)
	if err != nil {
		return nil
	}
	return m[string(k)]
}
