package main

import (
	"context"
	"errors"
	"flag"

	"github.com/connectd/connectd/framework/runtime"
)

// runWorker runs one worker of a distributed cluster: Kafka Connect's
// connect-distributed.sh.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("worker: usage: connectd worker worker.properties")
	}
	logger := newLogger(*logLevel)
	props, err := runtime.ReadProperties(fs.Arg(0))
	if err != nil {
		return err
	}
	rw, err := startDistributed(ctx, props, logger)
	if err != nil {
		return err
	}
	rw.announce()
	return rw.wait(ctx)
}
