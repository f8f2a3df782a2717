package elasticsink

import (
	"flag"
	"testing"

	"go.uber.org/goleak"

	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/framework/plugin"
)

var update = flag.Bool("update", false, "rewrite golden files and the README's config table")

var testPlugin = plugin.Plugin{Name: Name, Version: Version, Aliases: []string{ConfluentClass}, NewSink: NewSink}

func TestMain(m *testing.M) {
	connecttest.ServeIfPlugin(testPlugin) // the test binary doubles as the plugin process
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/connectd/connectd/framework/plugin.exitWithParent"),
	)
}
