package s3sink

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// store is the bucket: the S3 requests the sink makes.
type store struct {
	c      *s3.Client
	cfg    *config
	http   *http.Client
	sseKey string // base64 SSE-C key and its MD5
	sseMD5 string
}

// errExists is returned by a conditional write when the object is there.
var errExists = errors.New("the object exists")

// newStore builds an S3 client from the config: static keys or the SDK's
// default credential chain, store.url as a custom endpoint, and the SDK's
// standard retryer with s3.part.retries retries and exponential backoff
// from s3.retry.backoff.ms.
func newStore(ctx context.Context, cfg *config) (*store, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.concurrency + 4
	hc := &http.Client{Transport: tr}
	var creds aws.CredentialsProvider
	if cfg.accessKey != "" {
		creds = credentials.NewStaticCredentialsProvider(cfg.accessKey, cfg.secretKey, "")
	} else {
		ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.region))
		if err != nil {
			return nil, fmt.Errorf("s3-sink: AWS default credential chain: %w", err)
		}
		creds = ac.Credentials
	}
	backoff := cfg.retryBackoff
	opts := s3.Options{
		Region:       cfg.region,
		Credentials:  creds,
		UsePathStyle: cfg.pathStyle,
		HTTPClient:   hc,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = cfg.partRetries + 1
			o.RateLimiter = ratelimit.None
			o.Backoff = backoffFunc(func(attempt int) time.Duration {
				d := backoff << min(attempt-1, 16)
				if d > 20*time.Second || d <= 0 {
					d = 20 * time.Second
				}
				if backoff == 0 {
					return 0
				}
				return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
			})
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if cfg.storeURL != "" {
		if _, err := url.Parse(cfg.storeURL); err != nil {
			return nil, fmt.Errorf("s3-sink: %s: %w", StoreURLKey, err)
		}
		opts.BaseEndpoint = aws.String(cfg.storeURL)
	}
	s := &store{c: s3.New(opts), cfg: cfg, http: hc}
	if cfg.sseCustomerKey != "" {
		raw, err := base64.StdEncoding.DecodeString(cfg.sseCustomerKey)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("s3-sink: %s must be a base64 256-bit key", SSECustomerKeyKey)
		}
		sum := md5.Sum(raw)
		s.sseKey, s.sseMD5 = cfg.sseCustomerKey, base64.StdEncoding.EncodeToString(sum[:])
	}
	return s, nil
}

type backoffFunc func(attempt int) time.Duration

func (f backoffFunc) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return f(attempt), nil
}

func (s *store) close() { s.http.CloseIdleConnections() }

// object describes an object to write.
type object struct {
	key  string
	meta map[string]string
	tags map[string]string
}

func (s *store) tagging(o object) *string {
	if !s.cfg.tagging || len(o.tags) == 0 {
		return nil
	}
	v := url.Values{}
	for k, val := range o.tags {
		v.Set(k, val)
	}
	return aws.String(v.Encode())
}

func (s *store) ifNoneMatch() *string {
	if s.cfg.conditional {
		return aws.String("*")
	}
	return nil
}

// writeOptions are the encryption and ACL settings of every new object.
type writeOptions struct {
	sse              types.ServerSideEncryption
	kmsKeyID         *string
	acl              types.ObjectCannedACL
	cAlg, cKey, cMD5 *string
}

func (s *store) writeOptions() writeOptions {
	var w writeOptions
	if s.cfg.ssea != "" {
		w.sse = types.ServerSideEncryption(s.cfg.ssea)
		if s.cfg.kmsKeyID != "" {
			w.kmsKeyID = aws.String(s.cfg.kmsKeyID)
		}
	}
	if s.sseKey != "" {
		w.cAlg, w.cKey, w.cMD5 = aws.String("AES256"), aws.String(s.sseKey), aws.String(s.sseMD5)
	}
	w.acl = types.ObjectCannedACL(s.cfg.acl)
	return w
}

// put writes a whole object, only if absent when conditional writes are on.
func (s *store) put(ctx context.Context, o object, body io.ReadSeeker, size int64) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.bucket), Key: aws.String(o.key), Body: body, ContentLength: aws.Int64(size),
		Metadata: o.meta, IfNoneMatch: s.ifNoneMatch(), Tagging: s.tagging(o),
	}
	w := s.writeOptions()
	in.ServerSideEncryption, in.SSEKMSKeyId, in.ACL = w.sse, w.kmsKeyID, w.acl
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = w.cAlg, w.cKey, w.cMD5
	_, err := s.c.PutObject(ctx, in)
	return s.wrap("put", o.key, err)
}

func (s *store) createMultipart(ctx context.Context, o object) (string, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.cfg.bucket), Key: aws.String(o.key), Metadata: o.meta, Tagging: s.tagging(o)}
	w := s.writeOptions()
	in.ServerSideEncryption, in.SSEKMSKeyId, in.ACL = w.sse, w.kmsKeyID, w.acl
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = w.cAlg, w.cKey, w.cMD5
	out, err := s.c.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", s.wrap("start multipart upload of", o.key, err)
	}
	return aws.ToString(out.UploadId), nil
}

func (s *store) uploadPart(ctx context.Context, key, id string, n int32, body io.ReadSeeker, size int64) (string, error) {
	in := &s3.UploadPartInput{Bucket: aws.String(s.cfg.bucket), Key: aws.String(key), UploadId: aws.String(id),
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(size)}
	w := s.writeOptions()
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = w.cAlg, w.cKey, w.cMD5
	out, err := s.c.UploadPart(ctx, in)
	if err != nil {
		return "", s.wrap(fmt.Sprintf("upload part %d of", n), key, err)
	}
	return aws.ToString(out.ETag), nil
}

func (s *store) complete(ctx context.Context, key, id string, etags []string) error {
	parts := make([]types.CompletedPart, len(etags))
	for i, e := range etags {
		parts[i] = types.CompletedPart{ETag: aws.String(e), PartNumber: aws.Int32(int32(i + 1))}
	}
	_, err := s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(s.cfg.bucket), Key: aws.String(key),
		UploadId: aws.String(id), IfNoneMatch: s.ifNoneMatch(), MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return s.wrap("complete multipart upload of", key, err)
}

func (s *store) abort(ctx context.Context, key, id string) error {
	_, err := s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.cfg.bucket), Key: aws.String(key), UploadId: aws.String(id)})
	return s.wrap("abort multipart upload of", key, err)
}

// head returns an object's user metadata and size, or found=false.
func (s *store) head(ctx context.Context, key string) (map[string]string, int64, bool, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(s.cfg.bucket), Key: aws.String(key)}
	if s.sseKey != "" {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(s.sseKey), aws.String(s.sseMD5)
	}
	out, err := s.c.HeadObject(ctx, in)
	if err != nil {
		var nf *types.NotFound
		var api smithy.APIError
		if errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")) {
			return nil, 0, false, nil
		}
		return nil, 0, false, s.wrap("look for", key, err)
	}
	return out.Metadata, aws.ToInt64(out.ContentLength), true, nil
}

// get opens an object, or the bytes [off, off+n) of it when n > 0.
func (s *store) get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.cfg.bucket), Key: aws.String(key)}
	if n > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	}
	if s.sseKey != "" {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(s.sseKey), aws.String(s.sseMD5)
	}
	out, err := s.c.GetObject(ctx, in)
	if err != nil {
		return nil, s.wrap("read", key, err)
	}
	return out.Body, nil
}

// checkBucket finds out whether the bucket exists and may be written.
func (s *store) checkBucket(ctx context.Context) error {
	_, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.cfg.bucket)})
	return s.wrap("check bucket", s.cfg.bucket, err)
}

// wrap names the operation and says what to fix for the errors a user can
// fix; it marks the object-exists precondition failure with errExists.
func (s *store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	code := ""
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	switch {
	case status == http.StatusPreconditionFailed || code == "PreconditionFailed":
		return fmt.Errorf("s3-sink: %s %q: %w: %w", op, key, errExists, err)
	case code == "NoSuchBucket" || (op == "check bucket" && status == http.StatusNotFound):
		return fmt.Errorf("s3-sink: %s %q: the bucket %q does not exist: create it or fix %s: %w", op, key, s.cfg.bucket, BucketKey, err)
	case status == http.StatusForbidden || code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return fmt.Errorf("s3-sink: %s %q: access denied: check %s/%s (or the default credential chain) and that the policy allows s3:PutObject, s3:GetObject, s3:AbortMultipartUpload on the bucket: %w",
			op, key, AccessKeyIDKey, SecretAccessKeyKey, err)
	case code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect":
		return fmt.Errorf("s3-sink: %s %q: the server expects another region: check %s: %w", op, key, RegionKey, err)
	case strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host"):
		return fmt.Errorf("s3-sink: %s %q: cannot reach %s: check %s: %w", op, key, s.endpoint(), StoreURLKey, err)
	}
	return fmt.Errorf("s3-sink: %s %q: %w", op, key, err)
}

func (s *store) endpoint() string {
	if s.cfg.storeURL != "" {
		return s.cfg.storeURL
	}
	return "S3 in " + s.cfg.region
}
