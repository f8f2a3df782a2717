package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrClosed is returned by ReadToEnd once the log is closed.
var ErrClosed = errors.New("kafkalog: the log is closed")

// Options configure a Log.
type Options struct {
	// ClientOpts configure the log's franz-go clients: the seed brokers at
	// least, and TLS or SASL when the cluster needs them. The options the
	// log's guarantees rest on (acks, partitioner, where to read from) are
	// added after these and win.
	ClientOpts []kgo.Opt
	// Topic is the log's topic. Required.
	Topic string
	// Partitions is the partition count Open creates the topic with; 0 or
	// -1 means the broker's default (num.partitions).
	Partitions int32
	// ReplicationFactor is the replication factor Open creates the topic
	// with; 0 or -1 means the broker's default (default.replication.factor).
	ReplicationFactor int16
	// TopicConfigs are further topic configs Open creates the topic with
	// (Kafka Connect's config.storage.*, offset.storage.* and
	// status.storage.* topic settings). cleanup.policy is always compact.
	TopicConfigs map[string]string
	// Setting names the worker property that named Topic (for example
	// offset.storage.topic) and Purpose says what the topic keeps (for
	// example "source connector offsets"). Both only word messages.
	Setting, Purpose string
	// Logger receives the log's and its Kafka clients' warnings; nil
	// discards them.
	Logger *slog.Logger
	// ReadCommitted reads only records of committed transactions (and
	// those written outside transactions), and ReadToEnd waits for the
	// last stable offset rather than the high watermark: Kafka Connect's
	// isolation.level=read_committed for logs written transactionally.
	ReadCommitted bool
	// TransactionalID, when set, is the transactional id SendTransactional
	// writes with (Kafka Connect's fencable config topic writer).
	TransactionalID string
}

// Message is one record to append: a nil Value is a tombstone.
type Message struct {
	Key, Value []byte
}

// Log is an open compacted topic. Its methods are safe for concurrent
// use. The apply callback given to Open runs on the log's own reader
// goroutine, one record at a time.
type Log struct {
	topic    string
	nparts   int32
	logger   *slog.Logger
	apply    func(*kgo.Record)
	producer *kgo.Client // also the admin client
	consumer *kgo.Client
	adm      *kadm.Client

	ctx       context.Context // ends when the log is closed
	cancel    context.CancelFunc
	done      chan struct{} // closed when the reader goroutine has returned
	closeOnce sync.Once

	mu       sync.Mutex
	next     []int64       // per partition: the offset after the last record handed to apply
	progress chan struct{} // closed and replaced whenever next moves
	fetchErr error         // the reader's last fetch error since it last made progress

	endsMu      sync.Mutex
	endsNext    *endsLookup // the lookup callers wait for that has not started yet
	endsRunning bool        // a goroutine runs lookups (runEnds)

	readCommitted bool
	baseOpts      []kgo.Opt
	txnID         string
	txnMu         sync.Mutex  // serialises transactional writes
	txnProducer   *kgo.Client // nil until claimed, and after it was fenced
}

// Open opens the log: it makes sure the topic exists, starts the reader
// and returns once the reader has handed every record that was in the
// topic to apply. ctx bounds only the opening; Close ends the log.
//
// apply is called on the log's reader goroutine, one record at a time, in
// offset order within each partition (partitions interleave), including
// tombstones (a nil Value) and excluding transaction markers. It must not
// block for long, and must not call ReadToEnd: ReadToEnd waits for the
// reader, which is waiting for apply.
func Open(ctx context.Context, o Options, apply func(*kgo.Record)) (*Log, error) {
	if o.Topic == "" {
		return nil, fmt.Errorf("kafkalog: no topic given; set %s", settingName(o))
	}
	if o.Partitions == 0 {
		o.Partitions = -1
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = -1
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("topic", o.Topic)
	base := append([]kgo.Opt{kgo.WithLogger(newKgoLogger(logger))}, o.ClientOpts...)

	producer, err := kgo.NewClient(append(base,
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2, as Kafka's producer
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafkalog: %s: %w", o.Topic, err)
	}
	l := &Log{
		readCommitted: o.ReadCommitted,
		baseOpts:      base,
		txnID:         o.TransactionalID,
		topic:         o.Topic,
		logger:        logger,
		apply:         apply,
		producer:      producer,
		adm:           kadm.NewClient(producer),
		done:          make(chan struct{}),
		progress:      make(chan struct{}),
	}
	if err := l.ensureTopic(ctx, o); err != nil {
		producer.Close()
		return nil, err
	}
	if l.nparts, err = l.partitionCount(ctx); err != nil {
		producer.Close()
		return nil, err
	}
	// Like Kafka Connect, read the partitions the topic has now; partitions
	// added later are not read.
	start := make(map[int32]kgo.Offset, l.nparts)
	for p := range l.nparts {
		start[p] = kgo.NewOffset().AtStart()
	}
	l.consumer, err = kgo.NewClient(append(base,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: start}),
		// Fell below the log start (compaction or retention removed what
		// was next): franz-go resumes at the log start. The broker lost
		// data past our position: read the whole log again.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		isolation(o.ReadCommitted),
		// Transaction markers take offsets too; seeing them lets the
		// reader's position reach the end offset.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		producer.Close()
		return nil, fmt.Errorf("kafkalog: %s: %w", o.Topic, err)
	}
	l.next = make([]int64, l.nparts)
	rctx, cancel := context.WithCancel(context.Background())
	l.ctx, l.cancel = rctx, cancel
	go l.read(rctx)
	if err := l.ReadToEnd(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Topic returns the log's topic.
func (l *Log) Topic() string { return l.topic }

// Partitions returns how many partitions the log reads: those the topic
// had when it was opened.
func (l *Log) Partitions() int32 { return l.nparts }

// read is the reader goroutine: it hands every fetched record to apply and
// then records the progress that ReadToEnd waits for.
func (l *Log) read(ctx context.Context) {
	defer close(l.done)
	for {
		fs := l.consumer.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(_ string, p int32, err error) {
			// franz-go retries everything retryable by itself; what reaches
			// here (data loss it recovered from, authorization) is worth a
			// warning, and ReadToEnd reports it if it has to give up.
			l.logger.Warn("kafkalog: reading failed; retrying", "partition", p, "err", err)
			l.mu.Lock()
			l.fetchErr = fmt.Errorf("partition %d: %w", p, err)
			l.mu.Unlock()
		})
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 {
				return
			}
			for _, r := range fp.Records {
				if !r.Attrs.IsControl() {
					l.apply(r)
				}
			}
			l.advance(fp.Partition, fp.Records[len(fp.Records)-1].Offset+1)
		})
	}
}

func (l *Log) advance(p int32, next int64) {
	if p < 0 || p >= l.nparts {
		return
	}
	l.mu.Lock()
	l.next[p] = next
	l.fetchErr = nil
	close(l.progress)
	l.progress = make(chan struct{})
	l.mu.Unlock()
}

// ReadToEnd returns once apply has been called for every record the topic
// held when ReadToEnd was called, by this process or any other; ctx bounds
// the wait.
//
// It asks the brokers for each partition's end offset and then waits for
// the reader to hand over the record before it. That record exists to be
// read: Kafka never compacts the newest batch of a partition, and
// transaction markers are counted too. A partition whose log start has
// reached its end (all records deleted) has nothing to wait for.
func (l *Log) ReadToEnd(ctx context.Context) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	want, err := l.endOffsets(ctx)
	if err != nil {
		return err
	}
	for {
		l.mu.Lock()
		caughtUp := true
		for p, end := range want {
			if l.next[p] < end {
				caughtUp = false
				break
			}
		}
		progress, ferr := l.progress, l.fetchErr
		l.mu.Unlock()
		if caughtUp {
			return nil
		}
		select {
		case <-progress:
		case <-l.done:
			return ErrClosed
		case <-ctx.Done():
			if ferr != nil {
				return fmt.Errorf("kafkalog: read %s to its end: %w (the last read failed: %w)", l.topic, ctx.Err(), ferr)
			}
			return fmt.Errorf("kafkalog: read %s to its end: %w", l.topic, ctx.Err())
		}
	}
}

// Send appends one record and returns once all in-sync replicas have it.
// A nil value is a tombstone.
func (l *Log) Send(ctx context.Context, key, value []byte) error {
	return l.SendAll(ctx, Message{Key: key, Value: value})
}

// SendAll appends msgs and returns once all in-sync replicas have every one
// of them. Messages that land in the same partition keep their order
// (the producer is idempotent); if it fails, any prefix of msgs may have
// been written.
func (l *Log) SendAll(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Topic: l.topic, Key: m.Key, Value: m.Value}
	}
	if err := l.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("kafkalog: write to %s: %w", l.topic, err)
	}
	return nil
}

// Close stops the reader, waiting for a running apply to return, and
// closes the log's clients. Sends still in flight fail. It is safe to call
// more than once. With the brokers unreachable it takes about a second:
// the clients' goodbyes to the brokers (fetch session, client metrics)
// wait that long before giving up.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		<-l.done
		var wg sync.WaitGroup
		for _, cl := range []*kgo.Client{l.consumer, l.producer} {
			wg.Go(cl.Close)
		}
		l.txnMu.Lock()
		if l.txnProducer != nil {
			wg.Go(l.txnProducer.Close)
			l.txnProducer = nil
		}
		l.txnMu.Unlock()
		wg.Wait()
	})
	return nil
}

func settingName(o Options) string {
	if o.Setting != "" {
		return o.Setting
	}
	return "the topic"
}

func isolation(committed bool) kgo.Opt {
	if committed {
		return kgo.FetchIsolationLevel(kgo.ReadCommitted())
	}
	return kgo.FetchIsolationLevel(kgo.ReadUncommitted())
}

// ErrNoTransactionalID is returned by the transactional methods of a log
// opened without Options.TransactionalID.
var ErrNoTransactionalID = errors.New("kafkalog: the log has no transactional id")

// ClaimWrites makes this process the log's transactional writer: it starts
// a producer with the log's transactional id and initialises it, which
// fences any other producer with the same id (a former leader) out of
// writing to the log. A log already claimed keeps its producer.
func (l *Log) ClaimWrites(ctx context.Context) error {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	return l.claimLocked(ctx)
}

func (l *Log) claimLocked(ctx context.Context) error {
	if l.txnID == "" {
		return ErrNoTransactionalID
	}
	if l.txnProducer != nil {
		return nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(l.baseOpts),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.TransactionalID(l.txnID),
		kgo.TransactionTimeout(60*time.Second),
	)...)
	if err != nil {
		return fmt.Errorf("kafkalog: %s: transactional writer: %w", l.topic, err)
	}
	// Initialising the producer id now fences a former writer with the
	// same id at once, rather than at this writer's first write.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return fmt.Errorf("kafkalog: %s: initialise transactional writer %s: %w", l.topic, l.txnID, err)
	}
	l.txnProducer = cl
	return nil
}

// ReleaseWrites closes the transactional writer, if there is one.
func (l *Log) ReleaseWrites() {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	if l.txnProducer != nil {
		l.txnProducer.Close()
		l.txnProducer = nil
	}
}

// ErrNotClaimed is returned by SendTransactional when this process holds
// no transactional writer: it never claimed one, or another process
// claimed it since.
var ErrNotClaimed = errors.New("kafkalog: this process is not the log's transactional writer (ClaimWrites)")

// Claimed reports whether this process holds the log's transactional
// writer (as far as it knows: another may have fenced it since).
func (l *Log) Claimed() bool {
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	return l.txnProducer != nil
}

// SendTransactional appends msgs in one transaction with the log's
// transactional writer and returns once the transaction is committed: all
// of msgs are in the log, or none. Without a claimed writer it returns
// ErrNotClaimed; a writer that was fenced out by another is let go, so
// the process must claim again (ClaimWrites) to write.
func (l *Log) SendTransactional(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	l.txnMu.Lock()
	defer l.txnMu.Unlock()
	if l.txnProducer == nil {
		return ErrNotClaimed
	}
	cl := l.txnProducer
	fail := func(err error) error {
		cl.Close()
		l.txnProducer = nil
		return fmt.Errorf("kafkalog: transactional write to %s as %s: %w", l.topic, l.txnID, err)
	}
	if err := cl.BeginTransaction(); err != nil {
		return fail(err)
	}
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Topic: l.topic, Key: m.Key, Value: m.Value}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		_ = cl.EndTransaction(ctx, kgo.TryAbort)
		return fail(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fail(err)
	}
	return nil
}
