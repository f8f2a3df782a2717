// Package integration holds end-to-end tests: connectd built and run as a
// process, as users run it, with faults injected by killing processes.
// Every test counts records end to end.
package integration
