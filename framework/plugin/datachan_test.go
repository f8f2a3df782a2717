package plugin

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestDataChannelFrames(t *testing.T) {
	t.Parallel()
	var wire bytes.Buffer
	recs := sampleRecords()
	wire.Write(finishBatchFrame(appendRecords(startBatchFrame(nil), recs), len(recs)))
	wire.Write(errorFrame(connect.Retriable(errors.New("source busy"))))
	fr := newFrameReader(&wire)

	got, err := fr.next()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(recs, got); d != "" {
		t.Fatalf("batch (-want +got):\n%s", d)
	}
	_, err = fr.next()
	var te *taskError
	if !errors.As(err, &te) || te.Error() != "source busy" || !connect.IsRetriable(err) {
		t.Fatalf("error frame: %v (retriable %v)", err, connect.IsRetriable(err))
	}
	if _, err := fr.next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
}

func TestDataChannelRejectsBadFrames(t *testing.T) {
	t.Parallel()
	good := finishBatchFrame(appendRecords(startBatchFrame(nil), sampleRecords()), len(sampleRecords()))
	tests := map[string][]byte{
		"truncated payload": good[:len(good)-1],
		"truncated header":  good[:3],
		"unknown type":      finishFrame(append(appendFrameHeader(nil), 'x'), 9, 0),
		"oversized":         {frameBatch, 0, 0xff, 0xff, 0xff, 0xff},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := newFrameReader(bytes.NewReader(b)).next(); err == nil {
				t.Fatal("a bad frame was accepted")
			}
		})
	}
}

func batchFrame(recs []Record) []byte {
	return finishBatchFrame(appendRecords(startBatchFrame(nil), recs), len(recs))
}

// The worker reuses a frame's buffers once the batch is handed back, and
// only then.
func TestFrameReaderReusesRecycledFrames(t *testing.T) {
	t.Parallel()
	var wire bytes.Buffer
	first, second := sampleRecords(), sampleRecords()[1:]
	second[0].Value = []byte("second")
	for _, b := range [][]Record{first, second, first} {
		wire.Write(batchFrame(b))
	}
	fr := newFrameReader(&wire)
	b1, err := fr.next()
	if err != nil {
		t.Fatal(err)
	}
	fr.recycle(b1)
	fr.recycle([]Record{{}}) // not one of its batches: ignored
	b2, err := fr.next()
	if err != nil {
		t.Fatal(err)
	}
	if &b2[0] != &b1[0] {
		t.Error("a handed-back frame was not reused")
	}
	if d := cmp.Diff(second, b2); d != "" {
		t.Fatalf("batch decoded into a reused frame (-want +got):\n%s", d)
	}
	b3, err := fr.next() // b2 is still out
	if err != nil {
		t.Fatal(err)
	}
	if &b3[0] == &b2[0] {
		t.Fatal("a frame still out was reused")
	}
	if d := cmp.Diff(first, b3); d != "" {
		t.Fatalf("third batch (-want +got):\n%s", d)
	}
}

// The plugin packs what the task polls into the frame being filled: batches
// polled while the channel is busy leave as one frame, and the task's error
// comes after them.
func TestFrameBufferMergesBatches(t *testing.T) {
	t.Parallel()
	buf := newFrameBuffer()
	recs := sampleRecords()
	buf.add(recs[:2])
	buf.add(nil)
	buf.add(recs[2:])
	buf.close(errors.New("source gone"))
	frame, err := buf.take()
	if err != nil {
		t.Fatal(err)
	}
	got, err := newFrameReader(bytes.NewReader(frame)).next()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(recs, got); d != "" {
		t.Fatalf("merged frame (-want +got):\n%s", d)
	}
	buf.recycle(frame)
	if frame, err := buf.take(); frame != nil || err == nil || err.Error() != "source gone" {
		t.Fatalf("after the records: frame of %d bytes, error %v; want the close error", len(frame), err)
	}
	if buf.add(recs) {
		t.Fatal("a closed buffer took records")
	}
}
