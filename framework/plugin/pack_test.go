package plugin

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleRecords() []Record {
	return []Record{
		{Topic: "t", Partition: -1, Key: []byte("k"), Value: []byte(`{"a":1}`), TimestampMs: 1700000000000, SourcePartition: []byte(`{"p":1}`), SourceOffset: []byte(`{"o":2}`)},
		{Topic: "t", Partition: 3, Key: nil, Value: nil, Offset: 42},
		{Topic: "other", Partition: 0, Key: []byte{}, Value: []byte{}, Headers: []Header{{Key: "h1", Value: []byte("v")}, {Key: "null", Value: nil}, {Key: "empty", Value: []byte{}}}},
		{Topic: "t", Err: &RecordError{Stage: StageValueConverter, ClassName: "json", ExceptionClass: "*errors.errorString", Message: "bad", Trace: "bad\n  at x"}},
		{Partition: -1, SourcePartition: []byte(`{"p":1}`), SourceOffset: []byte(`{"o":3}`), Dropped: true},
		{Topic: "t", Partition: -1, Value: []byte("v"), SourceOffset: []byte(`{"o":4}`), Err: &RecordError{Stage: StageTransformation, ClassName: "Cast$Value", Message: "no", Retriable: true, Record: "SourceRecord{...}"}},
	}
}

func TestPackRoundTrip(t *testing.T) {
	t.Parallel()
	// Transaction requests ride an extension byte, on records of every
	// kind: plain, failed, dropped, and a marker alone.
	txn := sampleRecords()
	txn[0].Txn, txn[3].Txn, txn[4].Txn = TxnCommit, TxnAbort, TxnCommit
	txn = append(txn, Record{Partition: -1, Dropped: true, Txn: TxnCommit})
	for name, rs := range map[string][]Record{"sample": sampleRecords(), "empty": {}, "transaction requests": txn} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := unpackRecords(packRecords(rs))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(rs, got); d != "" {
				t.Fatalf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnpackRejectsTruncated(t *testing.T) {
	t.Parallel()
	b := packRecords(sampleRecords())
	for i := 0; i < len(b); i++ {
		if _, err := unpackRecords(b[:i]); err == nil {
			t.Fatalf("a batch cut to %d of %d bytes decoded without error", i, len(b))
		}
	}
}

// FuzzUnpackRecords feeds arbitrary bytes to the decoder the worker runs on
// what a plugin process sends: it must return an error, never panic, and
// what it accepts must encode back to the same bytes.
func FuzzUnpackRecords(f *testing.F) {
	f.Add(packRecords(sampleRecords()))
	f.Add(packRecords(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := unpackRecords(b)
		if err != nil {
			return
		}
		again, err := unpackRecords(packRecords(rs))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if d := cmp.Diff(rs, again); d != "" {
			t.Fatalf("re-encode changed the batch:\n%s", d)
		}
	})
}

func BenchmarkPackUnpack(b *testing.B) {
	rs := make([]Record, 1000)
	for i := range rs {
		rs[i] = Record{Topic: "bench", Partition: -1, Value: make([]byte, 100), SourcePartition: []byte(`{"task":"0"}`), SourceOffset: []byte(`{"seq":123456}`)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unpackRecords(packRecords(rs)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFrame decodes a batch frame of 1000 records like the
// benchmarks' (datagen, 100-byte values) into a reused slice, as the worker
// does.
func BenchmarkDecodeFrame(b *testing.B) {
	rs := make([]Record, 1000)
	for i := range rs {
		rs[i] = Record{Topic: "bench", Partition: -1, Value: make([]byte, 100), TimestampMs: 1700000000000, SourcePartition: []byte(`{"task":"0"}`)}
	}
	rs[len(rs)-1].SourceOffset = []byte(`{"seq":123456}`)
	frame := finishBatchFrame(appendRecords(startBatchFrame(nil), rs), len(rs))
	payload := frame[frameHeader+batchCountBytes:]
	var out []Record
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = decodeRecords(payload, uint64(len(rs)), out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/record")
}

// BenchmarkPackFrame packs the same batch into a reused frame, as a plugin
// process does.
func BenchmarkPackFrame(b *testing.B) {
	rs := make([]Record, 1000)
	for i := range rs {
		rs[i] = Record{Topic: "bench", Partition: -1, Value: make([]byte, 100), TimestampMs: 1700000000000, SourcePartition: []byte(`{"task":"0"}`)}
	}
	rs[len(rs)-1].SourceOffset = []byte(`{"seq":123456}`)
	var frame []byte
	b.ReportAllocs()
	for b.Loop() {
		frame = finishBatchFrame(appendRecords(startBatchFrame(frame), rs), len(rs))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/record")
}

// A batch without transaction requests packs exactly as before they
// existed, so plugins and workers of either age read each other.
func TestPackWithoutTxnUnchanged(t *testing.T) {
	t.Parallel()
	b := packRecords(sampleRecords())
	rs, err := unpackRecords(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Txn != TxnNone {
			t.Fatalf("a record without a request read back with %v", r.Txn)
		}
	}
	// Flags 4|8 together appear only with an extension byte.
	withTxn := sampleRecords()[:1]
	withTxn[0].Txn = TxnCommit
	if len(packRecords(withTxn)) != len(packRecords(sampleRecords()[:1]))+1 {
		t.Fatal("a transaction request costs more than its extension byte")
	}
}
