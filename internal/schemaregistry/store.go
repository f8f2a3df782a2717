package schemaregistry

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The records of the _schemas topic, in Confluent's format: JSON keys
// with a keytype and a magic number, JSON values (see Confluent's
// SchemaKey, ConfigKey, DeleteSubjectKey, NoopKey and their values).
const (
	keySchema        = "SCHEMA"
	keyConfig        = "CONFIG"
	keyDeleteSubject = "DELETE_SUBJECT"
	keyNoop          = "NOOP"
)

// recordKey is a key of the topic. Fields are in the order Confluent's
// @JsonPropertyOrder writes them: keytype, subject, version (schema keys
// only), magic.
type recordKey struct {
	KeyType string  `json:"keytype"`
	Subject *string `json:"subject,omitempty"`
	Version *int    `json:"version,omitempty"`
	Magic   int     `json:"magic"`
}

// MarshalJSON writes a config key's null subject (the global config) as
// Confluent does, "subject":null, which omitempty would drop.
func (k recordKey) MarshalJSON() ([]byte, error) {
	type plain recordKey
	if k.KeyType == keyConfig && k.Subject == nil {
		return []byte(fmt.Sprintf(`{"keytype":"CONFIG","subject":null,"magic":%d}`, k.Magic)), nil
	}
	return json.Marshal(plain(k))
}

func schemaKey(subject string, version int) recordKey {
	return recordKey{KeyType: keySchema, Subject: &subject, Version: &version, Magic: 1}
}

func configKey(subject *string) recordKey {
	return recordKey{KeyType: keyConfig, Subject: subject, Magic: 0}
}

func deleteSubjectKey(subject string) recordKey {
	return recordKey{KeyType: keyDeleteSubject, Subject: &subject, Magic: 0}
}

// schemaValue is the value of a SCHEMA record (Confluent's SchemaValue;
// its empty members are left out, as its @JsonInclude(NON_EMPTY) does).
type schemaValue struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
	Deleted    bool        `json:"deleted"`
}

// reference is a schema reference (name, subject, version).
type reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// configValue is the value of a CONFIG record.
type configValue struct {
	Subject            string `json:"subject,omitempty"`
	CompatibilityLevel string `json:"compatibilityLevel,omitempty"`
}

// deleteSubjectValue is the value of a DELETE_SUBJECT record: every
// version up to Version is deleted (soft).
type deleteSubjectValue struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// version is one version of a subject.
type version struct {
	subject string
	version int
	id      int
	deleted bool
}

// schemaRecord is a schema by id.
type schemaRecord struct {
	id         int
	schemaType string // AVRO, JSON
	text       string // canonical
	refs       []reference
}

// state is what the topic says: subjects and their versions, schemas by
// id, configs. Records are applied in offset order; the latest for a key
// wins, a tombstone removes it.
type state struct {
	mu       sync.RWMutex
	subjects map[string]map[int]*version // subject -> version -> entry
	schemas  map[int]*schemaRecord
	byText   map[string]int // schemaType + "\x00" + canonical text -> id
	global   string         // global compatibility level, "" default
	configs  map[string]string
	maxID    int
}

func newState() *state {
	return &state{
		subjects: map[string]map[int]*version{},
		schemas:  map[int]*schemaRecord{},
		byText:   map[string]int{},
		configs:  map[string]string{},
	}
}

func textKey(schemaType, text string) string { return schemaType + "\x00" + text }

// apply applies one record of the topic. Records it does not know (keys of
// newer registries: MODE, CONTEXT, ...) are skipped, as a registry that
// does not know them would.
func (s *state) apply(r *kgo.Record) {
	var k recordKey
	if err := json.Unmarshal(r.Key, &k); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch k.KeyType {
	case keySchema:
		if k.Subject == nil || k.Version == nil {
			return
		}
		versions := s.subjects[*k.Subject]
		if r.Value == nil {
			delete(versions, *k.Version)
			if len(versions) == 0 {
				delete(s.subjects, *k.Subject)
			}
			return
		}
		var v schemaValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return
		}
		if v.SchemaType == "" {
			v.SchemaType = "AVRO"
		}
		if versions == nil {
			versions = map[int]*version{}
			s.subjects[v.Subject] = versions
		}
		versions[v.Version] = &version{subject: v.Subject, version: v.Version, id: v.ID, deleted: v.Deleted}
		if _, ok := s.schemas[v.ID]; !ok {
			s.schemas[v.ID] = &schemaRecord{id: v.ID, schemaType: v.SchemaType, text: v.Schema, refs: v.References}
			s.byText[textKey(v.SchemaType, v.Schema)] = v.ID
		}
		s.maxID = max(s.maxID, v.ID)
	case keyConfig:
		if r.Value == nil {
			if k.Subject == nil {
				s.global = ""
			} else {
				delete(s.configs, *k.Subject)
			}
			return
		}
		var v configValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return
		}
		if k.Subject == nil {
			s.global = v.CompatibilityLevel
		} else {
			s.configs[*k.Subject] = v.CompatibilityLevel
		}
	case keyDeleteSubject:
		if r.Value == nil || k.Subject == nil {
			return
		}
		var v deleteSubjectValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return
		}
		for n, e := range s.subjects[*k.Subject] {
			if n <= v.Version {
				e.deleted = true
			}
		}
	}
}

// versionsOf returns a subject's versions in ascending order; deleted ones
// only with withDeleted. The caller holds the lock.
func (s *state) versionsOf(subject string, withDeleted bool) []*version {
	var out []*version
	for _, v := range s.subjects[subject] {
		if withDeleted || !v.deleted {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// subjectNames lists subjects that have a version (not deleted unless
// withDeleted), sorted.
func (s *state) subjectNames(withDeleted bool) []string {
	var out []string
	for name := range s.subjects {
		if len(s.versionsOf(name, withDeleted)) > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
