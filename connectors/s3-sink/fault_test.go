package s3sink

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/connectd/connectd/framework/connect"
)

// faultServer is gofakes3 in-process behind a handler that answers chosen
// requests with an error, for faults a real server cannot be made to
// show on demand: a part that fails, 503s, a precondition that fails.
type faultServer struct {
	srv    *httptest.Server
	client *s3.Client

	mu     sync.Mutex
	fail   func(r *http.Request) int // status to answer with, or 0
	counts map[string]int            // requests by "METHOD query-kind"
}

func newFaultServer(t *testing.T) *faultServer {
	t.Helper()
	fs := &faultServer{counts: map[string]int{}}
	fake := gofakes3.New(s3mem.New()).Server()
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.counts[requestKind(r)]++
		fail := fs.fail
		fs.mu.Unlock()
		if fail != nil {
			if code := fail(r); code != 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(code)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message></Error>`, errorCode(code))
				return
			}
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.srv.Close)
	fs.client = s3.New(s3.Options{Region: "us-west-2", BaseEndpoint: aws.String(fs.srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	if _, err := fs.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("faults")}); err != nil {
		t.Fatal(err)
	}
	return fs
}

func errorCode(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "SlowDown"
	case http.StatusPreconditionFailed:
		return "PreconditionFailed"
	}
	return "InternalError"
}

func requestKind(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0:
		return r.Method + " bucket"
	case q.Has("uploads"):
		return r.Method + " create-multipart"
	case q.Has("partNumber"):
		return r.Method + " part"
	case q.Has("uploadId") && r.Method == http.MethodPost:
		return r.Method + " complete"
	case q.Has("uploadId") && r.Method == http.MethodDelete:
		return r.Method + " abort"
	}
	return r.Method + " object"
}

func (fs *faultServer) setFail(f func(*http.Request) int) {
	fs.mu.Lock()
	fs.fail = f
	fs.mu.Unlock()
}

func (fs *faultServer) count(kind string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.counts[kind]
}

func (fs *faultServer) config(kv ...string) map[string]string {
	b := &bucket{name: "faults"}
	cfg := map[string]string{
		"name": "s3", "topics": "orders", BucketKey: b.name, StoreURLKey: fs.srv.URL, AccessKeyIDKey: "k", SecretAccessKeyKey: "s",
		FormatClassKey: JSONFormatClass, FlushSizeKey: "1000", RetryBackoffKey: "1",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return cfg
}

func (fs *faultServer) objects(t *testing.T) []string {
	t.Helper()
	out, err := fs.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("faults")})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

// TestFailingPartAborts: a part that keeps failing (gofakes3 behind an
// injected 500) fails the task after s3.part.retries retries; the
// multipart upload is aborted, no object appears, and nothing past the
// file's start is reported durable.
func TestFailingPartAborts(t *testing.T) {
	t.Parallel()
	fs := newFaultServer(t)
	fs.setFail(func(r *http.Request) int {
		if r.URL.Query().Get("partNumber") == "2" {
			return http.StatusInternalServerError
		}
		return 0
	})
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, fs.config(PartSizeKey, fmt.Sprint(minPartSize), PartRetriesKey, "2"), tp)
	recs := bigRecords(150, 100<<10)
	var err error
	for i := 0; i < len(recs) && err == nil; i += 10 {
		err = r.task.Put(context.Background(), recs[i:i+10])
	}
	if err == nil {
		err = r.task.Put(context.Background(), nil)
	}
	if err == nil {
		_, err = r.task.PreCommit(context.Background(), map[connect.TopicPartition]int64{tp: 150})
	}
	if err == nil || !strings.Contains(err.Error(), "upload part 2") {
		t.Fatalf("the task did not fail on the failing part: %v", err)
	}
	if n := fs.count("PUT part"); n < 1+3 {
		t.Fatalf("%d part requests: part 2 was not retried twice", n)
	}
	r.task.Stop(context.Background())
	if fs.count("DELETE abort") != 1 {
		t.Fatalf("the multipart upload was aborted %d times, want once", fs.count("DELETE abort"))
	}
	if objs := fs.objects(t); len(objs) != 0 {
		t.Fatalf("objects %v are visible after a failed upload", objs)
	}
}

// Test503sAreRetried: throttling answers (503 SlowDown) are retried with
// backoff and the object lands.
func Test503sAreRetried(t *testing.T) {
	t.Parallel()
	fs := newFaultServer(t)
	var mu sync.Mutex
	left := 2
	fs.setFail(func(r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut && left > 0 {
			left--
			return http.StatusServiceUnavailable
		}
		return 0
	})
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, fs.config(FlushSizeKey, "3"), tp)
	r.put(jsonRecords("orders", 0, 0, 3)...)
	if got := r.preCommit(map[connect.TopicPartition]int64{tp: 3}); got[tp] != 3 {
		t.Fatalf("committable %v after retried 503s, want 3", got)
	}
	if objs := fs.objects(t); len(objs) != 1 || fs.count("PUT object") != 3 {
		t.Fatalf("objects %v after %d PUTs, want one object after 3", objs, fs.count("PUT object"))
	}
}

// TestPreconditionFailedFailsTheTask: an object that appears between the
// look for it and the conditional write (another writer of the partition)
// answers 412: the task fails, saying so, and reports nothing durable.
func TestPreconditionFailedFailsTheTask(t *testing.T) {
	t.Parallel()
	fs := newFaultServer(t)
	fs.setFail(func(r *http.Request) int {
		if r.Method == http.MethodPut && r.Header.Get("If-None-Match") == "*" {
			return http.StatusPreconditionFailed
		}
		return 0
	})
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, fs.config(FlushSizeKey, "3"), tp)
	r.put(jsonRecords("orders", 0, 0, 3)...)
	err := r.task.Put(context.Background(), nil)
	if err == nil {
		_, err = r.task.PreCommit(context.Background(), map[connect.TopicPartition]int64{tp: 3})
	}
	if err == nil || !strings.Contains(err.Error(), "another task writes the same partition") {
		t.Fatalf("PreCommit = %v, want the precondition failure explained", err)
	}
}

// TestMissingBucketAndBadCredentials: validation names the key to fix,
// against the real server.
func TestMissingBucketAndBadCredentials(t *testing.T) {
	t.Parallel()
	b := newBucket(t)
	c := NewSink().(*connector)
	msgs := c.Validate(context.Background(), b.config(BucketKey, "no-such-bucket"))
	if m := strings.Join(msgs[BucketKey], " "); !strings.Contains(m, "does not exist") {
		t.Fatalf("Validate with a missing bucket: %v", msgs)
	}
	msgs = c.Validate(context.Background(), b.config(SecretAccessKeyKey, "wrong-secret"))
	if m := strings.Join(msgs[BucketKey], " "); !strings.Contains(m, "access denied") {
		t.Fatalf("Validate with a wrong secret: %v", msgs)
	}
	// A task started anyway fails with the same words on its first upload.
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	r := startTask(t, b.config(BucketKey, "no-such-bucket", FlushSizeKey, "1", ConditionalWritesKey, "false"), tp)
	err := r.task.Put(context.Background(), jsonRecords("orders", 0, 0, 1))
	if err == nil {
		err = r.task.Put(context.Background(), nil)
	}
	if err == nil {
		_, err = r.task.PreCommit(context.Background(), map[connect.TopicPartition]int64{tp: 1})
	}
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a task writing to a missing bucket: %v", err)
	}
}
