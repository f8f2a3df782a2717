// Package connect is the SDK that connector authors import.
//
// It holds the data model (Record, Schema, Struct and the logical types
// Decimal, Date, Time and Timestamp), the connector and task interfaces, typed
// configuration definitions, and the errors the framework understands.
//
// A connector is a factory for tasks. The framework calls the connector's
// lifecycle methods to validate a configuration and split the work into task
// configurations, then runs the connector and its tasks in a plugin process
// (one per connector on each worker, or one per task, as plugin.isolation
// says; or in the worker's process, for tests and benchmarks), each task on
// goroutines of its own: tasks of one connector must not share mutable
// package-level state. A source task returns batches
// of records from Poll; a sink task receives batches in Put and makes them
// durable in Flush. Transforms and converters run around the task, in SDK code
// the author does not write.
//
// The data model follows Kafka Connect's, so that records serialised by the
// JSON converter look exactly like those of Kafka Connect's JsonConverter.
package connect
