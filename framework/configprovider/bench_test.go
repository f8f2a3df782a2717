package configprovider

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkRedactingHandler measures what the redacting handler adds to a
// log line, against the same JSONHandler without it in the same run:
// "x-plain" is the ratio of their times per line.
func BenchmarkRedactingHandler(b *testing.B) {
	for _, n := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			red := &Redactor{}
			for i := range n {
				red.Add(fmt.Sprintf("secret-value-%03d", i))
			}
			plain := slog.New(slog.NewJSONHandler(io.Discard, nil)).With("connector", "pg", "task", 0)
			redacting := slog.New(NewRedactingHandler(slog.NewJSONHandler(io.Discard, nil), red)).With("connector", "pg", "task", 0)
			err := fmt.Errorf("poll: %w", errors.New("connection reset by peer"))
			run := func(l *slog.Logger) time.Duration {
				start := time.Now()
				for i := 0; i < b.N; i++ {
					l.Info("committed offsets for the batch", "records", i, "topic", "orders", "err", err)
				}
				return time.Since(start)
			}
			b.ResetTimer()
			p := run(plain)
			r := run(redacting)
			b.ReportMetric(float64(r.Nanoseconds())/float64(b.N), "ns/line")
			b.ReportMetric(float64(p.Nanoseconds())/float64(b.N), "plain-ns/line")
			b.ReportMetric(float64(r)/float64(p), "x-plain")
		})
	}
}
