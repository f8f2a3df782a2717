package file

import (
	"flag"
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

var update = flag.Bool("update", false, "rewrite the README config table from the ConfigDef")

// TestREADMEConfigTable keeps README.md's config tables in step with the
// ConfigDefs. Run with -update to rewrite them.
func TestREADMEConfigTable(t *testing.T) {
	connecttest.CheckREADME(t, "README.md", "source", sourceConfigDef(), *update)
	connecttest.CheckREADME(t, "README.md", "sink", sinkConfigDef(), *update)
}
