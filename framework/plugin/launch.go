package plugin

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// Handshake is checked by both sides before anything else, so a stray
// executable under plugin.path is refused rather than run as a plugin.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CONNECTD_PLUGIN",
	MagicCookieValue: "2c5f0d8e-connectd-plugin-v1",
}

const pluginKey = "connector"

// streamWindow is the HTTP/2 flow-control window of the plugin connection.
// Batches travel on data channels; gRPC carries calls, and a plugin's sink
// batches only when it predates sink data channels. The window costs no
// memory until data fills it. The read and write buffers stay gRPC's
// small defaults: each costs its size per connection, and a worker holds
// a connection per plugin process.
const streamWindow = 2 << 20

type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv *server // plugin side
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, p.srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(conn), nil
}

// Serve runs p as a plugin process; it returns when the worker ends the
// process. Call it from a plugin executable's main.
func Serve(p Plugin) {
	defer startCPUProfile()()
	srv := newServer(p, pluginDataChannel(), pluginControlChannel())
	tuneGC(srv.load)
	go srv.load.run(p)
	go exitWithParent()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{pluginKey: &grpcPlugin{srv: srv}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessageBytes), grpc.MaxSendMsgSize(maxMessageBytes),
				grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(streamWindow),
				grpc.SharedWriteBuffer(true))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
	})
}

// exitWithParent ends the plugin when the worker that started it is gone
// (kill -9 of the worker), so no orphan keeps reading from a source.
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			os.Exit(3)
		}
	}
}

// Host is the worker's handle on one plugin process. A process hosts
// instances: a connector instance, tasks, a validation, each opened with
// Open and its own Client; when the plugin predates instances it hosts one
// (Shared says which). Closing an instance leaves the process running;
// Close ends it. If the process dies, every instance's calls fail with
// ErrPluginExited and Exited is closed.
type Host struct {
	pc      *goplugin.Client
	rpc     pb.PluginClient
	cmd     *exec.Cmd
	caps    *pb.CapabilitiesResponse
	control *net.UnixConn // the worker's end of the control channel
	legacy  *os.File      // the worker's end of the launch data channel
	stderr  *tailWriter

	exited  chan struct{}
	exitErr error

	mu        sync.Mutex
	nextID    uint64
	legacyUse bool // the default instance is open (a plugin without instances)

	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

// LaunchHost starts cmd as a plugin process. The ctx bounds the start; the
// process lives until Close.
func LaunchHost(ctx context.Context, cmd *exec.Cmd, logger *slog.Logger) (*Host, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	legacyEnd, pluginData, err := newDataChannel()
	if err != nil {
		return nil, err
	}
	defer pluginData.Close() // the child has its own copy once started
	control, pluginControl, err := newControlChannel()
	if err != nil {
		legacyEnd.Close()
		return nil, err
	}
	defer pluginControl.Close()
	cmd.ExtraFiles = append(cmd.ExtraFiles, pluginData, pluginControl)
	cmd.Env = append(cmd.Env,
		fmt.Sprintf("%s=%d", dataFDEnv, 2+len(cmd.ExtraFiles)-1),
		fmt.Sprintf("%s=%d", controlFDEnv, 2+len(cmd.ExtraFiles)))
	tail := newTailWriter()
	pc := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          goplugin.PluginSet{pluginKey: &grpcPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclogTo(logger),
		StartTimeout:     30 * time.Second,
		Stderr:           tail,
		SyncStderr:       &slogWriter{logger: logger},
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
			grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(streamWindow),
			grpc.WithSharedWriteBuffer(true),
		},
	})
	type result struct {
		rpc  pb.PluginClient
		caps *pb.CapabilitiesResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		cp, err := pc.Client()
		if err != nil {
			done <- result{err: err}
			return
		}
		raw, err := cp.Dispense(pluginKey)
		if err != nil {
			done <- result{err: err}
			return
		}
		rpc := raw.(pb.PluginClient)
		caps, err := rpc.Capabilities(ctx, &pb.Empty{})
		if status.Code(err) == codes.Unimplemented {
			caps, err = &pb.CapabilitiesResponse{}, nil // a plugin built before instances
		}
		done <- result{rpc: rpc, caps: caps, err: err}
	}()
	fail := func(err error) (*Host, error) {
		pc.Kill()
		legacyEnd.Close()
		control.Close()
		return nil, fmt.Errorf("plugin: start %s: %w", cmd.Path, err)
	}
	var res result
	select {
	case res = <-done:
		if res.err != nil {
			return fail(res.err)
		}
	case <-ctx.Done():
		pc.Kill()
		<-done
		return fail(ctx.Err())
	}
	h := &Host{pc: pc, rpc: res.rpc, cmd: cmd, caps: res.caps, control: control, legacy: legacyEnd, stderr: tail,
		exited: make(chan struct{}), stop: make(chan struct{})}
	h.wg.Add(1)
	go h.watch()
	return h, nil
}

// watch closes exited when the process ends. The plugin never writes on
// the control channel, so a read returns when the process's end closes,
// at its exit; a slow poll of go-plugin's state covers a plugin that
// handed its end to a child of its own.
func (h *Host) watch() {
	defer h.wg.Done()
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		var b [8]byte
		for {
			if _, err := h.control.Read(b[:]); err != nil {
				return
			}
		}
	}()
	readerDone := eof
	defer func() {
		h.control.Close()
		<-readerDone
	}()
	slow := time.NewTicker(time.Second)
	defer slow.Stop()
	for !h.pc.Exited() {
		select {
		case <-h.stop:
			return
		case <-slow.C:
		case <-eof:
			// go-plugin reaps the process right after: wait for it, so
			// the exit status is known.
			for i := 0; i < 200 && !h.pc.Exited(); i++ {
				select {
				case <-h.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			eof = nil // read once; the slow poll goes on
		}
	}
	h.exitErr = h.describeExit()
	close(h.exited)
}

// describeExit says how the process ended: its exit status, and what it
// wrote to stderr as it crashed (a Go panic's message and the top of its
// trace).
func (h *Host) describeExit() error {
	state := "plugin process ended"
	if h.cmd.ProcessState != nil {
		state = fmt.Sprintf("plugin process ended: %s", h.cmd.ProcessState)
	} else if !h.pc.Exited() {
		state = "plugin process ended: its control channel closed"
	}
	if crash := h.stderr.crash(); crash != "" {
		return fmt.Errorf("%s: %s", state, crash)
	}
	return fmt.Errorf("%s", state)
}

// Shared reports whether the process can host several instances.
func (h *Host) Shared() bool { return h.caps.Instances }

// Pid returns the process id.
func (h *Host) Pid() int {
	if h.cmd.Process == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// Exited is closed when the process ends on its own.
func (h *Host) Exited() <-chan struct{} { return h.exited }

// ExitErr says how the process ended, once Exited is closed.
func (h *Host) ExitErr() error { return h.exitErr }

// Close ends the process (gracefully, then by force) and waits for its
// watcher. Instances still open fail from then on.
func (h *Host) Close() error {
	h.stopOnce.Do(func() { close(h.stop) })
	h.pc.Kill()
	h.wg.Wait()
	h.legacy.Close()
	return nil
}

// Open creates an instance in the process, named name in the plugin's
// logs, and returns its Client; its Close ends the instance, not the
// process. A process that cannot host several instances opens one.
func (h *Host) Open(ctx context.Context, name string) (Client, error) {
	select {
	case <-h.exited:
		return nil, fmt.Errorf("%w: %v", ErrPluginExited, h.exitErr)
	default:
	}
	if !h.caps.Instances {
		h.mu.Lock()
		used := h.legacyUse
		h.legacyUse = true
		h.mu.Unlock()
		if used {
			return nil, fmt.Errorf("plugin: the process of %s hosts one instance", h.cmd.Path)
		}
		return newRemote(h, 0, h.legacy, false), nil
	}
	h.mu.Lock()
	h.nextID++
	id := h.nextID
	h.mu.Unlock()
	workerEnd, pluginEnd, err := newDataChannel()
	if err != nil {
		return nil, err
	}
	err = sendChannel(h.control, id, pluginEnd)
	pluginEnd.Close()
	if err == nil {
		_, err = h.rpc.OpenInstance(ctx, &pb.OpenInstanceRequest{Id: id, Name: name, DataChannel: true})
	}
	if err != nil {
		workerEnd.Close()
		return nil, fmt.Errorf("plugin: open instance %s: %w", name, h.wrap(err))
	}
	return newRemote(h, id, workerEnd, h.caps.SinkDataChannel), nil
}

// wrap turns an error of a call into ErrPluginExited when the process is
// gone.
func (h *Host) wrap(err error) error {
	select {
	case <-h.exited:
		return fmt.Errorf("%w: %v", ErrPluginExited, h.exitErr)
	default:
	}
	if status.Code(err) == codes.Unavailable {
		select {
		case <-h.exited:
			return fmt.Errorf("%w: %v", ErrPluginExited, h.exitErr)
		case <-time.After(500 * time.Millisecond):
			return fmt.Errorf("%w: %s", ErrPluginExited, status.Convert(err).Message())
		}
	}
	return err
}

// Launch starts cmd as a plugin process that hosts one instance, and
// returns the instance's Client; closing it ends the process. The ctx
// bounds the start.
func Launch(ctx context.Context, cmd *exec.Cmd, logger *slog.Logger) (Client, error) {
	h, err := LaunchHost(ctx, cmd, logger)
	if err != nil {
		return nil, err
	}
	name := cmd.Path
	if len(cmd.Args) > 0 {
		name = cmd.Args[len(cmd.Args)-1]
	}
	c, err := h.Open(ctx, name)
	if err != nil {
		h.Close()
		return nil, err
	}
	r := c.(*remote)
	r.ownsHost = true
	return r, nil
}

// hclogTo adapts go-plugin's logging to slog, at warning level and above:
// go-plugin is chatty at debug level about every handshake.
func hclogTo(logger *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: &slogWriter{logger: logger}, Level: hclog.Warn, DisableTime: true})
}

// slogWriter turns lines written to it into log records.
type slogWriter struct{ logger *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			w.logger.Info("plugin output", "line", line)
		}
	}
	return len(p), nil
}

var _ io.Writer = (*slogWriter)(nil)

// tailWriter keeps the last lines a plugin process wrote to its standard
// error outside go-plugin's redirection (the Go runtime's crash output), so
// that the exit reason can quote them.
type tailWriter struct {
	mu    sync.Mutex
	line  []byte   // the line being written
	lines []string // the last maxTailLines complete lines
}

const (
	maxTailLines = 40
	maxCrashText = 4096
)

func newTailWriter() *tailWriter { return &tailWriter{} }

// Write is called by go-plugin with a line's bytes, then a newline alone.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range p {
		if c != '\n' {
			w.line = append(w.line, c)
			continue
		}
		l := string(w.line)
		w.line = w.line[:0]
		if strings.TrimSpace(l) == "" {
			continue
		}
		if len(w.lines) == maxTailLines {
			w.lines = append(w.lines[:0], w.lines[1:]...)
		}
		w.lines = append(w.lines, l)
	}
	return len(p), nil
}

// crash returns the process's crash output, from the Go runtime's "panic:"
// or "fatal error:" line on, at most maxCrashText bytes; "" when it wrote
// none.
func (w *tailWriter) crash() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, l := range w.lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			s := strings.Join(w.lines[i:], "\n")
			if len(s) > maxCrashText {
				s = s[:maxCrashText] + "\n…"
			}
			return s
		}
	}
	return ""
}

// instanceKey is the gRPC metadata key that names the instance a call is
// for (see plugin.proto).
const instanceKey = "connectd-instance"

func formatID(id uint64) string { return strconv.FormatUint(id, 10) }
