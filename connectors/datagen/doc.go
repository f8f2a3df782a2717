// Package datagen is a source connector that generates records, for demos,
// tests and benchmarks.
//
// Its output is deterministic apart from timestamps: record number seq of
// task t carries seq and t, so a test can check that nothing was lost or
// duplicated on the way to Kafka and back. Each task is its own source
// partition, {"task": "<t>"}, with offset {"seq": <seq>}; a restarted task
// continues after the last committed seq, so a bounded run (count) still
// totals exactly count records however often its tasks restart, as long as
// count and tasks.max stay the same.
//
// A bounded task that has produced its share returns no more records: Poll
// sleeps briefly and returns (nil, nil). Its Done method reports that state
// to runtimes and tests that want to stop early.
package datagen
