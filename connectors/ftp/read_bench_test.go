package ftp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
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

// BenchmarkPollSmallFiles measures the task alone reading 2000 files of
// 20 lines of 100 bytes (listing, completeness, MDTM where the server lists with LIST,
// one transfer each) and reports its pace ÷ a plain client listing and
// downloading the same files in the same run.
func BenchmarkPollSmallFiles(b *testing.B) {
	for _, kind := range []string{"vsftpd", "proftpd", "sshd-password"} {
		b.Run(kind, func(b *testing.B) {
			defer slog.SetDefault(slog.Default())
			slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
			s := startServer(b, kind)
			const files = 2000
			line := strings.Repeat("x", 99) + "\n"
			for i := range files {
				s.write(b, fmt.Sprintf("/small/f%05d.txt", i), []byte(strings.Repeat(line, 20)), fixedTime)
			}
			var ratio float64
			for i := 0; i < b.N; i++ {
				cfg := s.config(InputPathKey, "/small", BatchSizeKey, "2000")
				start := time.Now()
				raw := rawDownload(b, cfg, "/small")
				rawSecs := time.Since(start).Seconds()
				task := &sourceTask{idle: testIdle}
				if err := task.Start(context.Background(), cfg, newStore()); err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				for done := 0; done < files; {
					if _, err := task.Poll(context.Background()); err != nil {
						b.Fatal(err)
					}
					done = int(task.Progress()["files_done"].(int64))
				}
				secs := time.Since(start).Seconds()
				task.Stop(context.Background())
				ratio = rawSecs / secs
				b.ReportMetric(float64(raw)/1e6/rawSecs, "raw-MB/s")
				b.ReportMetric(float64(raw)/1e6/secs, "task-MB/s")
			}
			b.ReportMetric(ratio, "x")
		})
	}
}

// rawDownload lists dir and downloads each file with the task's own
// remote, one after the other, as a plain client does.
func rawDownload(b *testing.B, raw map[string]string, dir string) int64 {
	cfg, err := parseConfig(raw)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r, err := dial(ctx, cfg, slog.Default())
	if err != nil {
		b.Fatal(err)
	}
	defer r.close()
	var es []entry
	if err := r.list(ctx, dir, func(e entry) error { es = append(es, e); return nil }); err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range es {
		rc, _, err := r.open(ctx, dir+"/"+e.name, 0, e.size)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, io.LimitReader(rc, e.size))
		rc.Close()
		n += m
	}
	return n
}
