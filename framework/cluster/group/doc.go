// Package group is a Connect worker's membership of its cluster: Kafka
// Connect's group protocol and incremental cooperative assignment, on
// Kafka's classic group coordinator.
//
// Workers join the group named by group.id with protocol type "connect",
// offering Kafka Connect's "sessioned" (version 2) and "compatible"
// (version 1) protocols. A member's JoinGroup metadata carries its REST URL,
// the config-topic offset it has read, and what it runs; the leader (the
// member the coordinator picks) reads everyone's metadata, catches up on the
// config topic, and sends each member, through SyncGroup, the connectors and
// tasks it gains and loses, with its own id and URL. The byte layouts are
// Kafka Connect's (protocol.go), so the group's metadata reads the same in
// Kafka's tools.
//
// The assignment is incremental and cooperative (KIP-415, assignor.go):
// only what must move is revoked, in one round, and assigned in the next;
// everything else keeps running through a rebalance. A worker that vanishes
// has its work held for scheduled.rebalance.max.delay.ms in case it comes
// back; one that leaves with Member.Leave has its work moved at once.
// Connectors, and the tasks of every connector, spread evenly (balance.go).
//
// Member runs the loop: join, sync, heartbeat on a goroutine of its own,
// report to a Handler (the herder), rejoin when asked, when the coordinator
// says so, when a scheduled delay elapses, or after revocations. The herder
// decides what "start" and "stop" mean; this package never touches
// connectors.
package group
