package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/internal/proctest"
	"github.com/connectd/connectd/internal/testserver"
)

// BenchmarkElasticSink measures documents per second from Kafka into
// ZincSearch through the elastic-sink connector (the real binary: a
// standalone worker, its task in a plugin process, a broker process),
// divided by a raw _bulk client sending the same documents to the same
// server with the same batch size and concurrency: what the connector's
// framework, conversion and bookkeeping cost. Goal ≥ 0.8. Also the peak
// resident memory of the task's process (VmHWM), without a goal.
//
// The connector's clock runs from the connector's creation until its
// consumer group committed every record (offset.flush.interval.ms=200),
// the raw client's from its first request to its last answer: both count
// documents ZincSearch acknowledged, which it indexes later, from its
// write-ahead log (under load, minutes later). Each side runs twice per
// run, in the order A B B A (see below).
func BenchmarkElasticSink(b *testing.B) {
	const n, batch, inFlight = 200_000, 2000, 5
	sa := startStandalone(b, 200)
	bootstrap, worker, c := sa.broker, sa.worker, sa.rest

	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	values := make([][]byte, n)
	for i := range values {
		values[i] = benchDoc(i)
	}
	var connectd, raw, peak float64
	var cpu elasticCPU
	for i := 0; i < b.N; i++ {
		// Each side runs twice, in the order A B B A, so a load on the
		// machine that rises or falls through the run weighs on both
		// alike; which side is A alternates between runs. A side's rate
		// is its documents over its total time. Each connector run reads
		// a topic of its own, produced before any clock starts (the index
		// is named after it), and each run of either side writes into a
		// ZincSearch of its own, started empty and stopped after.
		var ctime, rtime time.Duration
		var c0, c1, z0, z1 time.Duration
		pids := elasticPIDs{worker: worker.Pid(), broker: sa.brokerP.Pid()}
		runConnectd := func(k int) {
			topic := fmt.Sprintf("docs%d-%d", i, k)
			produceDocs(b, cl, adm, topic, values)
			z := testserver.StartZinc(b)
			pids.zinc = z.Pid()
			rate, rss, used, zused := elasticConnectd(b, c, pids, adm, z, fmt.Sprintf("es%d-%d", i, k), topic, n, batch, inFlight)
			ctime += time.Duration(float64(n) / rate * float64(time.Second))
			peak, c0, z0 = max(peak, rss), c0+used, z0+zused
			z.Kill()
		}
		runRaw := func(k int) {
			z := testserver.StartZinc(b)
			before, self := procCPU(z.Pid()), cpuTime()
			rate := rawBulk(b, z, fmt.Sprintf("raw%d-%d", i, k), fmt.Sprintf("docs%d-%d", i, k), values, batch, inFlight)
			rtime += time.Duration(float64(n) / rate * float64(time.Second))
			c1, z1 = c1+cpuTime()-self, z1+procCPU(z.Pid())-before
			z.Kill()
		}
		if elasticRuns++; elasticRuns%2 == 1 {
			runConnectd(0)
			runRaw(0)
			runRaw(1)
			runConnectd(1)
		} else {
			runRaw(0)
			runConnectd(0)
			runConnectd(1)
			runRaw(1)
		}
		connectd, raw = float64(2*n)/ctime.Seconds(), float64(2*n)/rtime.Seconds()
		cpu = elasticCPU{connectd: c0 / 2, raw: c1 / 2, zincConnectd: z0 / 2, zincRaw: z1 / 2}
	}
	b.ReportMetric(connectd, "connectd-docs/s")
	b.ReportMetric(raw, "raw-bulk-docs/s")
	b.ReportMetric(connectd/raw, "ratio")
	b.ReportMetric(peak, "task-peak-MiB")
	perK := func(d time.Duration) float64 { return d.Seconds() * 1000 / (n / 1000) }
	b.ReportMetric(perK(cpu.connectd), "connectd-cpu-ms/kdoc")
	b.ReportMetric(perK(cpu.raw), "raw-cpu-ms/kdoc")
	b.ReportMetric(perK(cpu.zincConnectd), "zinc-cpu-ms/kdoc-connectd")
	b.ReportMetric(perK(cpu.zincRaw), "zinc-cpu-ms/kdoc-raw")
	b.Logf("Kafka → ZincSearch: connectd %.0f docs/s / raw _bulk client %.0f docs/s = %.3f (goal >= 0.8); task process peak RSS %.1f MiB",
		connectd, raw, connectd/raw, peak)
}

// produceDocs writes values to a new one-partition topic.
func produceDocs(b *testing.B, cl *kgo.Client, adm *kadm.Client, topic string, values [][]byte) {
	b.Helper()
	if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(len(values))
	for _, v := range values {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}

// elasticRuns counts the runs of BenchmarkElasticSink in this process, so
// that with -count the two sides take turns going first.
var elasticRuns int

// benchDoc is document i: about 200 bytes of JSON.
func benchDoc(i int) []byte {
	return []byte(fmt.Sprintf(`{"id":%d,"name":"item %d","price":%d.%02d,"in_stock":%t,"tags":["t%d","u%d"],"text":"the quick brown fox jumps over the lazy dog %d times, then rests by the river bank"}`,
		i, i, i%1000, i%100, i%3 == 0, i%7, i%11, i))
}

// elasticCPU is the CPU time each side used in the last run: connectd's
// processes (worker, task, broker) and the raw client, and ZincSearch's
// while each wrote.
type elasticCPU struct{ connectd, raw, zincConnectd, zincRaw time.Duration }

type elasticPIDs struct{ worker, broker, zinc int }

// elasticConnectd runs an elastic-sink connector named name over topic
// into ZincSearch, and returns documents per second from its creation
// until its group committed all n records, its task process's peak RSS,
// the CPU time connectd's processes used and ZincSearch's.
func elasticConnectd(b *testing.B, c *api.Client, pids elasticPIDs, adm *kadm.Client, z *testserver.Zinc, name, topic string, n, batch, inFlight int) (float64, float64, time.Duration, time.Duration) {
	b.Helper()
	worker := pids.worker
	w0, b0, z0 := procCPU(pids.worker), procCPU(pids.broker), procCPU(pids.zinc)
	ctx := context.Background()
	cfg := map[string]string{
		"connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
		"topics":          topic, "connection.url": z.URL, "connection.username": z.User, "connection.password": z.Password,
		"key.ignore": "true", "schema.ignore": "true",
		"batch.size": strconv.Itoa(batch), "max.in.flight.requests": strconv.Itoa(inFlight),
		"read.timeout.ms": "60000", "flush.timeout.ms": "600000",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}
	start := time.Now()
	if _, err := c.CreateConnector(ctx, name, cfg); err != nil {
		b.Fatal(err)
	}
	defer c.DeleteConnector(ctx, name)
	deadline := start.Add(10 * time.Minute)
	var pid int
	for {
		if pid == 0 {
			pid = proctest.TaskPlugin(worker, name, 0)
		}
		offs, err := adm.FetchOffsets(ctx, "connect-"+name)
		if err == nil {
			if o, ok := offs.Lookup(topic, 0); ok && o.At >= int64(n) {
				break
			}
		}
		if time.Now().After(deadline) {
			st, _ := c.TaskStatus(ctx, name, 0)
			b.Fatalf("%s: not done after 10 minutes: %+v", name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if pid == 0 {
		b.Fatal("no plugin process for the task")
	}
	if st, err := c.TaskStatus(ctx, name, 0); err == nil {
		if reqs, _ := st.Progress["bulk_requests"].(float64); reqs > 0 {
			b.Logf("%s: %.0f bulk requests, %.0f documents each on average", name, reqs, float64(n)/reqs)
		}
	}
	cpu := procCPU(pid) + procCPU(pids.worker) - w0 + procCPU(pids.broker) - b0
	return float64(n) / elapsed.Seconds(), proctest.PeakMiB(b, pid), cpu, procCPU(pids.zinc) - z0
}

// procCPU is the CPU time (user and system) process pid used so far.
func procCPU(pid int) time.Duration { return statCPU(pid, 11, 12) } // utime, stime

// statCPU sums the clock-tick fields of /proc/pid/stat at the given
// indexes (counted after the process name); 0 when pid is gone.
func statCPU(pid int, fields ...int) time.Duration {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks int64
	for _, i := range fields {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100 // clock ticks of 10 ms
}

// rawBulk sends values to index in _bulk requests of batch documents,
// inFlight at once, with the ids the connector gives them, and returns
// documents per second. It uses what the connector uses to talk to the
// server, go-elasticsearch's bulk request over its transport, so the two
// send the same requests (ZincSearch, for one, reads an
// application/x-ndjson body more slowly than the application/json the
// library sends), and it checks each answer as little as can be.
func rawBulk(b testing.TB, z *testserver.Zinc, index, topic string, values [][]byte, batch, inFlight int) float64 {
	b.Helper()
	u, err := url.Parse(z.URL)
	if err != nil {
		b.Fatal(err)
	}
	ht := &http.Transport{MaxIdleConnsPerHost: inFlight + 2}
	defer ht.CloseIdleConnections()
	tp, err := elastictransport.New(elastictransport.Config{URLs: []*url.URL{u}, Username: z.User, Password: z.Password, DisableRetry: true, Transport: ht})
	if err != nil {
		b.Fatal(err)
	}
	// Create the index first, as the connector does before its first write.
	if code, body, err := z.Do("PUT", "/"+index, []byte("{}")); err != nil || code != 200 {
		b.Fatalf("create %s: %d %s %v", index, code, body, err)
	}
	work := make(chan [2]int)
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			for r := range work {
				body.Reset()
				for i := r[0]; i < r[1]; i++ {
					fmt.Fprintf(&body, `{"index":{"_index":%q,"_id":"%s+0+%d"}}`+"\n", index, topic, i)
					body.Write(values[i])
					body.WriteByte('\n')
				}
				res, err := esapi.BulkRequest{Body: bytes.NewReader(body.Bytes())}.Do(context.Background(), tp)
				if err == nil {
					resp, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || !bytes.Contains(resp, []byte(`"errors":false`)) || bytes.Contains(resp, []byte(`"error":"`)) {
						err = fmt.Errorf("bulk: %d %.200s", res.StatusCode, resp)
					}
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < len(values); i += batch {
		work <- [2]int{i, min(i+batch, len(values))}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if failed != nil {
		b.Fatal(failed)
	}
	return float64(len(values)) / elapsed.Seconds()
}
