package file

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/framework/plugin"
)

var (
	sourcePlugin = plugin.Plugin{Name: SourceName, Version: Version, Aliases: []string{SourceClass}, NewSource: NewSource}
	sinkPlugin   = plugin.Plugin{Name: SinkName, Version: Version, Aliases: []string{SinkClass}, NewSink: NewSink}
)

func TestMain(m *testing.M) {
	connecttest.ServeIfPlugin(sourcePlugin, sinkPlugin) // the test binary doubles as the plugin process
	goleak.VerifyTestMain(m)
}
