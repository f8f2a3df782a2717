package s3sink

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/connectd/connectd/framework/connecttest"
)

// TestContract runs the sink contract suite in-process and over a real
// plugin process, each run into a fresh bucket of one versitygw.
func TestContract(t *testing.T) {
	first := newBucket(t)
	buckets := map[string]*bucket{}
	var n atomic.Int32
	records := []string{`{"id":1,"name":"a"}`, `{"id":2,"name":"b"}`, `{"id":3}`, `"text"`, `4.5`, `[1,2]`}
	connecttest.Sink(t, testPlugin, connecttest.SinkCase{
		Prepare: func(t *testing.T) map[string]string {
			b := gwBucket(t, first.gw, fmt.Sprintf("contract-%d", n.Add(1)))
			buckets[b.name] = b
			return b.config(FlushSizeKey, fmt.Sprint(len(records)))
		},
		Records: records,
		Check: func(t *testing.T, cfg map[string]string) []string {
			b := buckets[cfg[BucketKey]]
			objs := b.objects(t)
			var out []string
			for _, k := range keys(objs) {
				out = append(out, k)
				out = append(out, lines(objs[k], "\n")...)
			}
			return out
		},
		Want: append([]string{"topics/orders/partition=0/orders+0+0000000000.json"}, records...),
	})
}
