package transforms

import (
	"fmt"

	"github.com/connectd/connectd/framework/connect"
)

// Transform changes one record, or drops it: Kafka Connect's
// Transformation.
//
// Apply returns the transformed record, r itself when nothing changes, or nil
// to drop the record. It must not modify *r, nor any value reachable from it
// (a map, a *StructValue, a Headers slice): the caller may still hold r, and
// records may share values. A transform that changes a record returns a new
// one (a shallow copy of *r is fine) holding new maps or structs where it
// changed them, and a new Headers slice if it changed headers.
//
// The chain calls Apply from one goroutine at a time for a task; the
// built-in transforms are also safe for concurrent use. An error fails this
// record only: the runtime routes it per errors.tolerance.
type Transform interface {
	Apply(r *connect.Record) (*connect.Record, error)
}

// Predicate decides whether a transform applies to a record: Kafka
// Connect's Predicate. Test must not modify r.
type Predicate interface {
	Test(r *connect.Record) bool
}

// Env is what a transform or predicate may need to know about where it
// runs, beyond its own configuration.
type Env struct {
	// Sink is true when the chain transforms records delivered to a sink
	// task (Kafka Connect's SinkRecord: Offset is the Kafka offset), false
	// for records a source task produced.
	Sink bool
}

// TransformType describes one kind of transform: its names, its
// configuration and how to build one.
type TransformType struct {
	// Class is the Java-style class name, as Kafka Connect configs name it
	// ("org.apache.kafka.connect.transforms.InsertField$Value"). It also
	// fills the dead letter queue's __connect.errors.class.name header.
	Class string
	// Name is the short name ("InsertField$Value"): the class name without
	// its package.
	Name string
	// Doc says what the transform does, for docs and the REST API.
	Doc string
	// Config defines the transform's own keys (without the
	// transforms.<alias>. prefix).
	Config *connect.ConfigDef
	// New builds a transform from its parsed keys. Problems that involve
	// one key are best returned as *KeyError, so that they are reported
	// against that key.
	New func(cfg *connect.Config, env Env) (Transform, error)
}

// PredicateType describes one kind of predicate.
type PredicateType struct {
	// Class is the Java-style class name
	// ("org.apache.kafka.connect.transforms.predicates.TopicNameMatches").
	Class string
	// Name is the short name ("TopicNameMatches").
	Name   string
	Doc    string
	Config *connect.ConfigDef
	New    func(cfg *connect.Config, env Env) (Predicate, error)
}

// KeyError is a bad value of one of a transform's or predicate's keys,
// found when building it. The chain reports it against the prefixed key
// (transforms.<alias>.<Key>).
type KeyError struct {
	Key string
	// Value is the value as given, or nil when the key is unset.
	Value *string
	Msg   string
}

// keyError returns a *KeyError for key with value (nil: unset).
func keyError(key string, value *string, format string, args ...any) *KeyError {
	return &KeyError{Key: key, Value: value, Msg: fmt.Sprintf(format, args...)}
}

func (e *KeyError) Error() string { return e.message(e.Key) }

// message writes e as Kafka's ConfigException(name, value, message) does.
func (e *KeyError) message(key string) string {
	v := "null"
	if e.Value != nil {
		v = *e.Value
	}
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", v, key, e.Msg)
}

// TransformError is a record that a transform of a chain failed on. Class
// is the transform's Java-style class name, which Kafka Connect writes to
// the dead letter queue header __connect.errors.class.name; Err.Error() is
// the message for __connect.errors.exception.message.
type TransformError struct {
	Alias string
	Class string
	Err   error
}

func (e *TransformError) Error() string {
	return fmt.Sprintf("transforms: transform %q (%s): %v", e.Alias, e.Class, e.Err)
}

func (e *TransformError) Unwrap() error { return e.Err }

// ExceptionClass names the Java exception Kafka Connect raises for the same
// failure (org.apache.kafka.connect.errors.DataException for most), for the
// dead letter queue header __connect.errors.exception.class.name. It is
// empty when the failing transform is not a built-in one.
func (e *TransformError) ExceptionClass() string {
	if d, ok := e.Err.(*DataError); ok {
		return d.Exception
	}
	return ""
}

// Java exception classes that Kafka Connect's transforms raise.
const (
	dataException    = "org.apache.kafka.connect.errors.DataException"
	connectException = "org.apache.kafka.connect.errors.ConnectException"
	illegalArgument  = "java.lang.IllegalArgumentException"
	nullPointer      = "java.lang.NullPointerException"
)

// DataError is a record that a built-in transform cannot handle: a value
// of the wrong type, a missing field. Msg is Kafka Connect's message for
// the same case; Exception the Java exception class it raises.
type DataError struct {
	Exception string
	Msg       string
}

func (e *DataError) Error() string { return e.Msg }

// dataErr returns a DataException-like error.
func dataErr(format string, args ...any) error {
	return &DataError{Exception: dataException, Msg: fmt.Sprintf(format, args...)}
}

// updater is how the built-in transforms work, so that a chain copies a
// record once rather than once per transform. update changes r in place
// and reports whether to keep the record. r is a shallow copy that the
// caller owns: its fields may be set, but what they point to (maps,
// structs, the Headers slice) is shared with the input record and must not
// be modified.
//
// own says which of r's key and value are maps or structs that an earlier
// transform of the chain made: those may be changed in place (no one else
// holds them), which saves a copy per transform. update sets own for what
// it leaves in r. The structs, maps and header slices update makes come
// from own's newStruct, structToFill, newMap, cloneMap and newHeaders,
// which reuse the memory of the previous record when the chain runs with a
// Scratch.
type updater interface {
	update(r *connect.Record, own *owned) (keep bool, err error)
}

// owned marks the key and value that the chain made itself, and says
// where the running stage may reuse memory (see Scratch): slots[stage],
// or nowhere when slots is nil and the result must be new memory, as for
// Apply. (The stage is an index rather than a pointer to its slot: the
// chain's record lives on the heap, and while the garbage collector marks
// every pointer written there costs a write barrier, once per stage.)
type owned struct {
	key, value bool
	stage      int
	slots      []slot
}

// slot returns the running stage's reusable memory, or nil.
func (o *owned) slot() *slot {
	if o.slots == nil {
		return nil
	}
	return &o.slots[o.stage]
}

// ownedRecord is the chain's copy of a record with its ownership marks, in
// one allocation.
type ownedRecord struct {
	connect.Record
	own owned
}

// builtinTransform serves an updater as a Transform.
type builtinTransform struct{ u updater }

func (b builtinTransform) Apply(r *connect.Record) (*connect.Record, error) {
	c := &ownedRecord{Record: *r}
	keep, err := b.u.update(&c.Record, &c.own)
	if err != nil || !keep {
		return nil, err
	}
	return &c.Record, nil
}

// asTransform wraps an updater constructor as a TransformType.New.
func asTransform(mk func(*connect.Config, Env) (updater, error)) func(*connect.Config, Env) (Transform, error) {
	return func(cfg *connect.Config, env Env) (Transform, error) {
		u, err := mk(cfg, env)
		if err != nil {
			return nil, err
		}
		return builtinTransform{u: u}, nil
	}
}
