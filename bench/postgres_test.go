package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	postgrescdc "github.com/connectd/connectd/connectors/postgres-cdc"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/internal/pgtest"
	"github.com/connectd/connectd/internal/proctest"
	"github.com/connectd/connectd/offsets"
)

var postgresPlugin = plugin.Plugin{Name: postgrescdc.Name, Version: postgrescdc.Version, NewSource: postgrescdc.NewSource}

// BenchmarkPostgresCDC measures postgres-cdc (task in process, JSON values
// without schemas) against PostgreSQL's own tools, in the same run on the
// same server:
//
//   - insert: 1M rows inserted in one transaction; CDC rows/s from the
//     commit until Kafka holds them all ÷ pg_recvlogical (pgoutput)
//     draining the same change from a sibling slot until the commit's LSN.
//     Both start after the commit (the connector is stopped while the
//     transaction runs), so both decode it from the WAL. Goal ≥ 0.8.
//   - update: the same with 100k updated rows.
//   - snapshot: a new connector's initial snapshot of the 1M-row table,
//     rows/s until Kafka holds them ÷ COPY ... TO STDOUT of the table.
func BenchmarkPostgresCDC(b *testing.B) {
	const rows, updates = 1_000_000, 100_000
	// The connector logs through the default logger; keep the output to
	// the figures (scripts/bench.sh parses it).
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var ins, insPeer, upd, updPeer, snap, copyRate float64
	for i := 0; i < b.N; i++ {
		// Autovacuum would analyze the fresh million rows while the CDC side
		// is timed, and not while the peer is.
		pg := pgtest.Start(b, pgtest.Setting("autovacuum", "off"))
		pg.CreateDatabase("bench")
		pg.Exec("bench", "CREATE TABLE items (id bigint PRIMARY KEY, qty int NOT NULL, name text NOT NULL, price numeric(10,2))")
		env := newCDCEnv(b, pg)
		env.start(b, "cdc", "s1", "cdc_slot", "no_data")
		pg.Exec("bench", "SELECT pg_create_logical_replication_slot('peer', 'pgoutput')")

		// Both sides decode the change from the WAL after its commit: the
		// connector is stopped while the transaction runs (its slot keeps
		// the position) and started again at the commit, as pg_recvlogical
		// is started after it.
		env.stop(b, "cdc")
		pg.Exec("bench", fmt.Sprintf("INSERT INTO items SELECT i, i %% 100, 'item number ' || i, i / 100.0 FROM generate_series(1, %d) i", rows))
		end := walLSN(b, pg)
		start := time.Now()
		env.start(b, "cdc", "s1", "cdc_slot", "no_data")
		env.waitCount(b, "s1.public.items", rows)
		ins = rows / time.Since(start).Seconds()
		insPeer = rows / recvlogical(b, pg, "peer", end).Seconds()

		env.stop(b, "cdc")
		pg.Exec("bench", fmt.Sprintf("UPDATE items SET qty = qty + 1 WHERE id <= %d", updates))
		end = walLSN(b, pg)
		start = time.Now()
		env.start(b, "cdc", "s1", "cdc_slot", "no_data")
		env.waitCount(b, "s1.public.items", rows+updates)
		upd = updates / time.Since(start).Seconds()
		updPeer = updates / recvlogical(b, pg, "peer", end).Seconds()

		start = time.Now()
		env.start(b, "snap", "s2", "snap_slot", "initial")
		env.waitCount(b, "s2.public.items", rows)
		snap = rows / time.Since(start).Seconds()
		copyRate = rows / copyOut(b, pg).Seconds()
		env.close()
	}
	b.ReportMetric(ins, "cdc-insert-rows/s")
	b.ReportMetric(insPeer, "recvlogical-insert-rows/s")
	b.ReportMetric(ins/insPeer, "insert-ratio")
	b.ReportMetric(upd, "cdc-update-rows/s")
	b.ReportMetric(updPeer, "recvlogical-update-rows/s")
	b.ReportMetric(upd/updPeer, "update-ratio")
	b.ReportMetric(snap, "snapshot-rows/s")
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(snap/copyRate, "snapshot-ratio")
	b.Logf("postgres-cdc: inserts %.0f rows/s / pg_recvlogical %.0f = %.3f (goal >= 0.8); updates %.0f / %.0f = %.3f; snapshot %.0f rows/s / COPY %.0f = %.3f",
		ins, insPeer, ins/insPeer, upd, updPeer, upd/updPeer, snap, copyRate, snap/copyRate)
}

type cdcEnv struct {
	pg      *pgtest.Server
	cluster *kfake.Cluster // an in-process broker, or nil
	broker  *proctest.Proc // a broker process, or nil
	h       *runtime.Standalone
	cl      *kgo.Client
}

// newCDCEnv starts a worker on a broker in the benchmark's own process.
func newCDCEnv(b *testing.B, pg *pgtest.Server) *cdcEnv {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		b.Fatal(err)
	}
	e := newCDCEnvOn(b, pg, c.ListenAddrs())
	e.cluster = c
	return e
}

// newCDCEnvBroker starts a `connectd broker` process (as `connectd dev`
// and the s3 and ftp benchmarks run it) and a worker in the benchmark's
// process on it: the broker's work is not the connector's.
func newCDCEnvBroker(b *testing.B, pg *pgtest.Server) *cdcEnv {
	port := proctest.FreePort(b)
	bp := proctest.Start(b, "broker", []string{"Kafka bootstrap"}, proctest.Binary(b), "broker", "--port", strconv.Itoa(port),
		"--data-dir", filepath.Join(b.TempDir(), "kafka"))
	e := newCDCEnvOn(b, pg, []string{fmt.Sprintf("127.0.0.1:%d", port)})
	e.broker = bp
	return e
}

func newCDCEnvOn(b *testing.B, pg *pgtest.Server, seeds []string) *cdcEnv {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := runtime.ParseWorkerConfig(map[string]string{
		runtime.KeyBootstrapServers:    strings.Join(seeds, ","),
		runtime.KeyPluginIsolation:     "none",
		runtime.KeyOffsetFlushInterval: "1000",
	}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := runtime.NewRegistry(context.Background(), map[string]plugin.Plugin{postgrescdc.Name: postgresPlugin}, false, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	h, err := runtime.NewStandalone(context.Background(), runtime.NewWorker("bench:0", cfg, reg, offsets.NewMemory(), quiet), &runtime.MemoryConfigStore{})
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	return &cdcEnv{pg: pg, h: h, cl: cl}
}

func (e *cdcEnv) close() {
	e.h.Close()
	e.cl.Close()
	if e.cluster != nil {
		e.cluster.Close()
	}
	if e.broker != nil {
		e.broker.Stop()
	}
}

// stop deletes a connector; its slot stays where its offsets left it.
func (e *cdcEnv) stop(b *testing.B, name string) {
	if err := e.h.DeleteConnector(context.Background(), name); err != nil {
		b.Fatal(err)
	}
	// Wait for the slot to be released.
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := pgx.Connect(context.Background(), e.pg.DSN("bench"))
		if err == nil {
			var n int
			c.QueryRow(context.Background(), "SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = 'cdc_slot'").Scan(&n)
			c.Close(context.Background())
			if n == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("slot still active a minute after the connector was deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *cdcEnv) start(b *testing.B, name, prefix, slot, mode string) {
	e.startWith(b, name, prefix, slot, mode, nil)
}

// startWith creates a connector with extra config keys.
func (e *cdcEnv) startWith(b *testing.B, name, prefix, slot, mode string, extra map[string]string) {
	cfg := e.pg.Config("bench")
	for k, v := range extra {
		cfg[k] = v
	}
	for k, v := range map[string]string{
		"name": name, "connector.class": postgrescdc.Name, "topic.prefix": prefix, "slot.name": slot,
		"publication.name": "bench_pub", "snapshot.mode": mode,
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	} {
		cfg[k] = v
	}
	if _, _, err := e.h.PutConnectorConfig(context.Background(), name, cfg, false); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := pgx.Connect(context.Background(), e.pg.DSN("bench"))
		if err == nil {
			var n int
			c.QueryRow(context.Background(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&n)
			c.Close(context.Background())
			if n == 1 {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("slot %s not created within a minute", slot)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCount waits until topic holds n records.
func (e *cdcEnv) waitCount(b *testing.B, topic string, n int64) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if got := endOffsets(e.cl, topic); got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s holds %d of %d records after 10 minutes", topic, endOffsets(e.cl, topic), n)
		}
		for _, name := range []string{"cdc", "snap", "s1", "s2", "s3", "s4"} {
			if st, err := e.h.TaskStatus(context.Background(), herder.TaskID{Connector: name, Task: 0}); err == nil && st.State == herder.Failed {
				b.Fatalf("%s failed: %s", name, st.Trace)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func walLSN(b *testing.B, pg *pgtest.Server) string {
	c, err := pgx.Connect(context.Background(), pg.DSN("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	var lsn string
	if err := c.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		b.Fatal(err)
	}
	return lsn
}

// recvlogical drains slot up to end with pg_recvlogical and returns how
// long it took.
func recvlogical(b *testing.B, pg *pgtest.Server, slot, end string) time.Duration {
	cmd := exec.Command(filepath.Join(pg.BinDir, "pg_recvlogical"), "-d", pg.DSN("bench"), "--slot", slot, "--start",
		"-o", "proto_version=1", "-o", "publication_names=bench_pub", "--endpos", end, "-f", "/dev/null", "--no-loop")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("pg_recvlogical: %v: %s", err, out)
	}
	return time.Since(start)
}

// copyOut runs COPY items TO STDOUT and returns how long it took.
func copyOut(b *testing.B, pg *pgtest.Server) time.Duration {
	d, _ := copyOutCPU(b, pg)
	return d
}

// copyOutCPU is copyOut, also returning the CPU time of the server process
// that ran the COPY (read while its connection is open: the CPU of a
// process that ended shows in its parent's only once it is reaped).
func copyOutCPU(b *testing.B, pg *pgtest.Server) (time.Duration, time.Duration) {
	c, err := pgx.Connect(context.Background(), pg.DSN("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	var pid int
	if err := c.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	cpu := treeCPU(pid)
	start := time.Now()
	if _, err := c.PgConn().CopyTo(context.Background(), io.Discard, "COPY items TO STDOUT"); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	return took, treeCPU(pid) - cpu
}

func endOffsets(cl *kgo.Client, topic string) int64 {
	return kafkatest.EndOffsets(kadm.NewClient(cl), topic)
}

// BenchmarkPostgresSnapshot measures postgres-cdc's snapshots of a 1M-row
// table in the same run as COPY ... TO STDOUT of it. The worker (task in
// process, JSON values without schemas) runs in the benchmark's process
// and the broker in a `connectd broker` process of its own, as deployed:
//
//   - snapshot: a new connector's initial snapshot, rows/s until Kafka
//     holds them all ÷ COPY's rows/s; with snapshot.max.threads=1 and 2.
//   - incremental: an incremental snapshot of the same table, started by a
//     signal row (chunks of incremental.snapshot.chunk.size=10240) ÷ the
//     initial snapshot with one thread.
//   - cpu: CPU time per row of the initial snapshot with one thread, of
//     the benchmark's process (the worker), the broker's and PostgreSQL's
//     (the postmaster and all its processes), and of COPY (its server
//     process's and the client's); the cpu-ratio is COPY's ÷ the
//     snapshot's, all of them: on a machine whose cores are all busy the
//     rows/s ratio tends to it. Also the heap allocations per row of the
//     benchmark's process (the worker) during that snapshot.
//   - ceiling: a plain program in the benchmark's process copying the
//     table out with COPY and producing, for each row, the next of the
//     initial snapshot's own events (read back from Kafka before the clock
//     starts) with a plain franz-go producer: rows/s ÷ COPY's is what any
//     snapshot can reach on this machine, as it builds no event.
//   - snapshot-inprocess-broker: the initial snapshot with one thread on a
//     broker in the benchmark's process, the setup of the figures before
//     the broker had a process of its own: its work (storing batches)
//     counts against the connector there.
func BenchmarkPostgresSnapshot(b *testing.B) {
	const rows = 1_000_000
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var snap1, snap2, incr, inproc, copyRate, ceiling float64
	var cpuCopy, cpuWorker, cpuBroker, cpuPG float64 // µs per row
	var allocs float64                               // the worker's heap allocations per row
	for i := 0; i < b.N; i++ {
		pg := pgtest.Start(b, pgtest.Setting("autovacuum", "off"))
		pg.CreateDatabase("bench")
		pg.Exec("bench", "CREATE TABLE items (id bigint PRIMARY KEY, qty int NOT NULL, name text NOT NULL, price numeric(10,2))",
			"CREATE TABLE debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))",
			fmt.Sprintf("INSERT INTO items SELECT i, i %% 100, 'item number ' || i, i / 100.0 FROM generate_series(1, %d) i", rows),
			"VACUUM ANALYZE items")
		env := newCDCEnvBroker(b, pg)
		self := cpuSelf()
		took, server := copyOutCPU(b, pg)
		copyRate = rows / took.Seconds()
		cpuCopy = perRow(cpuSelf()-self+server, rows)

		self, server, broker, mallocs := cpuSelf(), treeCPU(pg.PID()), treeCPU(env.broker.Pid()), heapMallocs()
		start := time.Now()
		env.startWith(b, "s1", "s1", "s1_slot", "initial", nil)
		env.waitCount(b, "s1.public.items", rows)
		snap1 = rows / time.Since(start).Seconds()
		cpuWorker, cpuPG, cpuBroker = perRow(cpuSelf()-self, rows), perRow(treeCPU(pg.PID())-server, rows), perRow(treeCPU(env.broker.Pid())-broker, rows)
		allocs = float64(heapMallocs()-mallocs) / rows
		ceiling = env.snapshotCeiling(b, "s1.public.items", rows)

		start = time.Now()
		env.startWith(b, "s2", "s2", "s2_slot", "initial", map[string]string{"snapshot.max.threads": "2"})
		env.waitCount(b, "s2.public.items", rows)
		snap2 = rows / time.Since(start).Seconds()

		env.startWith(b, "s3", "s3", "s3_slot", "no_data", map[string]string{"signal.data.collection": "public.debezium_signal",
			"incremental.snapshot.chunk.size": "10240", "table.include.list": `public\.items,public\.debezium_signal`})
		pg.WaitStreaming(b, "bench", "s3_slot")
		start = time.Now()
		pg.Exec("bench", `INSERT INTO debezium_signal VALUES ('b', 'execute-snapshot', '{"data-collections": ["public.items"]}')`)
		env.waitCount(b, "s3.public.items", rows)
		incr = rows / time.Since(start).Seconds()
		env.close()

		env = newCDCEnv(b, pg)
		start = time.Now()
		env.startWith(b, "s4", "s4", "s4_slot", "initial", nil)
		env.waitCount(b, "s4.public.items", rows)
		inproc = rows / time.Since(start).Seconds()
		env.close()
	}
	b.ReportMetric(snap1, "snapshot-rows/s")
	b.ReportMetric(snap2, "snapshot-2threads-rows/s")
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(snap1/copyRate, "snapshot-ratio")
	b.ReportMetric(snap2/copyRate, "snapshot-2threads-ratio")
	b.ReportMetric(incr, "incremental-rows/s")
	b.ReportMetric(incr/snap1, "incremental-ratio")
	b.ReportMetric(cpuCopy, "copy-cpu-µs/row")
	b.ReportMetric(cpuWorker, "snapshot-worker-cpu-µs/row")
	b.ReportMetric(cpuBroker, "snapshot-broker-cpu-µs/row")
	b.ReportMetric(cpuPG, "snapshot-postgres-cpu-µs/row")
	b.ReportMetric(cpuCopy/(cpuWorker+cpuBroker+cpuPG), "snapshot-cpu-ratio")
	b.ReportMetric(allocs, "snapshot-worker-allocs/row")
	b.ReportMetric(inproc, "snapshot-inprocess-broker-rows/s")
	b.ReportMetric(inproc/copyRate, "snapshot-inprocess-broker-ratio")
	b.ReportMetric(ceiling, "ceiling-rows/s")
	b.ReportMetric(ceiling/copyRate, "ceiling-ratio")
	b.ReportMetric(snap1/ceiling, "snapshot-x-ceiling")
	b.Logf("a plain program copying the table out and producing the snapshot's own events, one a row: %.0f rows/s, / COPY = %.3f (the ceiling here); the snapshot / it = %.3f",
		ceiling, ceiling/copyRate, snap1/ceiling)
	b.Logf("postgres-cdc snapshot: %.0f rows/s (2 threads %.0f) / COPY %.0f = %.3f (%.3f); incremental %.0f rows/s / initial = %.3f; "+
		"broker in process: %.0f rows/s / COPY = %.3f; CPU µs per row: worker %.2f, broker %.2f, postgres %.2f; COPY %.2f (ratio %.3f)",
		snap1, snap2, copyRate, snap1/copyRate, snap2/copyRate, incr, incr/snap1, inproc, inproc/copyRate,
		cpuWorker, cpuBroker, cpuPG, cpuCopy, cpuCopy/(cpuWorker+cpuBroker+cpuPG))
}

// snapshotCeiling returns the rows/s of the fastest a plain program moves
// the table into Kafka as the snapshot's events here, without building
// one: it first reads the n events of topic (keys and values) from the
// broker; then, with the clock running, it copies the table out (COPY ...
// TO STDOUT) and for each row produces the next of those events to a
// topic of its own, with a plain franz-go producer set up as the worker's
// (1 MiB batches, no compression).
func (e *cdcEnv) snapshotCeiling(b *testing.B, topic string, n int) float64 {
	b.Helper()
	ctx := context.Background()
	seeds := e.cl.OptValue(kgo.SeedBrokers).([]string)
	cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	events := make([]*kgo.Record, 0, n)
	for len(events) < n {
		fs := cons.PollFetches(ctx)
		if errs := fs.Errors(); len(errs) > 0 {
			b.Fatal(errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			events = append(events, &kgo.Record{Topic: topic + "-ceiling", Key: r.Key, Value: r.Value})
		})
	}
	cons.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.AllowAutoTopicCreation())
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	c, err := pgx.Connect(ctx, e.pg.DSN("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	rp := &rowProducer{cl: prod, events: events}
	start := time.Now()
	if _, err := c.PgConn().CopyTo(ctx, rp, "COPY items TO STDOUT"); err != nil {
		b.Fatal(err)
	}
	if err := prod.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if err := rp.err(); err != nil || rp.next != n {
		b.Fatalf("produced %d of %d events: %v", rp.next, n, err)
	}
	return float64(n) / took.Seconds()
}

// rowProducer is the io.Writer COPY writes the table's rows to: it
// produces the next event for every row that ends.
type rowProducer struct {
	cl     *kgo.Client
	events []*kgo.Record
	next   int
	mu     sync.Mutex
	failed error
}

func (w *rowProducer) Write(p []byte) (int, error) {
	for range bytes.Count(p, []byte{'\n'}) {
		if w.next == len(w.events) {
			return 0, errors.New("more rows than events")
		}
		w.cl.Produce(context.Background(), w.events[w.next], func(_ *kgo.Record, err error) {
			if err != nil {
				w.mu.Lock()
				w.failed = err
				w.mu.Unlock()
			}
		})
		w.next++
	}
	return len(p), nil
}

func (w *rowProducer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// cpuSelf is the CPU this process has used.
func cpuSelf() time.Duration {
	self, _ := cpuTimes()
	return self
}

// treeCPU is the CPU process pid, its reaped children and its live
// descendants have used: for a postmaster, the server's whole work, that
// of backends that ended included.
func treeCPU(pid int) time.Duration {
	d := statCPU(pid, 11, 12, 13, 14) // utime, stime, cutime, cstime
	for _, c := range proctest.Children(pid) {
		d += treeCPU(c)
	}
	return d
}

// heapMallocs is how many heap objects this process has allocated.
func heapMallocs() uint64 {
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.Mallocs
}

func perRow(d time.Duration, rows int) float64 { return float64(d.Microseconds()) / float64(rows) }
