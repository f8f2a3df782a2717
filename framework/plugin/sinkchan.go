package plugin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// A sink task's batches cross its data channel (datachan.go) rather than a
// unary gRPC call: the worker writes a batch frame and reads the answer, a
// put result or the task's error. The gRPC call cost about 1.2 µs per
// record (HTTP/2 framing and flow control, protobuf copies on both sides);
// a frame costs a write and a read per batch. BenchmarkSinkPut compares
// the two: gRPC takes about 1.5 times as long per record, the task's own
// handling included.

// sinkSender is the worker's side of a sink task's data channel. SinkPut
// calls are serialised by the caller, as Client requires; the reader
// goroutine runs from the first put until the channel closes.
type sinkSender struct {
	f *os.File
	// broken turns the error that ended the channel into what a call
	// returns (the process's exit, most likely).
	broken func(error) error

	out     []byte // the batch frame being written, reused
	pending int    // puts sent whose answer has not been read

	startOnce sync.Once
	answers   chan putAnswer
	quit      chan struct{} // closed by close
	done      chan struct{} // closed when the reader ends
	readErr   error         // why, once done is closed
}

// putAnswer is one answer read from the channel.
type putAnswer struct {
	failed []FailedRecord
	err    error
}

func newSinkSender(f *os.File, broken func(error) error) *sinkSender {
	return &sinkSender{f: f, broken: broken, answers: make(chan putAnswer, 8), quit: make(chan struct{}), done: make(chan struct{})}
}

// close closes the channel and waits for the reader. The caller makes no
// put concurrently.
func (s *sinkSender) close() {
	close(s.quit)
	s.f.Close()
	s.startOnce.Do(func() { close(s.done) }) // never started
	<-s.done
}

// read reads answers until the channel ends.
func (s *sinkSender) read() {
	defer close(s.done)
	var hdr [frameHeader]byte
	var small []byte // the payload of answers without failed records
	for {
		if _, err := io.ReadFull(s.f, hdr[:]); err != nil {
			s.readErr = err
			return
		}
		n := binary.BigEndian.Uint32(hdr[2:6])
		if n > maxFrameBytes {
			s.readErr = fmt.Errorf("plugin: data channel frame of %d bytes", n)
			return
		}
		// An answer naming failed records is read into memory of its own:
		// its records go on to the dead letter queue's producer, which
		// reads them after the next put.
		var payload []byte
		if n <= 1 {
			if cap(small) == 0 {
				small = make([]byte, 1)
			}
			payload = small[:n]
		} else {
			payload = make([]byte, n)
		}
		if _, err := io.ReadFull(s.f, payload); err != nil {
			s.readErr = err
			return
		}
		var a putAnswer
		switch hdr[0] {
		case framePutResult:
			failed, err := decodePutResult(payload)
			if err != nil {
				s.readErr = err
				return
			}
			a.failed = failed
		case frameError:
			a.err = decodeError(payload, hdr[1])
		default:
			s.readErr = fmt.Errorf("plugin: sink data channel frame of unexpected type %d", hdr[0])
			return
		}
		select {
		case s.answers <- a:
		case <-s.quit:
			s.readErr = os.ErrClosed
			return
		}
	}
}

// put sends records and waits for their answer. When ctx ends first, it
// tells the plugin to cancel the put and returns ctx's error; the answer
// is read and dropped before the next put.
func (s *sinkSender) put(ctx context.Context, records []Record) ([]FailedRecord, error) {
	s.startOnce.Do(func() { go s.read() })
	for s.pending > 0 {
		select {
		case <-s.answers:
			s.pending--
		case <-s.done:
			return nil, s.broken(s.readErr)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.out = startBatchFrame(s.out)
	s.out = appendRecords(s.out, records)
	s.out = finishBatchFrame(s.out, len(records))
	if err := s.write(ctx, s.out); err != nil {
		return nil, err
	}
	if cap(s.out) > 8<<20 {
		s.out = nil // one huge batch does not pin its memory
	}
	s.pending++
	select {
	case a := <-s.answers:
		s.pending--
		return a.failed, a.err
	case <-s.done:
		return nil, s.broken(s.readErr)
	case <-ctx.Done():
		var cancel [frameHeader]byte
		s.write(context.Background(), finishFrame(cancel[:], frameCancel, 0))
		return nil, ctx.Err()
	}
}

// write writes a frame, giving up when ctx ends (a plugin that stopped
// reading). A frame left half written breaks the channel for good.
func (s *sinkSender) write(ctx context.Context, frame []byte) error {
	stop := context.AfterFunc(ctx, func() { s.f.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := s.f.Write(frame)
	if !stop() {
		s.f.SetWriteDeadline(time.Time{})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.broken(err)
	}
	return nil
}

// sinkReceiver is the plugin's side of a sink task's data channel: a
// reader that takes batches and cancellations, and a goroutine that puts
// each batch to the task and writes its answer. They run from SinkStart
// until the channel closes (SinkStop, CloseInstance, or the worker gone).
type sinkReceiver struct {
	f    *os.File
	impl Client
	// handled counts the records put, for the process's busy-task count.
	handled func(int)

	wg sync.WaitGroup
}

// putJob is one batch for the put goroutine, with the context it runs in.
type putJob struct {
	ctx     context.Context
	payload []byte
	n       uint64
}

func startSinkReceiver(f *os.File, impl Client, handled func(int)) *sinkReceiver {
	r := &sinkReceiver{f: f, impl: impl, handled: handled}
	jobs := make(chan putJob, 16)
	r.wg.Add(2)
	go r.read(jobs)
	go r.put(jobs)
	return r
}

// stop closes the channel and waits for both goroutines.
func (r *sinkReceiver) stop() {
	r.f.Close()
	r.wg.Wait()
}

// read reads frames until the channel ends. Every batch goes to the put
// goroutine with the context of the puts sent since the last cancel frame.
func (r *sinkReceiver) read(jobs chan<- putJob) {
	defer r.wg.Done()
	defer close(jobs)
	// gen is the context of the puts sent since the last cancel frame.
	type gen struct {
		ctx    context.Context
		cancel context.CancelFunc
	}
	var g gen
	g.ctx, g.cancel = context.WithCancel(context.Background())
	defer func() { g.cancel() }()
	var hdr [frameHeader]byte
	for {
		if _, err := io.ReadFull(r.f, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[2:6])
		if n > maxFrameBytes {
			return
		}
		switch hdr[0] {
		case frameCancel:
			if n != 0 {
				return
			}
			g.cancel()
			g.ctx, g.cancel = context.WithCancel(context.Background())
		case frameBatch:
			if n < batchCountBytes {
				return
			}
			// New memory for every batch: the records handed to the task
			// alias it, and a task may keep them after Put returns.
			payload := make([]byte, n)
			if _, err := io.ReadFull(r.f, payload); err != nil {
				return
			}
			jobs <- putJob{ctx: g.ctx, payload: payload[batchCountBytes:], n: uint64(binary.BigEndian.Uint32(payload))}
		default:
			return
		}
	}
}

// put puts each batch and writes its answer.
func (r *sinkReceiver) put(jobs <-chan putJob) {
	defer r.wg.Done()
	var recs []Record
	var out []byte
	for job := range jobs {
		var failed []FailedRecord
		decoded, err := decodeRecords(job.payload, job.n, recs)
		if err == nil {
			recs = decoded
			if job.ctx.Err() != nil {
				err = job.ctx.Err()
			} else {
				failed, err = r.impl.SinkPut(job.ctx, decoded)
				r.handled(len(decoded))
			}
		}
		if err != nil {
			out = appendErrorFrame(out, err)
		} else {
			out = appendPutResult(out, failed)
		}
		// The records are the task's now; the slice is reused.
		clear(recs)
		if _, err := r.f.Write(out); err != nil {
			// The worker closed the channel: drain what is queued, so
			// the reader is not left blocked on a full queue.
			for range jobs {
			}
			return
		}
	}
}

var errNoSinkChannel = errors.New("plugin: the instance has no data channel")
