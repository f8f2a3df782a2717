package testserver

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
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
