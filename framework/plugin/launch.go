package plugin

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

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

// Transport sizes for the plugin connection. A streamed source message is
// a few hundred KiB; HTTP/2's default 64 KiB flow-control window and 32 KiB
// buffers would make the sender wait for window updates several times per
// message.
const (
	streamWindow = 2 << 20
	ioBuffer     = 1 << 20
)

type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl Client
	data *os.File // plugin side: the data channel, if the worker passed one
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	srv := &server{impl: p.impl}
	if p.data != nil { // a nil *os.File must not become a non-nil io.Writer
		srv.data = p.data
	}
	pb.RegisterPluginServer(s, srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(conn), nil
}

// Serve runs p as a plugin process; it returns when the worker ends the
// process. Call it from a plugin executable's main.
func Serve(p Plugin) {
	setProcs(p)
	defer startCPUProfile()()
	tuneGC()
	go exitWithParent()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{pluginKey: &grpcPlugin{impl: NewLocal(p), data: pluginDataChannel()}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessageBytes), grpc.MaxSendMsgSize(maxMessageBytes),
				grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(streamWindow),
				grpc.WriteBufferSize(ioBuffer), grpc.ReadBufferSize(ioBuffer))...)
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

// Launch starts cmd as a plugin process and returns its Client. The ctx
// bounds the start; the process lives until Close.
func Launch(ctx context.Context, cmd *exec.Cmd, logger *slog.Logger) (Client, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	workerEnd, pluginEnd, err := newDataChannel()
	if err != nil {
		return nil, err
	}
	defer pluginEnd.Close() // the child has its own copy once started
	cmd.ExtraFiles = append(cmd.ExtraFiles, pluginEnd)
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", dataFDEnv, 2+len(cmd.ExtraFiles)))
	pc := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          goplugin.PluginSet{pluginKey: &grpcPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclogTo(logger),
		StartTimeout:     30 * time.Second,
		SyncStderr:       &slogWriter{logger: logger},
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
			grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(streamWindow),
			grpc.WithWriteBufferSize(ioBuffer), grpc.WithReadBufferSize(ioBuffer),
		},
	})
	type result struct {
		rpc pb.PluginClient
		err error
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
		done <- result{rpc: raw.(pb.PluginClient)}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			pc.Kill()
			workerEnd.Close()
			return nil, fmt.Errorf("plugin: start %s: %w", cmd.Path, res.err)
		}
		exitErr := func() error {
			if cmd.ProcessState == nil {
				return fmt.Errorf("plugin process ended")
			}
			return fmt.Errorf("plugin process ended: %s", cmd.ProcessState)
		}
		return newRemote(res.rpc, pc, workerEnd, exitErr), nil
	case <-ctx.Done():
		pc.Kill()
		workerEnd.Close()
		<-done
		return nil, fmt.Errorf("plugin: start %s: %w", cmd.Path, ctx.Err())
	}
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
