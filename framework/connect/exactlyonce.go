package connect

// Exactly-once delivery for source connectors (Kafka Connect's KIP-618).
//
// With exactly.once.source.support=enabled on the workers, the framework
// writes a source task's records and their source offsets in one Kafka
// transaction, so that after any crash a read_committed consumer sees each
// record once. That holds only when the connector can resume exactly where
// its committed offsets say: its offsets must name a position from which
// reading again yields the same records. A connector says whether it can,
// and whether it can decide where transactions end, through the optional
// interfaces below. Neither is needed to run exactly once with
// transaction.boundary=poll or interval; a connector that does not
// implement ExactlyOnceSourceConnector cannot be created with
// exactly.once.support=required.

// ExactlyOnceSupport says whether a source connector can give exactly-once
// delivery with a given configuration (Kafka Connect's ExactlyOnceSupport).
type ExactlyOnceSupport int

const (
	// ExactlyOnceUnknown: the connector does not say (the zero value, and
	// the answer of a connector that does not implement
	// ExactlyOnceSourceConnector). exactly.once.support=required is
	// refused; requested runs with transactions all the same.
	ExactlyOnceUnknown ExactlyOnceSupport = iota
	// ExactlyOnceSupported: re-reading from committed offsets yields the
	// same records.
	ExactlyOnceSupported
	// ExactlyOnceUnsupported: it does not (for example, the source
	// forgets what was read).
	ExactlyOnceUnsupported
)

// String returns Kafka Connect's name for s.
func (s ExactlyOnceSupport) String() string {
	switch s {
	case ExactlyOnceSupported:
		return "SUPPORTED"
	case ExactlyOnceUnsupported:
		return "UNSUPPORTED"
	}
	return "UNKNOWN"
}

// TransactionBoundarySupport says whether a source connector's tasks can
// define their own transaction boundaries (Kafka Connect's
// ConnectorTransactionBoundaries).
type TransactionBoundarySupport int

const (
	// TransactionBoundariesUnsupported is the zero value, and the answer of
	// a connector that does not implement TransactionBoundaryConnector:
	// transaction.boundary=connector is refused.
	TransactionBoundariesUnsupported TransactionBoundarySupport = iota
	// TransactionBoundariesSupported: the connector's tasks use the
	// TransactionContext they are given.
	TransactionBoundariesSupported
)

// String returns Kafka Connect's name for s.
func (s TransactionBoundarySupport) String() string {
	if s == TransactionBoundariesSupported {
		return "SUPPORTED"
	}
	return "UNSUPPORTED"
}

// ExactlyOnceSourceConnector is implemented by source connectors that say
// whether they give exactly-once delivery (Kafka Connect's
// SourceConnector.exactlyOnceSupport). The framework calls it when a
// connector config is validated or created with
// exactly.once.support=required, on a connector never started, with the
// full config; it must not block.
type ExactlyOnceSourceConnector interface {
	ExactlyOnceSupport(config map[string]string) ExactlyOnceSupport
}

// TransactionBoundaryConnector is implemented by source connectors whose
// tasks can define transaction boundaries (Kafka Connect's
// SourceConnector.canDefineTransactionBoundaries). The framework calls it
// when a connector config with transaction.boundary=connector is validated
// or created, on a connector never started, with the full config; it must
// not block.
type TransactionBoundaryConnector interface {
	CanDefineTransactionBoundaries(config map[string]string) TransactionBoundarySupport
}

// TransactionContext lets a source task say where the framework's
// transactions end, when its connector runs with
// transaction.boundary=connector (Kafka Connect's TransactionContext). A
// record's transaction holds every record polled since the previous
// boundary. Records after the last boundary stay in an open transaction:
// nothing of it is visible to read_committed consumers, and its offsets are
// not committed, until a later boundary commits it.
//
// Its methods may be called from Poll and from other goroutines of the
// task; a request takes effect when Poll returns the record it names (or,
// for the batch forms, the next batch Poll returns).
type TransactionContext interface {
	// CommitTransaction commits the transaction after the next batch Poll
	// returns (at once, if that batch is empty).
	CommitTransaction()
	// CommitTransactionAfter commits the transaction after record, which
	// the task returns from a later Poll.
	CommitTransactionAfter(record *Record)
	// AbortTransaction aborts the transaction after the next batch Poll
	// returns: that batch's records, and the transaction's before them,
	// are dropped, and their offsets are not committed.
	AbortTransaction()
	// AbortTransactionAfter aborts the transaction after record, which is
	// dropped with the rest of the transaction.
	AbortTransactionAfter(record *Record)
}

// TransactionBoundaryTask is implemented by source tasks that define
// transaction boundaries. With transaction.boundary=connector, the
// framework calls SetTransactionContext once, before Start; otherwise it
// never calls it, and the task runs without boundaries of its own.
type TransactionBoundaryTask interface {
	SetTransactionContext(tc TransactionContext)
}

// KeyTransactionBoundary is the connector config key that says where a
// source task's transactions end when it runs exactly once (Kafka
// Connect's SourceTask.TRANSACTION_BOUNDARY_CONFIG), with its values.
const (
	KeyTransactionBoundary = "transaction.boundary"

	// BoundaryPoll: one transaction per batch Poll returns (the
	// default).
	BoundaryPoll = "poll"
	// BoundaryInterval: one transaction per
	// transaction.boundary.interval.ms.
	BoundaryInterval = "interval"
	// BoundaryConnector: the task says, through its
	// TransactionContext.
	BoundaryConnector = "connector"
)
