package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/kafkatest"
)

// lineCounts counts each line of a file.
func lineCounts(t *testing.T, path string) (map[string]int, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int{}
	n := 0
	for _, l := range strings.Fields(string(b)) {
		out[l]++
		n++
	}
	return out, n
}

// endOffsets returns each partition's end offset of topic.
func endOffsets(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// waitGroupAtEnd waits until connector name's consumer group has
// committed the end of every partition of topic: a sink commits only what
// its task flushed, so its output then holds every record.
func waitGroupAtEnd(t *testing.T, adm *kadm.Client, name, topic string) {
	t.Helper()
	waitFor(t, 60*time.Second, name+" caught up with "+topic, func() (bool, string) {
		ends := endOffsets(t, adm, topic)
		got, err := adm.FetchOffsets(context.Background(), "connect-"+name)
		if err != nil {
			return false, err.Error()
		}
		for p, end := range ends {
			if o, _ := got.Lookup(topic, p); o.At != end {
				return false, fmt.Sprintf("partition %d at %d of %d", p, o.At, end)
			}
		}
		return true, ""
	})
}

// TestRESTOffsets drives Kafka Connect's offsets endpoints (KIP-875) on
// connectd dev, with the FileStream connectors in plugin processes: the
// source's offset is moved back and then the sink's, and the records
// written again, counted, show each resumed from the altered offsets.
func TestRESTOffsets(t *testing.T) {
	p := startDev(t, devOpts{dataDir: t.TempDir(), restPort: freePort(t), kafkaPort: freePort(t)})
	ctx := context.Background()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	var text strings.Builder
	for i := range 100 {
		fmt.Fprintf(&text, "line-%03d\n", i) // 9 bytes a line
	}
	if err := os.WriteFile(in, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	if _, err := p.client.CreateConnector(ctx, "src", map[string]string{"connector.class": "FileStreamSource", "file": in, "topic": "lines"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.CreateConnector(ctx, "snk", map[string]string{"connector.class": "FileStreamSink", "topics": "lines", "file": out}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "100 records in lines", func() (bool, string) {
		n := kafkatest.EndOffsets(adm, "lines")
		return n == 100, fmt.Sprint(n)
	})
	waitGroupAtEnd(t, adm, "snk", "lines")

	// GET: the source's file position, the sink's group offsets.
	srcAt := func(pos int) string {
		return fmt.Sprintf(`{"offsets":[{"partition":{"filename":%q},"offset":{"position":%d}}]}`, in, pos)
	}
	waitFor(t, 30*time.Second, "the source's offset at the end of the file", func() (bool, string) {
		status, body := do(t, p.rest, "GET", "/connectors/src/offsets", "")
		return status == 200 && strings.TrimSpace(body) == srcAt(900), fmt.Sprint(status, body)
	})
	ends := endOffsets(t, adm, "lines")
	var parts []string
	for part := range int32(len(ends)) {
		parts = append(parts, fmt.Sprintf(`{"partition":{"kafka_partition":%d,"kafka_topic":"lines"},"offset":{"kafka_offset":%d}}`, part, ends[part]))
	}
	if status, body := do(t, p.rest, "GET", "/connectors/snk/offsets", ""); status != 200 || strings.TrimSpace(body) != `{"offsets":[`+strings.Join(parts, ",")+`]}` {
		t.Fatalf("GET sink offsets = %d %s; want the group at %v", status, body, ends)
	}
	if status, body := do(t, p.rest, "GET", "/connectors/missing/offsets", ""); status != 404 || strings.TrimSpace(body) != `{"error_code":404,"message":"Connector missing not found"}` {
		t.Fatalf("GET offsets of a missing connector = %d %s", status, body)
	}

	// Alter is refused while the connector runs, with Kafka Connect's 400.
	back := fmt.Sprintf(`{"offsets":[{"partition":{"filename":%q},"offset":{"position":450}}]}`, in)
	status, body := do(t, p.rest, "PATCH", "/connectors/src/offsets", back)
	wantRefusal := `{"error_code":400,"message":"Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint"}`
	if status != 400 || strings.TrimSpace(body) != wantRefusal {
		t.Fatalf("PATCH offsets of a running connector = %d %s", status, body)
	}
	if status, body := do(t, p.rest, "PATCH", "/connectors/src/offsets", `{"offsets":[]}`); status != 400 ||
		strings.TrimSpace(body) != `{"error_code":400,"message":"Partitions / offsets need to be provided for an alter offsets request"}` {
		t.Fatalf("PATCH without offsets = %d %s", status, body)
	}

	// Source: back to line 50 (byte 450), then resume: lines 50..99 again.
	if err := p.client.StopConnector(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	status, body = do(t, p.rest, "PATCH", "/connectors/src/offsets", back)
	if status != 200 || strings.TrimSpace(body) != `{"message":"The offsets for this connector have been altered successfully"}` {
		t.Fatalf("PATCH source offsets = %d %s", status, body)
	}
	if status, body := do(t, p.rest, "GET", "/connectors/src/offsets", ""); status != 200 || strings.TrimSpace(body) != srcAt(450) {
		t.Fatalf("GET after PATCH = %d %s", status, body)
	}
	if err := p.client.ResumeConnector(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "150 records in lines", func() (bool, string) {
		n := kafkatest.EndOffsets(adm, "lines")
		return n >= 150, fmt.Sprint(n)
	})
	waitGroupAtEnd(t, adm, "snk", "lines")
	want := map[string]int{}
	for i := range 100 {
		want[fmt.Sprintf("line-%03d", i)] = 1
		if i >= 50 {
			want[fmt.Sprintf("line-%03d", i)] = 2
		}
	}
	got, n := lineCounts(t, out)
	if d := cmp.Diff(want, got); d != "" || kafkatest.EndOffsets(adm, "lines") != 150 {
		t.Fatalf("after resuming the source from position 450: %d records in lines, sink lines by count (-want +got):\n%s", kafkatest.EndOffsets(adm, "lines"), d)
	}

	// Sink: every partition back to half its records, then resume.
	if err := p.client.StopConnector(ctx, "snk"); err != nil {
		t.Fatal(err)
	}
	ends = endOffsets(t, adm, "lines")
	var alter []string
	again := 0
	for part, end := range ends {
		alter = append(alter, fmt.Sprintf(`{"partition":{"kafka_topic":"lines","kafka_partition":%d},"offset":{"kafka_offset":%d}}`, part, end/2))
		again += int(end - end/2)
	}
	status, body = do(t, p.rest, "PATCH", "/connectors/snk/offsets", `{"offsets":[`+strings.Join(alter, ",")+`]}`)
	if status != 200 || strings.TrimSpace(body) != `{"message":"The offsets for this connector have been altered successfully"}` {
		t.Fatalf("PATCH sink offsets = %d %s", status, body)
	}
	if err := p.client.ResumeConnector(ctx, "snk"); err != nil {
		t.Fatal(err)
	}
	waitGroupAtEnd(t, adm, "snk", "lines")
	if _, n2 := lineCounts(t, out); n2 != n+again {
		t.Fatalf("after resuming the sink from half of each partition it wrote %d lines, want %d", n2-n, again)
	}

	// Reset the sink: it reads everything again.
	if err := p.client.StopConnector(ctx, "snk"); err != nil {
		t.Fatal(err)
	}
	status, body = do(t, p.rest, "DELETE", "/connectors/snk/offsets", "")
	if status != 200 || strings.TrimSpace(body) != `{"message":"The offsets for this connector have been reset successfully"}` {
		t.Fatalf("DELETE sink offsets = %d %s", status, body)
	}
	if status, body := do(t, p.rest, "GET", "/connectors/snk/offsets", ""); status != 200 || strings.TrimSpace(body) != `{"offsets":[]}` {
		t.Fatalf("GET sink offsets after reset = %d %s", status, body)
	}
	if err := p.client.ResumeConnector(ctx, "snk"); err != nil {
		t.Fatal(err)
	}
	waitGroupAtEnd(t, adm, "snk", "lines")
	if _, n3 := lineCounts(t, out); n3 != n+again+150 {
		t.Fatalf("after resetting the sink it wrote %d lines, want 150", n3-n-again)
	}

	// Reset the source: it reads the file from the start.
	if err := p.client.StopConnector(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	if status, body := do(t, p.rest, "DELETE", "/connectors/src/offsets", ""); status != 200 ||
		strings.TrimSpace(body) != `{"message":"The offsets for this connector have been reset successfully"}` {
		t.Fatalf("DELETE source offsets = %d %s", status, body)
	}
	if err := p.client.ResumeConnector(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "250 records in lines", func() (bool, string) {
		n := kafkatest.EndOffsets(adm, "lines")
		return n >= 250, fmt.Sprint(n)
	})
	p.waitTask("src", 0, herder.Running, "")
	waitFor(t, 30*time.Second, "the source's offset at the end of the file again", func() (bool, string) {
		status, body := do(t, p.rest, "GET", "/connectors/src/offsets", "")
		return status == 200 && strings.TrimSpace(body) == srcAt(900), fmt.Sprint(status, body)
	})
	if n := kafkatest.EndOffsets(adm, "lines"); n != 250 {
		t.Fatalf("%d records in lines after the source's reset, want 250", n)
	}
	p.stop()
}
