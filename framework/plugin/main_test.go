package plugin

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Re-executed as `<test> plugin serve NAME`: serve a test plugin.
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		for _, p := range processPlugins {
			if p.Name == os.Args[3] {
				Serve(p)
				os.Exit(0)
			}
		}
		os.Exit(4)
	}
	goleak.VerifyTestMain(m)
}
