package plugin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// The control channel hands an instance's data channel to a running plugin
// process. A process that hosts several instances gets each task's data
// channel after it started, so it cannot inherit it as a file descriptor:
// the worker makes a socketpair per instance and sends the plugin's end
// over the control channel, a Unix SOCK_SEQPACKET socketpair passed at
// launch (controlFDEnv). One message per instance: the instance id, 8 bytes
// big-endian, with the descriptor as SCM_RIGHTS ancillary data. Each task
// owns its channel: a task that stops reading (paused, or its worker slow
// to produce) never blocks a sibling's records, which one multiplexed
// channel would.
const controlFDEnv = "CONNECTD_CONTROL_FD"

// newControlChannel returns the worker's end and the plugin's end of a new
// control channel.
func newControlChannel() (worker *net.UnixConn, plugin *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin: control channel: %w", err)
	}
	wf := os.NewFile(uintptr(fds[0]), "control-worker")
	defer wf.Close() // FileConn dups it
	c, err := net.FileConn(wf)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("plugin: control channel: %w", err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "control-plugin"), nil
}

// sendChannel sends f, an instance's end of its data channel, to the
// plugin process, tagged with the instance id.
func sendChannel(c *net.UnixConn, id uint64, f *os.File) error {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], id)
	if _, _, err := c.WriteMsgUnix(msg[:], syscall.UnixRights(int(f.Fd())), nil); err != nil {
		return fmt.Errorf("plugin: send the data channel of instance %d: %w", id, err)
	}
	return nil
}

// channelReceiver runs in the plugin process: it receives the data
// channels the worker sends and hands each to the OpenInstance call that
// waits for it.
type channelReceiver struct {
	conn *net.UnixConn

	mu      sync.Mutex
	cond    *sync.Cond
	waiting map[uint64]*os.File
	err     error // the channel's end; nothing more arrives
}

// pluginControlChannel returns the receiver of the control channel the
// worker passed to this process, running, or nil when it passed none.
func pluginControlChannel() *channelReceiver {
	fd, err := strconv.Atoi(os.Getenv(controlFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	f := os.NewFile(uintptr(fd), "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil
	}
	r := &channelReceiver{conn: c.(*net.UnixConn), waiting: map[uint64]*os.File{}}
	r.cond = sync.NewCond(&r.mu)
	go r.run()
	return r
}

// run receives until the worker closes its end (the process then ends).
func (r *channelReceiver) run() {
	var msg [8]byte
	oob := make([]byte, syscall.CmsgSpace(4))
	for {
		n, oobn, _, _, err := r.conn.ReadMsgUnix(msg[:], oob)
		if err == nil && n != len(msg) {
			err = fmt.Errorf("control message of %d bytes", n)
		}
		var f *os.File
		if err == nil {
			f, err = receivedFile(oob[:oobn])
		}
		r.mu.Lock()
		if err != nil {
			r.err = fmt.Errorf("plugin: control channel: %w", err)
			r.cond.Broadcast()
			r.mu.Unlock()
			return
		}
		r.waiting[binary.BigEndian.Uint64(msg[:])] = f
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// receivedFile returns the descriptor a control message carried, set
// non-blocking so that the runtime poller serves it (a read or write that
// waits parks its goroutine, and Close interrupts it).
func receivedFile(oob []byte) (*os.File, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil || len(fds) == 0 {
			continue
		}
		for _, extra := range fds[1:] {
			syscall.Close(extra)
		}
		syscall.CloseOnExec(fds[0])
		if err := syscall.SetNonblock(fds[0], true); err != nil {
			syscall.Close(fds[0])
			return nil, err
		}
		return os.NewFile(uintptr(fds[0]), "data"), nil
	}
	return nil, errors.New("a control message without a descriptor")
}

// take waits for the data channel of instance id.
func (r *channelReceiver) take(ctx context.Context, id uint64) (*os.File, error) {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if f, ok := r.waiting[id]; ok {
			delete(r.waiting, id)
			return f, nil
		}
		if r.err != nil {
			return nil, r.err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("plugin: the data channel of instance %d did not arrive: %w", id, err)
		}
		r.cond.Wait()
	}
}
