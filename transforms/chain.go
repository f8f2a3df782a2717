package transforms

import (
	"unsafe"

	"github.com/connectd/connectd/framework/connect"
)

// Chain is a connector's transforms in order, each with its optional
// predicate: Kafka Connect's TransformationChain. A nil *Chain is valid and
// passes records through unchanged.
type Chain struct {
	stages []stage
	// reusable: every transform and predicate is built in, so
	// ApplyReusing may reuse memory between records.
	reusable bool
}

type stage struct {
	alias     string
	class     string
	transform Transform
	updater   updater // set for built-in transforms
	drop      bool    // the transform is Filter
	// run, when set, is this stage and the ones after it, which the chain
	// runs as one plan when it can (see fuse.go).
	run       *fusedRun
	predicate Predicate // nil: always apply
	negate    bool
}

// Apply runs r through the chain. A stage whose predicate says no (or yes,
// with negate) passes the record on unchanged. It returns nil, nil when a
// transform drops the record (Filter), and a *TransformError naming the
// failing transform's alias and class when one fails. r itself is never
// modified; the result may share values with it.
//
// Apply is safe for concurrent use when every transform and predicate of
// the chain is, as the built-in ones are.
func (c *Chain) Apply(r *connect.Record) (*connect.Record, error) {
	return c.apply(r, nil, false)
}

// ApplyOwned is Apply for a caller that hands r over to the chain and
// will not look at it again, as the runtime does with a sink task's
// records, which the converter makes afresh for each record. The chain
// then changes r, and the map or struct r's Key and Value hold (not the
// values nested in them), in place rather than copying them, so that a
// transform on a sink task's records costs about what it costs on a
// source task's. The result holds no memory the chain keeps: the caller
// may keep it, as a sink task's Put may keep its records.
//
// r's Key and Value must be r's own: made for r, not shared with another
// record or held elsewhere. (A Key or Value that is its schema's default,
// as a converter gives for a null with a default, is taken to be shared,
// and copied as Apply copies it.) After an error r may be half
// transformed. A chain with a transform or predicate that is not built in
// runs as Apply, leaving r as it was, since the built-in transforms are
// the ones known to touch nothing but the record they are given.
func (c *Chain) ApplyOwned(r *connect.Record) (*connect.Record, error) {
	return c.apply(r, nil, c != nil && c.reusable)
}

// ApplyReusing is Apply for a caller that is done with each result before
// it applies the chain to the next record, as the runtime is for a source
// task's records, which it converts to bytes at once. The chain then
// reuses, from one call with s to the next, its copy of the record and
// the structs, maps and header slices its transforms make, rather than
// allocating them for every record.
//
// The result, and every struct, map and header slice in it that r did not
// hold, is valid only until the next call with s: the caller must neither
// keep them nor pass them back in as r. As with Apply, r and what it holds
// are never modified. A chain with a transform or predicate that is not
// built in allocates as Apply does, since a plugin's transform may keep
// what it is given. Calls with different Scratches may run concurrently.
func (c *Chain) ApplyReusing(r *connect.Record, s *Scratch) (*connect.Record, error) {
	if c == nil || !c.reusable {
		s = nil
	}
	return c.apply(r, s, false)
}

// apply runs the chain, reusing s's memory when s is not nil, and working
// on r itself when handed (see ApplyOwned).
func (c *Chain) apply(r *connect.Record, s *Scratch, handed bool) (*connect.Record, error) {
	if c == nil {
		return r, nil
	}
	if s != nil && len(s.slots) < len(c.stages) {
		s.slots = make([]slot, len(c.stages))
	}
	var own *owned // set once r is the chain's own copy of the input
	for i := 0; i < len(c.stages); i++ {
		st := &c.stages[i]
		if st.predicate != nil && st.predicate.Test(r) == st.negate {
			continue
		}
		if st.drop {
			return nil, nil
		}
		if st.updater != nil {
			// Built-in transforms update the chain's copy in place: one
			// record copy per chain rather than one per transform.
			if own == nil {
				r, own = ownRecord(r, s, handed)
			}
			own.stage = i
			if st.run != nil && st.run.update(r, own) {
				i += len(st.run.mappers) - 1
				continue
			}
			keep, err := st.updater.update(r, own)
			if err != nil {
				return nil, &TransformError{Alias: st.alias, Class: st.class, Err: err}
			}
			if !keep {
				return nil, nil
			}
			continue
		}
		out, err := st.transform.Apply(r)
		if err != nil {
			return nil, &TransformError{Alias: st.alias, Class: st.class, Err: err}
		}
		if out == nil {
			return nil, nil
		}
		r, own = out, nil
	}
	return r, nil
}

// Len returns the number of transforms in the chain.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.stages)
}

// Aliases returns the transforms' aliases, in order.
func (c *Chain) Aliases() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.stages))
	for i, s := range c.stages {
		out[i] = s.alias
	}
	return out
}

// ownRecord returns the record the chain's built-in transforms change in
// place, with its ownership marks: r itself when handed (see ApplyOwned),
// else a copy of r, in s when s is not nil.
func ownRecord(r *connect.Record, s *Scratch, handed bool) (*connect.Record, *owned) {
	if handed {
		return r, &owned{key: ownedPart(r.KeySchema, r.Key), value: ownedPart(r.ValueSchema, r.Value)}
	}
	if s == nil {
		cp := &ownedRecord{Record: *r}
		return &cp.Record, &cp.own
	}
	copyRecord(&s.rec.Record, r)
	o := &s.rec.own
	o.key, o.value = false, false
	if unsafe.SliceData(o.slots) != unsafe.SliceData(s.slots) || len(o.slots) != len(s.slots) {
		o.slots = s.slots
	}
	return &s.rec.Record, o
}

// ownedPart reports whether v, the key or value of a record handed to
// ApplyOwned, may be changed in place: a map or struct that is not its
// schema's default (which every record of the schema shares).
func ownedPart(s *connect.Schema, v any) bool {
	switch v.(type) {
	case map[string]any, *connect.StructValue:
		return s == nil || !sameAny(v, s.Default)
	}
	return false
}
