package s3sink

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/framework/plugin"
)

var testPlugin = plugin.Plugin{Name: Name, Version: Version, Aliases: []string{ConfluentClass}, NewSink: NewSink}

func TestMain(m *testing.M) {
	connecttest.ServeIfPlugin(testPlugin) // the test binary doubles as the plugin process
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/connectd/connectd/framework/plugin.exitWithParent"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}
