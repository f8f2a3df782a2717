package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/connectd/connectd/framework/connect"
	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// remote is the worker's Client for a plugin process.
type remote struct {
	rpc  pb.PluginClient
	pc   *goplugin.Client
	data *os.File // the worker's end of the data channel

	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup

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

func newRemote(rpc pb.PluginClient, pc *goplugin.Client, data *os.File, exitErr func() error) *remote {
	r := &remote{rpc: rpc, pc: pc, data: data, exited: make(chan struct{}), stop: make(chan struct{})}
	if pc != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-r.stop:
					return
				case <-t.C:
					if pc.Exited() {
						r.exitErr = exitErr()
						close(r.exited)
						return
					}
				}
			}
		}()
	}
	return r
}

// wrap decodes a call's error: the task's own (retriable or not), or the
// process being gone.
func (r *remote) wrap(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-r.exited:
		return fmt.Errorf("%w: %v", ErrPluginExited, r.exitErr)
	default:
	}
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
	case codes.Unavailable:
		// The connection broke: most likely the process is dying. Give
		// the exit watcher a moment to tell.
		select {
		case <-r.exited:
			return fmt.Errorf("%w: %v", ErrPluginExited, r.exitErr)
		case <-time.After(500 * time.Millisecond):
			return fmt.Errorf("%w: %s", ErrPluginExited, st.Message())
		}
	}
	return errors.New(st.Message())
}

func (r *remote) Info(ctx context.Context) (Info, error) {
	resp, err := r.rpc.Info(ctx, &pb.Empty{})
	if err != nil {
		return Info{}, r.wrap(err)
	}
	return Info{Name: resp.Name, Kind: Kind(resp.Kind), Version: resp.Version, Aliases: resp.Aliases, Config: fromPBConfigDef(resp.Config)}, nil
}

func (r *remote) Validate(ctx context.Context, config map[string]string) ([]connect.ConfigValue, map[string][]string, error) {
	resp, err := r.rpc.Validate(ctx, &pb.Config{Values: config})
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
	_, err := r.rpc.ConnectorStart(ctx, &pb.Config{Values: config})
	return r.wrap(err)
}

func (r *remote) TaskConfigs(ctx context.Context, maxTasks int) ([]map[string]string, error) {
	resp, err := r.rpc.ConnectorTaskConfigs(ctx, &pb.TaskConfigsRequest{MaxTasks: int32(maxTasks)})
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
	_, err := r.rpc.ConnectorStop(ctx, &pb.Empty{})
	return r.wrap(err)
}

func (r *remote) SourceStart(ctx context.Context, config map[string]string, offsets []connect.SourceOffset) error {
	pbo, err := toPBOffsets(offsets)
	if err != nil {
		return err
	}
	if _, err := r.rpc.SourceStart(ctx, &pb.SourceStartRequest{Config: &pb.Config{Values: config}, Offsets: pbo}); err != nil {
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
		_, err := r.rpc.SourcePoll(sctx, &pb.Empty{})
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
				// The channel broke: the process is most likely gone.
				select {
				case <-r.exited:
					err = fmt.Errorf("%w: %v", ErrPluginExited, r.exitErr)
				case <-time.After(time.Second):
					err = fmt.Errorf("%w: data channel: %v", ErrPluginExited, err)
				}
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
	_, err = r.rpc.SourceCommit(ctx, &pb.Offsets{Offsets: pbo})
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
	_, err := r.rpc.SourceStop(ctx, &pb.Empty{})
	return r.wrap(err)
}

func (r *remote) SinkStart(ctx context.Context, config map[string]string) error {
	_, err := r.rpc.SinkStart(ctx, &pb.Config{Values: config})
	return r.wrap(err)
}

func (r *remote) SinkOpen(ctx context.Context, partitions []connect.TopicPartition) error {
	_, err := r.rpc.SinkOpen(ctx, toPBPartitions(partitions))
	return r.wrap(err)
}

func (r *remote) SinkClose(ctx context.Context, partitions []connect.TopicPartition) error {
	_, err := r.rpc.SinkClose(ctx, toPBPartitions(partitions))
	return r.wrap(err)
}

func (r *remote) SinkPut(ctx context.Context, records []Record) ([]FailedRecord, error) {
	resp, err := r.rpc.SinkPut(ctx, &pb.RecordBatch{Packed: packRecords(records)})
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
	resp, err := r.rpc.SinkFlush(ctx, req)
	if err != nil {
		return nil, r.wrap(err)
	}
	if !resp.PreCommit {
		return offsets, nil
	}
	return fromPBPartitionOffsets(resp.Committable), nil
}

func (r *remote) SinkStop(ctx context.Context) error {
	_, err := r.rpc.SinkStop(ctx, &pb.Empty{})
	return r.wrap(err)
}

// Close ends the plugin process (gracefully, then by force) and waits for
// the client's goroutines.
func (r *remote) Close() error {
	r.cancelPoll()
	r.stopOnce.Do(func() { close(r.stop) })
	if r.pc != nil {
		r.pc.Kill()
	}
	r.wg.Wait()
	return nil
}

func (r *remote) Exited() <-chan struct{} { return r.exited }
func (r *remote) ExitErr() error          { return r.exitErr }
