package connect_test

import (
	"context"
	"fmt"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// A struct schema and a value of it, as a source task would build them.
func ExampleNewStruct() {
	schema := connect.StructSchema().Name("com.example.Order").
		Field("id", connect.Int64Schema).
		Field("amount", connect.DecimalSchema(2).Build()).
		Field("note", connect.OptionalString).
		Build()
	amount, _ := connect.ParseDecimal("19.99")
	order := connect.NewStruct(schema).Put("id", int64(7)).Put("amount", amount)
	fmt.Println(order.Validate(), order.Get("amount"), order.Get("note"))
	// Output: <nil> 19.99 <nil>
}

// A config definition drives parsing, validation and the REST API's docs.
func ExampleConfigDef() {
	def := connect.NewConfigDef(
		connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "Topic to write to."},
		connect.ConfigKey{Name: "poll.interval.ms", Type: connect.TypeLong, Default: "1000", Validator: connect.AtLeast(10), Doc: "How often to look for new data."},
	)
	_, err := def.Parse(map[string]string{"poll.interval.ms": "5"})
	fmt.Println(err)
	cfg, _ := def.Parse(map[string]string{"topic": "orders"})
	fmt.Println(cfg.String("topic"), cfg.Long("poll.interval.ms"))
	// Output:
	// Invalid value 5 for configuration poll.interval.ms: Value must be at least 10; Missing required configuration "topic" which has no default value.
	// orders 1000
}

// ticker is a minimal source connector: one task that emits a counter,
// resuming after the last committed value.
type ticker struct{ cfg map[string]string }

func (c *ticker) Config() *connect.ConfigDef {
	return connect.NewConfigDef(connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Doc: "Topic."})
}
func (c *ticker) Start(_ context.Context, cfg map[string]string) error { c.cfg = cfg; return nil }
func (c *ticker) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	return []map[string]string{c.cfg}, nil
}
func (c *ticker) Stop(context.Context) error  { return nil }
func (c *ticker) NewTask() connect.SourceTask { return &tickerTask{} }

type tickerTask struct {
	topic string
	next  int64
}

var tickerPartition = map[string]any{"ticker": "main"}

func (t *tickerTask) Start(_ context.Context, cfg map[string]string, offsets connect.OffsetReader) error {
	t.topic = cfg["topic"]
	if off := offsets.Offset(tickerPartition); off != nil {
		t.next = off["n"].(int64) + 1
	}
	return nil
}

func (t *tickerTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(time.Millisecond):
	}
	r := &connect.Record{
		Topic: t.topic, Partition: -1,
		ValueSchema: connect.Int64Schema, Value: t.next,
		SourcePartition: tickerPartition, SourceOffset: map[string]any{"n": t.next},
	}
	t.next++
	return []*connect.Record{r}, nil
}

func (t *tickerTask) Stop(context.Context) error { return nil }

type storedOffsets map[string]any

func (s storedOffsets) Offset(map[string]any) map[string]any { return s }

// How the framework drives a source task: start it with the stored
// offsets, poll, stop. A connector package serves its plugin with
// plugin.Serve and tests it with connecttest.Source.
func ExampleSourceTask() {
	var conn connect.SourceConnector = &ticker{}
	ctx := context.Background()
	conn.Start(ctx, map[string]string{"topic": "ticks"})
	cfgs, _ := conn.TaskConfigs(ctx, 1)
	task := conn.NewTask()
	task.Start(ctx, cfgs[0], storedOffsets{"n": int64(41)}) // resumes after 41
	recs, _ := task.Poll(ctx)
	fmt.Println(recs[0].Topic, recs[0].Value, recs[0].SourceOffset)
	task.Stop(ctx)
	// Output: ticks 42 map[n:42]
}

// A sink task whose writes finish out of order (concurrent requests)
// answers PreCommit from PendingOffsets: each partition is durable up to its
// first record still in flight.
func ExamplePendingOffsets() {
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	var pending connect.PendingOffsets
	for offset := int64(10); offset < 15; offset++ {
		pending.Add(tp, offset) // Put sent records 10..14 in two requests
	}
	for _, offset := range []int64{12, 13, 14, 10} {
		pending.Done(tp, offset) // the second request, then part of the first, acknowledged
	}
	// The worker asks with the offset after the last record put.
	fmt.Println(pending.Committable(map[connect.TopicPartition]int64{tp: 15})[tp], pending.Len())
	pending.Done(tp, 11)
	fmt.Println(pending.Committable(map[connect.TopicPartition]int64{tp: 15})[tp], pending.Len())
	// Output:
	// 11 1
	// 15 0
}

// ledgerTask reads a ledger whose entries belong to business transactions;
// with transaction.boundary=connector it ends each Kafka transaction where
// a business transaction ends, so a read_committed consumer never sees
// half of one.
type ledgerTask struct {
	txn     connect.TransactionContext // nil unless boundaries are the task's
	entries []ledgerEntry
}

type ledgerEntry struct {
	seq  int64
	last bool // the last entry of its business transaction
}

// SetTransactionContext is called before Start, only with
// transaction.boundary=connector.
func (t *ledgerTask) SetTransactionContext(tc connect.TransactionContext) { t.txn = tc }

func (t *ledgerTask) poll() []*connect.Record {
	var out []*connect.Record
	for _, e := range t.entries {
		r := &connect.Record{Topic: "ledger", Partition: -1, ValueSchema: connect.Int64Schema, Value: e.seq,
			SourcePartition: map[string]any{"ledger": "main"}, SourceOffset: map[string]any{"seq": e.seq}}
		out = append(out, r)
		if e.last && t.txn != nil {
			t.txn.CommitTransactionAfter(r)
		}
	}
	return out
}

// printTxn prints the requests a task makes.
type printTxn struct{}

func (printTxn) CommitTransaction() { fmt.Println("commit after the next batch") }
func (printTxn) AbortTransaction()  { fmt.Println("abort after the next batch") }
func (printTxn) CommitTransactionAfter(r *connect.Record) {
	fmt.Println("commit after", r.Value)
}
func (printTxn) AbortTransactionAfter(r *connect.Record) { fmt.Println("abort after", r.Value) }

// A source task that defines its own transaction boundaries.
func ExampleTransactionContext() {
	t := &ledgerTask{entries: []ledgerEntry{{1, false}, {2, true}, {3, false}, {4, false}, {5, true}}}
	var _ connect.TransactionBoundaryTask = t
	t.SetTransactionContext(printTxn{})
	t.poll()
	// Output:
	// commit after 2
	// commit after 5
}
