package runtime

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestConsumerKeys(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := ParseWorkerConfig(map[string]string{"consumer.session.timeout.ms": "6000", "consumer.heartbeat.interval.ms": "1000"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ConsumerOpts) != 2 {
		t.Errorf("%d consumer options, want 2", len(cfg.ConsumerOpts))
	}
	_, err = ParseWorkerConfig(map[string]string{"consumer.session.timeout.ms": "soon"}, quiet)
	if err == nil || !strings.Contains(err.Error(), "consumer.session.timeout.ms") {
		t.Errorf("bad value: error %v, want one naming the key", err)
	}
}
