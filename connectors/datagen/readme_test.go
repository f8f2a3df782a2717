package datagen

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/connect"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the README config table from the ConfigDef")

// TestREADMEConfigTable keeps README.md's config table in step with the
// ConfigDef. Run with -update to rewrite it.
func TestREADMEConfigTable(t *testing.T) {
	checkREADME(t, "README.md", "datagen", configTable(configDef()))
}

// configTable renders def as a markdown table.
func configTable(def *connect.ConfigDef) string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Importance | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, k := range def.Keys() {
		dflt := "`" + k.Default + "`"
		switch {
		case k.Required:
			dflt = "required"
		case k.Default == "":
			dflt = `""`
		}
		doc := k.Doc
		if len(k.Recommended) > 0 {
			doc += " One of: `" + strings.Join(k.Recommended, "`, `") + "`."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, dflt, k.Importance,
			strings.ReplaceAll(doc, "|", `\|`))
	}
	return b.String()
}

func checkREADME(t *testing.T, path, section, table string) {
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
	if *update {
		doc = doc[:i+len(begin)] + table + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s config table is stale; run go test -run TestREADMEConfigTable -update (-README +ConfigDef):\n%s",
		path, cmp.Diff(got, table))
}
