package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/connectd/connectd/framework/connect"
	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// remote is the worker's Client for an instance in a plugin process.
type remote struct {
	host *Host
	rpc  pb.PluginClient
	id   uint64   // the instance; 0 for the default instance
	md   string   // id as the instanceKey metadata value
	data *os.File // the worker's end of the instance's data channel
	// sink carries sink batches on the data channel, when the plugin
	// takes them there; nil: SinkPut over gRPC.
	sink *sinkSender
	// ownsHost: closing the instance ends the process (Launch).
	ownsHost bool

	closeOnce sync.Once
	wg        sync.WaitGroup

	pollMu     sync.Mutex
	pollCancel context.CancelFunc
	batches    chan []Record
	pollErr    chan error
	frames     *frameReader // the data channel's reader, once polling
}

// Recycler is implemented by Clients whose source batches alias buffers
// they can reuse. Once nothing refers to a batch SourcePoll returned, its
// records or their bytes (every record produced and acknowledged), the
// worker may hand it back with Recycle; the Client then overwrites it. A
// batch that is not handed back is left to the garbage collector.
type Recycler interface {
	Recycle(batch []Record)
}

var _ Recycler = (*remote)(nil)

// Recycle implements Recycler.
func (r *remote) Recycle(batch []Record) {
	r.pollMu.Lock()
	fr := r.frames
	r.pollMu.Unlock()
	if fr != nil {
		fr.recycle(batch)
	}
}

func newRemote(h *Host, id uint64, data *os.File, sinkChannel bool) *remote {
	r := &remote{host: h, rpc: h.rpc, id: id, md: formatID(id), data: data}
	if sinkChannel {
		r.sink = newSinkSender(data, r.broken)
	}
	return r
}

// ctx names the instance in the call's metadata.
func (r *remote) ctx(ctx context.Context) context.Context {
	if r.id == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, instanceKey, r.md)
}

// exited is closed when the process ends.
func (r *remote) exited() <-chan struct{} { return r.host.exited }

// broken turns the error that ended a data channel into the call's error:
// the process is most likely gone.
func (r *remote) broken(err error) error {
	select {
	case <-r.exited():
		return fmt.Errorf("%w: %v", ErrPluginExited, r.host.exitErr)
	case <-time.After(time.Second):
		return fmt.Errorf("%w: data channel: %v", ErrPluginExited, err)
	}
}

// wrap decodes a call's error: the task's own (retriable or not), or the
// process being gone.
func (r *remote) wrap(err error) error {
	if err == nil {
		return nil
	}
	err = r.host.wrap(err)
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Aborted:
		return connect.Retriable(errors.New(st.Message()))
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return errors.New(st.Message())
}

func (r *remote) Info(ctx context.Context) (Info, error) {
	resp, err := r.rpc.Info(r.ctx(ctx), &pb.Empty{})
	if err != nil {
		return Info{}, r.wrap(err)
	}
	return Info{Name: resp.Name, Kind: Kind(resp.Kind), Version: resp.Version, Aliases: resp.Aliases, Config: fromPBConfigDef(resp.Config)}, nil
}

func (r *remote) Validate(ctx context.Context, config map[string]string) ([]connect.ConfigValue, map[string][]string, error) {
	resp, err := r.rpc.Validate(r.ctx(ctx), &pb.Config{Values: config})
	if err != nil {
		return nil, nil, r.wrap(err)
	}
	out := make([]connect.ConfigValue, 0, len(resp.Values))
	for _, v := range resp.Values {
		cv := connect.ConfigValue{Name: v.Name, Errors: v.Errors, RecommendedValues: v.Recommended, Visible: v.Visible}
		if v.HasValue {
			val := v.Value
			cv.Value = &val
		}
		out = append(out, cv)
	}
	return out, nil, nil
}

func (r *remote) ConnectorStart(ctx context.Context, config map[string]string) error {
	_, err := r.rpc.ConnectorStart(r.ctx(ctx), &pb.Config{Values: config})
	return r.wrap(err)
}

func (r *remote) TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error) {
	resp, err := r.rpc.ConnectorTaskConfigs(r.ctx(ctx), &pb.TaskConfigsRequest{MaxTasks: int32(maxTasks)})
	if err != nil {
		return nil, r.wrap(err)
	}
	out := make([]map[string]string, len(resp.Configs))
	for i, c := range resp.Configs {
		out[i] = c.Values
		if out[i] == nil {
			out[i] = map[string]string{}
		}
	}
	return out, nil
}

func (r *remote) ConnectorStop(ctx context.Context) error {
	_, err := r.rpc.ConnectorStop(r.ctx(ctx), &pb.Empty{})
	return r.wrap(err)
}

func (r *remote) SourceStart(ctx context.Context, config map[string]string, offsets []connect.SourceOffset) error {
	pbo, err := toPBOffsets(offsets)
	if err != nil {
		return err
	}
	if _, err := r.rpc.SourceStart(r.ctx(ctx), &pb.SourceStartRequest{Config: &pb.Config{Values: config}, Offsets: pbo}); err != nil {
		return r.wrap(err)
	}
	// Run the plugin's poll loop until SourceStop or Close: batches arrive
	// on the data channel, the call itself only ends.
	sctx, cancel := context.WithCancel(context.Background())
	r.pollMu.Lock()
	r.pollCancel = cancel
	r.batches = make(chan []Record, 2)
	r.pollErr = make(chan error, 1)
	r.frames = newFrameReader(r.data)
	batches, perr, frames := r.batches, r.pollErr, r.frames
	r.pollMu.Unlock()
	readDone := make(chan struct{})
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		_, err := r.rpc.SourcePoll(r.ctx(sctx), &pb.Empty{})
		if err == nil || sctx.Err() != nil {
			return
		}
		// A failed task's error arrives on the data channel after its last
		// batch; the reader reports it in order. Only if the channel says
		// nothing (the loop never ran) does the call's error stand.
		select {
		case <-readDone:
		case <-time.After(time.Second):
			setErr(perr, r.wrap(err))
		}
	}()
	go func() {
		defer close(readDone)
		r.readData(sctx, frames, batches, perr)
	}()
	return nil
}

// setErr records the first error of a poll stream; later ones are dropped.
func setErr(perr chan error, err error) {
	select {
	case perr <- err:
	default:
	}
}

// readData reads the data channel until the task's error, the channel's
// end, or cancellation.
func (r *remote) readData(ctx context.Context, fr *frameReader, batches chan []Record, perr chan error) {
	defer r.wg.Done()
	for {
		recs, err := fr.next()
		if err != nil {
			var te *taskError
			switch {
			case errors.As(err, &te):
				err = te.err
			case ctx.Err() != nil:
				err = context.Canceled
			default:
				err = r.broken(err)
			}
			setErr(perr, err)
			return
		}
		select {
		case batches <- recs:
		case <-ctx.Done():
			setErr(perr, context.Canceled)
			return
		}
	}
}

func (r *remote) SourcePoll(ctx context.Context) ([]Record, error) {
	r.pollMu.Lock()
	batches, perr := r.batches, r.pollErr
	r.pollMu.Unlock()
	if batches == nil {
		return nil, errors.New("plugin: source task not started")
	}
	select {
	case b := <-batches:
		return b, nil
	case err := <-perr:
		// The reader queues a batch before it reports the error that
		// followed it: hand out what is queued first.
		select {
		case b := <-batches:
			setErr(perr, err)
			return b, nil
		default:
		}
		setErr(perr, err) // keep answering with it
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *remote) SourceCommit(ctx context.Context, offsets []connect.SourceOffset) error {
	pbo, err := toPBOffsets(offsets)
	if err != nil {
		return err
	}
	_, err = r.rpc.SourceCommit(r.ctx(ctx), &pb.Offsets{Offsets: pbo})
	return r.wrap(err)
}

func (r *remote) cancelPoll() {
	r.pollMu.Lock()
	if r.pollCancel != nil {
		r.pollCancel()
	}
	r.pollMu.Unlock()
	// Unblocks the reader; the plugin's next write fails and its loop ends.
	r.data.Close()
}

func (r *remote) SourceStop(ctx context.Context) error {
	r.cancelPoll()
	_, err := r.rpc.SourceStop(r.ctx(ctx), &pb.Empty{})
	return r.wrap(err)
}

func (r *remote) SinkStart(ctx context.Context, config map[string]string) error {
	_, err := r.rpc.SinkStart(r.ctx(ctx), &pb.Config{Values: config})
	return r.wrap(err)
}

func (r *remote) SinkOpen(ctx context.Context, partitions []connect.TopicPartition) error {
	_, err := r.rpc.SinkOpen(r.ctx(ctx), toPBPartitions(partitions))
	return r.wrap(err)
}

func (r *remote) SinkClose(ctx context.Context, partitions []connect.TopicPartition) error {
	_, err := r.rpc.SinkClose(r.ctx(ctx), toPBPartitions(partitions))
	return r.wrap(err)
}

func (r *remote) SinkPut(ctx context.Context, records []Record) ([]FailedRecord, error) {
	if r.sink != nil {
		return r.sink.put(ctx, records)
	}
	resp, err := r.rpc.SinkPut(r.ctx(ctx), &pb.RecordBatch{Packed: packRecords(records)})
	if err != nil {
		return nil, r.wrap(err)
	}
	out := make([]FailedRecord, len(resp.Failed))
	for i, f := range resp.Failed {
		out[i] = FailedRecord{Index: int(f.Index), Err: fromPBError(f.Error)}
		if len(f.Record) > 0 {
			rs, err := unpackRecords(f.Record)
			if err != nil || len(rs) != 1 {
				return nil, fmt.Errorf("plugin: a reported record does not decode: %v", err)
			}
			out[i].Record = &rs[0]
		}
	}
	return out, nil
}

func (r *remote) SinkFlush(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	req := &pb.FlushRequest{Offsets: toPBPartitionOffsets(offsets)}
	resp, err := r.rpc.SinkFlush(r.ctx(ctx), req)
	if err != nil {
		return nil, r.wrap(err)
	}
	if !resp.PreCommit {
		return offsets, nil
	}
	return fromPBPartitionOffsets(resp.Committable), nil
}

func (r *remote) SinkStop(ctx context.Context) error {
	_, err := r.rpc.SinkStop(r.ctx(ctx), &pb.Empty{})
	return r.wrap(err)
}

// Close ends the instance (and, for a Client of Launch, its process), and
// waits for the client's goroutines.
func (r *remote) Close() error {
	r.closeOnce.Do(func() {
		r.cancelPoll()
		if r.sink != nil {
			r.sink.close()
		}
		if r.id != 0 && !r.ownsHost {
			select {
			case <-r.exited():
			default:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				r.rpc.CloseInstance(ctx, &pb.CloseInstanceRequest{Id: r.id})
				cancel()
			}
		}
		if r.ownsHost {
			r.host.Close()
		}
		r.wg.Wait()
	})
	return nil
}

func (r *remote) Exited() <-chan struct{} { return r.exited() }
func (r *remote) ExitErr() error          { return r.host.exitErr }
