package s3sink

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

// clock is a settable time for a task's writer.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func withClock(r *runner, start time.Time) *clock {
	c := &clock{t: start}
	r.task.w.now = c.now
	return c
}

// atTimes returns JSON records of partition p with the given record times.
func atTimes(p int32, from int64, ts ...time.Time) []*connect.Record {
	out := make([]*connect.Record, len(ts))
	for i, t := range ts {
		off := from + int64(i)
		out[i] = &connect.Record{Topic: "orders", Partition: p, Offset: off, Value: map[string]any{"id": off}, Timestamp: t}
	}
	return out
}

// TestRotateOnRecordTime: with rotate.interval.ms and the Record
// extractor, a record whose time is the interval past its file's first
// record's starts a new file; idle files wait for records.
func TestRotateOnRecordTime(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(RotateIntervalKey, "60000", TimestampExtractorKey, "Record"), tp)
	t0 := time.UnixMilli(baseTime)
	r.put(atTimes(0, 0, t0, t0.Add(30*time.Second), t0.Add(59999*time.Millisecond), t0.Add(time.Minute), t0.Add(90*time.Second), t0.Add(3*time.Minute))...)
	r.put() // idle: the file of offset 5 waits, record time does not pass
	if got := r.preCommit(map[connect.TopicPartition]int64{tp: 6}); got[tp] != 5 {
		t.Fatalf("committable %v, want 5", got)
	}
	want := []string{"topics/orders/partition=0/orders+0+0000000000.json", "topics/orders/partition=0/orders+0+0000000003.json"}
	objs := b.objects(t)
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if n := len(lines(objs[want[0]], "\n")); n != 3 {
		t.Fatalf("first object holds %d records, want 3", n)
	}
}

// TestScheduledRotationClosesIdleFiles: rotate.schedule.interval.ms closes
// every file at the next multiple of the interval since midnight in the
// time zone after it opened, on the worker's empty puts while idle.
func TestScheduledRotationClosesIdleFiles(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	tps := []connect.TopicPartition{{Topic: "orders", Partition: 0}, {Topic: "orders", Partition: 1}}
	r := startTask(t, b.config(RotateScheduleKey, "600000", TimezoneKey, "Asia/Kolkata"), tps...)
	// 10:07 in Kolkata (+05:30): the next multiple of 10 minutes since
	// its midnight is 10:10.
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	c := withClock(r, time.Date(2024, 6, 1, 10, 7, 0, 0, kolkata))
	r.put(jsonRecords("orders", 0, 0, 3)...)
	c.advance(2 * time.Minute) // 10:09
	r.put(jsonRecords("orders", 1, 0, 2)...)
	r.put()
	r.settle()
	if len(b.objects(t)) != 0 {
		t.Fatal("a file closed before its scheduled time")
	}
	c.advance(time.Minute) // 10:10: both are due; partition 1 gets nothing more
	r.put()
	r.settle()
	objs := b.objects(t)
	want := []string{"topics/orders/partition=0/orders+0+0000000000.json", "topics/orders/partition=1/orders+1+0000000000.json"}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects after the schedule (-want +got):\n%s", diff)
	}
	got := r.preCommit(map[connect.TopicPartition]int64{tps[0]: 3, tps[1]: 2})
	if diff := cmp.Diff(map[connect.TopicPartition]int64{tps[0]: 3, tps[1]: 2}, got); diff != "" {
		t.Fatalf("committable (-want +got):\n%s", diff)
	}
	// A file opened at 10:10 closes at 10:20.
	r.put(jsonRecords("orders", 0, 3, 1)...)
	c.advance(9*time.Minute + 59*time.Second)
	r.put()
	r.settle()
	if len(b.objects(t)) != 2 {
		t.Fatal("the file opened at 10:10 closed before 10:20")
	}
	c.advance(time.Second)
	r.put()
	r.settle()
	if len(b.objects(t)) != 3 {
		t.Fatal("the file opened at 10:10 did not close at 10:20")
	}
}

// TestWallclockRotationClosesIdleFiles: with the Wallclock extractor,
// rotate.interval.ms counts wall time, and idle files close.
func TestWallclockRotationClosesIdleFiles(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(RotateIntervalKey, "5000"), tp)
	c := withClock(r, time.UnixMilli(baseTime))
	r.put(jsonRecords("orders", 0, 0, 2)...)
	c.advance(4 * time.Second)
	r.put()
	r.settle()
	if len(b.objects(t)) != 0 {
		t.Fatal("closed before rotate.interval.ms")
	}
	c.advance(time.Second)
	r.put()
	r.settle()
	if diff := cmp.Diff([]string{"topics/orders/partition=0/orders+0+0000000000.json"}, keys(b.objects(t))); diff != "" {
		t.Fatal(diff)
	}
}

// TestNextScheduled pins the schedule arithmetic against Confluent's
// DateTimeUtils.getNextTimeAdjustedByDay, DST days included.
func TestNextScheduled(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		name   string
		now    time.Time
		period time.Duration
		want   time.Time
	}{
		{"hourly", time.Date(2024, 6, 1, 10, 7, 0, 0, ny), time.Hour, time.Date(2024, 6, 1, 11, 0, 0, 0, ny)},
		{"on a boundary", time.Date(2024, 6, 1, 11, 0, 0, 0, ny), time.Hour, time.Date(2024, 6, 1, 12, 0, 0, 0, ny)},
		{"capped at the next midnight", time.Date(2024, 6, 1, 23, 0, 0, 0, ny), 5 * time.Hour, time.Date(2024, 6, 2, 0, 0, 0, 0, ny)},
		// The 23-hour spring-forward day counts elapsed time from its
		// midnight: 3 elapsed hours is 04:00 EDT.
		{"spring forward", time.Date(2024, 3, 10, 1, 30, 0, 0, ny), 3 * time.Hour, time.Date(2024, 3, 10, 4, 0, 0, 0, ny)},
		// The 25-hour fall-back day: 2 elapsed hours is the second 01:00.
		{"fall back", time.Date(2024, 11, 3, 0, 30, 0, 0, ny), 2 * time.Hour, time.Date(2024, 11, 3, 6, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextScheduled(tc.now, tc.period, ny); !got.Equal(tc.want) {
				t.Fatalf("nextScheduled(%s, %s) = %s, want %s", tc.now, tc.period, got.In(ny), tc.want.In(ny))
			}
		})
	}
}

// TestTimePathsAcrossDST pins time-based folders across DST changes as
// Confluent's TimeBasedPartitioner computes them with Joda-Time: the local
// time is truncated to the duration, then mapped back to an instant (a
// time in a DST gap moves to after it) and formatted in the zone.
func TestTimePathsAcrossDST(t *testing.T) {
	t.Parallel()
	utc := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	hourly := "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"
	for _, tc := range []struct {
		name, zone, format string
		duration           time.Duration
		at                 string
		want               string
	}{
		{"fall back, first 01:30 (EDT)", "America/New_York", hourly, time.Hour, "2023-11-05T05:30:00Z", "year=2023/month=11/day=05/hour=01"},
		{"fall back, second 01:30 (EST)", "America/New_York", hourly, time.Hour, "2023-11-05T06:30:00Z", "year=2023/month=11/day=05/hour=01"},
		{"fall back, 02:10 EST", "America/New_York", hourly, time.Hour, "2023-11-05T07:10:00Z", "year=2023/month=11/day=05/hour=02"},
		{"spring forward, 01:59 EST", "America/New_York", hourly, time.Hour, "2023-03-12T06:59:00Z", "year=2023/month=03/day=12/hour=01"},
		{"spring forward, 03:00 EDT", "America/New_York", hourly, time.Hour, "2023-03-12T07:00:00Z", "year=2023/month=03/day=12/hour=03"},
		// 03:10 EDT truncated to 2 h is 02:00, inside the gap: Joda
		// resolves it to 07:00Z, printed 03.
		{"2h bucket in the gap", "America/New_York", "'d'=dd/'h'=HH", 2 * time.Hour, "2023-03-12T07:10:00Z", "d=12/h=03"},
		{"daily, last hour of the 25-hour day", "America/New_York", "'year'=YYYY/'month'=MM/'day'=dd", 24 * time.Hour, "2023-11-06T04:30:00Z", "year=2023/month=11/day=05"},
		{"Berlin fall back", "Europe/Berlin", hourly, time.Hour, "2023-10-29T00:30:00Z", "year=2023/month=10/day=29/hour=02"},
		{"Berlin fall back, again 02", "Europe/Berlin", hourly, time.Hour, "2023-10-29T01:30:00Z", "year=2023/month=10/day=29/hour=02"},
		{"half-hour zone", "Asia/Kolkata", hourly, time.Hour, "2023-06-01T00:10:00Z", "year=2023/month=06/day=01/hour=05"},
		{"text fields", "UTC", "MMM/EEE/dd-MMMM-yy/a", 24 * time.Hour, "2023-06-01T15:00:00Z", "Jun/Thu/01-June-23/AM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseJoda(tc.format, "en_US")
			if err != nil {
				t.Fatal(err)
			}
			start := partitionStart(utc(tc.at), tc.duration.Milliseconds(), loc)
			if got := p.format(time.UnixMilli(start).In(loc)); got != tc.want {
				t.Fatalf("folder of %s in %s = %q, want %q", tc.at, tc.zone, got, tc.want)
			}
		})
	}
}

// TestDSTFoldersEndToEnd writes records spanning New York's fall-back
// hour with the hourly partitioner: both 01:00 hours land in one folder,
// in one object per file as usual, every record once.
func TestDSTFoldersEndToEnd(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(PartitionerClassKey, "io.confluent.connect.storage.partitioner.HourlyPartitioner",
		TimestampExtractorKey, "Record", LocaleKey, "en_US", TimezoneKey, "America/New_York", FlushSizeKey, "100"), tp)
	first, _ := time.Parse(time.RFC3339, "2023-11-05T04:40:00Z") // 00:40 EDT
	var ts []time.Time
	for i := 0; i < 12; i++ {
		ts = append(ts, first.Add(time.Duration(i)*15*time.Minute)) // through 03:25 EST
	}
	r.put(atTimes(0, 0, ts...)...)
	if err := r.task.Flush(r.ctx, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"topics/orders/year=2023/month=11/day=05/hour=00/orders+0+0000000000.json",
		"topics/orders/year=2023/month=11/day=05/hour=01/orders+0+0000000002.json",
		"topics/orders/year=2023/month=11/day=05/hour=02/orders+0+0000000010.json",
	}
	objs := b.objects(t)
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if n := len(lines(objs[want[1]], "\n")); n != 8 {
		t.Fatalf("the 01 folder holds %d records, want 8 (two hours of 01)", n)
	}
}
