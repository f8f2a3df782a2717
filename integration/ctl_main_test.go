package integration

import (
	"context"
	"io"
	"strings"

	"github.com/connectd/connectd/internal/ctl"
)

func ctlMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return ctl.Run(context.Background(), args, strings.NewReader(""), stdout, stderr, getenv)
}
