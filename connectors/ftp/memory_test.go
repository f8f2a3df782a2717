package ftp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// heapProfileEnv, when set to a directory, makes the memory tests write
// heap profiles there (for go tool pprof -sample_index=inuse_space).
const heapProfileEnv = "FTP_HEAP_PROFILE_DIR"

// writeFiles puts n one-line files in dir on s, owned by its user.
func writeFiles(t testing.TB, s *server, dir string, n int) {
	t.Helper()
	s.mkdir(t, dir)
	for i := range n {
		p := filepath.Join(s.local(dir), fmt.Sprintf("f%06d.txt", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fixedTime, fixedTime); err != nil {
			t.Fatal(err)
		}
	}
	s.user.Chown(t, s.local(dir))
}

// heapInUse returns the heap in use after a GC, and writes a profile
// named name when heapProfileEnv asks.
func heapInUse(t testing.TB, name string) uint64 {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if dir := os.Getenv(heapProfileEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	return ms.HeapAlloc
}

// BenchmarkSourceHeap reads 20,000 one-line files from one directory
// in process, with cleanup.policy none and move, the offsets the task
// commits kept by no store (the framework's store is not the task's
// memory), and reports the heap in use after a GC: after the first poll
// (the first listing) and once every file is read (and moved), and the
// whole file states and compact finished-file records the task holds
// then. heapProfileEnv writes the profiles.
func BenchmarkSourceHeap(b *testing.B) {
	const n = 20_000
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, kind := range []string{"vsftpd", "sshd-password"} {
		for _, policy := range []string{CleanupNone, CleanupMove} {
			b.Run(kind+"-"+policy, func(b *testing.B) {
				s := startServer(b, kind)
				for i := 0; i < b.N; i++ {
					in, done := fmt.Sprintf("/in%d", i), fmt.Sprintf("/done%d", i)
					writeFiles(b, s, in, n)
					s.mkdir(b, done)
					d := newDriver(b, s.config(InputPathKey, in, CleanupKey, policy, FinishedPathKey, done, BatchSizeKey, "5000"), nil)
					d.discard = true
					name := fmt.Sprintf("%s-%s-", kind, policy)
					base := heapInUse(b, name+"start")
					d.poll()
					d.commit() // the driver's own copy of the offsets polled goes
					listed := heapInUse(b, name+"listed")
					d.run(300*time.Second, "every file", func() bool { return d.count() >= n })
					if policy == CleanupMove {
						d.run(300*time.Second, "every file moved", func() bool { return len(s.names(b, in)) == 0 })
					}
					for range 3 { // the last commits taken
						d.poll()
						d.commit()
					}
					end := heapInUse(b, name+"end")
					b.ReportMetric(float64(listed-base)/1024, "KiB-listed")
					b.ReportMetric(float64(end-base)/1024, "KiB-end")
					b.ReportMetric(float64(len(d.task.files)), "file-states")
					b.ReportMetric(float64(len(d.task.done)), "done-records")
					d.stop()
				}
			})
		}
	}
}

// TestFilesHeldAreBounded reads 600 files keeping at most 40 candidates,
// the framework committing only every fifth poll: the task holds at most
// twice input.max.candidates whole file states (one listing's, and the
// files read and waiting for their commit or cleanup), however slowly
// commits come; with cleanup.policy=none each finished file left in
// place is a compact record instead; every line arrives once.
func TestFilesHeldAreBounded(t *testing.T) {
	const n, maxCands = 600, 40
	forEachServer(t, func(t *testing.T, s *server) {
		for _, policy := range []string{CleanupNone, CleanupMove} {
			in := "/in-" + policy
			var want []string
			for i := range n {
				name := fmt.Sprintf("f%04d", i)
				s.write(t, in+"/"+name+".txt", []byte(name+"\n"), fixedTime)
				want = append(want, name)
			}
			s.mkdir(t, "/done")
			d := newDriver(t, s.config(InputPathKey, in, CleanupKey, policy, FinishedPathKey, "/done",
				MaxCandidatesKey, fmt.Sprint(maxCands), BatchSizeKey, "25"), nil)
			held, polls := 0, 0
			deadline := time.Now().Add(120 * time.Second)
			finished := func() bool {
				if policy == CleanupMove {
					return len(s.names(t, in)) == 0
				}
				return len(d.task.done) == n
			}
			for d.count() < n || !finished() {
				if time.Now().After(deadline) {
					t.Fatalf("%s: timed out: %d records, %d file states, %d done records; progress %v",
						policy, d.count(), len(d.task.files), len(d.task.done), d.task.Progress())
				}
				d.poll()
				held = max(held, len(d.task.files))
				if polls++; polls%5 == 0 || d.count() >= n {
					d.commit()
				}
			}
			if held > 2*maxCands {
				t.Errorf("%s: the task held %d whole file states, more than twice input.max.candidates=%d", policy, held, maxCands)
			}
			if policy == CleanupNone && len(d.task.files) != 0 {
				t.Errorf("%s: %d whole file states left once every file is finished, want only done records", policy, len(d.task.files))
			}
			exactlyOnce(t, d.records(), want)
		}
	})
}

// offsetsOnly is an OffsetReader that cannot list its offsets: the task
// looks each listed file's offset up.
type offsetsOnly struct{ s *store }

func (o offsetsOnly) Offset(p map[string]any) map[string]any { return o.s.Offset(p) }

// TestRestartLooksOffsetsUp restarts a task with cleanup.policy=none over
// offsets it cannot list: each listed file's stored offset is looked up,
// a finished file becomes a compact record, and none is read again.
func TestRestartLooksOffsetsUp(t *testing.T) {
	for _, kind := range []string{"vsftpd", "sshd-password"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, kind)
			for i := range 5 {
				name := fmt.Sprintf("f%d", i)
				s.write(t, "/in/"+name+".txt", lines(name, 10), fixedTime)
			}
			d := newDriver(t, s.config(), nil)
			d.run(30*time.Second, "every file", func() bool { return d.count() == 50 })
			d.stop()
			task := &sourceTask{idle: testIdle}
			if err := task.Start(context.Background(), s.config(), offsetsOnly{d.store}); err != nil {
				t.Fatal(err)
			}
			defer task.Stop(context.Background())
			for range 5 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				recs, err := task.Poll(ctx)
				cancel()
				if err != nil || len(recs) != 0 {
					t.Fatalf("the restarted task polled %d records of finished files, error %v", len(recs), err)
				}
			}
			if len(task.done) != 5 || len(task.files) != 0 {
				t.Fatalf("the restarted task holds %d done records and %d file states, want 5 and 0", len(task.done), len(task.files))
			}
		})
	}
}
