package postgrescdc

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"strconv"
	"testing"
)

func md5hex(i int) string {
	s := md5.Sum([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func topicEnd(t *testing.T, p *pipeline, topic string) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	return kafkatest.EndOffsets(kadm.NewClient(cl), topic)
}
