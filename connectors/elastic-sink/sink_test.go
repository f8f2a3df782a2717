package elasticsink

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/internal/testserver"
)

func TestWritesDocuments(t *testing.T) {
	t.Parallel()
	es := testserver.StartESFake(t)
	task := startTask(t, baseConfig(es.URL, BehaviorOnNullKey, NullDelete), nil)
	put(t, task,
		rec("t", 0, 0, "a", doc("n", int64(1))),
		rec("t", 0, 1, "b", doc("n", int64(2))),
		rec("t", 0, 2, "a", doc("n", int64(3))),
		rec("t", 0, 3, "b", nil),
	)
	flushed(t, task)
	if d := cmp.Diff(map[string]string{"a": `{"n":3}`}, es.Docs("t")); d != "" {
		t.Fatalf("documents (-want +got):\n%s", d)
	}
	if got := committable(t, task, tp("t", 0), 4); got != 4 {
		t.Fatalf("committable offset %d, want 4", got)
	}
	if o := es.Overlaps(); len(o) > 0 {
		t.Fatalf("overlapping requests: %v", o)
	}
}
