package plugin

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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

// server serves the instances of a plugin process over gRPC, inside the
// plugin process. Each instance is a local Client of its own: a connector,
// or a task with its own converters, transform chain, error policy and
// data channel, so instances share nothing but the process.
type server struct {
	pb.UnimplementedPluginServer
	newImpl    func() Client
	control    *channelReceiver // nil: the worker passed no control channel
	legacyData io.ReadWriter    // the launch data channel, or nil
	load       *loadTracker

	mu        sync.Mutex
	instances map[uint64]*instance
}

// instance is one instance the process hosts.
type instance struct {
	id   uint64
	name string
	impl Client
	data io.ReadWriter // the data channel, or nil
	// handled counts the records polled or put, for the busy-task count
	// (see loadTracker).
	handled atomic.Int64

	mu   sync.Mutex
	sink *sinkReceiver // running from SinkStart until SinkStop or close
}

// newServer returns the server of a process serving p. legacyData is the
// data channel passed at launch (nil: none), the default instance's; a
// worker that predates instances uses only that one.
func newServer(p Plugin, legacyData *os.File, control *channelReceiver) *server {
	return newServerOf(func() Client { return NewLocal(p) }, legacyData, control)
}

func newServerOf(newImpl func() Client, legacyData *os.File, control *channelReceiver) *server {
	s := &server{newImpl: newImpl, control: control, instances: map[uint64]*instance{}}
	if legacyData != nil { // a nil *os.File must not become a non-nil io.ReadWriter
		s.legacyData = legacyData
	}
	s.load = newLoadTracker(s)
	return s
}

// instance returns the instance a call is for: the one its metadata
// names, or the default instance.
func (s *server) instance(ctx context.Context) (*instance, error) {
	var id uint64
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(instanceKey); len(v) > 0 {
			n, err := strconv.ParseUint(v[0], 10, 64)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "plugin: instance %q", v[0])
			}
			id = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	if !ok {
		if id != 0 {
			return nil, status.Errorf(codes.NotFound, "plugin: no instance %d", id)
		}
		in = &instance{impl: s.newImpl(), data: s.legacyData}
		s.instances[0] = in
	}
	return in, nil
}

// snapshot returns the instances, for the load tracker.
func (s *server) snapshot() []*instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*instance, 0, len(s.instances))
	for _, in := range s.instances {
		out = append(out, in)
	}
	return out
}

func (s *server) Capabilities(context.Context, *pb.Empty) (*pb.CapabilitiesResponse, error) {
	return &pb.CapabilitiesResponse{Instances: s.control != nil, SinkDataChannel: s.control != nil}, nil
}

func (s *server) OpenInstance(ctx context.Context, r *pb.OpenInstanceRequest) (*pb.Empty, error) {
	if r.Id == 0 {
		return nil, status.Error(codes.InvalidArgument, "plugin: instance 0 is the default instance")
	}
	in := &instance{id: r.Id, name: r.Name, impl: s.newImpl()}
	if r.DataChannel {
		if s.control == nil {
			return nil, status.Error(codes.FailedPrecondition, "plugin: the worker passed no control channel")
		}
		f, err := s.control.take(ctx, r.Id)
		if err != nil {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		in.data = f
	}
	s.mu.Lock()
	_, dup := s.instances[r.Id]
	if !dup {
		s.instances[r.Id] = in
	}
	s.mu.Unlock()
	if dup {
		if c, ok := in.data.(io.Closer); ok {
			c.Close()
		}
		return nil, status.Errorf(codes.AlreadyExists, "plugin: instance %d exists", r.Id)
	}
	return &pb.Empty{}, nil
}

// CloseInstance ends an instance. What still runs in it is stopped: a
// worker normally stops a task before it closes it, but a run that failed
// half-way may not have, and in a shared process nothing else would.
func (s *server) CloseInstance(ctx context.Context, r *pb.CloseInstanceRequest) (*pb.Empty, error) {
	s.mu.Lock()
	in, ok := s.instances[r.Id]
	delete(s.instances, r.Id)
	s.mu.Unlock()
	if !ok {
		return &pb.Empty{}, nil
	}
	in.stopSink()
	if c, ok := in.data.(io.Closer); ok {
		c.Close() // ends a poll loop still writing to it
	}
	in.impl.SourceStop(ctx)
	in.impl.SinkStop(ctx)
	in.impl.ConnectorStop(ctx)
	in.impl.Close()
	return &pb.Empty{}, nil
}

// stopSink stops the sink data channel's goroutines, if they run.
func (in *instance) stopSink() {
	in.mu.Lock()
	r := in.sink
	in.sink = nil
	in.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// count notes n records handled.
func (in *instance) count(n int) { in.handled.Add(int64(n)) }

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
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	info, err := in.impl.Info(ctx)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.InfoResponse{Name: info.Name, Kind: string(info.Kind), Version: info.Version, Aliases: info.Aliases, Config: toPBConfigDef(info.Config)}, nil
}

func (s *server) Validate(ctx context.Context, c *pb.Config) (*pb.ValidateResponse, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	values, extra, err := in.impl.Validate(ctx, c.Values)
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
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.Empty{}, errStatus(in.impl.ConnectorStart(ctx, c.Values))
}

func (s *server) ConnectorTaskConfigs(ctx context.Context, r *pb.TaskConfigsRequest) (*pb.TaskConfigsResponse, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	cfgs, err := in.impl.TaskConfigs(ctx, int(r.MaxTasks))
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
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.Empty{}, errStatus(in.impl.ConnectorStop(ctx))
}

func (s *server) SourceStart(ctx context.Context, r *pb.SourceStartRequest) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	offsets, err := fromPBOffsets(r.Offsets)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.Empty{}, errStatus(in.impl.SourceStart(ctx, r.Config.GetValues(), offsets))
}

// SourcePoll polls the task ahead of the worker, packing each batch into
// the frame being filled as soon as it is polled, and writes the frame on
// the data channel each time the channel takes one. A slow worker makes
// frames larger rather than the task idle; a full frame makes the task
// wait. Polled records become garbage once packed, so the process keeps
// about two frames of memory, not records. It returns when the worker
// cancels the call, or after writing the task's error as the last frame.
func (s *server) SourcePoll(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	if in.data == nil {
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
		poll := in.impl.SourcePoll
		if l, ok := in.impl.(*local); ok {
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
			in.count(len(recs))
			if !buf.add(recs) {
				return
			}
		}
	}()
	defer wg.Wait()
	for {
		frame, err := buf.take()
		if frame != nil {
			_, werr := in.data.Write(frame)
			buf.recycle(frame)
			if werr != nil { // the worker closed its end
				cancel()
				return nil, status.Error(codes.Canceled, werr.Error())
			}
			continue
		}
		if err != nil {
			in.data.Write(errorFrame(err))
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
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	offsets, err := fromPBOffsets(r.Offsets)
	if err != nil {
		return nil, errStatus(err)
	}
	return &pb.Empty{}, errStatus(in.impl.SourceCommit(ctx, offsets))
}

func (s *server) SourceStop(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.Empty{}, errStatus(in.impl.SourceStop(ctx))
}

// SinkStart starts the task and, for an instance with a data channel, the
// goroutines that take its batches there.
func (s *server) SinkStart(ctx context.Context, c *pb.Config) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.impl.SinkStart(ctx, c.Values); err != nil {
		return nil, errStatus(err)
	}
	if f, ok := in.data.(*os.File); ok && in.id != 0 {
		in.mu.Lock()
		if in.sink == nil {
			in.sink = startSinkReceiver(f, in.impl, in.count)
		}
		in.mu.Unlock()
	}
	return &pb.Empty{}, nil
}

func (s *server) SinkOpen(ctx context.Context, p *pb.Partitions) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.Empty{}, errStatus(in.impl.SinkOpen(ctx, fromPBPartitions(p)))
}

func (s *server) SinkClose(ctx context.Context, p *pb.Partitions) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.Empty{}, errStatus(in.impl.SinkClose(ctx, fromPBPartitions(p)))
}

// SinkPut takes a batch over gRPC, from a worker that predates sink data
// channels.
func (s *server) SinkPut(ctx context.Context, b *pb.RecordBatch) (*pb.PutResponse, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := unpackRecords(b.Packed)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	in.count(len(recs))
	failed, err := in.impl.SinkPut(ctx, recs)
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
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	committable, err := in.impl.SinkFlush(ctx, fromPBPartitionOffsets(r.Offsets))
	if err != nil {
		return nil, errStatus(err)
	}
	// Always sent as chosen by the task: the worker then commits exactly
	// these, whether the task flushed or pre-committed.
	return &pb.FlushResponse{PreCommit: true, Committable: toPBPartitionOffsets(committable)}, nil
}

func (s *server) SinkStop(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	in, err := s.instance(ctx)
	if err != nil {
		return nil, err
	}
	in.stopSink()
	return &pb.Empty{}, errStatus(in.impl.SinkStop(ctx))
}
