package s3sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/testserver"
)

var update = flag.Bool("update", false, "rewrite golden files and the README config table")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// bucket is a bucket on a real S3 server (versitygw) for one test.
type bucket struct {
	gw     *testserver.VersityGW
	name   string
	client *s3.Client
}

// newBucket starts versitygw (one per call) and makes a bucket.
func newBucket(t testing.TB) *bucket {
	t.Helper()
	gw := testserver.StartVersityGW(t)
	return gwBucket(t, gw, "sink-test")
}

func gwBucket(t testing.TB, gw *testserver.VersityGW, name string) *bucket {
	t.Helper()
	gw.CreateBucket(t, name)
	return &bucket{gw: gw, name: name, client: gw.Client()}
}

// config is a valid sink config for the bucket, with overrides.
func (b *bucket) config(kv ...string) map[string]string {
	cfg := map[string]string{
		"name": "s3", "connector.class": ConfluentClass, "topics": "orders",
		BucketKey: b.name, StoreURLKey: b.gw.URL, AccessKeyIDKey: b.gw.AccessKey, SecretAccessKeyKey: b.gw.SecretKey,
		FormatClassKey: JSONFormatClass, FlushSizeKey: "1000", RetryBackoffKey: "10",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return cfg
}

// objects returns every object of the bucket by key.
func (b *bucket) objects(t testing.TB) map[string][]byte {
	t.Helper()
	return b.gw.Objects(t, b.name)
}

// keys returns the sorted keys of objects.
func keys(objs map[string][]byte) []string {
	var ks []string
	for k := range objs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// runner drives a task directly, as the worker would: Start, Open, Put in
// batches, PreCommit, Close, Stop.
type runner struct {
	t    testing.TB
	task *sinkTask
	ctx  context.Context
}

func startTask(t testing.TB, cfg map[string]string, tps ...connect.TopicPartition) *runner {
	t.Helper()
	task := NewSink().NewTask().(*sinkTask)
	ctx := context.Background()
	if err := task.Start(ctx, cfg); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { task.Stop(ctx) })
	if err := task.Open(ctx, tps); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return &runner{t: t, task: task, ctx: ctx}
}

func (r *runner) put(recs ...*connect.Record) {
	r.t.Helper()
	if err := r.task.Put(r.ctx, recs); err != nil {
		r.t.Fatalf("Put: %v", err)
	}
}

// putAll puts recs in batches of n.
func (r *runner) putAll(recs []*connect.Record, n int) {
	r.t.Helper()
	for i := 0; i < len(recs); i += n {
		r.put(recs[i:min(i+n, len(recs))]...)
	}
}

// settle waits until the uploads under way are done (Put returns before).
func (r *runner) settle() { r.task.w.wait() }

// preCommit asks for the committable offsets after an empty put (the
// worker's idle tick), so uploads under way are awaited.
func (r *runner) preCommit(offsets map[connect.TopicPartition]int64) map[connect.TopicPartition]int64 {
	r.t.Helper()
	r.put()
	out, err := r.task.PreCommit(r.ctx, offsets)
	if err != nil {
		r.t.Fatalf("PreCommit: %v", err)
	}
	return out
}

// lines splits data at sep, dropping the empty tail.
func lines(data []byte, sep string) []string {
	parts := strings.Split(string(data), sep)
	if len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
