package offsets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/connectd/connectd/framework/connect/javaser"
	"github.com/connectd/connectd/internal/fsutil"
)

// File is a Store that keeps all offsets in one JSON file, rewritten
// atomically (write to a temporary file, fsync, rename, fsync the folder) on
// every commit. It is for standalone mode, where one worker owns the file.
type File struct {
	path string

	mu sync.Mutex
	m  map[string]map[string][]byte
}

// fileEntry is one line of the file's JSON array: Kafka Connect's key and value.
type fileEntry struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// OpenFile loads path, or starts empty when it does not exist.
func OpenFile(path string) (*File, error) {
	s := &File{path: path, m: map[string]map[string][]byte{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("offsets: %w", err)
	}
	var es []fileEntry
	if javaser.IsStream(b) {
		// Kafka Connect's own offsets file: taken over as it is.
		if es, err = readJavaOffsets(b); err != nil {
			return nil, fmt.Errorf("offsets: %s is a Kafka Connect offsets file that cannot be read: %w", path, err)
		}
	} else if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("offsets: %s is corrupt: %w", path, err)
	}
	for _, e := range es {
		conn, part, err := ParseKey(e.Key)
		if err != nil {
			return nil, fmt.Errorf("offsets: %s: %w", path, err)
		}
		apply(s.m, conn, []Entry{{Partition: part, Offset: e.Value}})
	}
	return s, nil
}

func (s *File) Load(_ context.Context, connector string) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return entries(s.m[connector]), nil
}

func (s *File) Commit(_ context.Context, connector string, es []Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	apply(s.m, connector, es)
	return s.save()
}

func (s *File) save() error {
	var out []fileEntry
	for conn, parts := range s.m {
		for _, e := range entries(parts) {
			k, err := Key(conn, e.Partition)
			if err != nil {
				return err
			}
			out = append(out, fileEntry{Key: k, Value: e.Offset})
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("offsets: %w", err)
	}
	if err := fsutil.WriteFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("offsets: %w", err)
	}
	return nil
}

func (s *File) Close() error { return nil }
