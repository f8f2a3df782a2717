package runtime

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/connectd/connectd/framework/plugin"
)

// With plugin.CPUProfileEnv set for the worker, each plugin process writes
// a CPU profile (gzipped, as pprof writes them) once it is stopped.
func TestPluginProcessesWriteCPUProfiles(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "cpu")
	t.Setenv(plugin.CPUProfileEnv, prefix)
	e := newEnv(t, "connector")
	e.put("c1", map[string]string{"connector.class": "counter", "topic": "t1", "count": "100"})
	if got := len(e.readTopic("t1", 100)); got != 100 {
		t.Fatalf("%d records", got)
	}
	if err := e.h.DeleteConnector(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a CPU profile of a plugin process", func() (bool, string) {
		paths, _ := filepath.Glob(prefix + ".*.pprof")
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
				return true, ""
			}
		}
		return false, "profiles: " + filepath.Join(paths...)
	})
}
