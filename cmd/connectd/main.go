// Command connectd is a Kafka Connect-compatible integration worker.
//
//	connectd dev                                   embedded broker + worker + REST API
//	connectd standalone worker.properties [connector.properties|.json ...]
//	connectd worker worker.properties              one worker of a distributed cluster
//	connectd broker                                a Kafka-protocol broker for tests
//	connectd plugin serve NAME                     serve a built-in connector (used by the worker)
//	connectd ctl COMMAND                           a client for Kafka Connect REST APIs
//	connectd hash-password NAME                    a REST users-file line
//	connectd version
package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
)

// cpuProfileEnv, set to a path prefix, makes a worker, broker or other
// connectd process write a CPU profile of its life to
// <prefix>.<pid>.pprof when it ends (for `go tool pprof`); plugin
// processes have their own variable, plugin.CPUProfileEnv.
const cpuProfileEnv = "CONNECTD_CPUPROFILE"

func main() {
	os.Exit(run(os.Args[1:]))
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  connectd dev [flags]                      run an embedded Kafka broker, a worker and the REST API
  connectd standalone worker.properties [connector.properties|connector.json ...]
  connectd worker worker.properties         run one worker of a distributed cluster
  connectd broker [flags]                   run a Kafka-protocol broker (kfake) with a data dir
  connectd plugin serve NAME                serve a built-in connector as a plugin process
  connectd consume [--max N] TOPIC          print records of a topic (default broker 127.0.0.1:9092)
  connectd ctl COMMAND ...                  manage connectors through any Kafka Connect REST API ('connectd ctl help')
  connectd hash-password [--role R] NAME    print a REST users-file line for the password on stdin
  connectd plugins                          list built-in connectors
  connectd version
Run 'connectd COMMAND -h' for a command's flags.
`)
}

func run(args []string) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if args[0] != "plugin" { // a plugin process profiles with plugin.CPUProfileEnv
		defer plugin.StartCPUProfile(cpuProfileEnv)()
	}
	var err error
	switch args[0] {
	case "dev":
		err = runDev(ctx, args[1:])
	case "standalone":
		err = runStandalone(ctx, args[1:])
	case "worker":
		err = runWorker(ctx, args[1:])
	case "broker":
		err = runBroker(ctx, args[1:])
	case "plugin":
		if len(args) < 3 || len(args) > 4 || args[1] != "serve" {
			usage()
			return 2
		}
		err = servePlugin(args[2])
	case "consume":
		err = runConsume(ctx, args[1:])
	case "ctl":
		return runCtl(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "hash-password":
		err = runHashPassword(args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "plugins":
		b := builtins()
		for _, name := range slices.Sorted(maps.Keys(b)) {
			fmt.Printf("%s\t%s\t%s\n", name, b[name].Kind(), strings.Join(b[name].Aliases, ", "))
		}
	case "version":
		fmt.Println("connectd", version())
	case "-h", "--help", "help":
		usage()
		return 0
	default:
		fmt.Fprintf(os.Stderr, "connectd: unknown command %q\n", args[0])
		usage()
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "connectd: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	// The levels decide what is logged, and /admin/loggers changes them.
	levels := runtime.NewLogLevels(l)
	return slog.New(levels.Handler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.Level(math.MinInt32)})))
}
