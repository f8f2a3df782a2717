package transforms

import (
	"maps"
	"unsafe"

	"github.com/connectd/connectd/framework/connect"
)

// Scratch is memory that Chain.ApplyReusing keeps from one record to the
// next: the chain's copy of the record, and the structs, maps and header
// slices its built-in transforms make. The zero value is ready to use. A
// Scratch serves one caller at a time; it is not safe for concurrent use.
type Scratch struct {
	rec   ownedRecord
	slots []slot
}

// slot is what one stage of a chain made for the previous record: each
// stage makes at most one struct or map, and one header slice, per record.
type slot struct {
	sv      *connect.StructValue
	m       map[string]any
	headers []connect.Header
}

// maxReusedMap bounds the maps a slot keeps: clearing a map costs time in
// proportion to the most entries it ever held, so a map that one odd
// record made large is dropped rather than cleared for every later record.
const maxReusedMap = 64

// newStruct returns a struct of schema s, all fields null, for the stage
// to fill and put in its result. With a scratch it is the struct the stage
// made for the previous record, when that had the same schema.
func (o *owned) newStruct(s *connect.Schema) *connect.StructValue {
	sv := o.structToFill(s)
	if o.slots != nil {
		for i := range s.Fields {
			sv.SetIndex(i, nil)
		}
	}
	return sv
}

// structToFill is newStruct for a stage that sets every field itself: a
// reused struct still holds the previous record's values. (While the
// garbage collector marks, every pointer written to the heap costs a write
// barrier, so clearing fields that are about to be set is not free.)
func (o *owned) structToFill(s *connect.Schema) *connect.StructValue {
	sl := o.slot()
	if sl == nil {
		return connect.NewStruct(s)
	}
	if sv := sl.sv; sv != nil && sv.Schema() == s {
		return sv
	}
	sl.sv = connect.NewStruct(s)
	return sl.sv
}

// newMap returns an empty map with room for n entries, for the stage to
// fill and put in its result. With a scratch it is the map the stage made
// for the previous record, cleared.
func (o *owned) newMap(n int) map[string]any {
	sl := o.slot()
	if sl == nil {
		return make(map[string]any, n)
	}
	if sl.m == nil || len(sl.m) > maxReusedMap {
		sl.m = make(map[string]any, max(n, 8))
	} else {
		clear(sl.m)
	}
	return sl.m
}

// cloneMap returns a copy of m for the stage to change and put in its
// result (nil for a nil m, as maps.Clone).
func (o *owned) cloneMap(m map[string]any) map[string]any {
	if o.slots == nil || m == nil {
		return maps.Clone(m)
	}
	out := o.newMap(len(m))
	maps.Copy(out, m)
	return out
}

// newHeaders returns an empty header slice with room for n headers, for
// the stage to append to and put in its result. Appending more than n may
// move it to a new array, which is correct but not reused.
func (o *owned) newHeaders(n int) []connect.Header {
	sl := o.slot()
	if sl == nil {
		return make([]connect.Header, 0, n)
	}
	if cap(sl.headers) < n {
		sl.headers = make([]connect.Header, 0, n)
	}
	return sl.headers[:0]
}

// reusableWith reports whether a chain of these stages may reuse memory
// between records: only when every transform and predicate is a built-in
// one, because a transform or predicate of a plugin may keep a reference
// to a record it was given, which a later record would then change.
func reusableWith(stages []stage) bool {
	for _, s := range stages {
		if s.updater == nil {
			return false
		}
		switch s.predicate.(type) {
		case nil, *topicNameMatches, hasHeaderKey, recordIsTombstone:
		default:
			return false
		}
	}
	return true
}

// While the garbage collector marks, every pointer written to the heap
// costs a write barrier, and a stream of records shares most of its
// pointers: the topic, the schemas, the source partition, the time zone,
// and values the source boxed once (datagen's payload, a constant field).
// So when a chain reuses memory, it writes a pointer only where the
// previous record's differs. The comparisons are of identity (same
// pointer), never of contents, so they cost a load and cannot panic on
// values that == refuses (maps, slices).

// copyRecord makes dst a copy of src, writing only the fields that differ.
func copyRecord(dst, src *connect.Record) {
	if dst.Topic != src.Topic {
		dst.Topic = src.Topic
	}
	dst.Partition = src.Partition
	if dst.KeySchema != src.KeySchema {
		dst.KeySchema = src.KeySchema
	}
	if !sameAny(dst.Key, src.Key) {
		dst.Key = src.Key
	}
	if dst.ValueSchema != src.ValueSchema {
		dst.ValueSchema = src.ValueSchema
	}
	if !sameAny(dst.Value, src.Value) {
		dst.Value = src.Value
	}
	if unsafe.SliceData(dst.Headers) != unsafe.SliceData(src.Headers) || len(dst.Headers) != len(src.Headers) || cap(dst.Headers) != cap(src.Headers) {
		dst.Headers = src.Headers
	}
	if dst.Timestamp != src.Timestamp {
		dst.Timestamp = src.Timestamp
	}
	if !sameMap(dst.SourcePartition, src.SourcePartition) {
		dst.SourcePartition = src.SourcePartition
	}
	if !sameMap(dst.SourceOffset, src.SourceOffset) {
		dst.SourceOffset = src.SourceOffset
	}
	dst.Offset = src.Offset
}

// setField sets field i of sv to v unless it holds that very value.
func setField(sv *connect.StructValue, i int, v any) {
	if !sameAny(sv.GetIndex(i), v) {
		sv.SetIndex(i, v)
	}
}

// sameAny reports whether a and b are the same interface value word for
// word: the same dynamic type and the same data pointer.
func sameAny(a, b any) bool {
	pa, pb := (*[2]unsafe.Pointer)(unsafe.Pointer(&a)), (*[2]unsafe.Pointer)(unsafe.Pointer(&b))
	return pa[0] == pb[0] && pa[1] == pb[1]
}

// sameMap reports whether a and b are the same map (not equal maps).
func sameMap(a, b map[string]any) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}
