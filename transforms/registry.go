package transforms

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Registry holds the transform and predicate types a chain can use, by
// class name and by short name. NewRegistry returns one with Kafka
// Connect's built-in types; a plugin adds its own with AddTransform and
// AddPredicate before building chains. A Registry is not safe for
// concurrent use while types are being added; lookups may run concurrently.
type Registry struct {
	transforms map[string]*TransformType
	predicates map[string]*PredicateType
	tOrder     []*TransformType
	pOrder     []*PredicateType
}

// builtin is the registry of the built-in types that the package-level
// functions use. It is never changed after it is built.
var builtin = NewRegistry()

// NewRegistry returns a registry holding every transform and predicate that
// Apache Kafka Connect ships, and Debezium's ExtractNewRecordState.
func NewRegistry() *Registry {
	r := &Registry{transforms: map[string]*TransformType{}, predicates: map[string]*PredicateType{}}
	for _, t := range builtinTransforms() {
		if err := r.AddTransform(t); err != nil {
			// The built-in types are fixed; a clash is a bug that the
			// package's tests catch.
			continue
		}
	}
	for _, p := range builtinPredicates() {
		if err := r.AddPredicate(p); err != nil {
			continue
		}
	}
	return r
}

// AddTransform adds a transform type. Its Class (and Name, when set) must
// not name a type already registered, and it needs Class and New.
func (r *Registry) AddTransform(t TransformType) error {
	if err := r.checkNames("transform", t.Class, t.Name, t.New == nil); err != nil {
		return err
	}
	if t.Config == nil {
		t.Config = emptyDef
	}
	p := &t
	r.transforms[t.Class] = p
	if t.Name != "" {
		r.transforms[t.Name] = p
	}
	r.tOrder = append(r.tOrder, p)
	return nil
}

// AddPredicate adds a predicate type, under the same rules as AddTransform.
func (r *Registry) AddPredicate(t PredicateType) error {
	if err := r.checkNames("predicate", t.Class, t.Name, t.New == nil); err != nil {
		return err
	}
	if t.Config == nil {
		t.Config = emptyDef
	}
	p := &t
	r.predicates[t.Class] = p
	if t.Name != "" {
		r.predicates[t.Name] = p
	}
	r.pOrder = append(r.pOrder, p)
	return nil
}

func (r *Registry) checkNames(kind, class, name string, noNew bool) error {
	if class == "" {
		return fmt.Errorf("transforms: a %s type needs a Class name", kind)
	}
	if noNew {
		return fmt.Errorf("transforms: %s type %s has no New function", kind, class)
	}
	for _, n := range []string{class, name} {
		if n == "" {
			continue
		}
		if _, ok := r.transforms[n]; ok {
			return fmt.Errorf("transforms: %s type name %q is already taken by a transform type; choose another", kind, n)
		}
		if _, ok := r.predicates[n]; ok {
			return fmt.Errorf("transforms: %s type name %q is already taken by a predicate type; choose another", kind, n)
		}
	}
	if class == name {
		return errors.New("transforms: a type's Name must differ from its Class (leave Name empty instead)")
	}
	return nil
}

// Transforms lists the built-in transform types, by class name, with their
// ConfigDefs: for the REST API's plugin listing and config description.
func Transforms() []TransformType { return builtin.Transforms() }

// Predicates lists the built-in predicate types, by class name.
func Predicates() []PredicateType { return builtin.Predicates() }

// Transform returns the transform type called name (class or short name).
func (r *Registry) Transform(name string) (TransformType, bool) {
	t, ok := r.transforms[name]
	if !ok {
		return TransformType{}, false
	}
	return *t, true
}

// Predicate returns the predicate type called name (class or short name).
func (r *Registry) Predicate(name string) (PredicateType, bool) {
	t, ok := r.predicates[name]
	if !ok {
		return PredicateType{}, false
	}
	return *t, true
}

// Transforms lists the transform types, in the order they were added (the
// built-in ones by class name).
func (r *Registry) Transforms() []TransformType {
	out := make([]TransformType, len(r.tOrder))
	for i, t := range r.tOrder {
		out[i] = *t
	}
	return out
}

// Predicates lists the predicate types, in the order they were added.
func (r *Registry) Predicates() []PredicateType {
	out := make([]PredicateType, len(r.pOrder))
	for i, t := range r.pOrder {
		out[i] = *t
	}
	return out
}

// transformNames lists the short names (or classes) of the transform types,
// for error messages.
func (r *Registry) transformNames() string {
	names := make([]string, 0, len(r.tOrder))
	for _, t := range r.tOrder {
		names = append(names, cmpOr(t.Name, t.Class))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (r *Registry) predicateNames() string {
	names := make([]string, 0, len(r.pOrder))
	for _, t := range r.pOrder {
		names = append(names, cmpOr(t.Name, t.Class))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
