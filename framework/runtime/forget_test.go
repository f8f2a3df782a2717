package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
)

var forgetDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Doc: "Topic."},
	connect.ConfigKey{Name: "count", Type: connect.TypeLong, Default: "100", Doc: "Records."},
	connect.ConfigKey{Name: "keep", Type: connect.TypeLong, Default: "0", Doc: "Files (partitions of ten records) from this one on are not forgotten."},
	connect.ConfigKey{Name: "listed.file", Type: connect.TypeString, Required: true, Doc: "The offsets the task lists at start are written here, as JSON."},
)

// forgetConnector's one task writes records "<n>" for n in [0,count), ten
// per source partition {"file": n/10} with offsets {"n": n}, and forgets
// each file's partition below keep in the poll that returns its last
// record, as a source with one partition per file forgets finished files.
type forgetConnector struct{ cfg map[string]string }

func (c *forgetConnector) Config() *connect.ConfigDef { return forgetDef }
func (c *forgetConnector) Start(_ context.Context, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *forgetConnector) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	return []map[string]string{{}}, nil
}
func (c *forgetConnector) Stop(context.Context) error  { return nil }
func (c *forgetConnector) NewTask() connect.SourceTask { return &forgetTask{} }

type forgetTask struct {
	topic       string
	next, count int64
	keep        int64
	forget      []map[string]any
}

var (
	_ connect.OffsetForgetter = (*forgetTask)(nil)
	_ connect.Committer       = (*forgetTask)(nil)
)

func (t *forgetTask) Start(_ context.Context, raw map[string]string, offsets connect.OffsetReader) error {
	c, err := forgetDef.Parse(raw)
	if err != nil {
		return err
	}
	t.topic, t.count, t.keep = c.String("topic"), c.Long("count"), c.Long("keep")
	lister, ok := offsets.(connect.OffsetLister)
	if !ok {
		return fmt.Errorf("forget: the offset reader %T lists no offsets", offsets)
	}
	listed := map[string]any{}
	for _, o := range lister.Offsets() {
		b, _ := json.Marshal(o.Partition)
		listed[string(b)] = o.Offset
		if n, err := connect.OffsetInt64(o.Offset["n"]); err == nil && n >= t.next {
			t.next = n + 1
		}
	}
	b, _ := json.Marshal(listed)
	return os.WriteFile(c.String("listed.file"), b, 0o644)
}

func (t *forgetTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.next >= t.count {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	var out []*connect.Record
	// Three records a poll: a file's last record and its forgetting meet
	// other files' records in the same batch.
	for ; t.next < t.count && len(out) < 3; t.next++ {
		part := map[string]any{"file": t.next / 10}
		out = append(out, &connect.Record{
			Topic: t.topic, Partition: -1, ValueSchema: connect.StringSchema, Value: fmt.Sprint(t.next),
			SourcePartition: part, SourceOffset: map[string]any{"n": t.next},
		})
		if t.next%10 == 9 && t.next/10 < t.keep {
			t.forget = append(t.forget, part)
		}
	}
	return out, nil
}

func (t *forgetTask) ForgetOffsets() []map[string]any {
	f := t.forget
	t.forget = nil
	return f
}

var forgetCommits struct {
	sync.Mutex
	nils int
}

func (t *forgetTask) Commit(_ context.Context, offs []connect.SourceOffset) error {
	forgetCommits.Lock()
	defer forgetCommits.Unlock()
	for _, o := range offs {
		if o.Offset == nil {
			forgetCommits.nils++
		}
	}
	return nil
}

func (t *forgetTask) Stop(context.Context) error { return nil }

// TestForgottenPartitionsLeaveTheStore runs a source that forgets each
// finished partition: every record arrives once, the store keeps only the
// partitions not forgotten, the task sees the forgetting committed, and a
// restarted task lists what the store kept. Exactly once, the tombstones
// are written in the transactions of the records before them.
func TestForgottenPartitionsLeaveTheStore(t *testing.T) {
	for _, tc := range []struct {
		iso string
		eos bool
	}{{"none", false}, {"connector", false}, {"task", false}, {"none", true}, {"connector", true}} {
		t.Run(fmt.Sprintf("isolation=%s/eos=%v", tc.iso, tc.eos), func(t *testing.T) {
			forgetCommits.Lock()
			forgetCommits.nils = 0
			forgetCommits.Unlock()
			var e *env
			if tc.eos {
				e = newEOSEnv(t, tc.iso)
			} else {
				e = newEnv(t, tc.iso)
			}
			listed := t.TempDir() + "/listed.json"
			e.put("f", map[string]string{"connector.class": "forget", "topic": "f", "count": "100", "keep": "8", "listed.file": listed})
			got := counts(e.readTopic("f", 100))
			want := map[string]int{}
			for n := range 100 {
				want[fmt.Sprint(n)] = 1
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("records (-want +got):\n%s", d)
			}
			stored := func() []string {
				es, err := e.store.Load(context.Background(), "f")
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, en := range es {
					out = append(out, string(en.Partition)+"="+string(en.Offset))
				}
				sort.Strings(out)
				return out
			}
			wantStored := []string{`{"file":8}={"n":89}`, `{"file":9}={"n":99}`}
			waitFor(t, "only the kept partitions stored", func() (bool, string) {
				s := stored()
				return cmp.Equal(s, wantStored), fmt.Sprint(s)
			})
			if tc.iso == "none" { // Commit runs in this process
				forgetCommits.Lock()
				nils := forgetCommits.nils
				forgetCommits.Unlock()
				if nils == 0 {
					t.Error("Commit never saw a forgotten partition's nil offset")
				}
			}

			e.restart()
			e.waitTaskState("f", 0, herder.Running, "")
			waitFor(t, "the restarted task listed the stored offsets", func() (bool, string) {
				b, _ := os.ReadFile(listed)
				return string(b) == `{"{\"file\":8}":{"n":89},"{\"file\":9}":{"n":99}}`, string(b)
			})
			if d := cmp.Diff(wantStored, stored()); d != "" {
				t.Fatalf("after the restart (-want +got):\n%s", d)
			}
		})
	}
}
