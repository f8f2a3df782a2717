package postgrescdc

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/kafkatest"
)

func md5hex(i int) string {
	s := md5.Sum([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// startTask starts a SourceTask outside a worker, from offsets (nil: none).
func startTask(t *testing.T, cfg map[string]string, offsets connect.OffsetReader) *SourceTask {
	t.Helper()
	task := &SourceTask{}
	if err := task.Start(context.Background(), cfg, offsets); err != nil {
		t.Fatal(err)
	}
	return task
}

func topicEnd(t *testing.T, p *pipeline, topic string) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	return kafkatest.EndOffsets(kadm.NewClient(cl), topic)
}
