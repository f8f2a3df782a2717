package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Kafka Connect's group protocol: the names and versions a worker offers in
// JoinGroup, in order of preference.
const (
	protocolType = "connect"

	// protocolSessioned is Kafka Connect's "sessioned" protocol (version 2).
	// In Kafka Connect, version 2 means the leader distributes session keys
	// through the config topic and workers sign internal REST requests
	// (KIP-507). connectd distributes no session keys and signs nothing:
	// for connectd, version 2 is byte for byte version 1. It is offered first,
	// as Kafka Connect offers it, so the group settles on the same protocol a
	// Kafka Connect cluster of the same version would.
	protocolSessioned = "sessioned"
	// protocolCompatible is Kafka Connect's "compatible" protocol
	// (version 1): incremental cooperative rebalancing (KIP-415).
	protocolCompatible = "compatible"

	versionCompatible int16 = 1
	versionSessioned  int16 = 2

	// connectorTask is the task number that stands for the connector
	// instance itself in an assignment (Kafka Connect's CONNECTOR_TASK).
	connectorTask int32 = -1
)

// Assignment error codes, Kafka Connect's Assignment.NO_ERROR and
// CONFIG_MISMATCH.
const (
	// ErrNone: the assignment succeeded.
	ErrNone int16 = 0
	// ErrConfigMismatch: the leader could not read the config topic up to
	// the newest offset a member reported. Members catch up and rejoin.
	ErrConfigMismatch int16 = 1
)

// allocationLeaving is a connectd value of the error field of a member's
// allocation (the assignment it reports in its JoinGroup metadata). Kafka
// Connect writes the error of the member's last assignment there and its
// leader never reads it. A member that is about to leave the group
// gracefully reports this value, no work, and in the revoked list the work
// it has stopped; the leader then hands that work to the others at once
// instead of holding it for scheduled.rebalance.max.delay.ms as it does
// for a worker that vanished. A Kafka Connect leader would ignore the
// marker and treat the departure as any other.
const allocationLeaving int16 = 0x4c56 // "LV"

// protocolVersion maps a protocol name chosen by the coordinator to its
// Connect protocol version.
func protocolVersion(name string) (int16, error) {
	switch name {
	case protocolSessioned:
		return versionSessioned, nil
	case protocolCompatible:
		return versionCompatible, nil
	}
	return 0, fmt.Errorf("group: the coordinator chose protocol %q, which connectd does not speak (it offers %q and %q); is a worker of another kind in group?", name, protocolSessioned, protocolCompatible)
}

// work is a set of connectors and tasks in wire order: connectors sorted,
// tasks sorted by connector then number.
type work struct {
	Connectors []string
	Tasks      []TaskID
}

func (w work) empty() bool { return len(w.Connectors) == 0 && len(w.Tasks) == 0 }

func (w work) clone() work {
	return work{Connectors: slices.Clone(w.Connectors), Tasks: slices.Clone(w.Tasks)}
}

// normalize sorts w and drops duplicates.
func (w work) normalize() work {
	c := slices.Clone(w.Connectors)
	slices.Sort(c)
	c = slices.Compact(c)
	t := slices.Clone(w.Tasks)
	slices.SortFunc(t, TaskID.compare)
	t = slices.Compact(t)
	return work{Connectors: c, Tasks: t}
}

// wireAssignment is Kafka Connect's ExtendedAssignment: what the leader
// sends each member in SyncGroup, and what a member reports as its
// allocation when it joins.
type wireAssignment struct {
	Version      int16
	Error        int16
	Leader       string
	LeaderURL    string
	ConfigOffset int64
	Assigned     work
	Revoked      work
	Delay        time.Duration // scheduled delay, millisecond precision on the wire
}

// normalized returns a with its lists sorted and without duplicates, as
// decode returns them.
func (a wireAssignment) normalized() wireAssignment {
	a.Assigned = a.Assigned.normalize()
	a.Revoked = a.Revoked.normalize()
	return a
}

// wireMetadata is Kafka Connect's ExtendedWorkerState: what a member sends
// in JoinGroup.
type wireMetadata struct {
	Version      int16
	URL          string
	ConfigOffset int64
	// Allocation is what the member runs, or nil when it has had no
	// assignment yet (Kafka Connect writes a null allocation then).
	Allocation *wireAssignment
}

// Wire layout, from Kafka Connect's ConnectProtocol and
// IncrementalCooperativeConnectProtocol schemas (big-endian; STRING is an
// int16 length and UTF-8 bytes; an array is an int32 count, -1 for a
// nullable null; NULLABLE_BYTES an int32 length, -1 for null):
//
//	Metadata   = Version int16, Url STRING, ConfigOffset int64,
//	             Allocation NULLABLE_BYTES (a whole Assignment, or null)
//	Assignment = Version int16, Error int16, Leader STRING, LeaderUrl STRING,
//	             ConfigOffset int64, Assignment [ConnectorAssignment] (nullable),
//	             Revoked [ConnectorAssignment] (nullable), ScheduledDelay int32
//	ConnectorAssignment = Connector STRING, Tasks [int32] (-1: the connector)
//
// Kafka reads the last fields with defaults when the bytes end early
// (Allocation null, Assignment and Revoked null, ScheduledDelay 0), which is
// how it reads version 0 (eager) metadata and assignments; so does decode.

func encodeMetadata(m wireMetadata) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(m.Version))
	b = appendString(b, m.URL)
	b = binary.BigEndian.AppendUint64(b, uint64(m.ConfigOffset))
	if m.Allocation == nil {
		return binary.BigEndian.AppendUint32(b, math.MaxUint32) // -1: null
	}
	a := encodeAssignment(*m.Allocation)
	b = binary.BigEndian.AppendUint32(b, uint32(len(a)))
	return append(b, a...)
}

func encodeAssignment(a wireAssignment) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(a.Version))
	b = binary.BigEndian.AppendUint16(b, uint16(a.Error))
	b = appendString(b, a.Leader)
	b = appendString(b, a.LeaderURL)
	b = binary.BigEndian.AppendUint64(b, uint64(a.ConfigOffset))
	b = appendWork(b, a.Assigned)
	b = appendWork(b, a.Revoked)
	return binary.BigEndian.AppendUint32(b, uint32(delayMillis(a.Delay)))
}

// delayMillis converts a delay to the int32 milliseconds of the wire,
// rounding a positive delay under a millisecond up so it stays a delay.
func delayMillis(d time.Duration) int32 {
	switch {
	case d <= 0:
		return 0
	case d >= math.MaxInt32*time.Millisecond:
		return math.MaxInt32
	}
	return int32((d + time.Millisecond - 1) / time.Millisecond)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendWork writes a [ConnectorAssignment] array: one entry per connector
// in name order, the connector itself (-1) first, then its tasks in order.
func appendWork(b []byte, w work) []byte {
	w = w.normalize()
	type entry struct {
		name  string
		tasks []int32
	}
	var entries []entry
	at := map[string]int{}
	add := func(c string, t int32) {
		i, ok := at[c]
		if !ok {
			i = len(entries)
			at[c] = i
			entries = append(entries, entry{name: c})
		}
		entries[i].tasks = append(entries[i].tasks, t)
	}
	for _, c := range w.Connectors {
		add(c, connectorTask)
	}
	for _, t := range w.Tasks {
		add(t.Connector, int32(t.Task))
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = appendString(b, e.name)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.tasks)))
		for _, t := range e.tasks {
			b = binary.BigEndian.AppendUint32(b, uint32(t))
		}
	}
	return b
}

// errShort reports bytes that end inside a field.
var errShort = errors.New("ends early")

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) int16() int16 {
	v := r.take(2)
	if v == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(v))
}

func (r *reader) int32() int32 {
	v := r.take(4)
	if v == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(v))
}

func (r *reader) int64() int64 {
	v := r.take(8)
	if v == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func (r *reader) string(field string) string {
	n := r.int16()
	if r.err == nil && n < 0 {
		r.err = fmt.Errorf("%s: string length %d is negative", field, n)
		return ""
	}
	return string(r.take(int(n)))
}

// work reads a nullable [ConnectorAssignment] array; null reads as empty.
func (r *reader) work(field string) work {
	var w work
	n := r.int32()
	if r.err != nil || n == -1 {
		return w
	}
	if n < 0 {
		r.err = fmt.Errorf("%s: array length %d is negative", field, n)
		return w
	}
	for range n {
		c := r.string(field + " connector")
		m := r.int32()
		if r.err != nil {
			return w
		}
		// Each element is at least 4 bytes: refuse counts the input
		// cannot hold before allocating for them.
		if m < 0 || int(m) > len(r.b)/4 {
			r.err = fmt.Errorf("%s: task count %d of connector %q does not fit the %d bytes left", field, m, c, len(r.b))
			return w
		}
		for range m {
			t := r.int32()
			switch {
			case t == connectorTask:
				w.Connectors = append(w.Connectors, c)
			case t < 0:
				r.err = fmt.Errorf("%s: connector %q has task number %d", field, c, t)
				return w
			default:
				w.Tasks = append(w.Tasks, TaskID{Connector: c, Task: int(t)})
			}
		}
	}
	return w.normalize()
}

func decodeMetadata(b []byte) (wireMetadata, error) {
	r := &reader{b: b}
	var m wireMetadata
	m.Version = r.int16()
	if r.err == nil && m.Version < 0 {
		return m, fmt.Errorf("group: member metadata has unsupported version %d", m.Version)
	}
	m.URL = r.string("url")
	m.ConfigOffset = r.int64()
	if r.err == nil && len(r.b) > 0 {
		n := r.int32()
		if r.err == nil && n < -1 {
			r.err = fmt.Errorf("allocation: length %d is negative", n)
		}
		if r.err == nil && n >= 0 {
			raw := r.take(int(n))
			if r.err == nil {
				a, err := decodeAssignment(raw)
				if err != nil {
					return m, fmt.Errorf("group: member metadata allocation: %w", err)
				}
				m.Allocation = &a
			}
		}
	}
	if r.err != nil {
		return m, fmt.Errorf("group: member metadata: %w", r.err)
	}
	return m, nil
}

func decodeAssignment(b []byte) (wireAssignment, error) {
	r := &reader{b: b}
	var a wireAssignment
	a.Version = r.int16()
	if r.err == nil && a.Version < 0 {
		return a, fmt.Errorf("group: assignment has unsupported version %d", a.Version)
	}
	a.Error = r.int16()
	a.Leader = r.string("leader")
	a.LeaderURL = r.string("leader url")
	a.ConfigOffset = r.int64()
	if r.err == nil && len(r.b) > 0 {
		a.Assigned = r.work("assignment")
	}
	if r.err == nil && len(r.b) > 0 {
		a.Revoked = r.work("revoked")
	}
	if r.err == nil && len(r.b) > 0 {
		ms := r.int32()
		if ms > 0 {
			a.Delay = time.Duration(ms) * time.Millisecond
		}
	}
	if r.err != nil {
		return a, fmt.Errorf("group: assignment: %w", r.err)
	}
	return a, nil
}
