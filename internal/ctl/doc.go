// Package ctl is `connectd ctl`, a command-line client for any Kafka
// Connect-compatible REST API (connectd's or Apache Kafka Connect's), in
// the manner of kcctl: contexts in a config file naming clusters and their
// credentials, get / describe / apply / patch / delete / pause / resume /
// stop / restart, offsets, log levels and validation, regular expressions
// to act on many connectors at once, tables for people and -o json|yaml
// for scripts.
//
// Run is the whole program; cmd/connectd calls it. Every REST call goes
// through api.Client. Parsing (connector files, contexts, diffs) is kept
// apart from the calls, so it is tested without a server; the commands
// are tested against a live cluster of worker processes in integration/.
//
// # Exit codes
//
//	0  success
//	1  the request failed (a server error, an answer that does not decode)
//	2  usage: unknown command or flag, missing argument, unreadable file
//	3  a config did not validate (apply, validate)
//	4  not found (a connector, task, plugin or logger; or no connector matched)
//	5  refused: 401 (no valid credentials) or 403 (the role may not)
//	6  the API could not be reached (connection refused, TLS, timeout)
//	7  conflict: 409 (a rebalance under way, or the connector exists)
//
// With several connectors (names or a regular expression), ctl acts on
// each and exits with the code of the first failure.
package ctl
