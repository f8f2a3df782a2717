package transforms

import (
	"github.com/connectd/connectd/framework/connect"
)

// Chain is a connector's transforms in order, each with its optional
// predicate: Kafka Connect's TransformationChain. A nil *Chain is valid and
// passes records through unchanged.
type Chain struct {
	stages []stage
}

type stage struct {
	alias     string
	class     string
	transform Transform
	updater   updater   // set for built-in transforms
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
	if c == nil {
		return r, nil
	}
	var own *owned // set once r is the chain's own copy of the input
	for i := range c.stages {
		s := &c.stages[i]
		if s.predicate != nil && s.predicate.Test(r) == s.negate {
			continue
		}
		if _, drop := s.updater.(filter); drop {
			return nil, nil
		}
		if s.updater != nil {
			// Built-in transforms update the chain's copy in place: one
			// record copy per chain rather than one per transform.
			if own == nil {
				c := &ownedRecord{Record: *r}
				r, own = &c.Record, &c.own
			}
			keep, err := s.updater.update(r, own)
			if err != nil {
				return nil, &TransformError{Alias: s.alias, Class: s.class, Err: err}
			}
			if !keep {
				return nil, nil
			}
			continue
		}
		out, err := s.transform.Apply(r)
		if err != nil {
			return nil, &TransformError{Alias: s.alias, Class: s.class, Err: err}
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
