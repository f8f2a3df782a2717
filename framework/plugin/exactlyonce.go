package plugin

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/connectd/connectd/framework/connect"
	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// TxnRequest is a source task's request to end its transaction after a
// record (connect.TransactionContext).
type TxnRequest uint8

const (
	// TxnNone: no request.
	TxnNone TxnRequest = iota
	// TxnCommit: commit the transaction after this record.
	TxnCommit
	// TxnAbort: abort the transaction after this record; it is dropped
	// with the rest.
	TxnAbort
)

// SourceSupport is what a source connector says of exactly-once delivery
// with a given config.
type SourceSupport struct {
	ExactlyOnce           connect.ExactlyOnceSupport
	TransactionBoundaries connect.TransactionBoundarySupport
}

func (l *local) SourceSupport(_ context.Context, config map[string]string) (SourceSupport, error) {
	var out SourceSupport
	if l.p.NewSource == nil {
		return out, nil
	}
	c := l.p.NewSource()
	if e, ok := c.(connect.ExactlyOnceSourceConnector); ok {
		out.ExactlyOnce = e.ExactlyOnceSupport(config)
	}
	if b, ok := c.(connect.TransactionBoundaryConnector); ok {
		out.TransactionBoundaries = b.CanDefineTransactionBoundaries(config)
	}
	return out, nil
}

func (r *remote) SourceSupport(ctx context.Context, config map[string]string) (SourceSupport, error) {
	resp, err := r.rpc.SourceSupport(ctx, &pb.Config{Values: config})
	if status.Code(err) == codes.Unimplemented {
		return SourceSupport{}, nil // a plugin built before the question
	}
	if err != nil {
		return SourceSupport{}, r.wrap(err)
	}
	return SourceSupport{
		ExactlyOnce:           connect.ExactlyOnceSupport(resp.ExactlyOnce),
		TransactionBoundaries: connect.TransactionBoundarySupport(resp.TransactionBoundaries),
	}, nil
}

func (s *server) SourceSupport(ctx context.Context, c *pb.Config) (*pb.SourceSupportResponse, error) {
	sup, err := s.impl.SourceSupport(ctx, c.Values)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.SourceSupportResponse{ExactlyOnce: int32(sup.ExactlyOnce), TransactionBoundaries: int32(sup.TransactionBoundaries)}, nil
}

// txnContext is the connect.TransactionContext a task defining its own
// transaction boundaries is given. Requests naming a record are matched
// when Poll returns that record; batch requests apply to the next batch.
type txnContext struct {
	mu      sync.Mutex
	batch   TxnRequest
	records map[*connect.Record]TxnRequest
}

func newTxnContext() *txnContext {
	return &txnContext{records: map[*connect.Record]TxnRequest{}}
}

func (c *txnContext) CommitTransaction() { c.setBatch(TxnCommit) }
func (c *txnContext) AbortTransaction()  { c.setBatch(TxnAbort) }
func (c *txnContext) CommitTransactionAfter(r *connect.Record) {
	c.setRecord(r, TxnCommit)
}
func (c *txnContext) AbortTransactionAfter(r *connect.Record) {
	c.setRecord(r, TxnAbort)
}

func (c *txnContext) setBatch(req TxnRequest) {
	c.mu.Lock()
	c.batch = req
	c.mu.Unlock()
}

func (c *txnContext) setRecord(r *connect.Record, req TxnRequest) {
	if r == nil {
		return
	}
	c.mu.Lock()
	c.records[r] = req
	c.mu.Unlock()
}

// take returns, for each of a polled batch's records, its request, and the
// batch request (consumed); nil when there are none.
func (c *txnContext) take(recs []*connect.Record) (per []TxnRequest, batch TxnRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch, c.batch = c.batch, TxnNone
	if len(c.records) == 0 {
		return nil, batch
	}
	for i, r := range recs {
		if req, ok := c.records[r]; ok {
			if per == nil {
				per = make([]TxnRequest, len(recs))
			}
			per[i] = req
			delete(c.records, r)
		}
	}
	return per, batch
}
