package s3sink

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestConditionalWritesOnVersityGW: the real server honours If-None-Match
// on PutObject and on CompleteMultipartUpload, which exactly-once replays
// rely on; a second write of an existing name answers 412 (errExists).
func TestConditionalWritesOnVersityGW(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	cfg, err := parseConfig(b.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := newStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	body := []byte("one record\n")
	o := object{key: "k/put.json", meta: map[string]string{metaEnd: "7"}}
	if err := st.put(ctx, o, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	if err := st.put(ctx, o, bytes.NewReader(body), int64(len(body))); !errors.Is(err, errExists) {
		t.Fatalf("second conditional PUT = %v, want errExists", err)
	}
	meta, size, found, err := st.head(ctx, o.key)
	if err != nil || !found || size != int64(len(body)) || meta[metaEnd] != "7" {
		t.Fatalf("head = %v %d %v %v", meta, size, found, err)
	}
	for i := 0; i < 2; i++ {
		id, err := st.createMultipart(ctx, object{key: "k/multi.json"})
		if err != nil {
			t.Fatal(err)
		}
		etag, err := st.uploadPart(ctx, "k/multi.json", id, 1, bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		err = st.complete(ctx, "k/multi.json", id, []string{etag})
		if i == 0 && err != nil {
			t.Fatal(err)
		}
		if i == 1 && !errors.Is(err, errExists) {
			t.Fatalf("second conditional completion = %v, want errExists", err)
		}
		if i == 1 {
			if err := st.abort(ctx, "k/multi.json", id); err != nil {
				t.Fatalf("abort after the refused completion: %v", err)
			}
		}
	}
}
