package elasticsink

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/internal/testserver"
)

// TestContract runs the sink contract suite in-process and over a real
// plugin process against ZincSearch, each run into an index of its own.
// flush.synchronously makes the flush wait for every record, as the suite
// requires.
func TestContract(t *testing.T) {
	z := testserver.StartZinc(t)
	var n atomic.Int32
	records := []string{`{"a":1}`, `{"b":"two"}`, `{"c":[1,2,3]}`, `{"d":{"e":true}}`, `{"f":null,"g":1.5}`}
	connecttest.Sink(t, testPlugin, connecttest.SinkCase{
		Prepare: func(t *testing.T) map[string]string {
			topic := fmt.Sprintf("contract%d", n.Add(1))
			cfg := zincConfig(z, topic, KeyIgnoreKey, "true", SchemaIgnoreKey, "true", FlushSynchronouslyKey, "true")
			cfg["connector.class"] = ConfluentClass
			return cfg
		},
		Records: records,
		Want:    []string{`{"a":1}`, `{"b":"two"}`, `{"c":[1,2,3]}`, `{"d":{"e":true}}`, `{"f":null,"g":1.5}`},
		Check: func(t *testing.T, cfg map[string]string) []string {
			topic := cfg["topics"]
			docs := z.WaitDocs(strings.ToLower(topic), time.Minute, func(docs map[string]string) (bool, string) {
				return len(docs) == len(records), fmt.Sprintf("%d documents", len(docs))
			})
			ids := make([]string, 0, len(docs))
			for id := range docs {
				ids = append(ids, id)
			}
			offset := func(id string) int {
				n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '+')+1:])
				return n
			}
			sort.Slice(ids, func(i, j int) bool { return offset(ids[i]) < offset(ids[j]) })
			out := make([]string, len(ids))
			for i, id := range ids {
				if want := fmt.Sprintf("%s+0+%d", topic, i); id != want {
					t.Errorf("document id %s, want %s", id, want)
				}
				out[i] = docs[id]
			}
			return out
		},
	})
}
