package ftp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// BenchmarkPollLines measures the task alone (no framework, no Kafka):
// MB/s of a 64 MiB file of 100-byte lines polled from vsftpd and sshd.
func BenchmarkPollLines(b *testing.B) {
	for _, kind := range []string{"vsftpd", "sshd-password"} {
		b.Run(kind, func(b *testing.B) { benchPollLines(b, kind) })
	}
}

func benchPollLines(b *testing.B, kind string) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s := startServer(b, kind)
	const size, width = 64 << 20, 1024
	var sb strings.Builder
	for i := 0; i < size/width; i++ {
		head := fmt.Sprintf("%012d,customer-%06d,order,", i, i)
		sb.WriteString(head)
		sb.WriteString(strings.Repeat("x", width-len(head)-1))
		sb.WriteByte('\n')
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := fmt.Sprintf("/b%d", i)
		s.write(b, dir+"/a.txt", data, fixedTime)
		cfg := s.config(InputPathKey, dir, BatchSizeKey, "2000")
		task := &sourceTask{idle: testIdle}
		if err := task.Start(context.Background(), cfg, newStore()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n := 0
		for n < size/width {
			recs, err := task.Poll(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			n += len(recs)
		}
		b.StopTimer()
		task.Stop(context.Background())
		b.StartTimer()
	}
}
