package s3sink

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func jsonRecords(topic string, p int32, from, n int) []*connect.Record {
	out := make([]*connect.Record, n)
	for i := range out {
		off := int64(from + i)
		out[i] = &connect.Record{Topic: topic, Partition: p, Offset: off, Value: map[string]any{"id": off, "name": fmt.Sprintf("n%d", off)},
			Timestamp: time.UnixMilli(1700000000000 + off)}
	}
	return out
}

func TestSizeRotationAndPreCommit(t *testing.T) {
	b := newBucket(t)
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(FlushSizeKey, "10"), tp)
	r.putAll(jsonRecords("orders", 0, 0, 25), 7)
	got := r.preCommit(map[connect.TopicPartition]int64{tp: 25})
	if diff := cmp.Diff(map[connect.TopicPartition]int64{tp: 20}, got); diff != "" {
		t.Fatalf("PreCommit (-want +got):\n%s", diff)
	}
	objs := b.objects(t)
	want := []string{"topics/orders/partition=0/orders+0+0000000000.json", "topics/orders/partition=0/orders+0+0000000010.json"}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`{"id":10,"name":"n10"}`, lines(objs[want[1]], "\n")[0]); diff != "" {
		t.Fatal(diff)
	}
	r.put(jsonRecords("orders", 0, 25, 5)...)
	got = r.preCommit(map[connect.TopicPartition]int64{tp: 30})
	if diff := cmp.Diff(map[connect.TopicPartition]int64{tp: 30}, got); diff != "" {
		t.Fatalf("PreCommit (-want +got):\n%s", diff)
	}
}
