package s3sink

import (
	"fmt"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// BenchmarkWriterJSON measures the task alone: records as the JSON
// converter hands them (schemaless maps) written as JSON objects to
// versitygw, per record.
func BenchmarkWriterJSON(b *testing.B) {
	bk := newBucket(b)
	conv, _ := converters.New("json")
	conv.Configure(map[string]string{"schemas.enable": "false"}, false)
	pad := strings.Repeat("x", 150)
	recs := make([]*connect.Record, 1000)
	for i := range recs {
		_, v, _ := conv.ToConnect("t", []byte(fmt.Sprintf(`{"id":%d,"name":"customer %d","amount":%d.25,"region":"r%d","pad":"%s"}`, i, i, i, i%7, pad)))
		recs[i] = &connect.Record{Topic: "orders", Value: v}
	}
	r := startTask(b, bk.config(FlushSizeKey, "25000"), connect.TopicPartition{Topic: "orders"})
	b.ResetTimer()
	off := int64(0)
	for i := 0; i < b.N; i += len(recs) {
		for _, rec := range recs {
			rec.Offset = off
			off++
		}
		r.put(recs...)
	}
	r.settle()
}

// BenchmarkJSONDecode is the converter's share, for comparison.
func BenchmarkJSONDecode(b *testing.B) {
	conv, _ := converters.New("json")
	conv.Configure(map[string]string{"schemas.enable": "false"}, false)
	data := []byte(fmt.Sprintf(`{"id":%d,"name":"customer %d","amount":%d.25,"region":"r%d","pad":"%s"}`, 1, 1, 1, 1, strings.Repeat("x", 150)))
	for i := 0; i < b.N; i++ {
		conv.ToConnect("t", data)
	}
}
