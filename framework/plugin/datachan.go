package plugin

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/connectd/connectd/framework/connect"
)

// The data channel carries a source task's batches from the plugin process
// to the worker beside the gRPC connection: one end of a Unix socketpair,
// passed to the plugin as an extra file descriptor named by dataFDEnv. A
// batch is one frame, so it costs one write and one read instead of HTTP/2
// framing, flow-control round trips and protobuf copies on both sides.
//
// Frame: type byte, flags byte, 4-byte big-endian length, payload.
//
//	type 1: a packed batch (pack.go)
//	type 2: the task failed; payload is the message, flags bit 0 retriable
//
// The stream ends when the worker cancels the SourcePoll call or closes
// its end, or after a type 2 frame. Every plugin process Launch starts has
// a data channel; SourcePoll refuses to run without one.
const (
	dataFDEnv     = "CONNECTD_DATA_FD"
	frameBatch    = 1
	frameError    = 2
	frameHeader   = 6
	maxFrameBytes = maxMessageBytes
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
	return os.NewFile(uintptr(fd), "data")
}

// appendFrameHeader reserves a frame header at the start of b; finishFrame
// fills it once the payload is appended.
func appendFrameHeader(b []byte) []byte { return append(b[:0], 0, 0, 0, 0, 0, 0) }

func finishFrame(b []byte, typ, flags byte) []byte {
	b[0], b[1] = typ, flags
	binary.BigEndian.PutUint32(b[2:6], uint32(len(b)-frameHeader))
	return b
}

// errorFrame encodes a task's error.
func errorFrame(err error) []byte {
	var flags byte
	if connect.IsRetriable(err) {
		flags = 1
	}
	return finishFrame(append(appendFrameHeader(nil), err.Error()...), frameError, flags)
}

// frameReader reads frames from the worker's end.
type frameReader struct{ r *bufio.Reader }

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// next returns the next batch, or the task's error from an error frame, or
// the read error.
func (f *frameReader) next() ([]Record, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(f.r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[2:6])
	if n > maxFrameBytes {
		return nil, fmt.Errorf("plugin: data channel frame of %d bytes", n)
	}
	// A fresh buffer per frame: the records alias it until produced.
	payload := make([]byte, n)
	if _, err := io.ReadFull(f.r, payload); err != nil {
		return nil, err
	}
	switch h[0] {
	case frameBatch:
		return unpackRecords(payload)
	case frameError:
		err := errors.New(string(payload))
		if h[1]&1 != 0 {
			err = connect.Retriable(err)
		}
		return nil, &taskError{err: err}
	}
	return nil, fmt.Errorf("plugin: data channel frame of unknown type %d", h[0])
}

// taskError marks an error the task returned, as opposed to a broken channel.
type taskError struct{ err error }

func (e *taskError) Error() string { return e.err.Error() }
func (e *taskError) Unwrap() error { return e.err }
