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
	wire.Write(finishFrame(appendPacked(appendFrameHeader(nil), recs), frameBatch, 0))
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
	good := finishFrame(appendPacked(appendFrameHeader(nil), sampleRecords()), frameBatch, 0)
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
