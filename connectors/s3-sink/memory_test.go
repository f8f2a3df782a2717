package s3sink

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectd/connectd/framework/connect"
)

// TestMemoryBudgetSendsParts: a file larger than the budget goes up in
// parts of at least 5 MiB as the budget fills, not as one buffer; the
// memory the task holds never passes the budget.
func TestMemoryBudgetSendsParts(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	const budget = 12 << 20
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(FlushSizeKey, "400", MemoryBudgetKey, fmt.Sprint(budget)), tp)
	recs := bigRecords(400, 100<<10) // 40 MB in one file; parts of 25 MiB would not fit
	for i := 0; i < len(recs); i += 10 {
		r.put(recs[i : i+10]...)
		if u := r.task.w.usage(); u > budget {
			t.Fatalf("after %d records the task holds %d bytes, over the budget of %d", i+10, u, budget)
		}
	}
	r.settle()
	checkBucket(t, b, recs, partitionerCases[0].folder, formatCases[0], 400)
	head, err := b.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(b.name), Key: aws.String("topics/orders/partition=0/orders+0+0000000000.json")})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(head.ETag); !strings.Contains(etag, "-") {
		t.Fatalf("ETag %s: the object did not go up in parts", etag)
	}
	if n := r.task.w.stats.earlyCloses.Load(); n != 0 {
		t.Fatalf("%d files closed early; parts should have made room", n)
	}
}

// TestMemoryBudgetManyPartitions: a thousand open partitions with small
// files cannot all stay open under the budget: the largest close early,
// the memory held stays within the budget, and every record lands once.
func TestMemoryBudgetManyPartitions(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	const budget = 16 << 20
	const parts = 1000
	var tps []connect.TopicPartition
	for p := 0; p < parts; p++ {
		tps = append(tps, connect.TopicPartition{Topic: "orders", Partition: int32(p)})
	}
	r := startTask(t, b.config(FlushSizeKey, "1000", MemoryBudgetKey, fmt.Sprint(budget)), tps...)
	var recs []*connect.Record
	pad := strings.Repeat("x", 2000)
	for i := 0; i < 10; i++ {
		var batch []*connect.Record
		for p := 0; p < parts; p++ {
			batch = append(batch, &connect.Record{Topic: "orders", Partition: int32(p), Offset: int64(i), Value: map[string]any{"i": int64(i), "pad": pad}})
		}
		r.put(batch...)
		if u := r.task.w.usage(); u > budget {
			t.Fatalf("the task holds %d bytes, over the budget of %d", u, budget)
		}
		recs = append(recs, batch...)
	}
	if err := r.task.Flush(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if r.task.w.stats.earlyCloses.Load() == 0 {
		t.Fatal("no file closed early")
	}
	checkBucketJSON(t, b, recs)
}

// checkBucketJSON checks that the bucket holds every schemaless JSON
// record of recs exactly once, in its partition's folder.
func checkBucketJSON(t *testing.T, b *bucket, recs []*connect.Record) {
	t.Helper()
	checkBucket(t, b, recs, partitionerCases[0].folder, formatCases[0], 1<<30)
}
