package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/connectd/connectd/framework/connect"
)

var chunksDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "file", Type: connect.TypeString, Required: true, Doc: "File the written chunks are appended to."},
	connect.ConfigKey{Name: "chunk", Type: connect.TypeInt, Default: "7", Doc: "Records of a partition written together."},
	connect.ConfigKey{Name: "idle.ms", Type: connect.TypeLong, Default: "-1", Doc: "A partition's partial chunk is written once no record came for it this long (-1: never)."},
)

type chunksConnector struct{}

func (chunksConnector) Config() *connect.ConfigDef                     { return chunksDef }
func (chunksConnector) Start(context.Context, map[string]string) error { return nil }
func (chunksConnector) TaskConfigs(_ context.Context, max int) ([]map[string]string, error) {
	return make([]map[string]string, max), nil
}
func (chunksConnector) Stop(context.Context) error { return nil }
func (chunksConnector) NewTask() connect.SinkTask  { return &chunksTask{} }

// chunksTask keeps records across flushes, as an object-store sink keeps
// open files: a partition's records are written (appended to the file and
// synced) in chunks of `chunk`, and a partial chunk only once the partition
// was idle for idle.ms, which the task learns of from the worker's empty
// puts. Its PreCommit reports each partition durable up to its first
// record still held, so a flush never makes it write.
type chunksTask struct {
	path  string
	chunk int
	idle  time.Duration
	mu    sync.Mutex
	held  map[connect.TopicPartition][]*connect.Record
	last  map[connect.TopicPartition]time.Time
}

var _ connect.PreCommitter = (*chunksTask)(nil)

func (t *chunksTask) Start(_ context.Context, cfg map[string]string) error {
	c, err := chunksDef.Parse(cfg)
	if err != nil {
		return err
	}
	t.path, t.chunk, t.idle = c.String("file"), int(c.Int("chunk")), time.Duration(c.Long("idle.ms"))*time.Millisecond
	t.held, t.last = map[connect.TopicPartition][]*connect.Record{}, map[connect.TopicPartition]time.Time{}
	return nil
}

func (t *chunksTask) Put(_ context.Context, recs []*connect.Record) error {
	now := time.Now()
	for _, r := range recs {
		tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		t.held[tp] = append(t.held[tp], r)
		t.last[tp] = now
		if len(t.held[tp]) == t.chunk {
			if err := t.write(tp); err != nil {
				return err
			}
		}
	}
	if t.idle < 0 {
		return nil
	}
	for tp, rs := range t.held {
		if len(rs) > 0 && now.Sub(t.last[tp]) >= t.idle {
			if err := t.write(tp); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *chunksTask) write(tp connect.TopicPartition) error {
	f, err := os.OpenFile(t.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	var b strings.Builder
	for _, r := range t.held[tp] {
		fmt.Fprintln(&b, r.Value)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return err
	}
	t.held[tp] = t.held[tp][:0]
	return f.Sync()
}

func (t *chunksTask) PreCommit(_ context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	out := map[connect.TopicPartition]int64{}
	for tp, o := range offsets {
		if rs := t.held[tp]; len(rs) > 0 {
			o = rs[0].Offset
		}
		out[tp] = o
	}
	return out, nil
}

func (t *chunksTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	return fmt.Errorf("chunks: Flush called on a PreCommitter")
}

// Close drops what the task holds of partitions taken away: a later
// owner gets those records again from the committed offset.
func (t *chunksTask) Open(context.Context, []connect.TopicPartition) error { return nil }
func (t *chunksTask) Close(_ context.Context, tps []connect.TopicPartition) error {
	for _, tp := range tps {
		delete(t.held, tp)
	}
	return nil
}

func (t *chunksTask) Stop(context.Context) error { return nil }

// TestSinkPreCommitCommitsOnlyWhatTheTaskSaysIsDurable: a sink task that
// keeps records across flushes has the worker commit, at every interval,
// at rebalances and at stop, exactly the offsets it reports durable and
// never the ones it was handed; records it held when it stopped come again
// from there; and the worker's empty puts while idle let it write a partial
// chunk. In-process and across the plugin boundary.
func TestSinkPreCommitCommitsOnlyWhatTheTaskSaysIsDurable(t *testing.T) {
	for _, iso := range isolationModes {
		t.Run(iso, func(t *testing.T) {
			e := newEnv(t, iso)
			out := filepath.Join(t.TempDir(), "out.txt")
			const perTask = 200
			e.put("src", map[string]string{"connector.class": "counter", "tasks.max": "3", "topic": "t1", "count": fmt.Sprint(perTask), "batch": "13"})
			adm := kadm.NewClient(kgoClient(t, e))
			waitFor(t, "the source's records in t1", func() (bool, string) {
				ends, err := adm.ListEndOffsets(context.Background(), "t1")
				if err != nil {
					return false, err.Error()
				}
				var n int64
				ends.Each(func(lo kadm.ListedOffset) { n += lo.Offset })
				return n == 3*perTask, fmt.Sprint(n)
			})
			ends, err := adm.ListEndOffsets(context.Background(), "t1")
			if err != nil {
				t.Fatal(err)
			}
			committed := func() (map[int32]int64, string) {
				got := map[int32]int64{}
				offs, err := adm.FetchOffsets(context.Background(), SinkGroup("snk"))
				if err != nil {
					return nil, err.Error()
				}
				offs.Each(func(o kadm.OffsetResponse) {
					if o.Topic == "t1" {
						got[o.Partition] = o.At
					}
				})
				return got, fmt.Sprint(got)
			}
			// Whole chunks only: each partition is committed up to the
			// last multiple of the chunk size, never to its end.
			const chunk = 7
			wantChunks := map[int32]int64{}
			ends.Each(func(lo kadm.ListedOffset) { wantChunks[lo.Partition] = lo.Offset / chunk * chunk })
			e.put("snk", map[string]string{"connector.class": "chunks", "tasks.max": "2", "topics": "t1", "file": out, "chunk": fmt.Sprint(chunk)})
			waitFor(t, "whole chunks committed", func() (bool, string) {
				got, s := committed()
				return fmt.Sprint(got) == fmt.Sprint(wantChunks), s + " want " + fmt.Sprint(wantChunks)
			})
			// Several commit intervals later, still no further.
			time.Sleep(500 * time.Millisecond)
			if got, s := committed(); fmt.Sprint(got) != fmt.Sprint(wantChunks) {
				t.Fatalf("committed %s after more intervals, want %v", s, wantChunks)
			}

			// Restarted with idle.ms: the held records come again from the
			// committed offsets, and the empty puts of an idle consumer
			// write them.
			e.put("snk", map[string]string{"connector.class": "chunks", "tasks.max": "2", "topics": "t1", "file": out, "chunk": fmt.Sprint(chunk), "idle.ms": "300"})
			wantEnds := map[int32]int64{}
			ends.Each(func(lo kadm.ListedOffset) { wantEnds[lo.Partition] = lo.Offset })
			waitFor(t, "every offset committed", func() (bool, string) {
				got, s := committed()
				return fmt.Sprint(got) == fmt.Sprint(wantEnds), s + " want " + fmt.Sprint(wantEnds)
			})
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffCounts(wantValues(3, perTask), counts(strings.Fields(string(b)))); d != "" {
				t.Fatalf("the file does not hold every record exactly once: %s", d)
			}
		})
	}
}
