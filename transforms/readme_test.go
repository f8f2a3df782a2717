package transforms

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

var update = flag.Bool("update", false, "rewrite README.md's config tables from the ConfigDefs")

// TestREADMEConfigTable keeps README.md's tables in step with the
// transforms' and predicates' ConfigDefs, as framework/connecttest's
// CheckREADME does for connectors (which this package cannot import: the
// plugin runtime imports it). Run with -update to rewrite them.
func TestREADMEConfigTable(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	sections := map[string]*connect.ConfigDef{}
	var order []string
	for _, tt := range builtin.Transforms() {
		base, _, _ := strings.Cut(tt.Name, "$")
		if _, ok := sections[base]; !ok {
			sections[base] = tt.Config
			order = append(order, base)
		}
	}
	for _, p := range builtin.Predicates() {
		sections[p.Name] = p.Config
		order = append(order, p.Name)
	}
	for _, name := range order {
		table := sections[name].MarkdownTable()
		begin := "<!-- " + name + " config: begin -->\n"
		end := "<!-- " + name + " config: end -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Errorf("README.md has no %q ... %q section", strings.TrimSpace(begin), end)
			continue
		}
		if got := doc[i+len(begin) : j]; got != table {
			if !*update {
				t.Errorf("README.md table of %s is stale; run go test -run TestREADMEConfigTable -update (-README +ConfigDef):\n%s",
					name, cmp.Diff(got, table))
				continue
			}
			doc = doc[:i+len(begin)] + table + doc[j:]
		}
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
