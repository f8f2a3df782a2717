package testserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersityGWVersion is the versitygw release scripts/servers.sh builds.
const VersityGWVersion = "v1.8.0"

// VersityGW is a running versitygw S3 gateway with its posix backend: every
// bucket is a folder of Dir and every object a plain file in it.
type VersityGW struct {
	*Proc
	// URL is the endpoint to use with path-style addressing.
	URL       string
	AccessKey string
	SecretKey string
	// Region is the region requests must be signed for: us-west-2, the
	// default of Confluent's s3.region, so configs need not name one.
	Region string
	// Dir is the posix backend's root; a bucket is a folder in it.
	Dir string
}

// StartVersityGW starts versitygw on a free loopback port over a fresh temp
// dir, with one root account, and waits until its health endpoint answers.
func StartVersityGW(tb testing.TB) *VersityGW {
	tb.Helper()
	bin := Binary(tb, "versitygw", filepath.Join("versitygw-"+VersityGWVersion, "versitygw"))
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		tb.Fatal(err)
	}
	port := FreePort(tb)
	g := &VersityGW{URL: fmt.Sprintf("http://127.0.0.1:%d", port), AccessKey: "connectdtest", SecretKey: "connectdtest-secret", Region: "us-west-2", Dir: data}
	health := g.URL + "/health"
	g.Proc = Start(tb, "versitygw", Command{
		Path: bin,
		Args: []string{"--port", "127.0.0.1:" + strconv.Itoa(port), "--access", g.AccessKey, "--secret", g.SecretKey,
			"--region", g.Region, "--health", "/health", "posix", data},
		Dir: dir,
		Ready: func() error {
			resp, err := http.Get(health)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health: %s", resp.Status)
			}
			return nil
		},
	})
	return g
}

// Client returns an S3 client for the gateway (path-style, its keys).
func (g *VersityGW) Client() *s3.Client {
	return s3.New(s3.Options{Region: g.Region, BaseEndpoint: aws.String(g.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
}

// CreateBucket makes a bucket through the S3 API.
func (g *VersityGW) CreateBucket(tb testing.TB, name string) {
	tb.Helper()
	if _, err := g.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("testserver: create bucket %s: %v", name, err)
	}
}

// Objects returns every object of a bucket, by key.
func (g *VersityGW) Objects(tb testing.TB, bucket string) map[string][]byte {
	tb.Helper()
	ctx := context.Background()
	c := g.Client()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			tb.Fatalf("testserver: list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				tb.Fatalf("testserver: get %s: %v", aws.ToString(o.Key), err)
			}
			body, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				tb.Fatalf("testserver: get %s: %v", aws.ToString(o.Key), err)
			}
			out[aws.ToString(o.Key)] = body
		}
	}
	return out
}
