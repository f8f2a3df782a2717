package plugin

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/connectd/connectd/framework/connect"
	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// Limits of one streamed source message. A larger message amortises the
// per-message cost; these bound the plugin's read-ahead memory.
const (
	maxStreamRecords = 4096
	maxStreamBytes   = 4 << 20
	maxMessageBytes  = 256 << 20
)

// server serves a local Client over gRPC, inside the plugin process.
type server struct {
	pb.UnimplementedPluginServer
	impl Client
	data io.Writer // the data channel, or nil
}

// errStatus turns a task's error into a status the worker decodes again:
// Aborted marks a retriable error, Unknown any other.
func errStatus(err error) error {
	if err == nil {
		return nil
	}
	if connect.IsRetriable(err) {
		return status.Error(codes.Aborted, err.Error())
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

func (s *server) Info(ctx context.Context, _ *pb.Empty) (*pb.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.InfoResponse{Name: info.Name, Kind: string(info.Kind), Version: info.Version, Aliases: info.Aliases, Config: toPBConfigDef(info.Config)}, nil
}

func (s *server) Validate(ctx context.Context, c *pb.Config) (*pb.ValidateResponse, error) {
	values, extra, err := s.impl.Validate(ctx, c.Values)
	if err != nil {
		return nil, errStatus(err)
	}
	resp := &pb.ValidateResponse{}
	seen := map[string]bool{}
	for _, v := range values {
		cv := &pb.ConfigValue{Name: v.Name, Errors: append(v.Errors, extra[v.Name]...), Recommended: v.RecommendedValues, Visible: v.Visible}
		if v.Value != nil {
			cv.HasValue, cv.Value = true, *v.Value
		}
		seen[v.Name] = true
		resp.Values = append(resp.Values, cv)
	}
	for name, msgs := range extra {
		if !seen[name] {
			resp.Values = append(resp.Values, &pb.ConfigValue{Name: name, Errors: msgs, Visible: true})
		}
	}
	return resp, nil
}

func (s *server) ConnectorStart(ctx context.Context, c *pb.Config) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.ConnectorStart(ctx, c.Values))
}

func (s *server) ConnectorTaskConfigs(ctx context.Context, r *pb.TaskConfigsRequest) (*pb.TaskConfigsResponse, error) {
	cfgs, err := s.impl.TaskConfigs(ctx, int(r.MaxTasks))
	if err != nil {
		return nil, errStatus(err)
	}
	resp := &pb.TaskConfigsResponse{Configs: make([]*pb.Config, len(cfgs))}
	for i, c := range cfgs {
		resp.Configs[i] = &pb.Config{Values: c}
	}
	return resp, nil
}

func (s *server) ConnectorStop(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.ConnectorStop(ctx))
}

func (s *server) SourceStart(ctx context.Context, r *pb.SourceStartRequest) (*pb.Empty, error) {
	offsets, err := fromPBOffsets(r.Offsets)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.Empty{}, errStatus(s.impl.SourceStart(ctx, r.Config.GetValues(), offsets))
}

// SourcePoll polls the task ahead of the worker, packing each batch into
// the frame being filled as soon as it is polled, and writes the frame on
// the data channel each time the channel takes one. A slow worker makes
// frames larger rather than the task idle; a full frame makes the task
// wait. Polled records become garbage once packed, so the process keeps
// about two frames of memory, not records. It returns when the worker
// cancels the call, or after writing the task's error as the last frame.
func (s *server) SourcePoll(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	if s.data == nil {
		return nil, status.Error(codes.FailedPrecondition, "plugin: the worker passed no data channel")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	buf := newFrameBuffer()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		buf.close(nil)
	}()
	go func() {
		defer wg.Done()
		poll := s.impl.SourcePoll
		if l, ok := s.impl.(*local); ok {
			// Each batch is packed before the next poll: one slice of
			// records serves every poll.
			var reuse []Record
			poll = func(ctx context.Context) ([]Record, error) {
				recs, err := l.sourcePollInto(ctx, reuse)
				if cap(recs) > cap(reuse) {
					reuse = recs
				}
				return recs, err
			}
		}
		for ctx.Err() == nil {
			recs, err := poll(ctx)
			if err != nil {
				buf.close(err)
				return
			}
			if !buf.add(recs) {
				return
			}
		}
	}()
	defer wg.Wait()
	for {
		frame, err := buf.take()
		if frame != nil {
			_, werr := s.data.Write(frame)
			buf.recycle(frame)
			if werr != nil { // the worker closed its end
				cancel()
				return nil, status.Error(codes.Canceled, werr.Error())
			}
			continue
		}
		if err != nil {
			s.data.Write(errorFrame(err))
			return nil, errStatus(err)
		}
		return &pb.Empty{}, nil // cancelled
	}
}

// frameBuffer hands packed batches from the poller to the sender: the
// poller appends to the frame being filled, the sender takes it whole and
// hands the written buffer back for reuse.
type frameBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	fill   []byte // a batch frame being filled; empty when count is 0
	count  int    // records in fill
	spare  []byte // a written frame handed back, reused as the next fill
	err    error
	closed bool
}

func newFrameBuffer() *frameBuffer {
	b := &frameBuffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// add packs recs into the frame being filled, waiting while it is full. It
// reports false once the buffer is closed.
func (b *frameBuffer) add(recs []Record) bool {
	if len(recs) == 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && (b.count >= maxStreamRecords || len(b.fill) >= maxStreamBytes) {
		b.cond.Wait()
	}
	if b.closed {
		return false
	}
	if b.count == 0 {
		b.fill = startBatchFrame(b.fill)
	}
	b.fill = appendRecords(b.fill, recs)
	b.count += len(recs)
	b.cond.Broadcast()
	return true
}

// take waits for records and returns the filled frame, finished; after
// close it returns what is left, then (nil and) the close error.
func (b *frameBuffer) take() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.count == 0 && !b.closed {
		b.cond.Wait()
	}
	if b.count == 0 {
		return nil, b.err
	}
	frame := finishBatchFrame(b.fill, b.count)
	b.fill, b.count, b.spare = b.spare, 0, nil
	b.cond.Broadcast()
	return frame, nil
}

// recycle hands back a frame take returned, once it is written.
func (b *frameBuffer) recycle(frame []byte) {
	b.mu.Lock()
	if b.count == 0 && cap(b.fill) < cap(frame) {
		b.fill = frame[:0]
	} else if b.spare == nil {
		b.spare = frame[:0]
	}
	b.mu.Unlock()
}

func (b *frameBuffer) close(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed, b.err = true, err
	}
	b.cond.Broadcast()
}

func (s *server) SourceCommit(ctx context.Context, r *pb.Offsets) (*pb.Empty, error) {
	offsets, err := fromPBOffsets(r.Offsets)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.Empty{}, errStatus(s.impl.SourceCommit(ctx, offsets))
}

func (s *server) SourceStop(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.SourceStop(ctx))
}

func (s *server) SinkStart(ctx context.Context, c *pb.Config) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.SinkStart(ctx, c.Values))
}

func (s *server) SinkOpen(ctx context.Context, p *pb.Partitions) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.SinkOpen(ctx, fromPBPartitions(p)))
}

func (s *server) SinkClose(ctx context.Context, p *pb.Partitions) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.SinkClose(ctx, fromPBPartitions(p)))
}

func (s *server) SinkPut(ctx context.Context, b *pb.RecordBatch) (*pb.PutResponse, error) {
	recs, err := unpackRecords(b.Packed)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	failed, err := s.impl.SinkPut(ctx, recs)
	if err != nil {
		return nil, errStatus(err)
	}
	resp := &pb.PutResponse{Failed: make([]*pb.FailedRecord, len(failed))}
	for i, f := range failed {
		resp.Failed[i] = &pb.FailedRecord{Index: int32(f.Index), Error: toPBError(f.Err)}
		if f.Record != nil {
			resp.Failed[i].Record = packRecords([]Record{*f.Record})
		}
	}
	return resp, nil
}

func (s *server) SinkFlush(ctx context.Context, r *pb.FlushRequest) (*pb.FlushResponse, error) {
	committable, err := s.impl.SinkFlush(ctx, fromPBPartitionOffsets(r.Offsets))
	if err != nil {
		return nil, errStatus(err)
	}
	// Always sent as chosen by the task: the worker then commits exactly
	// these, whether the task flushed or pre-committed.
	return &pb.FlushResponse{PreCommit: true, Committable: toPBPartitionOffsets(committable)}, nil
}

func (s *server) SinkStop(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, errStatus(s.impl.SinkStop(ctx))
}
