package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

func TestSourceContract(t *testing.T) {
	connecttest.Source(t, sourcePlugin, connecttest.SourceCase{
		MinRecords: 20,
		Prepare: func(t *testing.T) map[string]string {
			path := filepath.Join(t.TempDir(), "in.txt")
			var b strings.Builder
			for i := 0; i < 50; i++ {
				fmt.Fprintf(&b, "line %d\n", i)
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			return map[string]string{"name": "src", "connector.class": SourceClass, "file": path, "topic": "lines"}
		},
	})
}

func TestSinkContract(t *testing.T) {
	connecttest.Sink(t, sinkPlugin, connecttest.SinkCase{
		Prepare: func(t *testing.T) map[string]string {
			return map[string]string{"name": "snk", "connector.class": SinkClass, "topics": "lines", "file": filepath.Join(t.TempDir(), "out.txt")}
		},
		Records: []string{`"a"`, `"b c"`, `{"k":1}`, `42`},
		Want:    []string{"a", "b c", `{"k":1}`, "42"},
		Check: func(t *testing.T, cfg map[string]string) []string {
			b, err := os.ReadFile(cfg["file"])
			if err != nil {
				t.Fatal(err)
			}
			return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		},
	})
}
