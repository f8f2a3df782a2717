package transforms

import (
	"slices"

	"github.com/connectd/connectd/framework/connect"
)

// A chain often runs several field transforms in a row on a struct value:
// InsertField, then ReplaceField, then MaskField. Run one at a time, each
// fills a struct of its own, so the record's fields are copied once per
// transform. Each of these transforms sets every output field from one
// input field (changed or not by a function of its value) or from the
// record, so a run of them composes, per input schema, into one plan from
// the first one's input to the last one's output, and the chain fills one
// struct. The result is the one running them one at a time gives; for
// anything a plan does not cover (no schema, a value that is not a struct,
// a schema a transform refuses, a value a function refuses), the run falls
// back to one transform at a time, so that errors, too, are the ones each
// transform gives.

// fieldMapper is a built-in transform that can say what it does to a
// struct with a schema as a fieldPlan.
type fieldMapper interface {
	updater
	// mapsPart returns the part of the record (key or value) the
	// transform changes, and whether its configuration lets it be written
	// as a fieldPlan at all.
	mapsPart() (p part, ok bool)
	// fieldPlan returns what the transform does to a struct of schema in.
	// An error is the transform's own error for that schema.
	fieldPlan(in *connect.Schema) (*fieldPlan, error)
}

// fieldPlan maps a struct to a struct of schema: field i of the result is
// src[i] evaluated on the input struct and the record.
type fieldPlan struct {
	schema *connect.Schema
	src    []fieldSource
}

// fieldSource is where one output field comes from: input field from, or,
// when from is negative, gen of the record; then ops in order.
type fieldSource struct {
	from int
	gen  func(r *connect.Record) any
	ops  []fieldOp
}

// fieldOp changes a field's value: with fn set, to fn's result; without,
// a null to def (replace.null.with.default, for a field with a default).
type fieldOp struct {
	def any
	fn  func(any) (any, error)
}

// identityPlan returns a plan that copies every field of in to a struct of
// out, which has in's fields (out may be in), reading a null field with a
// default as that default when withDefault.
func identityPlan(in, out *connect.Schema, withDefault bool) *fieldPlan {
	p := &fieldPlan{schema: out, src: make([]fieldSource, len(in.Fields))}
	for i, f := range in.Fields {
		p.src[i] = fieldSource{from: i, ops: defaultOp(f, withDefault)}
	}
	return p
}

// defaultOp returns the op that reads a null field as its default, when
// that can change anything.
func defaultOp(f connect.Field, withDefault bool) []fieldOp {
	if !withDefault || f.Schema.Default == nil {
		return nil
	}
	return []fieldOp{{def: f.Schema.Default}}
}

// then returns the plan that does p and then next (whose input schema is
// p's output schema).
func (p *fieldPlan) then(next *fieldPlan) *fieldPlan {
	out := &fieldPlan{schema: next.schema, src: make([]fieldSource, len(next.src))}
	for i, s := range next.src {
		if s.from < 0 {
			out.src[i] = s
			continue
		}
		prev := p.src[s.from]
		out.src[i] = fieldSource{from: prev.from, gen: prev.gen, ops: append(slices.Clip(prev.ops), s.ops...)}
	}
	return out
}

// value evaluates s on sv and r.
func (s *fieldSource) value(sv *connect.StructValue, r *connect.Record) (any, error) {
	var v any
	if s.from >= 0 {
		v = sv.GetIndex(s.from)
	} else {
		v = s.gen(r)
	}
	for i := range s.ops {
		op := &s.ops[i]
		if op.fn == nil {
			if v == nil {
				v = op.def
			}
			continue
		}
		var err error
		if v, err = op.fn(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// fusedRun is consecutive stages of a chain, from the one that holds it,
// whose transforms are fieldMappers of one part with no predicate after the
// first: the chain runs them as one plan when it can.
type fusedRun struct {
	part    part
	mappers []fieldMapper
	cache   schemaCache[*fieldPlan]
}

// update runs the whole run on r as one plan and reports true, or reports
// false, leaving r and own as they were, when the plan does not cover r:
// the chain then runs the stages one at a time.
func (f *fusedRun) update(r *connect.Record, own *owned) bool {
	if f.part.schema(r) == nil {
		return false
	}
	sv, ok := f.part.value(r).(*connect.StructValue)
	if !ok || sv == nil {
		return false
	}
	plan, err := f.cache.get(sv.Schema(), f.plan)
	if err != nil {
		return false
	}
	out := own.structToFill(plan.schema)
	for i := range plan.src {
		src := &plan.src[i]
		if src.from >= 0 && src.ops == nil { // most fields: a plain copy
			setField(out, i, sv.GetIndex(src.from))
			continue
		}
		v, err := src.value(sv, r)
		if err != nil {
			return false
		}
		setField(out, i, v)
	}
	f.part.setFresh(r, own, plan.schema, out)
	return true
}

// plan composes the run's plans for input schema in.
func (f *fusedRun) plan(in *connect.Schema) (*fieldPlan, error) {
	var p *fieldPlan
	s := in
	for _, m := range f.mappers {
		next, err := m.fieldPlan(s)
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = next
		} else {
			p = p.then(next)
		}
		s = next.schema
	}
	return p, nil
}

// fuse finds the runs of stages that can run as one plan and hangs each on
// its first stage.
func fuse(stages []stage) {
	for i := 0; i < len(stages); {
		first, ok := stages[i].updater.(fieldMapper)
		if !ok {
			i++
			continue
		}
		p, ok := first.mapsPart()
		if !ok {
			i++
			continue
		}
		run := &fusedRun{part: p, mappers: []fieldMapper{first}}
		j := i + 1
		for ; j < len(stages) && stages[j].predicate == nil; j++ {
			m, ok := stages[j].updater.(fieldMapper)
			if !ok {
				break
			}
			if mp, ok := m.mapsPart(); !ok || mp != p {
				break
			}
			run.mappers = append(run.mappers, m)
		}
		if len(run.mappers) > 1 {
			stages[i].run = run
		}
		i = j
	}
}
