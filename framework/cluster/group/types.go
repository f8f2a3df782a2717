package group

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// TaskID names one task of a connector. It converts to herder.TaskID with a
// plain conversion.
type TaskID struct {
	Connector string
	Task      int
}

// String formats the id as Kafka Connect does: "<connector>-<task>".
func (t TaskID) String() string { return fmt.Sprintf("%s-%d", t.Connector, t.Task) }

func (t TaskID) compare(u TaskID) int {
	if c := cmp.Compare(t.Connector, u.Connector); c != 0 {
		return c
	}
	return cmp.Compare(t.Task, u.Task)
}

// ClusterConfig is what the leader assigns: the connectors in the config
// topic, each with its task count, as of config-topic offset Offset.
type ClusterConfig struct {
	Offset int64
	Tasks  map[string]int // connector -> number of tasks (0 while it has none)
}

// workSet is a mutable set of connectors and tasks.
type workSet struct {
	c map[string]struct{}
	t map[TaskID]struct{}
}

func newSet() workSet {
	return workSet{c: map[string]struct{}{}, t: map[TaskID]struct{}{}}
}

func setOf(w work) workSet {
	s := newSet()
	s.addWork(w)
	return s
}

func (s workSet) clone() workSet {
	return workSet{c: maps.Clone(s.c), t: maps.Clone(s.t)}
}

func (s workSet) addWork(w work) {
	for _, c := range w.Connectors {
		s.c[c] = struct{}{}
	}
	for _, t := range w.Tasks {
		s.t[t] = struct{}{}
	}
}

func (s workSet) add(o workSet) {
	for c := range o.c {
		s.c[c] = struct{}{}
	}
	for t := range o.t {
		s.t[t] = struct{}{}
	}
}

func (s workSet) remove(o workSet) {
	for c := range o.c {
		delete(s.c, c)
	}
	for t := range o.t {
		delete(s.t, t)
	}
}

// minus returns s without the members of the others.
func (s workSet) minus(others ...workSet) workSet {
	r := s.clone()
	for _, o := range others {
		r.remove(o)
	}
	return r
}

// intersect returns the members of s also in o.
func (s workSet) intersect(o workSet) workSet {
	r := newSet()
	for c := range s.c {
		if _, ok := o.c[c]; ok {
			r.c[c] = struct{}{}
		}
	}
	for t := range s.t {
		if _, ok := o.t[t]; ok {
			r.t[t] = struct{}{}
		}
	}
	return r
}

func (s workSet) empty() bool { return len(s.c) == 0 && len(s.t) == 0 }

func (s workSet) hasConnector(c string) bool { _, ok := s.c[c]; return ok }
func (s workSet) hasTask(t TaskID) bool      { _, ok := s.t[t]; return ok }

// work returns s as sorted lists.
func (s workSet) work() work {
	w := work{Connectors: slices.Sorted(maps.Keys(s.c)), Tasks: slices.SortedFunc(maps.Keys(s.t), TaskID.compare)}
	return w
}
