// Package transforms implements Apache Kafka Connect's single-message
// transforms (SMTs) and predicates over connectd's SDK types, with Kafka
// Connect's config keys, defaults, validation, error messages and
// behaviour, for records with schemas (Struct values) and without (maps);
// and Debezium's ExtractNewRecordState, which turns Debezium change events
// into rows, as Debezium 2.7 does.
//
// # Configuration
//
// A chain is configured in the connector config, exactly as in Kafka
// Connect:
//
//	transforms=mask,route
//	transforms.mask.type=org.apache.kafka.connect.transforms.MaskField$Value
//	transforms.mask.fields=email
//	transforms.mask.predicate=isOrders
//	transforms.mask.negate=false
//	transforms.route.type=RegexRouter
//	transforms.route.regex=(.*)-raw
//	transforms.route.replacement=$1
//	predicates=isOrders
//	predicates.isOrders.type=TopicNameMatches
//	predicates.isOrders.pattern=orders.*
//
// A type is named by its Java class name or by its short name, the class
// name without the package: "MaskField$Value", "RegexRouter",
// "TopicNameMatches", "ExtractNewRecordState"
// (io.debezium.transforms.ExtractNewRecordState). (Kafka Connect itself
// accepts the short names of the types that are not nested classes.) The
// README lists every type and key.
//
// # Use by the runtime
//
// The plugin runtime builds one Chain per task from the task's connector
// config with NewChain, passing Env{Sink: true} for sink tasks, and runs
// every record through it: for a source task between Poll and the
// converters with Chain.ApplyReusing (see Records), for a sink task
// between the converters and Put with Chain.ApplyOwned. A nil record
// back means the record is dropped (Filter). An error is a
// *TransformError: its Class fills the dead letter queue header
// __connect.errors.class.name, ExceptionClass the exception class header,
// and Err.Error() __connect.errors.exception.message; errors.tolerance
// decides whether the record is skipped or the task fails. A nil *Chain,
// which NewChain returns when the config has no transforms, passes records
// through.
//
// For the REST API, Validate returns every problem of a config keyed by
// config key (unknown types list the known ones), ConfigDef describes the
// keys the config sets up (transforms.<alias>.*, predicates.<alias>.*), and
// Registry.Transforms and Registry.Predicates give each type's ConfigDef.
//
// A plugin that brings its own transform types adds them to a Registry
// from NewRegistry and builds chains with Registry.NewChain.
//
// # Records
//
// Apply never modifies its input record or the values it holds: a
// transform that changes a record works on a shallow copy with new maps,
// structs or header slices where it changes them, so the result may share
// values with the input. Within a chain, the built-in transforms work on
// one copy of the record, and change in place the maps and structs that an
// earlier transform of the same chain made (no one else holds those), so a
// chain of five copies a schemaless value once, not five times. Built-in
// transforms keep the schemas they derive
// in a cache keyed by input schema, as Kafka Connect's do, so records that
// share a schema reuse one derived schema; equal schemas that are distinct
// pointers share it too.
//
// Chain.ApplyReusing goes further for a caller that is done with each
// result before it transforms the next record, as the runtime is with a
// source task's records (it converts each to bytes at once): with a
// Scratch, the chain's copy of the record and the structs, maps and header
// slices its transforms make are reused from one record to the next, so a
// chain of built-in transforms allocates nothing per record once it has
// seen a record's shape, and writes only the pointers that differ from the
// previous record's (while the garbage collector marks, each pointer
// written costs a write barrier). The input record is still never
// modified.
//
// Chain.ApplyOwned is for a caller that hands the record over, as the
// runtime does with a sink task's records, which the converter makes
// afresh: the built-in transforms change the record, and the map or struct
// its key and value hold, in place; what they make is new memory, since
// Put may keep it. Records of a chain with a transform or predicate that
// is not built in, which may keep what it is given, get Apply's treatment
// whichever method runs them.
//
// Consecutive InsertField, ReplaceField and MaskField transforms on a
// struct run as one plan per input schema, filling one struct rather than
// one per transform; what the plan does not cover runs them one at a time
// (see fuse.go).
//
// # Differences from Kafka Connect
//
// Regular expressions (RegexRouter, TopicNameMatches) are Go's RE2 syntax,
// which reads the common subset of Java's patterns the same way but has no
// backreferences, lookaround or possessive quantifiers; such patterns are
// refused as invalid. RegexRouter's replacement is checked against the
// pattern's groups when the chain is built rather than when a record first
// matches. Dates are formatted and parsed with SimpleDateFormat's pattern
// letters in UTC and English. MaskField masks a Decimal with zero at the
// value's own scale (Kafka Connect uses scale 0, which its converters then
// refuse for a Decimal schema of another scale). Schemaless maps must be
// map[string]any. Where Kafka Connect fails with a NullPointerException
// (HeaderFrom on a field the schema lacks), the error says what is wrong.
//
// ExtractNewRecordState follows Debezium 2.7's code where its
// documentation says otherwise, refuses a bad delete.tombstone.handling.mode
// when the chain is built rather than at the first record, and says what is
// wrong where Debezium's fails with a NullPointerException; the README
// lists every difference.
package transforms
