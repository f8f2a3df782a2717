package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/pkg/sftp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/proctest"
	"github.com/connectd/connectd/internal/testserver"
)

// ftpBenchServer is a file server with the benchmark's files and a raw
// client of the same protocol, the peer the connector is measured
// against.
type ftpBenchServer struct {
	name string
	root string
	user testserver.User
	conn map[string]string // the connector's connection keys
	// get downloads the files of dir one after the other, as a plain
	// client does (list, then RETR or open each), into to (nil: discard
	// them), and returns the bytes.
	get func(b *testing.B, dir string, to io.Writer) int64
}

// discardIfNil is to, or io.Discard when to is nil.
func discardIfNil(to io.Writer) io.Writer {
	if to == nil {
		return io.Discard
	}
	return to
}

func startFTPBench(b *testing.B) *ftpBenchServer {
	f := testserver.StartVsftpd(b, testserver.FTPOptions{})
	s := &ftpBenchServer{name: "ftp", root: f.Root, user: f.User, conn: map[string]string{
		"ftp.protocol": "ftp", "ftp.host": f.Host, "ftp.port": strconv.Itoa(f.Port),
		"ftp.username": f.User.Name, "ftp.password": f.User.Password}}
	s.get = func(b *testing.B, dir string, to io.Writer) int64 {
		c, err := ftp.Dial(f.Addr())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Quit()
		if err := c.Login(f.User.Name, f.User.Password); err != nil {
			b.Fatal(err)
		}
		names, err := c.NameList(dir)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, name := range names {
			r, err := c.Retr(path.Join(dir, path.Base(name)))
			if err != nil {
				b.Fatal(err)
			}
			m, err := io.Copy(discardIfNil(to), r)
			r.Close()
			if err != nil {
				b.Fatal(err)
			}
			n += m
		}
		return n
	}
	return s
}

func startSFTPBench(b *testing.B) *ftpBenchServer {
	d := testserver.StartSSHD(b)
	s := &ftpBenchServer{name: "sftp", root: d.Root, user: d.User, conn: map[string]string{
		"ftp.protocol": "sftp", "ftp.host": d.Host, "ftp.port": strconv.Itoa(d.Port),
		"ftp.username": d.User.Name, "ftp.password": d.User.Password, "sftp.known.hosts.path": d.KnownHosts}}
	s.get = func(b *testing.B, dir string, to io.Writer) int64 {
		hk, err := knownhosts.New(d.KnownHosts)
		if err != nil {
			b.Fatal(err)
		}
		sc, err := ssh.Dial("tcp", d.Addr(), &ssh.ClientConfig{User: d.User.Name, Auth: []ssh.AuthMethod{ssh.Password(d.User.Password)}, HostKeyCallback: hk})
		if err != nil {
			b.Fatal(err)
		}
		defer sc.Close()
		c, err := sftp.NewClient(sc)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		fis, err := c.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, fi := range fis {
			f, err := c.Open(path.Join(dir, fi.Name()))
			if err != nil {
				b.Fatal(err)
			}
			m, err := io.Copy(discardIfNil(to), f) // pkg/sftp's WriteTo: concurrent reads
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			n += m
		}
		return n
	}
	return s
}

// writeLinesFile writes a file of size bytes of lines of width bytes
// (newline included) and returns how many lines it holds.
func writeLinesFile(b *testing.B, s *ftpBenchServer, rel string, size, width int64) int64 {
	b.Helper()
	p := filepath.Join(s.root, rel)
	s.user.MkdirAll(b, s.root, path.Dir(rel))
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	lines := size / width
	pad := strings.Repeat("x", int(width))
	for i := int64(0); i < lines; i++ {
		head := fmt.Sprintf("%012d,customer-%06d,order,", i, i%999_999)
		w.WriteString(head)
		w.WriteString(pad[:width-int64(len(head))-1])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	s.user.Chown(b, p)
	return lines
}

// ftpWorker is connectd standalone (the real binary, tasks in plugin
// processes) over a broker process.
type ftpWorker struct {
	c      *api.Client
	pid    int
	adm    *kadm.Client
	broker string
}

func startFTPWorker(b *testing.B) *ftpWorker {
	sa := startStandalone(b, 1000)
	cl, err := kgo.NewClient(kgo.SeedBrokers(sa.broker), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return &ftpWorker{c: sa.rest, pid: sa.worker.Pid(), adm: kadm.NewClient(cl), broker: sa.broker}
}

// run creates an ftp-source connector reading dir and waits until done
// says it is; it returns the seconds taken and the task process's peak
// resident memory (VmHWM) in MiB.
func (w *ftpWorker) run(b *testing.B, s *ftpBenchServer, name, dir string, extra map[string]string, done func(st herder.TaskState) bool) (float64, float64) {
	b.Helper()
	ctx := context.Background()
	cfg := map[string]string{
		"connector.class": "ftp-source", "topic": name, "input.path": dir, "file.minimum.age.ms": "0",
		"batch.size": "2000", "key.converter": "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.storage.StringConverter",
	}
	for k, v := range s.conn {
		cfg[k] = v
	}
	for k, v := range extra {
		cfg[k] = v
	}
	start := time.Now()
	if _, err := w.c.CreateConnector(ctx, name, cfg); err != nil {
		b.Fatal(err)
	}
	defer w.c.DeleteConnector(ctx, name)
	peak := 0.0
	deadline := start.Add(20 * time.Minute)
	// The task's process is looked for until found, then kept: a look
	// reads every process's /proc entry, and 50 a second of them took a
	// tenth of the machine from what is measured.
	pid := 0
	for {
		st, err := w.c.TaskStatus(ctx, name, 0)
		if err == nil && st.State == herder.Failed {
			b.Fatalf("%s failed: %s", name, st.Trace)
		}
		if pid == 0 {
			pid = proctest.TaskPlugin(w.pid, name, 0)
		}
		if pid != 0 {
			peak = max(peak, proctest.PeakMiB(b, pid))
		}
		if err == nil && done(st) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not done after 20 minutes: %+v", name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start).Seconds(), peak
}

// produce writes every line of the local file p to topic as a
// lineProducer does and returns MB/s of lines: the broker's pace for the
// connector's records.
func (w *ftpWorker) produce(b *testing.B, p, topic string) float64 {
	b.Helper()
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	lp := w.lineProducer(b, topic, p, fi)
	start := time.Now()
	if _, err := io.Copy(lp, f); err != nil {
		b.Fatal(err)
	}
	lp.flush(b)
	return float64(fi.Size()) / 1e6 / time.Since(start).Seconds()
}

// downloadProduce downloads the files of dir with the server's plain
// client and writes their lines to topic as a lineProducer does, in this
// one process, and returns MB/s: the fastest a plain program moves the
// files into Kafka here, so what any connector can reach on this machine.
// The headers name the local copy of dir's one file, fi.
func (w *ftpWorker) downloadProduce(b *testing.B, s *ftpBenchServer, dir string, fi os.FileInfo, topic string) float64 {
	b.Helper()
	lp := w.lineProducer(b, topic, filepath.Join(s.root, dir, fi.Name()), fi)
	start := time.Now()
	n := s.get(b, dir, lp)
	lp.flush(b)
	return float64(n) / 1e6 / time.Since(start).Seconds()
}

// lineProducer is an io.Writer that produces every line written to it to
// one topic with a plain franz-go producer set up as the worker's (1 MiB
// batches, no compression), each with the five headers the connector
// adds.
type lineProducer struct {
	cl      *kgo.Client
	topic   string
	headers []kgo.RecordHeader // the file's, file.line last
	line    int
	part    []byte // the start of a line not yet ended
	mu      sync.Mutex
	failed  error
}

func (w *ftpWorker) lineProducer(b *testing.B, topic, p string, fi os.FileInfo) *lineProducer {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.broker), kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.AllowAutoTopicCreation())
	if err != nil {
		b.Fatal(err)
	}
	return &lineProducer{cl: cl, topic: topic, headers: []kgo.RecordHeader{
		{Key: "file.name", Value: []byte(filepath.Base(p))}, {Key: "file.path", Value: []byte(p)},
		{Key: "file.size", Value: []byte(strconv.FormatInt(fi.Size(), 10))},
		{Key: "file.modified", Value: []byte(fi.ModTime().UTC().Format(time.RFC3339))}, {Key: "file.line"}}}
}

func (lp *lineProducer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			lp.part = append(lp.part, p...)
			break
		}
		v := append(lp.part, p[:i]...) // the record owns it
		lp.part = nil
		lp.line++
		hs := append(make([]kgo.RecordHeader, 0, len(lp.headers)), lp.headers...)
		hs[len(hs)-1].Value = strconv.AppendInt(nil, int64(lp.line), 10)
		lp.cl.Produce(context.Background(), &kgo.Record{Topic: lp.topic, Value: v, Headers: hs}, func(_ *kgo.Record, err error) {
			if err != nil {
				lp.mu.Lock()
				lp.failed = err
				lp.mu.Unlock()
			}
		})
		p = p[i+1:]
	}
	return n, nil
}

// flush waits for every record and closes the producer.
func (lp *lineProducer) flush(b *testing.B) {
	b.Helper()
	defer lp.cl.Close()
	if err := lp.cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.failed != nil {
		b.Fatal(lp.failed)
	}
}

// topicHolds returns a done check: the topic holds n records.
func (w *ftpWorker) topicHolds(b *testing.B, topic string, n int64) func(herder.TaskState) bool {
	return func(herder.TaskState) bool { return kafkatest.EndOffsets(w.adm, topic) >= n }
}

// BenchmarkFTPSource measures ftp-source reading from vsftpd (FTP) and
// OpenSSH (SFTP) into Kafka (connectd standalone, the task in its plugin
// process, a broker process), against a plain client of the same
// protocol downloading the same files from the same server in the same
// run (jlaffaye/ftp RETR; pkg/sftp Open and io.Copy):
//
//   - big: one 1 GiB file of lines (1 KiB lines, and 100-byte lines); MB/s
//     from creating the connector until Kafka holds every line ÷ the
//     download's MB/s. Goal ≥ 0.8. For where the time goes, also ÷ a
//     plain franz-go producer writing the same lines, with the same
//     headers, to the same broker: the Kafka side's pace; and ÷ a plain
//     program doing both in one process (the download's client feeding
//     that producer), whose own ÷ download is the ceiling any connector
//     has on this machine.
//   - small: 10,000 files of 2 KiB (20 lines of 100 bytes) in one
//     directory; the same ratio against listing and downloading each
//     file (before and after the connector's runs, the mean: its pace
//     drifts as the transfers of a run add up). Goal ≥ 0.8. Also the
//     same with ftp.prefetch.files=0, the task on one connection.
//
// It reports the task process's peak RSS (VmHWM) of each run.
func BenchmarkFTPSource(b *testing.B) {
	const bigSize, smallFiles, smallLines = 1 << 30, 10_000, 20
	for _, start := range []func(*testing.B) *ftpBenchServer{startFTPBench, startSFTPBench} {
		s := start(b)
		w := startFTPWorker(b)
		// -count runs a sub-benchmark again on the same servers and
		// worker: the files are written once, and each run has topics and
		// connectors of its own.
		runs := 0
		bigLines := map[int64]int64{}
		b.Run(s.name+"/big", func(b *testing.B) {
			runs++
			if len(bigLines) == 0 {
				for _, width := range []int64{1024, 100} {
					bigLines[width] = writeLinesFile(b, s, fmt.Sprintf("/big%d/big.txt", width), bigSize, width)
				}
			}
			for _, width := range []int64{1024, 100} {
				var big, peer, prod, pipe, rss float64
				dir := fmt.Sprintf("/big%d", width)
				local := filepath.Join(s.root, dir, "big.txt")
				fi, err := os.Stat(local)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					n := s.get(b, dir, nil)
					peer = float64(n) / 1e6 / time.Since(t0).Seconds()
					name := fmt.Sprintf("%s-big%d-%d-%d", s.name, width, runs, i)
					var secs float64
					secs, rss = w.run(b, s, name, dir, nil, w.topicHolds(b, name, bigLines[width]))
					big = float64(bigSize) / 1e6 / secs
					prod = w.produce(b, local, name+"-produce")
					pipe = w.downloadProduce(b, s, dir, fi, name+"-pipeline")
				}
				m := fmt.Sprintf("%s-big-%dB", s.name, width)
				b.ReportMetric(big/peer, m+"-x")
				b.ReportMetric(big/prod, m+"-x-produce")
				b.ReportMetric(big, m+"-MB/s")
				b.ReportMetric(peer, m+"-peer-MB/s")
				b.ReportMetric(prod, m+"-produce-MB/s")
				b.ReportMetric(pipe, m+"-pipeline-MB/s")
				b.ReportMetric(pipe/peer, m+"-pipeline-x")
				b.ReportMetric(big/pipe, m+"-x-pipeline")
				b.ReportMetric(rss, m+"-task-MiB")
				b.Logf("%s: 1 GiB file of %d-byte lines: %.0f MB/s ÷ raw download %.0f MB/s = %.2f (goal >= 0.8); ÷ a plain producer writing the same records to the same broker %.0f MB/s = %.2f; "+
					"a plain program downloading and producing them %.0f MB/s, ÷ download %.2f (the ceiling here), connector ÷ it %.2f; task peak RSS %.0f MiB",
					s.name, width, big, peer, big/peer, prod, big/prod, pipe, pipe/peer, big/pipe, rss)
			}
		})
		wroteSmall := false
		b.Run(s.name+"/small", func(b *testing.B) {
			runs++
			if !wroteSmall {
				wroteSmall = true
				s.user.MkdirAll(b, s.root, "/small")
				for i := range smallFiles {
					writeLinesFile(b, s, fmt.Sprintf("/small/f%05d.txt", i), smallLines*100, 100)
				}
			}
			var small, one, peer, rss float64
			get := func() (int64, float64) {
				t0 := time.Now()
				n := s.get(b, "/small", nil)
				return n, float64(n) / 1e6 / time.Since(t0).Seconds()
			}
			for i := 0; i < b.N; i++ {
				// The plain client runs before and after the task (its
				// pace drifts as a run's transfers add up): their mean.
				n, before := get()
				name := fmt.Sprintf("%s-small-%d-%d", s.name, runs, i)
				var secs float64
				secs, rss = w.run(b, s, name, "/small", nil, w.topicHolds(b, name, smallFiles*smallLines))
				small = float64(n) / 1e6 / secs
				// The same with the task on one connection, nothing
				// fetched ahead.
				secs, _ = w.run(b, s, name+"-one", "/small", map[string]string{"ftp.prefetch.files": "0"}, w.topicHolds(b, name+"-one", smallFiles*smallLines))
				one = float64(n) / 1e6 / secs
				_, after := get()
				peer = (before + after) / 2
			}
			b.ReportMetric(small/peer, s.name+"-small-x")
			b.ReportMetric(small, s.name+"-small-MB/s")
			b.ReportMetric(peer, s.name+"-small-peer-MB/s")
			b.ReportMetric(one/peer, s.name+"-small-one-conn-x")
			b.ReportMetric(rss, s.name+"-small-task-MiB")
			b.Logf("%s: 10k files of 2 KiB: %.2f MB/s ÷ raw per-file download %.2f MB/s = %.2f (goal >= 0.8); with one connection (ftp.prefetch.files=0) %.2f; task peak RSS %.0f MiB",
				s.name, small, peer, small/peer, one/peer, rss)
		})
	}
}

// BenchmarkFTPSourceScale shows the task's memory bounded by neither the
// number of files nor a file's size, on FTP (vsftpd) and SFTP (OpenSSH),
// the task in its plugin process of connectd standalone:
//
//   - files: 100,000 one-line files in one directory, read and moved to
//     finished.path (input.max.candidates 10000): files/s and the task's
//     peak RSS, ÷ the peak RSS reading 25,000 such files (goal ≈ 1: past
//     input.max.candidates the files a task holds stop growing, and the
//     listing streams), and ÷ reading 1,000 (below that bound); and the
//     peak RSS with cleanup.policy=none, where the task remembers each
//     finished file still there.
//   - huge: one 4 GiB file of 1 KiB lines, every record dropped by a
//     Filter transform (so the broker holds nothing): MB/s and the task's
//     peak RSS ÷ the peak reading a 64 MiB file the same way (goal ≈ 1:
//     the file streams).
func BenchmarkFTPSourceScale(b *testing.B) {
	const many, bound, few = 100_000, 25_000, 1_000
	const hugeSize, smallSize, width = 4 << 30, 64 << 20, 1024
	for _, start := range []func(*testing.B) *ftpBenchServer{startFTPBench, startSFTPBench} {
		s := start(b)
		for _, n := range []int{few, bound, many} {
			dir := fmt.Sprintf("/files%d", n)
			s.user.MkdirAll(b, s.root, dir)
			for i := range n {
				p := filepath.Join(s.root, dir, fmt.Sprintf("f%06d.txt", i))
				if err := os.WriteFile(p, []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			s.user.Chown(b, filepath.Join(s.root, dir))
		}
		writeLinesFile(b, s, "/huge/huge.txt", hugeSize, width)
		writeLinesFile(b, s, "/medium/medium.txt", smallSize, width)
		w := startFTPWorker(b)
		filesDone := func(n int) func(herder.TaskState) bool {
			return func(st herder.TaskState) bool { d, _ := st.Progress["files_done"].(float64); return int(d) >= n }
		}
		drop := map[string]string{"transforms": "drop", "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter"}
		var rate, rssMany, rssBound, rssFew, rssNone, huge, rssHuge, rssMedium float64
		for i := 0; i < b.N; i++ {
			for _, n := range []int{few, bound, many} {
				dir := fmt.Sprintf("/files%d", n)
				done := fmt.Sprintf("/done%d", n)
				s.user.MkdirAll(b, s.root, done)
				name := fmt.Sprintf("%s-files%d-%d", s.name, n, i)
				// Done once Kafka holds every record and every file was
				// moved (after its offsets were committed): the connector
				// is deleted when run returns.
				holds, moved := w.topicHolds(b, name, int64(n)), filesIn(filepath.Join(s.root, done), n)
				secs, rss := w.run(b, s, name, dir, map[string]string{"cleanup.policy": "move", "finished.path": done, "batch.size": "5000"},
					func(st herder.TaskState) bool { return holds(st) && moved(st) })
				switch n {
				case many:
					rate, rssMany = float64(n)/secs, rss
				case bound:
					rssBound = rss
				default:
					rssFew = rss
				}
				// The files back where they were, for the next run.
				os.Remove(filepath.Join(s.root, dir))
				if err := os.Rename(filepath.Join(s.root, done), filepath.Join(s.root, dir)); err != nil {
					b.Fatal(err)
				}
			}
			name := fmt.Sprintf("%s-none%d-%d", s.name, many, i)
			_, rssNone = w.run(b, s, name, fmt.Sprintf("/files%d", many), map[string]string{"batch.size": "5000"}, w.topicHolds(b, name, many))
			name = fmt.Sprintf("%s-huge-%d", s.name, i)
			secs, rss := w.run(b, s, name, "/huge", drop, filesDone(1))
			huge, rssHuge = float64(hugeSize)/1e6/secs, rss
			_, rssMedium = w.run(b, s, fmt.Sprintf("%s-medium-%d", s.name, i), "/medium", drop, filesDone(1))
		}
		b.ReportMetric(rate, s.name+"-files/s")
		b.ReportMetric(rssMany, s.name+"-100k-task-MiB")
		b.ReportMetric(rssMany/rssBound, s.name+"-100k-rss-x")
		b.ReportMetric(rssBound, s.name+"-25k-task-MiB")
		b.ReportMetric(rssFew, s.name+"-1k-task-MiB")
		b.ReportMetric(rssMany/rssFew, s.name+"-100k-rss-x-1k")
		b.ReportMetric(rssNone, s.name+"-100k-none-task-MiB")
		b.ReportMetric(huge, s.name+"-4GiB-MB/s")
		b.ReportMetric(rssHuge, s.name+"-4GiB-task-MiB")
		b.ReportMetric(rssHuge/rssMedium, s.name+"-4GiB-rss-x")
		b.Logf("%s: 100k files: %.0f files/s, task peak %.0f MiB ÷ %.0f MiB with 25k files = %.2f (÷ %.0f MiB with 1k files = %.2f); cleanup.policy=none: %.0f MiB; "+
			"4 GiB file: %.0f MB/s (records dropped), task peak %.0f MiB ÷ %.0f MiB for 64 MiB = %.2f",
			s.name, rate, rssMany, rssBound, rssMany/rssBound, rssFew, rssMany/rssFew, rssNone, huge, rssHuge, rssMedium, rssHuge/rssMedium)
		os.RemoveAll(filepath.Join(s.root, "huge"))
	}
}

// filesIn returns a done check: dir holds n entries.
func filesIn(dir string, n int) func(herder.TaskState) bool {
	return func(herder.TaskState) bool {
		es, _ := os.ReadDir(dir)
		return len(es) >= n
	}
}
