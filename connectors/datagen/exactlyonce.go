package datagen

import "github.com/connectd/connectd/framework/connect"

// ExactlyOnceSupport implements connect.ExactlyOnceSourceConnector: a task
// resumes at the seq after its committed offset and generates the same
// records from there, so with the worker's transactions every record is
// written exactly once.
func (c *connector) ExactlyOnceSupport(map[string]string) connect.ExactlyOnceSupport {
	return connect.ExactlyOnceSupported
}

// CanDefineTransactionBoundaries implements
// connect.TransactionBoundaryConnector: with transaction.boundary=connector
// a task ends a transaction after every batch.size records of its
// sequence, whichever polls they come in, and after its last record.
func (c *connector) CanDefineTransactionBoundaries(map[string]string) connect.TransactionBoundarySupport {
	return connect.TransactionBoundariesSupported
}

// SetTransactionContext implements connect.TransactionBoundaryTask.
func (t *SourceTask) SetTransactionContext(tc connect.TransactionContext) { t.txn = tc }

// markBoundaries asks for a commit after each record of recs (seq first
// onwards) that ends a batch.size stretch of the sequence or the task's
// share.
func (t *SourceTask) markBoundaries(recs []*connect.Record, first int64) {
	if t.txn == nil {
		return
	}
	size := int64(t.cfg.batchSize)
	for i, r := range recs {
		seq := first + int64(i)
		if (seq+1)%size == 0 || t.cfg.records > 0 && seq+1 == t.cfg.records {
			t.txn.CommitTransactionAfter(r)
		}
	}
}
