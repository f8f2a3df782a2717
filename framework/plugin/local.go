package plugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// local runs a plugin in this process. It is both the in-process Client and
// what a plugin process serves over gRPC.
type local struct {
	p Plugin

	mu        sync.Mutex
	connector connect.Connector
	source    connect.SourceTask
	sink      connect.SinkTask
	conv      *converters.Set
	className string
	never     chan struct{}

	// The encoding of the source partition map seen last: tasks nearly
	// always hand the same map with every record of a partition, and the
	// SDK asks them not to change a map once handed over.
	lastPart    map[string]any
	lastPartEnc []byte
}

// NewLocal returns a Client that runs p in this process.
func NewLocal(p Plugin) Client {
	return &local{p: p, className: p.Name, never: make(chan struct{})}
}

func (l *local) Info(context.Context) (Info, error) {
	return Info{Name: l.p.Name, Kind: l.p.Kind(), Version: l.p.Version, Aliases: l.p.Aliases, Config: l.p.connector().Config()}, nil
}

func (l *local) Validate(ctx context.Context, config map[string]string) ([]connect.ConfigValue, map[string][]string, error) {
	c := l.p.connector()
	values := c.Config().Validate(config)
	var extra map[string][]string
	if v, ok := c.(connect.Validator); ok {
		extra = v.Validate(ctx, config)
	}
	return values, extra, nil
}

func (l *local) ConnectorStart(ctx context.Context, config map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.connector != nil {
		return errors.New("plugin: connector already started")
	}
	c := l.p.connector()
	if err := c.Start(ctx, config); err != nil {
		return err
	}
	l.connector = c
	return nil
}

func (l *local) TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error) {
	l.mu.Lock()
	c := l.connector
	l.mu.Unlock()
	if c == nil {
		return nil, errors.New("plugin: connector not started")
	}
	return c.TaskConfigs(ctx, maxTasks)
}

func (l *local) ConnectorStop(ctx context.Context) error {
	l.mu.Lock()
	c := l.connector
	l.connector = nil
	l.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Stop(ctx)
}

func (l *local) SourceStart(ctx context.Context, config map[string]string, offsets []connect.SourceOffset) error {
	if l.p.NewSource == nil {
		return fmt.Errorf("plugin: %s is not a source connector", l.p.Name)
	}
	conv, err := converters.FromConfig(config, nil)
	if err != nil {
		return err
	}
	om, err := newOffsetMap(offsets)
	if err != nil {
		return err
	}
	task := l.p.NewSource().NewTask()
	if err := task.Start(ctx, config, om); err != nil {
		return err
	}
	l.mu.Lock()
	l.source, l.conv = task, conv
	l.mu.Unlock()
	return nil
}

func (l *local) SourcePoll(ctx context.Context) ([]Record, error) {
	recs, err := l.source.Poll(ctx)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		l.fromConnect(r, &out[i])
	}
	l.encodeOffsets(recs, out)
	return out, nil
}

// encodeOffsets sets the source offset of the newest record of each source
// partition in the batch. The worker commits a batch's records of one
// partition together, once all are acknowledged, at the newest offset
// among them: encoding the older offsets would be wasted work.
func (l *local) encodeOffsets(recs []*connect.Record, out []Record) {
	var seen [][]byte
	for i := len(out) - 1; i >= 0; i-- {
		part := out[i].SourcePartition
		if part == nil {
			continue
		}
		done := false
		for _, p := range seen {
			if string(p) == string(part) {
				done = true
				break
			}
		}
		if done {
			continue
		}
		seen = append(seen, part)
		off, err := EncodeMap(recs[i].SourceOffset)
		if err != nil && out[i].Err == nil {
			out[i].Err = NewRecordError(StagePoll, l.className, err)
		}
		out[i].SourceOffset = off
	}
}

// fromConnect converts one source record; a failure is recorded in w.Err.
func (l *local) fromConnect(r *connect.Record, w *Record) {
	w.Topic, w.Partition = r.Topic, r.Partition
	if !r.Timestamp.IsZero() {
		w.TimestampMs = r.Timestamp.UnixMilli()
	}
	var err error
	if w.SourcePartition, err = l.encodePartition(r.SourcePartition); err != nil {
		w.Err = NewRecordError(StagePoll, l.className, err)
		return
	}
	if r.Topic == "" {
		w.Err = NewRecordError(StagePoll, l.className, errors.New("record has no topic"))
		return
	}
	if w.Key, err = l.conv.Key.FromConnect(r.Topic, r.KeySchema, r.Key); err != nil {
		w.Err = NewRecordError(StageKeyConverter, fmt.Sprintf("%T", l.conv.Key), err)
		return
	}
	if w.Value, err = l.conv.Value.FromConnect(r.Topic, r.ValueSchema, r.Value); err != nil {
		w.Err = NewRecordError(StageValueConverter, fmt.Sprintf("%T", l.conv.Value), err)
		return
	}
	if len(r.Headers) > 0 {
		w.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			b, err := l.conv.Header.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
			if err != nil {
				w.Err = NewRecordError(StageHeaderConverter, fmt.Sprintf("%T", l.conv.Header), err)
				return
			}
			w.Headers[i] = Header{Key: h.Key, Value: b}
		}
	}
}

// encodePartition encodes m, reusing the last encoding when m is the very
// map encoded last time.
func (l *local) encodePartition(m map[string]any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	if l.lastPart != nil && reflect.ValueOf(m).UnsafePointer() == reflect.ValueOf(l.lastPart).UnsafePointer() && len(m) == len(l.lastPart) {
		return l.lastPartEnc, nil
	}
	b, err := EncodeMap(m)
	if err != nil {
		return nil, err
	}
	l.lastPart, l.lastPartEnc = m, b
	return b, nil
}

func (l *local) SourceCommit(ctx context.Context, offsets []connect.SourceOffset) error {
	l.mu.Lock()
	t := l.source
	l.mu.Unlock()
	if c, ok := t.(connect.Committer); ok {
		return c.Commit(ctx, offsets)
	}
	return nil
}

func (l *local) SourceStop(ctx context.Context) error {
	l.mu.Lock()
	t := l.source
	l.source = nil
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.Stop(ctx)
}

func (l *local) SinkStart(ctx context.Context, config map[string]string) error {
	if l.p.NewSink == nil {
		return fmt.Errorf("plugin: %s is not a sink connector", l.p.Name)
	}
	conv, err := converters.FromConfig(config, nil)
	if err != nil {
		return err
	}
	task := l.p.NewSink().NewTask()
	if err := task.Start(ctx, config); err != nil {
		return err
	}
	l.mu.Lock()
	l.sink, l.conv = task, conv
	l.mu.Unlock()
	return nil
}

func (l *local) SinkOpen(ctx context.Context, partitions []connect.TopicPartition) error {
	if pa, ok := l.sink.(connect.PartitionAware); ok {
		return pa.Open(ctx, partitions)
	}
	return nil
}

func (l *local) SinkClose(ctx context.Context, partitions []connect.TopicPartition) error {
	if pa, ok := l.sink.(connect.PartitionAware); ok {
		return pa.Close(ctx, partitions)
	}
	return nil
}

func (l *local) SinkPut(ctx context.Context, records []Record) ([]FailedRecord, error) {
	var failed []FailedRecord
	recs := make([]*connect.Record, 0, len(records))
	index := make([]int, 0, len(records)) // recs[i] came from records[index[i]]
	for i := range records {
		r, rerr := l.toConnect(&records[i])
		if rerr != nil {
			failed = append(failed, FailedRecord{Index: i, Err: rerr})
			continue
		}
		recs = append(recs, r)
		index = append(index, i)
	}
	if len(recs) == 0 {
		return failed, nil
	}
	err := l.sink.Put(ctx, recs)
	var be *connect.BatchError
	if errors.As(err, &be) {
		for j, e := range be.Errs {
			if j < 0 || j >= len(index) {
				return nil, fmt.Errorf("plugin: %s: batch error names record %d of %d", l.className, j, len(index))
			}
			failed = append(failed, FailedRecord{Index: index[j], Err: NewRecordError(StagePut, l.className, e)})
		}
		return failed, nil
	}
	if err != nil {
		return nil, err
	}
	return failed, nil
}

func (l *local) toConnect(w *Record) (*connect.Record, *RecordError) {
	r := &connect.Record{Topic: w.Topic, Partition: w.Partition, Offset: w.Offset}
	if w.TimestampMs != 0 {
		r.Timestamp = time.UnixMilli(w.TimestampMs)
	}
	var err error
	if r.KeySchema, r.Key, err = l.conv.Key.ToConnect(w.Topic, w.Key); err != nil {
		return nil, NewRecordError(StageKeyConverter, fmt.Sprintf("%T", l.conv.Key), err)
	}
	if r.ValueSchema, r.Value, err = l.conv.Value.ToConnect(w.Topic, w.Value); err != nil {
		return nil, NewRecordError(StageValueConverter, fmt.Sprintf("%T", l.conv.Value), err)
	}
	if len(w.Headers) > 0 {
		r.Headers = make([]connect.Header, len(w.Headers))
		for i, h := range w.Headers {
			s, v, err := l.conv.Header.ToConnectHeader(w.Topic, h.Key, h.Value)
			if err != nil {
				return nil, NewRecordError(StageHeaderConverter, fmt.Sprintf("%T", l.conv.Header), err)
			}
			r.Headers[i] = connect.Header{Key: h.Key, Schema: s, Value: v}
		}
	}
	return r, nil
}

func (l *local) SinkFlush(ctx context.Context, offsets map[connect.TopicPartition]int64) error {
	return l.sink.Flush(ctx, offsets)
}

func (l *local) SinkStop(ctx context.Context) error {
	l.mu.Lock()
	t := l.sink
	l.sink = nil
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.Stop(ctx)
}

func (l *local) Close() error            { return nil }
func (l *local) Exited() <-chan struct{} { return l.never }
func (l *local) ExitErr() error          { return nil }
