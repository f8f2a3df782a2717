package datagen

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// txnRecorder is a connect.TransactionContext that records which records'
// seqs a transaction is to end after.
type txnRecorder struct{ after []int64 }

func (r *txnRecorder) CommitTransaction() {}
func (r *txnRecorder) AbortTransaction()  {}
func (r *txnRecorder) CommitTransactionAfter(rec *connect.Record) {
	r.after = append(r.after, rec.SourceOffset[OffsetSeq].(int64))
}
func (r *txnRecorder) AbortTransactionAfter(*connect.Record) {}

func TestExactlyOnceDeclarations(t *testing.T) {
	t.Parallel()
	c := NewSource()
	if got := c.(connect.ExactlyOnceSourceConnector).ExactlyOnceSupport(nil); got != connect.ExactlyOnceSupported {
		t.Errorf("ExactlyOnceSupport = %s", got)
	}
	if got := c.(connect.TransactionBoundaryConnector).CanDefineTransactionBoundaries(nil); got != connect.TransactionBoundariesSupported {
		t.Errorf("CanDefineTransactionBoundaries = %s", got)
	}
}

// With transaction.boundary=connector, a task ends a transaction after
// every batch.size records of its sequence and after its last record,
// whatever its polls return.
func TestTransactionBoundariesFollowTheSequence(t *testing.T) {
	t.Parallel()
	task := &SourceTask{}
	rec := &txnRecorder{}
	task.SetTransactionContext(rec)
	cfg := map[string]string{"batch.size": "4", "count": "10", "schema": "string"}
	if err := task.Start(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	for !task.Done() {
		if _, err := task.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int64{3, 7, 9}, rec.after); diff != "" {
		t.Fatalf("transaction ends (-want +got):\n%s", diff)
	}
}
