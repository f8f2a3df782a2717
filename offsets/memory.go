package offsets

import (
	"context"
	"sort"
	"sync"
)

// Memory is a Store that keeps offsets in memory, for tests.
type Memory struct {
	mu sync.Mutex
	m  map[string]map[string][]byte // connector -> partition -> offset
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string]map[string][]byte{}} }

func (s *Memory) Load(_ context.Context, connector string) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return entries(s.m[connector]), nil
}

func (s *Memory) Commit(_ context.Context, connector string, es []Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	apply(s.m, connector, es)
	return nil
}

func (s *Memory) Close() error { return nil }

func apply(m map[string]map[string][]byte, connector string, es []Entry) {
	parts := m[connector]
	if parts == nil {
		parts = map[string][]byte{}
		m[connector] = parts
	}
	for _, e := range es {
		if e.Offset == nil {
			delete(parts, string(e.Partition))
			continue
		}
		parts[string(e.Partition)] = append([]byte(nil), e.Offset...)
	}
	if len(parts) == 0 {
		delete(m, connector)
	}
}

func entries(parts map[string][]byte) []Entry {
	out := make([]Entry, 0, len(parts))
	for p, o := range parts {
		out = append(out, Entry{Partition: []byte(p), Offset: o})
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].Partition) < string(out[j].Partition) })
	return out
}
