package offsets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Entry is the offset of one source partition, both as canonical JSON
// objects. A nil Offset deletes the partition's offset.
type Entry struct {
	Partition []byte
	Offset    []byte
}

// Store keeps offsets. Implementations are safe for concurrent use.
type Store interface {
	// Load returns every offset stored for connector.
	Load(ctx context.Context, connector string) ([]Entry, error)
	// Commit durably stores entries for connector: when it returns nil, the
	// offsets survive a crash of this process.
	Commit(ctx context.Context, connector string, entries []Entry) error
	Close() error
}

// Key renders Kafka Connect's offset key: ["<connector>",<partition>].
func Key(connector string, partition []byte) ([]byte, error) {
	name, err := json.Marshal(connector)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('[')
	b.Write(name)
	b.WriteByte(',')
	if len(partition) == 0 {
		b.WriteString("null")
	} else {
		b.Write(partition)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// ParseKey splits a key that Key wrote, re-encoding the partition in
// canonical form.
func ParseKey(key []byte) (connector string, partition []byte, err error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(key, &parts); err != nil {
		return "", nil, fmt.Errorf("offsets: key %q: %w", key, err)
	}
	if len(parts) != 2 {
		return "", nil, fmt.Errorf("offsets: key %q: want [connector, partition]", key)
	}
	if err := json.Unmarshal(parts[0], &connector); err != nil {
		return "", nil, fmt.Errorf("offsets: key %q: connector: %w", key, err)
	}
	var p map[string]any
	if err := json.Unmarshal(parts[1], &p); err != nil {
		return "", nil, fmt.Errorf("offsets: key %q: partition: %w", key, err)
	}
	if p == nil {
		return connector, nil, nil
	}
	partition, err = canonical(parts[1])
	return connector, partition, err
}

// canonical re-encodes a JSON object with sorted keys and exact numbers.
func canonical(raw []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Canonical re-encodes a JSON object the way the stores key partitions:
// sorted keys, numbers exactly as written. Offsets written through the
// REST API go through it, so that a partition given there names the same
// entry the connector's tasks wrote.
func Canonical(raw []byte) ([]byte, error) { return canonical(raw) }
