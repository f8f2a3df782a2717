package runtime

import (
	"context"
	"io"
	"log/slog"
	"maps"
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

func TestProducerKeys(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	raw := map[string]string{"producer.compression.type": "LZ4", "producer.linger.ms": "5"}
	if _, err := ParseWorkerConfig(raw, quiet); err != nil {
		t.Fatal(err)
	}
	// Kafka's default compression first, then the two keys.
	if opts, err := producerOpts(raw, producerPrefix); err != nil || len(opts) != 3 {
		t.Errorf("%d producer options (%v), want 3", len(opts), err)
	}
	for key, v := range map[string]string{"producer.compression.type": "brotli", "producer.linger.ms": "-1"} {
		_, err := ParseWorkerConfig(map[string]string{key: v}, quiet)
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), v) {
			t.Errorf("%s=%s: error %v, want one naming the key and value", key, v, err)
		}
	}
}

// TestProducerCompression checks what a source task's records are
// compressed with, as the broker stores them: none by default (Kafka's
// producer default), the worker's producer.compression.type, and a
// connector's producer.override.compression.type over it; and that
// validation names a bad override.
func TestProducerCompression(t *testing.T) {
	e := newEnv(t, "none")
	// codec returns the codec the topic's batches are compressed with: 0
	// when none is, else the one codec of those that are (the client sends
	// a batch that compression would not shrink, a lone small record,
	// uncompressed).
	codec := func(topic string) int8 {
		t.Helper()
		recs := e.readRecords(topic, 100)
		if len(recs) != 100 {
			t.Fatalf("%s: %d records, want 100", topic, len(recs))
		}
		var c int8
		for _, r := range recs {
			switch rc := int8(r.Attrs.CompressionType()); {
			case rc == 0:
			case c == 0:
				c = rc
			case rc != c:
				t.Fatalf("%s: batches compressed with %d and %d", topic, c, rc)
			}
		}
		return c
	}
	counter := func(topic string, extra ...string) map[string]string {
		cfg := map[string]string{"connector.class": "counter", "topic": topic, "count": "100"}
		for i := 0; i+1 < len(extra); i += 2 {
			cfg[extra[i]] = extra[i+1]
		}
		return cfg
	}
	e.put("plain", counter("plain"))
	e.put("lz4", counter("lz4", "producer.override.compression.type", "lz4"))
	if got := codec("plain"); got != 0 {
		t.Errorf("default: compression %d, want 0 (none)", got)
	}
	if got := codec("lz4"); got != 3 {
		t.Errorf("producer.override.compression.type=lz4: compression %d, want 3", got)
	}

	raw := maps.Clone(e.cfg.Raw)
	raw["producer.compression.type"] = "gzip"
	cfg, err := ParseWorkerConfig(raw, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	e.restart()
	e.put("gzip", counter("gzip"))
	e.put("zstd", counter("zstd", "producer.override.compression.type", "zstd"))
	if got := codec("gzip"); got != 1 {
		t.Errorf("producer.compression.type=gzip: compression %d, want 1", got)
	}
	if got := codec("zstd"); got != 4 {
		t.Errorf("gzip worker, zstd override: compression %d, want 4", got)
	}

	infos, err := e.h.Validate(context.Background(), "counter", counter("bad", "producer.override.compression.type", "brotli"))
	if err != nil {
		t.Fatal(err)
	}
	if !hasError(infos, "producer.override.compression.type", "Invalid value brotli for configuration producer.override.compression.type") {
		t.Errorf("validation of a bad override: %+v", infos)
	}
}
