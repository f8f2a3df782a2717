package offsets

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect/javaser"
)

// testdata/kafka-connect-offsets.dat is what Kafka Connect's
// FileOffsetBackingStore writes (java.io.ObjectOutputStream of a
// HashMap<byte[], byte[]>, OpenJDK 17): one Debezium offset of connector
// inventory, and one entry with a null value (a deleted offset).
func TestOpenFileReadsKafkaConnectOffsets(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/kafka-connect-offsets.dat")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "connect.offsets")
	must(t, os.WriteFile(path, b, 0o644))
	s, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.Load(context.Background(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{Partition: []byte(`{"server":"dbserver1"}`), Offset: []byte(`{"lsn":123,"lsn_commit":100}`)}}
	if d := cmp.Diff(want, es); d != "" {
		t.Fatalf("entries (-want +got):\n%s", d)
	}
	if es, _ := s.Load(context.Background(), "other"); len(es) != 0 {
		t.Fatalf("a null value came back as %v", es)
	}
	// The first commit writes connectd's form, which reads back the same.
	must(t, s.Commit(context.Background(), "inventory", []Entry{{Partition: []byte(`{"server":"dbserver1"}`), Offset: []byte(`{"lsn":200}`)}}))
	s2, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	es, _ = s2.Load(context.Background(), "inventory")
	if len(es) != 1 || string(es[0].Offset) != `{"lsn":200}` {
		t.Fatalf("after a commit: %v", es)
	}
}

func TestReadJavaOffsetsRefusesGarbage(t *testing.T) {
	t.Parallel()
	b, _ := os.ReadFile("testdata/kafka-connect-offsets.dat")
	for _, n := range []int{5, 20, 60, 90, len(b) - 3} {
		if _, err := readJavaOffsets(b[:n]); err == nil {
			t.Errorf("%d of %d bytes read without an error", n, len(b))
		}
	}
	path := filepath.Join(t.TempDir(), "connect.offsets")
	must(t, os.WriteFile(path, append([]byte{0xAC, 0xED, 0, 5}, "not a map"...), 0o644))
	if _, err := OpenFile(path); err == nil {
		t.Fatal("a Java stream that is not a HashMap opened")
	}
}

func FuzzReadJavaOffsets(f *testing.F) {
	b, _ := os.ReadFile("testdata/kafka-connect-offsets.dat")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if javaser.IsStream(b) {
			readJavaOffsets(b)
		}
	})
}
