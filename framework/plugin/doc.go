// Package plugin is the boundary between a worker and the connectors it runs.
//
// A worker talks to every connector instance and task through a Client. The
// Client is either in-process (NewLocal: tests, benchmarks, a worker with
// isolation off) or a separate process reached over gRPC with
// hashicorp/go-plugin (Launch). Both run the same SDK runtime on the plugin
// side: the task's records pass through transforms and converters there, so
// only bytes cross the boundary, each record serialised once. A record that
// fails there crosses with a RecordError (its stage, class, error and a Go
// trace), one a transform drops as its bare source position; the error
// policy both sides apply is ErrorPolicy (errorpolicy.go).
//
// Built-in connectors are served by re-executing the worker's own binary as
// `connectd plugin serve NAME`; third-party plugins are executables that call
// Serve from their main function. One process hosts one connector instance or
// one task, so a crash takes down only that task, whose Client then reports
// the exit.
//
// Source batches stream from the plugin to the worker on a data channel
// beside gRPC (datachan.go): the plugin polls its task ahead of the worker
// and merges small batches into larger frames, so a task that returns one
// record per Poll still crosses the boundary in bulk.
package plugin
