package plugin

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// forgetSource's task returns recs from its first Poll, then nothing; it
// forgets the partitions in forget after the first Poll, and asks for a
// transaction commit at every Poll when commit is set.
type forgetSource struct {
	fixedSource
	forget []map[string]any
	commit bool
}

func (f *forgetSource) NewTask() connect.SourceTask {
	return &forgetTask{fixedTask: fixedTask{f: &f.fixedSource}, s: f}
}

type forgetTask struct {
	fixedTask
	s   *forgetSource
	txn connect.TransactionContext
}

func (t *forgetTask) SetTransactionContext(c connect.TransactionContext) { t.txn = c }

func (t *forgetTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.s.commit {
		t.txn.CommitTransaction()
	}
	return t.fixedTask.Poll(ctx)
}

func (t *forgetTask) ForgetOffsets() []map[string]any {
	f := t.s.forget
	t.s.forget = nil
	return f
}

// TestForgottenPartitionsEndTheBatch: a forgotten partition crosses the
// boundary after the batch's records as a dropped record with the null
// offset, and a transaction the task ends with the batch ends after it,
// so the tombstone is committed with the records before it.
func TestForgottenPartitionsEndTheBatch(t *testing.T) {
	gone := map[string]any{"file": "a"}
	type out struct {
		Dropped      bool
		Txn          TxnRequest
		Partition    string
		SourceOffset string
	}
	for _, tc := range []struct {
		name   string
		recs   []*connect.Record
		commit bool
		want   []out
	}{
		{"records", numbered("x", "y"), false, []out{
			{Txn: TxnNone, Partition: `{"p":"0"}`},
			{Txn: TxnNone, Partition: `{"p":"0"}`, SourceOffset: `{"n":1}`},
			{Dropped: true, Txn: TxnNone, Partition: `{"file":"a"}`, SourceOffset: "null"},
		}},
		{"records, commit", numbered("x", "y"), true, []out{
			{Txn: TxnNone, Partition: `{"p":"0"}`},
			{Txn: TxnNone, Partition: `{"p":"0"}`, SourceOffset: `{"n":1}`},
			{Dropped: true, Txn: TxnCommit, Partition: `{"file":"a"}`, SourceOffset: "null"},
		}},
		{"no records, commit", nil, true, []out{
			{Dropped: true, Txn: TxnCommit, Partition: `{"file":"a"}`, SourceOffset: "null"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &forgetSource{fixedSource: fixedSource{recs: tc.recs}, forget: []map[string]any{gone}, commit: tc.commit}
			l := NewLocal(Plugin{Name: "forget", NewSource: func() connect.SourceConnector { return f }})
			cfg := map[string]string{
				"key.converter": "org.apache.kafka.connect.storage.StringConverter", "value.converter": "org.apache.kafka.connect.storage.StringConverter",
				connect.KeyTransactionBoundary: connect.BoundaryConnector,
			}
			if err := l.SourceStart(context.Background(), cfg, nil); err != nil {
				t.Fatal(err)
			}
			recs, err := l.SourcePoll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []out
			for _, r := range recs {
				got = append(got, out{Dropped: r.Dropped, Txn: r.Txn, Partition: string(r.SourcePartition), SourceOffset: string(r.SourceOffset)})
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("polled (-want +got):\n%s", d)
			}
		})
	}
}
