package transforms

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuiltinTypes checks that the registry holds exactly the transforms and
// predicates Kafka Connect lists in its META-INF/services files, and
// Debezium's ExtractNewRecordState, under their class names and short names.
func TestBuiltinTypes(t *testing.T) {
	t.Parallel()
	wantT := []string{
		"Cast$Key", "Cast$Value", "DropHeaders", "ExtractField$Key", "ExtractField$Value", "Filter",
		"Flatten$Key", "Flatten$Value", "HeaderFrom$Key", "HeaderFrom$Value", "HoistField$Key", "HoistField$Value",
		"InsertField$Key", "InsertField$Value", "InsertHeader", "MaskField$Key", "MaskField$Value", "RegexRouter",
		"ReplaceField$Key", "ReplaceField$Value", "SetSchemaMetadata$Key", "SetSchemaMetadata$Value",
		"TimestampConverter$Key", "TimestampConverter$Value", "TimestampRouter", "ValueToKey",
		"ExtractNewRecordState",
	}
	var gotT []string
	for _, tt := range builtin.Transforms() {
		gotT = append(gotT, tt.Name)
		pkg := "org.apache.kafka.connect.transforms."
		if tt.Name == "ExtractNewRecordState" {
			pkg = "io.debezium.transforms."
		}
		if tt.Class != pkg+tt.Name {
			t.Errorf("%s: class %s", tt.Name, tt.Class)
		}
		for _, n := range []string{tt.Name, tt.Class} {
			if got, ok := builtin.Transform(n); !ok || got.Class != tt.Class {
				t.Errorf("Transform(%q) = %v, %v", n, got.Class, ok)
			}
		}
		if tt.Doc == "" || tt.Config == nil {
			t.Errorf("%s has no doc or config", tt.Name)
		}
		for _, k := range tt.Config.Keys() {
			if k.Doc == "" {
				t.Errorf("%s: key %s has no doc", tt.Name, k.Name)
			}
		}
	}
	if d := cmp.Diff(wantT, gotT); d != "" {
		t.Errorf("transforms (-want +got):\n%s", d)
	}
	var gotP []string
	for _, p := range builtin.Predicates() {
		gotP = append(gotP, p.Class)
	}
	wantP := []string{
		"org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
		"org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
		"org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
	}
	if d := cmp.Diff(wantP, gotP); d != "" {
		t.Errorf("predicates (-want +got):\n%s", d)
	}
	if len(NewRegistry().Transforms()) != len(wantT) {
		t.Error("NewRegistry lost built-in transforms")
	}
}
