package elasticsink

import (
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

// TestREADMEConfigTable keeps README.md's config table in step with the
// ConfigDef. Run with -update to rewrite it.
func TestREADMEConfigTable(t *testing.T) {
	connecttest.CheckREADME(t, "README.md", "elastic-sink", configDef(), *update)
}
