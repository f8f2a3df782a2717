package s3sink

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectd/connectd/framework/connect"
)

// crash ends a task as kill -9 would: uploads under way are cut off,
// nothing is flushed, closed or aborted.
func (r *runner) crash() {
	w := r.task.w
	w.cancel()
	w.wg.Wait()
	w.drain()
	r.task.stopped = true
	r.task.st.close()
}

// replayFrom returns the records at or after the committed offset of
// their partition (all when none was committed), as a restarted task gets
// them.
func replayFrom(recs []*connect.Record, committed map[connect.TopicPartition]int64) []*connect.Record {
	var out []*connect.Record
	for _, r := range recs {
		if r.Offset >= committed[connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}] {
			out = append(out, r)
		}
	}
	return out
}

// consumedUpTo returns the offsets after the last of recs per partition.
func consumedUpTo(recs []*connect.Record) map[connect.TopicPartition]int64 {
	out := map[connect.TopicPartition]int64{}
	for _, r := range recs {
		out[connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
	}
	return out
}

var twoPartitions = []connect.TopicPartition{{Topic: "orders", Partition: 0}, {Topic: "orders", Partition: 1}}

// TestReplayExactlyOnceDeterministic: a task crashes mid-stream after
// committing what PreCommit reported; its successor replays from the
// committed offsets. With the field partitioner and size rotation every
// record ends up exactly once, with conditional writes on (the replay
// continues after the objects it finds) and off (it rewrites them with the
// same names and bytes).
func TestReplayExactlyOnceDeterministic(t *testing.T) {
	t.Parallel()
	gw := newBucket(t).gw
	for i, conditional := range []string{"true", "false"} {
		b := gwBucket(t, gw, fmt.Sprintf("replay-%d", i))
		t.Run("conditional="+conditional, func(t *testing.T) {
			t.Parallel()
			cfg := b.config(PartitionerClassKey, FieldPartitioner, PartitionFieldKey, "region", FlushSizeKey, "5", ConditionalWritesKey, conditional)
			recs := orders("orders", 2, 150)
			committed := map[connect.TopicPartition]int64{}
			r1 := startTask(t, cfg, twoPartitions...)
			for i := 0; i < 100; i += 9 {
				batch := recs[i:min(i+9, 100)]
				r1.put(batch...)
				for tp, o := range r1.preCommit(consumedUpTo(recs[:min(i+9, 100)])) {
					committed[tp] = o
				}
			}
			r1.put(recs[100:110]...) // put, never committed
			r1.crash()
			before := b.objects(t)
			r2 := startTask(t, cfg, twoPartitions...)
			r2.putAll(replayFrom(recs, committed), 11)
			if err := r2.task.Flush(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			checkBucket(t, b, recs, partitionerCases[1].folder, formatCases[0], 5)
			after := b.objects(t)
			for k, v := range before {
				if !bytes.Equal(after[k], v) {
					t.Fatalf("object %s changed on replay", k)
				}
			}
		})
	}
}

// TestReplayScheduledRotation: scheduled rotation and memory pressure cut
// files at wall-clock moments a replay cannot repeat. Conditional writes
// and the look for an earlier run's objects keep every record exactly once
// (the field partitioner is deterministic) and no object is replaced.
func TestReplayScheduledRotation(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	cfg := b.config(PartitionerClassKey, FieldPartitioner, PartitionFieldKey, "region", FlushSizeKey, "1000",
		RotateScheduleKey, "60000", TimezoneKey, "UTC")
	recs := orders("orders", 2, 300)
	committed := map[connect.TopicPartition]int64{}
	r1 := startTask(t, cfg, twoPartitions...)
	c1 := withClock(r1, time.Date(2024, 1, 1, 12, 0, 30, 0, time.UTC))
	for i := 0; i < 200; i += 10 {
		r1.put(recs[i : i+10]...)
		c1.advance(17 * time.Second) // a minute boundary every 3-4 batches
		if i%40 == 0 {
			for tp, o := range r1.preCommit(consumedUpTo(recs[:i+10])) {
				committed[tp] = o
			}
		}
	}
	c1.advance(time.Minute)
	r1.put() // the schedule closes what is open: uploaded, not committed
	r1.settle()
	r1.put(recs[200:230]...)
	r1.crash()
	before := b.objects(t)
	if len(before) == 0 {
		t.Fatal("the first run uploaded nothing")
	}
	r2 := startTask(t, cfg, twoPartitions...)
	c2 := withClock(r2, time.Date(2024, 1, 1, 13, 0, 5, 0, time.UTC))
	for _, rec := range replayFrom(recs, committed) {
		r2.put(rec)
		c2.advance(700 * time.Millisecond)
	}
	c2.advance(time.Hour)
	r2.put()
	r2.settle()
	checkBucket(t, b, recs, partitionerCases[1].folder, formatCases[0], 1000)
	after := b.objects(t)
	for k, v := range before {
		if !bytes.Equal(after[k], v) {
			t.Fatalf("object %s was replaced on replay", k)
		}
	}
	if r2.task.w.stats.skipped.Load() == 0 {
		t.Fatal("the replay found no object of the first run")
	}
}

// TestReplayAfterMultipartUpload: an object that went up in parts has no
// end offset in its metadata (it is set when the upload starts); a replay
// counts its records instead (JSON lines, Parquet's footer) and continues
// after them.
func TestReplayAfterMultipartUpload(t *testing.T) {
	t.Parallel()
	gw := newBucket(t).gw
	for i, fc := range []formatCase{formatCases[0], formatCases[4]} {
		b := gwBucket(t, gw, fmt.Sprintf("multipart-%d", i))
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			cfg := b.config(append([]string{FlushSizeKey, "1000", RotateScheduleKey, "3600000", TimezoneKey, "UTC", PartSizeKey, fmt.Sprint(minPartSize)}, fc.config...)...)
			recs := bigRecords(120, 100<<10)
			tp := connect.TopicPartition{Topic: "orders", Partition: 0}
			r1 := startTask(t, cfg, tp)
			c1 := withClock(r1, time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC))
			r1.putAll(recs[:90], 10)
			c1.advance(time.Hour)
			r1.put() // closes the 9 MB file at offset 90: a multipart upload
			r1.settle()
			r1.put(recs[90:100]...)
			r1.crash()
			objs := b.objects(t)
			if len(objs) != 1 {
				t.Fatalf("first run left %v", keys(objs))
			}
			head, err := b.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(b.name), Key: aws.String(keys(objs)[0])})
			if err != nil || head.Metadata[metaEnd] != "" || !strings.Contains(aws.ToString(head.ETag), "-") {
				t.Fatalf("the first run's object is not a multipart upload without an end offset: %v %v", head, err)
			}
			r2 := startTask(t, cfg, tp)
			r2.putAll(recs, 10) // nothing was committed
			if err := r2.task.Flush(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			checkBucket(t, b, recs, partitionerCases[0].folder, fc, 1000)
			if got := r2.task.w.stats.skipped.Load(); got != 90 {
				t.Fatalf("the replay skipped %d records, want the 90 of the first run's object", got)
			}
		})
	}
}

// bigRecords returns n struct records of about size bytes each.
func bigRecords(n, size int) []*connect.Record {
	s := connect.StructSchema().Name("Big").Field("id", connect.Int64Schema).Field("pad", connect.StringSchema).Build()
	out := make([]*connect.Record, n)
	for i := range out {
		pad := strings.Repeat(fmt.Sprintf("%08d", i*7919%100000000), size/8)
		out[i] = &connect.Record{Topic: "orders", Offset: int64(i), ValueSchema: s, Value: connect.NewStruct(s).Put("id", int64(i)).Put("pad", pad),
			Timestamp: time.UnixMilli(baseTime + int64(i))}
	}
	return out
}

// TestReplayRefusesAnotherTopicsObject: an object of the name a file
// would get, holding records of another incarnation of the topic (its
// first record's timestamp differs), fails the task rather than skip the
// new records.
func TestReplayRefusesAnotherTopicsObject(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	cfg := b.config(FlushSizeKey, "3")
	r1 := startTask(t, cfg, tp)
	r1.put(jsonRecords("orders", 0, 0, 3)...)
	r1.settle()
	r2 := startTask(t, cfg, tp)
	again := jsonRecords("orders", 0, 0, 3)
	again[0].Timestamp = again[0].Timestamp.Add(time.Hour)
	err := r2.task.Put(context.Background(), again)
	if err == nil || !strings.Contains(err.Error(), "recreated") {
		t.Fatalf("Put = %v, want an error about another incarnation of the topic", err)
	}
}
