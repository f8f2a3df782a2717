package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/fsutil"
)

// StoredConnector is a connector as a ConfigStore keeps it.
type StoredConnector struct {
	Name   string             `json:"name"`
	Config map[string]string  `json:"config"`
	Target herder.TargetState `json:"target_state"`
}

// ConfigStore keeps the connectors of a standalone worker across restarts.
type ConfigStore interface {
	Load() ([]StoredConnector, error)
	// Save replaces everything stored with cs.
	Save(cs []StoredConnector) error
}

// MemoryConfigStore forgets everything at exit, as Kafka Connect's
// standalone mode does.
type MemoryConfigStore struct {
	mu sync.Mutex
	cs []StoredConnector
}

func (m *MemoryConfigStore) Load() ([]StoredConnector, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]StoredConnector(nil), m.cs...), nil
}

func (m *MemoryConfigStore) Save(cs []StoredConnector) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cs = append([]StoredConnector(nil), cs...)
	return nil
}

// FileConfigStore keeps connectors in a JSON file (`connectd dev`).
type FileConfigStore struct{ Path string }

func (f FileConfigStore) Load() ([]StoredConnector, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []StoredConnector
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", f.Path, err)
	}
	return cs, nil
}

func (f FileConfigStore) Save(cs []StoredConnector) error {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(f.Path, b)
}
