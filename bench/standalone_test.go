package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/internal/proctest"
)

// standalone is a `connectd standalone` worker process over a `connectd
// broker` process, as deployed: what the end-to-end benchmarks measure.
type standalone struct {
	broker  string // bootstrap address
	brokerP *proctest.Proc
	worker  *proctest.Proc
	rest    *api.Client
}

// startStandalone starts a broker process and a standalone worker on it
// that stores offsets every flushMs (Kafka Connect's default when 0).
func startStandalone(b *testing.B, flushMs int) standalone {
	b.Helper()
	dir := b.TempDir()
	bin := proctest.Binary(b)
	kport, rport := proctest.FreePort(b), proctest.FreePort(b)
	bp := proctest.Start(b, "broker", []string{"Kafka bootstrap"}, bin, "broker", "--port", strconv.Itoa(kport), "--data-dir", filepath.Join(dir, "kafka"))
	props := fmt.Sprintf("bootstrap.servers=127.0.0.1:%d\nlisteners=http://127.0.0.1:%d\noffset.storage.file.filename=%s\n",
		kport, rport, filepath.Join(dir, "offsets.json"))
	if flushMs > 0 {
		props += fmt.Sprintf("offset.flush.interval.ms=%d\n", flushMs)
	}
	path := filepath.Join(dir, "worker.properties")
	if err := os.WriteFile(path, []byte(props), 0o644); err != nil {
		b.Fatal(err)
	}
	return standalone{
		broker:  fmt.Sprintf("127.0.0.1:%d", kport),
		brokerP: bp,
		worker:  proctest.Start(b, "worker", []string{"REST API"}, bin, "standalone", path),
		rest:    &api.Client{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", rport)},
	}
}
