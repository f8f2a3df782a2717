package transforms

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigDef(t *testing.T) {
	t.Parallel()
	def := ConfigDef(map[string]string{
		"transforms":              "mask,unknown,mask",
		"transforms.mask.type":    "MaskField$Value",
		"transforms.unknown.type": "nope",
		"predicates":              "p",
		"predicates.p.type":       "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
	})
	var names []string
	for _, k := range def.Keys() {
		names = append(names, k.Name)
	}
	want := []string{
		"transforms", "predicates",
		"transforms.mask.type", "transforms.mask.predicate", "transforms.mask.negate",
		"transforms.mask.fields", "transforms.mask.replacement", "transforms.mask.replace.null.with.default",
		"transforms.unknown.type", "transforms.unknown.predicate", "transforms.unknown.negate",
		"predicates.p.type", "predicates.p.pattern",
	}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
	k, _ := def.Key("transforms.mask.fields")
	if k.Group != "Transforms: mask" || !k.Required {
		t.Errorf("transforms.mask.fields = %+v", k)
	}
	k, _ = def.Key("transforms.mask.type")
	if len(k.Recommended) != 27 {
		t.Errorf("type recommends %d classes, want 27", len(k.Recommended))
	}
}
