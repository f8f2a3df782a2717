package postgrescdc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Debezium's offset keys of an incremental snapshot under way.
const (
	offIncrCollections = "incremental_snapshot_collections"
	offIncrPrimaryKey  = "incremental_snapshot_primary_key"
	offIncrMaximumKey  = "incremental_snapshot_maximum_key"
	offIncrCorrelation = "incremental_snapshot_correlation_id"

	incrCollID        = "incremental_snapshot_collections_id"
	incrCollCondition = "incremental_snapshot_collections_additional_condition"
	incrCollSurrogate = "incremental_snapshot_collections_surrogate_key"
)

// incrCollection is one table an incremental snapshot is to read.
type incrCollection struct {
	id        string // schema.table
	condition string // additional condition (a WHERE clause), or ""
	surrogate string // surrogate key column, or "" for the primary key
}

// incrementalState is what an incremental snapshot keeps in the offsets,
// as Debezium keeps it: the tables still to read (the current one first),
// the key of the last row sent of the current table (the next chunk starts
// after it), and the largest key the table had when its reading began.
type incrementalState struct {
	collections []incrCollection
	lastKey     []any // nil: from the table's start
	maxKey      []any // nil: not read yet
	correlation string
	// warning says why stored keys were dropped (a key type this connector
	// cannot read back): the table is read again from its start.
	warning string
}

// store adds the state to an offset map.
func (s *incrementalState) store(m map[string]any) error {
	if s == nil || len(s.collections) == 0 {
		return nil
	}
	last, err := encodeJavaArray(s.lastKey)
	if err != nil {
		return err
	}
	mx, err := encodeJavaArray(s.maxKey)
	if err != nil {
		return err
	}
	colls := make([]map[string]any, len(s.collections))
	for i, c := range s.collections {
		colls[i] = map[string]any{incrCollID: c.id, incrCollCondition: nullable2(c.condition), incrCollSurrogate: nullable2(c.surrogate)}
	}
	cj, err := json.Marshal(colls)
	if err != nil {
		return err
	}
	m[offIncrPrimaryKey] = hex.EncodeToString(last)
	m[offIncrMaximumKey] = hex.EncodeToString(mx)
	m[offIncrCollections] = string(cj)
	if s.correlation != "" {
		m[offIncrCorrelation] = s.correlation
	} else {
		m[offIncrCorrelation] = nil
	}
	return nil
}

func nullable2(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// parseIncremental reads an incremental snapshot's state from an offset,
// or returns nil when none is under way.
func parseIncremental(m map[string]any) (*incrementalState, error) {
	raw, _ := m[offIncrCollections].(string)
	if raw == "" {
		return nil, nil
	}
	var colls []map[string]*string
	if err := json.Unmarshal([]byte(raw), &colls); err != nil {
		return nil, fmt.Errorf("offset field %s: %w", offIncrCollections, err)
	}
	s := &incrementalState{}
	for _, c := range colls {
		var ic incrCollection
		if v := c[incrCollID]; v != nil {
			ic.id = *v
		}
		if v := c[incrCollCondition]; v != nil {
			ic.condition = *v
		}
		if v := c[incrCollSurrogate]; v != nil {
			ic.surrogate = *v
		}
		if ic.id == "" {
			return nil, fmt.Errorf("offset field %s names a table without an id", offIncrCollections)
		}
		s.collections = append(s.collections, ic)
	}
	if len(s.collections) == 0 {
		return nil, nil
	}
	last, err1 := javaKey(m, offIncrPrimaryKey)
	mx, err2 := javaKey(m, offIncrMaximumKey)
	if err := errorsJoin(err1, err2); err != nil {
		s.warning = fmt.Sprintf("the stored chunk position of %s cannot be read (%v); the table is read again from its start", s.collections[0].id, err)
	} else {
		s.lastKey, s.maxKey = last, mx
	}
	s.correlation, _ = m[offIncrCorrelation].(string)
	return s, nil
}

func javaKey(m map[string]any, field string) ([]any, error) {
	h, _ := m[field].(string)
	if h == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("offset field %s: %w", field, err)
	}
	v, err := decodeJavaArray(b)
	if err != nil {
		return nil, fmt.Errorf("offset field %s: %w", field, err)
	}
	return v, nil
}
