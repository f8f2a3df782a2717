package datagen

import (
	"flag"
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

var update = flag.Bool("update", false, "rewrite the README config table from the ConfigDef")

// TestREADMEConfigTable keeps README.md's config table in step with the
// ConfigDef. Run with -update to rewrite it.
func TestREADMEConfigTable(t *testing.T) {
	connecttest.CheckREADME(t, "README.md", "datagen", configDef(), *update)
}
