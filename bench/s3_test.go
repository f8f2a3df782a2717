package bench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
	"github.com/connectd/connectd/internal/testserver"
)

// BenchmarkS3Sink measures s3-sink as deployed — `connectd standalone`
// with the task in its own plugin process, a `connectd broker` process,
// versitygw (posix backend) as S3 — against aws-sdk-go-v2's upload
// manager writing the same bytes to the same server at the same
// concurrency, in the same run:
//
//   - json: 400k JSON records (about 250 bytes) over 4 partitions, already
//     in Kafka; MB of objects per second from the connector's creation
//     until its consumer group has committed every record (so every
//     object is uploaded) ÷ MB/s of manager.Uploader putting the same
//     objects, 4 at a time (s3.upload.concurrency=4). Goal ≥ 0.8.
//   - parquet: the same records with a schema, written as Parquet (snappy).
//   - bytearray: the same JSON records through ByteArrayConverter and
//     ByteArrayFormat: the path without decoding and encoding records.
//
// It also reports the peak resident memory (VmHWM) of the task's process,
// and s3-sink's records/s ÷ the file sink's on the same records with
// ByteArrayConverter (vs-file-sink): the worker's sink path alone, which
// bounds every sink. And the CPU time per record (µs, user and system) of
// each process while it ran: the task's plugin process (task-cpu), the
// worker (worker-cpu), the broker and versitygw together (servers-cpu),
// and their sum (sink-cpu); the upload manager's (this process and
// versitygw while it uploads, uploader-cpu) for the same bytes; the file
// sink's processes (worker, its task, broker: file-cpu). On a machine
// shared with other work the rates swing with the load, the CPU per record
// much less; 2 cores ÷ sink-cpu bounds the pace the sink can reach.
//
// For json it also runs a plain program in the benchmark's process that
// consumes the records with franz-go and uploads them with the upload
// manager, cut as the sink cuts its objects, values as they are
// (pipeline): its MB/s ÷ the upload manager's (pipeline-x) is what any
// sink can reach on this machine, and s3-sink's ÷ its (x-pipeline).
func BenchmarkS3Sink(b *testing.B) {
	const records, parts, concurrency = 400_000, 4, 4
	for _, format := range []string{"json", "parquet", "bytearray"} {
		b.Run(format, func(b *testing.B) {
			var ratio, sinkMBs, peerMBs, pipeMBs, peak, recsPerSec, fileRecs float64
			var taskCPU, workerCPU, serversCPU, peerCPU, fileCPU time.Duration
			for i := 0; i < b.N; i++ {
				env := newS3Env(b)
				topic := "bench-" + format
				env.produce(b, topic, parts, records, format == "parquet")
				cfg := map[string]string{
					"connector.class": "io.confluent.connect.s3.S3SinkConnector", "topics": topic,
					"s3.bucket.name": "sink", "store.url": env.gw.URL, "aws.access.key.id": env.gw.AccessKey, "aws.secret.access.key": env.gw.SecretKey,
					"format.class": "io.confluent.connect.s3.format.json.JsonFormat", "flush.size": "25000",
					"s3.upload.concurrency": strconv.Itoa(concurrency),
					"key.converter":         "org.apache.kafka.connect.storage.StringConverter",
					"value.converter":       "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
				}
				switch format {
				case "parquet":
					cfg["format.class"] = "io.confluent.connect.s3.format.parquet.ParquetFormat"
					cfg["value.converter.schemas.enable"] = "true"
				case "bytearray":
					cfg["format.class"] = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat"
					cfg["value.converter"] = "org.apache.kafka.connect.converters.ByteArrayConverter"
				}
				w0, s0 := procCPU(env.worker.Pid()), env.serversCPU()
				start := time.Now()
				if _, err := env.rest.CreateConnector(context.Background(), "s3", cfg); err != nil {
					b.Fatal(err)
				}
				env.waitCommitted(b, "s3", topic, records)
				elapsed := time.Since(start)
				pid := proctest.TaskPlugin(env.worker.Pid(), "s3", 0)
				if pid == 0 {
					b.Fatal("no plugin process for the task")
				}
				// The plugin process started with the connector: all its
				// CPU is the run's.
				taskCPU, workerCPU, serversCPU = procCPU(pid), procCPU(env.worker.Pid())-w0, env.serversCPU()-s0
				peak = proctest.PeakMiB(b, pid)
				objs := env.read(b, "sink")
				var size int64
				for _, o := range objs {
					size += int64(len(o.body))
				}
				self0, _ := cpuTimes()
				g0 := procCPU(env.gw.Pid())
				peerElapsed := env.uploadAll(b, "peer", objs, concurrency)
				self1, _ := cpuTimes()
				peerCPU = self1 - self0 + procCPU(env.gw.Pid()) - g0
				if format == "json" {
					n, took := env.pipeline(b, "pipeline", topic, records, 25000, concurrency)
					pipeMBs = float64(n) / 1e6 / took.Seconds()
				}
				// The worker's sink path alone: the file sink writing the
				// same records' bytes to a local file.
				fileCfg := map[string]string{"connector.class": "FileStreamSink", "topics": topic, "file": filepath.Join(b.TempDir(), "out.txt"),
					"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter", "key.converter": "org.apache.kafka.connect.storage.StringConverter"}
				w0, b0 := procCPU(env.worker.Pid()), procCPU(env.brokerPid)
				fstart := time.Now()
				if _, err := env.rest.CreateConnector(context.Background(), "file", fileCfg); err != nil {
					b.Fatal(err)
				}
				env.waitCommitted(b, "file", topic, records)
				fileRecs = records / time.Since(fstart).Seconds()
				fileCPU = procCPU(env.worker.Pid()) - w0 + procCPU(env.brokerPid) - b0 + procCPU(proctest.TaskPlugin(env.worker.Pid(), "file", 0))
				sinkMBs = float64(size) / 1e6 / elapsed.Seconds()
				peerMBs = float64(size) / 1e6 / peerElapsed.Seconds()
				ratio = sinkMBs / peerMBs
				recsPerSec = records / elapsed.Seconds()
				env.close()
			}
			b.ReportMetric(ratio, "ratio")
			b.ReportMetric(sinkMBs, "sink-MB/s")
			b.ReportMetric(peerMBs, "uploader-MB/s")
			b.ReportMetric(recsPerSec, "records/s")
			b.ReportMetric(peak, "task-peak-MiB")
			if pipeMBs > 0 {
				b.ReportMetric(pipeMBs, "pipeline-MB/s")
				b.ReportMetric(pipeMBs/peerMBs, "pipeline-x")
				b.ReportMetric(sinkMBs/pipeMBs, "x-pipeline")
				b.Logf("%s: a plain program consuming the records and uploading them as they come %.1f MB/s, ÷ upload manager %.2f (the ceiling here); s3-sink ÷ it %.2f",
					format, pipeMBs, pipeMBs/peerMBs, sinkMBs/pipeMBs)
			}
			b.ReportMetric(recsPerSec/fileRecs, "vs-file-sink")
			perRec := func(d time.Duration) float64 { return float64(d.Microseconds()) / records }
			b.ReportMetric(perRec(taskCPU), "task-cpu-us/rec")
			b.ReportMetric(perRec(workerCPU), "worker-cpu-us/rec")
			b.ReportMetric(perRec(serversCPU), "servers-cpu-us/rec")
			b.ReportMetric(perRec(taskCPU+workerCPU+serversCPU), "sink-cpu-us/rec")
			b.ReportMetric(perRec(peerCPU), "uploader-cpu-us/rec")
			b.ReportMetric(perRec(fileCPU), "file-cpu-us/rec")
			b.Logf("%s: s3-sink %.1f MB/s (%.0f records/s) ÷ upload manager %.1f MB/s = %.2f (goal ≥ 0.8 for JSON); task peak RSS %.1f MiB; "+
				"÷ the file sink's %.0f records/s (the worker's sink path alone) = %.2f",
				format, sinkMBs, recsPerSec, peerMBs, ratio, peak, fileRecs, recsPerSec/fileRecs)
			b.Logf("%s: CPU per record (last run): task %v, worker %v, broker and versitygw %v; upload manager %v; file sink %v",
				format, taskCPU/records, workerCPU/records, serversCPU/records, peerCPU/records, fileCPU/records)
		})
	}
}

type s3Env struct {
	gw        *testserver.VersityGW
	client    *s3.Client
	broker    string
	brokerPid int
	worker    *proctest.Proc
	rest      *api.Client
}

// serversCPU is the CPU the broker and versitygw used so far.
func (e *s3Env) serversCPU() time.Duration { return procCPU(e.brokerPid) + procCPU(e.gw.Pid()) }

func newS3Env(b *testing.B) *s3Env {
	b.Helper()
	gw := testserver.StartVersityGW(b)
	gw.CreateBucket(b, "sink")
	gw.CreateBucket(b, "peer")
	gw.CreateBucket(b, "pipeline")
	sa := startStandalone(b, 100)
	return &s3Env{gw: gw, client: gw.Client(), broker: sa.broker, brokerPid: sa.brokerP.Pid(), worker: sa.worker, rest: sa.rest}
}

func (e *s3Env) close() {
	e.worker.Stop()
	e.gw.Kill()
}

const benchSchema = `{"type":"struct","name":"Order","fields":[{"field":"id","type":"int64"},{"field":"name","type":"string"},` +
	`{"field":"amount","type":"double"},{"field":"region","type":"string"},{"field":"pad","type":"string"}]}`

// produce writes n records round-robin over parts partitions, JSON
// values, with Kafka Connect's schema envelope when schema is set.
func (e *s3Env) produce(b *testing.B, topic string, parts, n int, schema bool) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, int32(parts), 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	pad := strings.Repeat("x", 150)
	var mu sync.Mutex
	var first error
	for i := 0; i < n; i++ {
		v := fmt.Sprintf(`{"id":%d,"name":"customer %d","amount":%d.25,"region":"r%d","pad":"%s"}`, i, i%9973, i%1000, i%7, pad)
		if schema {
			v = `{"schema":` + benchSchema + `,"payload":` + v + `}`
		}
		cl.Produce(ctx, &kgo.Record{Partition: int32(i % parts), Key: []byte(strconv.Itoa(i)), Value: []byte(v)}, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if first != nil {
		b.Fatal(first)
	}
}

// waitCommitted waits until connector name's group committed n records of topic.
func (e *s3Env) waitCommitted(b *testing.B, name, topic string, n int) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		offs, err := adm.FetchOffsets(context.Background(), "connect-"+name)
		var sum int64
		if err == nil {
			offs.Each(func(o kadm.OffsetResponse) {
				if o.Topic == topic {
					sum += o.At
				}
			})
		}
		if sum == int64(n) {
			return
		}
		if st, err := e.rest.TaskStatus(context.Background(), name, 0); err == nil && st.State == herder.Failed {
			b.Fatalf("task failed: %s", st.Trace)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d records committed after 10 minutes", sum, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type benchObject struct {
	key  string
	body []byte
}

func (e *s3Env) read(b *testing.B, bucket string) []benchObject {
	b.Helper()
	var out []benchObject
	for k, v := range e.gw.Objects(b, bucket) {
		out = append(out, benchObject{k, v})
	}
	return out
}

// uploadAll puts objs with manager.Uploader, concurrency at a time (each
// object's parts, 25 MiB as the sink's, are the upload manager's own).
func (e *s3Env) uploadAll(b *testing.B, bucket string, objs []benchObject, concurrency int) time.Duration {
	b.Helper()
	start := time.Now()
	put, wait := e.uploads(b, bucket, concurrency)
	for _, o := range objs {
		put <- o
	}
	wait()
	return time.Since(start)
}

// uploads starts concurrency workers putting the objects sent to put into
// bucket with manager.Uploader; wait closes put, waits for the workers and
// fails b on an upload's error.
func (e *s3Env) uploads(b *testing.B, bucket string, concurrency int) (put chan<- benchObject, wait func()) {
	up := manager.NewUploader(e.client, func(u *manager.Uploader) { u.Concurrency = concurrency; u.PartSize = 25 << 20 })
	work := make(chan benchObject)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if _, err := up.Upload(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.key), Body: bytes.NewReader(o.body)}); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	return work, func() {
		b.Helper()
		close(work)
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
	}
}

// pipeline reads topic's n records with a plain franz-go consumer and
// uploads them cut as the sink cuts its objects (flushSize records of a
// partition, each value and a newline: JSON values as they are), with
// uploads at concurrency, in this one process. It returns the bytes
// uploaded and the time taken: the fastest a plain program moves the
// records into S3 here, so what any sink can reach on this machine.
func (e *s3Env) pipeline(b *testing.B, bucket, topic string, n, flushSize, concurrency int) (int64, time.Duration) {
	b.Helper()
	start := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	put, wait := e.uploads(b, bucket, concurrency)
	type open struct {
		first int64
		count int
		body  []byte
	}
	files := map[int32]*open{}
	var size int64
	cut := func(p int32, f *open) {
		size += int64(len(f.body))
		put <- benchObject{key: fmt.Sprintf("topics/%s/partition=%d/%s+%d+%010d.json", topic, p, topic, p, f.first), body: f.body}
		delete(files, p)
	}
	for got := 0; got < n; {
		fs := cl.PollFetches(context.Background())
		if errs := fs.Errors(); len(errs) > 0 {
			b.Fatal(errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			f := files[r.Partition]
			if f == nil {
				f = &open{first: r.Offset}
				files[r.Partition] = f
			}
			f.body = append(append(f.body, r.Value...), '\n')
			f.count++
			got++
			if f.count == flushSize {
				cut(r.Partition, f)
			}
		})
	}
	for p, f := range files {
		cut(p, f)
	}
	wait()
	return size, time.Since(start)
}
