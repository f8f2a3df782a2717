package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// datagenIDs reads topic and returns how often each datagen id occurs.
// Datagen's string schema writes {"id":N,...}; the JSON converter wraps it
// in an envelope whose payload is that string.
func datagenIDs(t *testing.T, bootstrap, topic string, want int) (map[int64]int, int) {
	t.Helper()
	recs := kafkatest.ReadRecords(t, strings.Split(bootstrap, ","), kafkatest.Until{Want: want, Quiet: 3 * time.Second}, topic)
	return recordIDs(t, recs), len(recs)
}

// recordIDs counts the datagen ids of records.
func recordIDs(t *testing.T, recs []*kgo.Record) map[int64]int {
	t.Helper()
	ids := map[int64]int{}
	for _, r := range recs {
		var env struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(r.Value, &env); err != nil {
			t.Fatalf("record %s is not a JSON envelope: %v", r.Value, err)
		}
		ids[idOf(t, env.Payload)]++
	}
	return ids
}

func idOf(t *testing.T, line string) int64 {
	var v struct {
		ID *int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil || v.ID == nil {
		t.Fatalf("%q is not a datagen record: %v", line, err)
	}
	return *v.ID
}

// checkIDs asserts every id in [0,n) occurs, nothing else does, and at most
// maxDup records are duplicates.
func checkIDs(t *testing.T, what string, ids map[int64]int, total, n, maxDup int) {
	t.Helper()
	for i := int64(0); i < int64(n); i++ {
		if ids[i] == 0 {
			t.Fatalf("%s: id %d lost (%d distinct of %d)", what, i, len(ids), n)
		}
	}
	if len(ids) != n {
		t.Fatalf("%s: %d distinct ids, want %d", what, len(ids), n)
	}
	if dup := total - n; dup > maxDup {
		t.Fatalf("%s: %d duplicates, want at most %d", what, dup, maxDup)
	}
	t.Logf("%s: %d records, %d distinct, %d duplicates", what, total, n, total-n)
}

func fileIDs(t *testing.T, path string) (map[int64]int, int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0
	}
	// The sink may be writing a line right now: a last line without its
	// newline is not complete yet.
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		b = b[:i+1]
	}
	ids := map[int64]int{}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		if l != "" {
			ids[idOf(t, l)]++
		}
	}
	return ids, len(lines)
}

// TestDevEndToEnd runs connectd dev as a user would: datagen into Kafka and
// a file sink out of it, a plugin process killed with SIGKILL in the
// middle, then connectd itself restarted; records are counted at every step.
func TestDevEndToEnd(t *testing.T) {
	ctx := context.Background()
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	out := filepath.Join(t.TempDir(), "out.txt")

	const first = 3000
	gen := map[string]string{"connector.class": "datagen", "topic": "demo", "schema": "string", "count": fmt.Sprint(first), "rate": "600", "batch.size": "20", "tasks.max": "1"}
	if _, err := p.client.CreateConnector(ctx, "gen", gen); err != nil {
		t.Fatal(err)
	}
	sink := map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "demo", "file": out}
	if _, err := p.client.CreateConnector(ctx, "sink", sink); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")

	// Kill the source task's plugin process once it is well under way.
	waitFor(t, 30*time.Second, "some records in the sink", func() (bool, string) {
		_, n := fileIDs(t, out)
		return n >= first/3, fmt.Sprint(n)
	})
	pids := p.pluginPIDs("gen-0")
	if len(pids) != 1 {
		t.Fatalf("plugin processes of task gen-0: %v, want one", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Failed, "plugin process exited")
	p.waitTask("gen", 0, herder.Running, "")
	if np := p.pluginPIDs("gen-0"); len(np) != 1 || np[0] == pids[0] {
		t.Fatalf("task gen-0 runs in %v after the kill of %d, want one new process", np, pids[0])
	}

	// The connector instance's own process dies too: the connector is
	// FAILED, then started again, and its task is not disturbed.
	cpids := p.pluginPIDs("gen")
	if len(cpids) != 1 {
		t.Fatalf("plugin processes of connector gen: %v, want one", cpids)
	}
	taskPID := p.pluginPIDs("gen-0")
	if err := syscall.Kill(cpids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "connector gen FAILED and then RUNNING again", func() (bool, string) {
		st, err := p.client.ConnectorStatus(ctx, "gen")
		if err != nil {
			return false, err.Error()
		}
		np := p.pluginPIDs("gen")
		return st.Connector.State == herder.Running && len(np) == 1 && np[0] != cpids[0], fmt.Sprintf("%+v %v", st.Connector, np)
	})
	if now := p.pluginPIDs("gen-0"); fmt.Sprint(now) != fmt.Sprint(taskPID) {
		t.Fatalf("the task's process changed from %v to %v when the connector's died", taskPID, now)
	}

	// Every record arrives; a record may repeat only if it came after the
	// last committed offset (offsets are committed every 200 ms, ~120
	// records at this rate, plus what was in flight).
	ids, total := datagenIDs(t, p.bootstrap, "demo", first)
	checkIDs(t, "topic after plugin kill", ids, total, first, 400)
	waitFor(t, 30*time.Second, "the sink to catch up", func() (bool, string) {
		_, n := fileIDs(t, out)
		return n >= total, fmt.Sprint(n, " of ", total)
	})
	fids, ftotal := fileIDs(t, out)
	checkIDs(t, "file after plugin kill", fids, ftotal, first, 400)

	// Restart connectd: connectors come back from the data dir; the source
	// resumes from its stored offset, the sink from its committed offsets.
	p.stop()
	p = startDev(t, opts)
	names, err := p.client.Connectors(ctx)
	if err != nil || fmt.Sprint(names) != "[gen sink]" {
		t.Fatalf("connectors after restart: %v %v", names, err)
	}
	p.waitTask("sink", 0, herder.Running, "")
	const second = 4000
	gen["count"] = fmt.Sprint(second)
	if _, _, err := p.client.PutConnectorConfig(ctx, "gen", gen); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the second run in the sink", func() (bool, string) {
		_, n := fileIDs(t, out)
		return n >= ftotal+(second-first), fmt.Sprint(n)
	})
	ids2, total2 := datagenIDs(t, p.bootstrap, "demo", total+(second-first))
	// The restart was graceful: not one record more than before it repeats.
	checkIDs(t, "topic after restart", ids2, total2, second, total-first)
	time.Sleep(time.Second) // anything extra the sink might write
	fids2, ftotal2 := fileIDs(t, out)
	checkIDs(t, "file after restart", fids2, ftotal2, second, ftotal-first)
	p.stop()
	if left := append(p.pluginPIDs("gen-0"), p.pluginPIDs("sink-0")...); len(left) != 0 {
		t.Fatalf("plugin processes %v outlived a graceful stop", left)
	}
}

// TestDevWorkerKilled kills connectd itself with SIGKILL while a source
// streams: its plugin processes must die with it, and after a restart every
// record is in Kafka; only records after the last committed offset repeat.
func TestDevWorkerKilled(t *testing.T) {
	ctx := context.Background()
	opts := devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)}
	p := startDev(t, opts)
	const n = 4000
	gen := map[string]string{"connector.class": "datagen", "topic": "crash", "schema": "string", "count": fmt.Sprint(n), "rate": "800", "batch.size": "20"}
	if _, err := p.client.CreateConnector(ctx, "gen", gen); err != nil {
		t.Fatal(err)
	}
	p.waitTask("gen", 0, herder.Running, "")
	waitFor(t, 30*time.Second, "a third of the records in Kafka", func() (bool, string) {
		total := topicCount(t, p.bootstrap, "crash")
		return total >= n/3, fmt.Sprint(total)
	})
	plugins := append(p.pluginPIDs("gen-0"), p.pluginPIDs("gen")...)
	if len(plugins) != 2 {
		t.Fatalf("plugin processes of gen: %v, want the connector's and the task's", plugins)
	}
	p.KillNow()
	waitFor(t, 10*time.Second, "the plugin processes to die with their worker", func() (bool, string) {
		var alive []int
		for _, pid := range plugins {
			if processExists(pid) {
				alive = append(alive, pid)
			}
		}
		return len(alive) == 0, fmt.Sprint(alive)
	})

	p = startDev(t, opts)
	p.waitTask("gen", 0, herder.Running, "")
	ids, total := datagenIDs(t, p.bootstrap, "crash", n)
	// Offsets are committed every 200 ms (~160 records at this rate); what
	// was produced after the last commit is produced again.
	checkIDs(t, "topic after the worker was killed", ids, total, n, 800)
	p.stop()
	if left := append(p.pluginPIDs("gen-0"), p.pluginPIDs("gen")...); len(left) != 0 {
		t.Fatalf("plugin processes %v outlived a graceful stop", left)
	}
}

// processExists reports whether pid is a live (not zombie) process.
func processExists(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])[0]
	return state != "Z"
}

// topicCount returns how many records topic holds now.
func topicCount(t *testing.T, bootstrap, topic string) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	return kafkatest.EndOffsets(kadm.NewClient(cl), topic)
}
