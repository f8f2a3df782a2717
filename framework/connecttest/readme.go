package connecttest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// CheckREADME keeps a connector README's config table in step with its
// ConfigDef: the table between the markers "<!-- SECTION config: begin -->"
// and "<!-- SECTION config: end -->" must be def.MarkdownTable(). With
// update set it rewrites the table instead of failing.
func CheckREADME(t *testing.T, path, section string, def *connect.ConfigDef, update bool) {
	table := def.MarkdownTable()
	t.Helper()
	begin := fmt.Sprintf("<!-- %s config: begin -->\n", section)
	end := fmt.Sprintf("<!-- %s config: end -->", section)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no %q ... %q section", path, strings.TrimSpace(begin), end)
	}
	got := doc[i+len(begin) : j]
	if got == table {
		return
	}
	if update {
		doc = doc[:i+len(begin)] + table + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s config table is stale; run go test -run TestREADMEConfigTable -update (-README +ConfigDef):\n%s",
		path, cmp.Diff(got, table))
}
