package plugin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/connectd/connectd/framework/connect"
)

// A data channel carries a task's batches beside the gRPC connection: one
// end of a Unix socketpair in each process. A batch is one frame, so it
// costs one write and one read instead of HTTP/2 framing, flow-control
// round trips and protobuf copies on both sides. Every task instance has
// its own channel (see control.go for how a running process gets it); a
// process started by a worker that predates instances has one, passed as
// the file descriptor dataFDEnv names, for its only task.
//
// Frame: type byte, flags byte, 4-byte big-endian length, payload.
//
//	type 1: a batch: 4-byte big-endian record count, then the records as
//	        pack.go lays them out. A source's batches go from the plugin
//	        to the worker, a sink's from the worker to the plugin.
//	type 2: the task failed; payload is the message, flags bit 0
//	        retriable, bit 1 the call was cancelled
//	type 3: a sink put's answer: uvarint count of failed records, a
//	        varint index into the batch for each (-1: a record reported
//	        after the put that took it, connect.ErrantRecordReporter), then
//	        the failed records as pack.go lays them out, each with its
//	        error (the reported ones with the record as consumed, the
//	        others empty)
//	type 4: cancel every sink put sent so far (the worker's call ended)
//
// A source stream ends when the worker cancels the SourcePoll call or
// closes its end, or after a type 2 frame. A sink channel answers every
// type 1 frame with a type 3 or type 2 frame, in order; the worker sends
// the next batch once it has the answer (or gave up on it: it then cancels
// and reads the stale answer before the next one).
const (
	dataFDEnv      = "CONNECTD_DATA_FD"
	frameBatch     = 1
	frameError     = 2
	framePutResult = 3
	frameCancel    = 4
	frameHeader    = 6
	// batchCountBytes is the record count at the start of a batch frame.
	batchCountBytes = 4
	maxFrameBytes   = maxMessageBytes
)

// Flags of an error frame.
const (
	errFlagRetriable = 1
	errFlagCanceled  = 2
)

// newDataChannel returns the worker's end and the plugin's end of a new
// socketpair.
func newDataChannel() (worker, plugin *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin: data channel: %w", err)
	}
	for _, fd := range fds {
		// Large kernel buffers: a batch is a few hundred KiB.
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	}
	// The worker's end is non-blocking, so the runtime poller serves it and
	// Close interrupts a pending read.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("plugin: data channel: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "data-worker"), os.NewFile(uintptr(fds[1]), "data-plugin"), nil
}

// pluginDataChannel returns the data channel the worker passed to this
// plugin process, or nil when it passed none.
func pluginDataChannel() *os.File {
	v := os.Getenv(dataFDEnv)
	if v == "" {
		return nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	// Non-blocking, so the runtime poller serves it: a write that waits
	// for the worker parks the sending goroutine instead of holding a
	// thread in the kernel.
	if err := syscall.SetNonblock(fd, true); err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), "data")
}

// appendFrameHeader reserves a frame header at the start of b; finishFrame
// fills it once the payload is appended.
func appendFrameHeader(b []byte) []byte { return append(b[:0], 0, 0, 0, 0, 0, 0) }

// startBatchFrame reserves a batch frame's header and record count at the
// start of b; records follow (appendRecords), then finishBatchFrame.
func startBatchFrame(b []byte) []byte { return append(b[:0], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }

// finishBatchFrame fills in the header and count of a batch frame of n
// records.
func finishBatchFrame(b []byte, n int) []byte {
	binary.BigEndian.PutUint32(b[frameHeader:], uint32(n))
	return finishFrame(b, frameBatch, 0)
}

func finishFrame(b []byte, typ, flags byte) []byte {
	b[0], b[1] = typ, flags
	binary.BigEndian.PutUint32(b[2:6], uint32(len(b)-frameHeader))
	return b
}

// errorFrame encodes a task's error.
func errorFrame(err error) []byte {
	return appendErrorFrame(nil, err)
}

// appendErrorFrame encodes a task's error into b's storage.
func appendErrorFrame(b []byte, err error) []byte {
	var flags byte
	if connect.IsRetriable(err) {
		flags |= errFlagRetriable
	}
	if errors.Is(err, context.Canceled) {
		flags |= errFlagCanceled
	}
	return finishFrame(append(appendFrameHeader(b), err.Error()...), frameError, flags)
}

// decodeError decodes an error frame's payload: the task's error, retriable
// or not, or context.Canceled for a call that was cancelled.
func decodeError(payload []byte, flags byte) error {
	if flags&errFlagCanceled != 0 {
		return context.Canceled
	}
	err := errors.New(string(payload))
	if flags&errFlagRetriable != 0 {
		err = connect.Retriable(err)
	}
	return err
}

// appendPutResult encodes a sink put's answer into b's storage.
func appendPutResult(b []byte, failed []FailedRecord) []byte {
	b = appendFrameHeader(b)
	b = binary.AppendUvarint(b, uint64(len(failed)))
	if len(failed) == 0 {
		return finishFrame(b, framePutResult, 0)
	}
	recs := make([]Record, len(failed))
	for i, f := range failed {
		b = binary.AppendVarint(b, int64(f.Index))
		if f.Record != nil {
			recs[i] = *f.Record
		}
		recs[i].Err = f.Err
		if recs[i].Err == nil {
			recs[i].Err = NewRecordError(StagePut, "", errRejectedSilently)
		}
		recs[i].Txn, recs[i].Dropped = TxnNone, false
	}
	return finishFrame(appendRecords(b, recs), framePutResult, 0)
}

// decodePutResult decodes a put answer's payload. The records it returns
// alias payload.
func decodePutResult(payload []byte) ([]FailedRecord, error) {
	n, k := binary.Uvarint(payload)
	if k <= 0 || n > uint64(len(payload)) {
		return nil, errShort
	}
	if n == 0 {
		return nil, nil
	}
	p := payload[k:]
	index := make([]int, n)
	for i := range index {
		v, k := binary.Varint(p)
		if k <= 0 {
			return nil, errShort
		}
		index[i], p = int(v), p[k:]
	}
	recs, err := decodeRecords(p, n, nil)
	if err != nil {
		return nil, err
	}
	out := make([]FailedRecord, n)
	for i := range recs {
		out[i] = FailedRecord{Index: index[i], Err: recs[i].Err}
		if index[i] < 0 {
			r := recs[i]
			r.Err = nil
			out[i].Record = &r
		}
	}
	return out, nil
}

// frameReader reads frames from the worker's end. A batch's records alias
// the bytes of their frame; the frame's buffers are reused once the worker
// hands the batch back (recycle), and left to the garbage collector if it
// never does.
type frameReader struct {
	r   io.Reader
	hdr [frameHeader]byte

	mu   sync.Mutex
	free []*inFrame
	// lent holds the newest batches handed out, oldest first: a batch the
	// worker never hands back drops out of it as newer ones arrive.
	lent []*inFrame
}

// inFrame is one batch frame as the worker holds it: the bytes read and the
// records decoded from them.
type inFrame struct {
	buf  []byte
	recs []Record
}

// Bounds of the frames kept for reuse and of the batches out on loan: more
// than the producer buffers at once.
const (
	maxFreeFrames = 8
	maxLentFrames = 64
)

func newFrameReader(r io.Reader) *frameReader { return &frameReader{r: r} }

// next returns the next batch, or the task's error from an error frame, or
// the read error.
func (f *frameReader) next() ([]Record, error) {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(f.hdr[2:6])
	if n > maxFrameBytes {
		return nil, fmt.Errorf("plugin: data channel frame of %d bytes", n)
	}
	fr := f.get()
	if uint32(cap(fr.buf)) < n {
		fr.buf = make([]byte, n)
	}
	payload := fr.buf[:n]
	if _, err := io.ReadFull(f.r, payload); err != nil {
		return nil, err
	}
	switch f.hdr[0] {
	case frameBatch:
		if len(payload) < batchCountBytes {
			return nil, errShort
		}
		recs, err := decodeRecords(payload[batchCountBytes:], uint64(binary.BigEndian.Uint32(payload)), fr.recs)
		if err != nil {
			return nil, err
		}
		fr.recs = recs
		f.lend(fr)
		return recs, nil
	case frameError:
		return nil, &taskError{err: decodeError(payload, f.hdr[1])}
	}
	return nil, fmt.Errorf("plugin: data channel frame of unknown type %d", f.hdr[0])
}

func (f *frameReader) get() *inFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.free); n > 0 {
		fr := f.free[n-1]
		f.free = f.free[:n-1]
		return fr
	}
	return &inFrame{}
}

func (f *frameReader) lend(fr *inFrame) {
	if len(fr.recs) == 0 {
		return
	}
	f.mu.Lock()
	if len(f.lent) == maxLentFrames {
		f.lent = append(f.lent[:0], f.lent[1:]...)
	}
	f.lent = append(f.lent, fr)
	f.mu.Unlock()
}

// recycle takes back a batch next returned, once nothing refers to its
// records or their bytes any more. Anything else is ignored.
func (f *frameReader) recycle(batch []Record) {
	if len(batch) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, fr := range f.lent {
		if &fr.recs[0] == &batch[0] {
			f.lent = append(f.lent[:i], f.lent[i+1:]...)
			if len(f.free) < maxFreeFrames {
				f.free = append(f.free, fr)
			}
			return
		}
	}
}

// taskError marks an error the task returned, as opposed to a broken channel.
type taskError struct{ err error }

func (e *taskError) Error() string { return e.err.Error() }
func (e *taskError) Unwrap() error { return e.err }
