package postgrescdc

import (
	"testing"

	"github.com/connectd/connectd/framework/connect"
)

func TestExactlyOnceSupport(t *testing.T) {
	t.Parallel()
	c := NewSource().(connect.ExactlyOnceSourceConnector)
	for mode, want := range map[string]connect.ExactlyOnceSupport{
		"":             connect.ExactlyOnceSupported,
		"initial":      connect.ExactlyOnceSupported,
		"when_needed":  connect.ExactlyOnceSupported,
		"no_data":      connect.ExactlyOnceSupported,
		"initial_only": connect.ExactlyOnceSupported,
		"always":       connect.ExactlyOnceUnsupported,
		"ALWAYS":       connect.ExactlyOnceUnsupported,
	} {
		if got := c.ExactlyOnceSupport(map[string]string{SnapshotModeKey: mode}); got != want {
			t.Errorf("snapshot.mode=%q: %s, want %s", mode, got, want)
		}
	}
	if _, ok := NewSource().(connect.TransactionBoundaryConnector); ok {
		t.Error("postgres-cdc says it defines transaction boundaries; it does not")
	}
}
