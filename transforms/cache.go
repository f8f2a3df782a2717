package transforms

import (
	"sync"
	"sync/atomic"

	"github.com/connectd/connectd/framework/connect"
)

// schemaCache remembers what a transform derived from an input schema (the
// rebuilt schema, and any plan for copying values), as Kafka Connect's
// transforms keep an LRU cache of 16 updated schemas keyed by the input
// schema.
//
// The hot path is one atomic load: the entry of the last schema seen, keyed
// by pointer, since a stream of records nearly always shares one schema
// pointer. Other pointers are looked up in a map; a pointer not seen yet is
// compared structurally (Schema.Equal) with the schemas already cached, so
// a source that builds an equal schema per record still reuses one result
// rather than filling the cache. At most maxDistinct distinct schemas and
// maxPointers pointers are kept; past that the cache starts afresh, which
// costs one rebuild per schema.
type schemaCache[T any] struct {
	last atomic.Pointer[cacheEntry[T]]

	mu       sync.Mutex
	byPtr    map[*connect.Schema]*cacheEntry[T]
	distinct []*cacheEntry[T]
}

type cacheEntry[T any] struct {
	in  *connect.Schema
	val T
}

const (
	maxDistinct = 16
	maxPointers = 256
)

// get returns what was derived from s, building it with build when s (or
// an equal schema) was not seen. An error from build is returned and not
// cached.
func (c *schemaCache[T]) get(s *connect.Schema, build func(*connect.Schema) (T, error)) (T, error) {
	if e := c.last.Load(); e != nil && e.in == s {
		return e.val, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byPtr[s]; ok {
		c.last.Store(e)
		return e.val, nil
	}
	if c.byPtr == nil || len(c.byPtr) >= maxPointers {
		c.byPtr = map[*connect.Schema]*cacheEntry[T]{}
	}
	for _, e := range c.distinct {
		if e.in.Equal(s) {
			alias := &cacheEntry[T]{in: s, val: e.val}
			c.byPtr[s] = alias
			c.last.Store(alias)
			return e.val, nil
		}
	}
	v, err := build(s)
	if err != nil {
		var zero T
		return zero, err
	}
	e := &cacheEntry[T]{in: s, val: v}
	if len(c.distinct) >= maxDistinct {
		c.distinct = c.distinct[:0]
		clear(c.byPtr)
	}
	c.distinct = append(c.distinct, e)
	c.byPtr[s] = e
	c.last.Store(e)
	return v, nil
}
