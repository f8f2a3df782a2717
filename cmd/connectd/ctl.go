package main

import (
	"context"
	"io"
	"os"

	"github.com/connectd/connectd/internal/ctl"
)

// runCtl runs `connectd ctl` (package internal/ctl) and returns its exit
// code.
func runCtl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ctl.Run(ctx, args, stdin, stdout, stderr, os.Getenv)
}
