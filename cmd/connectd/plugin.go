package main

import (
	"fmt"
	"os"

	"github.com/connectd/connectd/framework/plugin"
)

// servePlugin is how the worker runs a built-in connector out of process.
func servePlugin(name string) error {
	p, ok := builtins()[name]
	if !ok {
		return fmt.Errorf("plugin serve: no built-in connector %q", name)
	}
	if os.Getenv(plugin.Handshake.MagicCookieKey) != plugin.Handshake.MagicCookieValue {
		return fmt.Errorf("plugin serve: this command is run by a connectd worker, not by hand")
	}
	plugin.Serve(p)
	return nil
}
