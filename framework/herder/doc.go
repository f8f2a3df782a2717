// Package herder is the contract between the REST API and the modes that
// run connectors: standalone (one worker) and distributed (a cluster). The
// name is Kafka Connect's: a herder herds the connectors and tasks of one
// worker or cluster. The types here marshal to Kafka Connect's REST JSON.
package herder
