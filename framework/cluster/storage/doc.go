// Package storage keeps a distributed cluster's shared state in Kafka
// Connect's internal topics, with Kafka Connect's keys and values, so the
// topics of a connectd cluster and of a Kafka Connect cluster can be read
// by either.
//
// ConfigLog is the config topic (config.storage.topic, one partition):
//
//	connector-<c>          {"properties":{...}}            null deletes the connector
//	task-<c>-<n>           {"properties":{...}}            applies only with the next commit-<c>
//	commit-<c>             {"tasks":N}
//	target-state-<c>       {"state":"PAUSED","state.v2":"STOPPED"}
//	restart-connector-<c>  {"include-tasks":true,"only-failed":false}
//	tasks-fencing-<c>      {"task-count":N}                KIP-618: older tasks fenced; N may have run
//	session-key            {"key":"<base64>","algorithm":"HmacSHA256","creation-timestamp":ms}   KIP-507
//	logger-cluster-<ns>    {"level":"DEBUG"}               KIP-976
//
// Task configs committed after a connector's last tasks-fencing record
// leave it pending fencing (Snapshot.PendingFencing) until the leader
// writes the next one. With a transactional id (exactly.once.source.support
// preparing or enabled) the leader's writes are transactions and the topic
// is read read_committed.
//
// Task configs are buffered until their connector's commit record is read,
// and then applied together, so a reader never runs half of an old and
// half of a new set of task configs. After compaction a commit can find
// task configs missing; the connector is then inconsistent (its tasks are
// not used) until a later complete commit, as in Kafka Connect.
//
// StatusLog is the status topic (status.storage.topic):
//
//	status-connector-<c>   {"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":5}
//	status-task-<c>-<n>    the same shape, plus "exactly_once":true for a task running exactly once
//	status-topic-<t>:connector-<c>  {"topic":{"name":"t","connector":"c","task":0,"discoverTimestamp":1700000000000}}
//
// The last are KIP-558's active topics: a topic a task of c used, first
// recorded by task 0 at that time (ms); a tombstone removes it.
//
// Values are written as Kafka Connect's JsonConverter (schemas disabled)
// writes them: fields in schema order, no spaces, strings escaped as
// Jackson escapes them. The one thing no writer can reproduce byte for
// byte is the order of a properties map, which in Kafka Connect follows a
// Java map's iteration order; connectd writes the keys sorted, and readers
// of either kind do not depend on the order.
//
// The offsets topic is package offsets' Kafka store. All three are built
// on internal/kafkalog.
package storage
