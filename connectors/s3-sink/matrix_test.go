package s3sink

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

var (
	innerSchema = connect.StructSchema().Name("Inner").Field("a", connect.Int32Schema).Field("b", connect.OptionalString).Optional().Build()
	orderSchema = connect.StructSchema().Name("Order").Version(1).
			Field("id", connect.Int64Schema).
			Field("region", connect.StringSchema).
			Field("amount", connect.DecimalSchema(2).Build()).
			Field("tags", connect.ArraySchema(connect.StringSchema).Optional().Build()).
			Field("attrs", connect.MapSchema(connect.StringSchema, connect.Int32Schema).Build()).
			Field("inner", innerSchema).
			Field("day", connect.DateSchema().Build()).
			Field("created", connect.TimestampSchema().Build()).
			Field("ratio", connect.OptionalFloat64).
			Build()
	regions = []string{"eu", "us", "apac"}
)

const baseTime = 1700000000000 // 2023-11-14T22:13:20Z

// orders returns n struct records over partitions parts, their record
// and field times 7 minutes apart, so they span several hours.
func orders(topic string, parts, n int) []*connect.Record {
	out := make([]*connect.Record, n)
	next := make([]int64, parts)
	for i := range out {
		p := int32(i % parts)
		off := next[p]
		next[p]++
		ts := time.UnixMilli(baseTime + int64(i)*7*60*1000)
		v := connect.NewStruct(orderSchema).Put("id", int64(i)).Put("region", regions[i%len(regions)]).
			Put("amount", connect.Decimal{Unscaled: big.NewInt(int64(i*101 - 5000)), Scale: 2}).
			Put("attrs", map[string]any{"n": int32(i), "m": int32(i % 3)}).
			Put("day", connect.DaysToDate(int32(19000+i))).Put("created", ts)
		if i%4 != 0 {
			v.Put("tags", []any{"t" + strconv.Itoa(i), "x"}).Put("inner", connect.NewStruct(innerSchema).Put("a", int32(i))).Put("ratio", float64(i)/3)
		}
		out[i] = &connect.Record{Topic: topic, Partition: p, Offset: off, ValueSchema: orderSchema, Value: v, Timestamp: ts,
			KeySchema: connect.StringSchema, Key: fmt.Sprint("k", i)}
	}
	return out
}

// blobs returns n byte records over partitions parts.
func blobs(topic string, parts, n int) []*connect.Record {
	out := make([]*connect.Record, n)
	next := make([]int64, parts)
	for i := range out {
		p := int32(i % parts)
		off := next[p]
		next[p]++
		out[i] = &connect.Record{Topic: topic, Partition: p, Offset: off, ValueSchema: connect.OptionalBytes,
			Value: []byte(fmt.Sprintf("blob %d \x00\xff", i)), Timestamp: time.UnixMilli(baseTime + int64(i)*7*60*1000)}
	}
	return out
}

type partitionerCase struct {
	name   string
	config []string
	folder func(r *connect.Record) string
}

var partitionerCases = []partitionerCase{
	{"default", []string{PartitionerClassKey, DefaultPartitioner},
		func(r *connect.Record) string { return fmt.Sprintf("partition=%d", r.Partition) }},
	{"field", []string{PartitionerClassKey, FieldPartitioner, PartitionFieldKey, "region"},
		func(r *connect.Record) string {
			return "region=" + r.Value.(*connect.StructValue).Get("region").(string)
		}},
	{"hourly", []string{PartitionerClassKey, HourlyPartitioner, TimestampExtractorKey, "Record", LocaleKey, "en-US", TimezoneKey, "UTC"},
		func(r *connect.Record) string { return r.Timestamp.UTC().Format("year=2006/month=01/day=02/hour=15") }},
	{"daily", []string{PartitionerClassKey, DailyPartitioner, TimestampExtractorKey, "Record", LocaleKey, "en_US", TimezoneKey, "UTC"},
		func(r *connect.Record) string { return r.Timestamp.UTC().Format("year=2006/month=01/day=02") }},
	{"timebased-field", []string{PartitionerClassKey, TimeBasedPartitioner, TimestampExtractorKey, "RecordField", TimestampFieldKey, "created",
		PartitionDurationKey, "7200000", PathFormatKey, "'dt'=YYYY-MM-dd/'hr'=HH/", LocaleKey, "en-US", TimezoneKey, "UTC"},
		func(r *connect.Record) string {
			return r.Value.(*connect.StructValue).Get("created").(time.Time).UTC().Truncate(2 * time.Hour).Format("dt=2006-01-02/hr=15")
		}},
}

type formatCase struct {
	name   string
	config []string
	ext    string
	blobs  bool
}

var formatCases = []formatCase{
	{"json", []string{FormatClassKey, JSONFormatClass}, ".json", false},
	{"json-gzip", []string{FormatClassKey, JSONFormatClass, CompressionTypeKey, "gzip"}, ".json.gz", false},
	{"bytearray", []string{FormatClassKey, ByteArrayFormatClass, ByteArraySeparatorKey, `\r\n`}, ".bin", true},
	{"parquet", []string{FormatClassKey, ParquetFormatClass}, ".snappy.parquet", false},
	{"parquet-none", []string{FormatClassKey, ParquetFormatClass, ParquetCodecKey, "none"}, ".parquet", false},
}

var objectName = regexp.MustCompile(`^topics/([^/]+)/(.+)/([^/+]+)\+(\d+)\+(\d{10})(\..+)$`)

// TestPartitionerFormatMatrix writes records with every partitioner in
// every format that can hold them (ByteArray holds bytes, which the field
// and record-field partitioners cannot read), reads the bucket back and
// decodes every object (Parquet with parquet-go's reader): every record
// is in exactly one object, in the folder its partitioner names, objects
// are named by their first record's offset and hold their records in
// offset order, no more than flush.size.
func TestPartitionerFormatMatrix(t *testing.T) {
	gw := newBucket(t).gw
	n := 0
	for _, pc := range partitionerCases {
		for _, fc := range formatCases {
			if fc.blobs && (pc.name == "field" || pc.name == "timebased-field") {
				continue
			}
			n++
			b := gwBucket(t, gw, fmt.Sprintf("matrix-%d", n))
			t.Run(pc.name+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				const flush = 7
				cfg := b.config(append(append([]string{}, pc.config...), fc.config...)...)
				cfg[FlushSizeKey] = strconv.Itoa(flush)
				recs := orders("orders", 2, 120)
				if fc.blobs {
					recs = blobs("orders", 2, 120)
				}
				tps := []connect.TopicPartition{{Topic: "orders", Partition: 0}, {Topic: "orders", Partition: 1}}
				r := startTask(t, cfg, tps...)
				r.putAll(recs, 13)
				if err := r.task.Flush(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				checkBucket(t, b, recs, pc.folder, fc, flush)
			})
		}
	}
}

// checkBucket decodes every object and compares it with recs.
func checkBucket(t *testing.T, b *bucket, recs []*connect.Record, folder func(*connect.Record) string, fc formatCase, flush int) {
	t.Helper()
	type loc struct {
		tp  connect.TopicPartition
		off int64
	}
	want := map[loc]*connect.Record{}
	for _, r := range recs {
		want[loc{connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}, r.Offset}] = r
	}
	seen := map[loc]string{}
	objs := b.objects(t)
	for _, key := range keys(objs) {
		m := objectName.FindStringSubmatch(key)
		if m == nil || m[6] != fc.ext || m[1] != m[3] {
			t.Fatalf("object %q is not named <topics.dir>/<topic>/<folder>/<topic>+<partition>+<offset>%s", key, fc.ext)
		}
		p, _ := strconv.Atoi(m[4])
		start, _ := strconv.ParseInt(m[5], 10, 64)
		tp := connect.TopicPartition{Topic: m[3], Partition: int32(p)}
		decoded := decodeObject(t, key, objs[key], fc)
		if len(decoded) == 0 || len(decoded) > flush {
			t.Fatalf("%s holds %d records, want 1..%d", key, len(decoded), flush)
		}
		// Match the object's records with the partition's records of its
		// folder from its start offset on, in order.
		off := start
		for i, got := range decoded {
			var r *connect.Record
			for ; ; off++ {
				r = want[loc{tp, off}]
				if r == nil {
					t.Fatalf("%s record %d: no record of %v at or after offset %d in folder %s", key, i, tp, off, m[2])
				}
				if folder(r) == m[2] {
					break
				}
			}
			if i == 0 && off != start {
				t.Fatalf("%s: the first record has offset %d, the name says %d", key, off, start)
			}
			if diff := cmp.Diff(expectedOf(t, r, fc), got); diff != "" {
				t.Fatalf("%s record %d (offset %d) (-want +got):\n%s", key, i, off, diff)
			}
			if prev, dup := seen[loc{tp, off}]; dup {
				t.Fatalf("record %v@%d is in %s and %s", tp, off, prev, key)
			}
			seen[loc{tp, off}] = key
			off++
		}
	}
	if len(seen) != len(recs) {
		var missing []string
		for l := range want {
			if _, ok := seen[l]; !ok {
				missing = append(missing, fmt.Sprintf("%v@%d", l.tp, l.off))
			}
		}
		sort.Strings(missing)
		t.Fatalf("%d of %d records are in the bucket; missing %v", len(seen), len(recs), missing)
	}
}

// decodeObject returns an object's records, each as a comparable string.
func decodeObject(t *testing.T, key string, data []byte, fc formatCase) []string {
	t.Helper()
	switch {
	case strings.HasSuffix(fc.ext, ".parquet"):
		rd := parquet.NewReader(bytes.NewReader(data))
		var out []string
		for {
			m := map[string]any{}
			if err := rd.Read(&m); err != nil {
				break
			}
			out = append(out, fmt.Sprint(m))
		}
		return out
	case fc.blobs:
		return lines(data, "\r\n")
	case strings.HasSuffix(fc.ext, ".gz"):
		return lines(gunzip(t, data), "\n")
	}
	return lines(data, "\n")
}

var jsonConv = func() converters.Converter {
	c, _ := converters.New("json")
	c.Configure(map[string]string{"schemas.enable": "false"}, false)
	return c
}()

// expectedOf renders what an object must hold for r, as decodeObject does.
func expectedOf(t *testing.T, r *connect.Record, fc formatCase) string {
	t.Helper()
	switch {
	case strings.HasSuffix(fc.ext, ".parquet"):
		return fmt.Sprint(parquetMap(r.Value))
	case fc.blobs:
		return string(r.Value.([]byte))
	}
	b, err := jsonConv.FromConnect(r.Topic, r.ValueSchema, r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parquetMap renders a Connect value as parquet-go's reader returns the
// row: logical types as their stored numbers, decimals as floats.
func parquetMap(v any) any {
	switch x := v.(type) {
	case *connect.StructValue:
		m := map[string]any{}
		for _, f := range x.Schema().Fields {
			fv := x.Get(f.Name)
			switch f.Schema.Name {
			case connect.DateName:
				fv = connect.DateToDays(fv.(time.Time))
			case connect.TimestampName:
				fv = fv.(time.Time).UnixMilli()
			case connect.DecimalName:
				fv = fv.(connect.Decimal).Float64()
			}
			m[f.Name] = parquetMap(fv)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = parquetMap(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = parquetMap(e)
		}
		return out
	}
	return v
}
