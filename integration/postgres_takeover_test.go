package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/pgtest"
	"github.com/connectd/connectd/internal/proctest"
)

// debeziumState sets a database up as Debezium's Postgres connector leaves
// it when its Kafka Connect cluster is stopped in the middle of a
// transaction: slot "debezium" and publication "dbz_publication", some
// transactions streamed, the slot confirmed up to the end of the last whole
// one. It returns Debezium's stored offset (as Debezium 2.7 writes it: the
// event's LSN, the end of the previous transaction as lsn_commit,
// messageType) and the changes after it, in order, that the connector
// taking over must stream: nothing before it, nothing twice.
func debeziumState(t *testing.T, pg *pgtest.Server, db string) (offset map[string]any, after []string) {
	t.Helper()
	ctx := context.Background()
	pg.Exec(db, "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL, name text NOT NULL)",
		"CREATE PUBLICATION dbz_publication FOR ALL TABLES",
		"SELECT pg_create_logical_replication_slot('debezium', 'pgoutput')")
	c := pg.Connect(db)
	// Logical decoding through SQL reads only flushed WAL; the test
	// servers run with synchronous_commit=off.
	if _, err := c.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	id := 0
	for tx := 0; tx < 6; tx++ {
		b, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := b.Exec(ctx, "INSERT INTO accounts VALUES ($1, $2, $3)", id, id, fmt.Sprint("acct ", id)); err != nil {
				t.Fatal(err)
			}
			id++
		}
		if err := b.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The messages the slot holds, with the LSNs Debezium sees them at.
	rows, err := c.Query(ctx, "SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_binary_changes('debezium', NULL, NULL, 'proto_version', '1', 'publication_names', 'dbz_publication')")
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		kind     byte
		lsn, xid string
	}
	var msgs []msg
	for rows.Next() {
		var m msg
		var data []byte
		if err := rows.Scan(&m.lsn, &m.xid, &data); err != nil {
			t.Fatal(err)
		}
		m.kind = data[0]
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lsn := func(s string) int64 {
		var hi, lo uint64
		fmt.Sscanf(s, "%X/%X", &hi, &lo)
		return int64(hi<<32 | lo)
	}
	// Debezium stored the offset of the 2nd insert of the 3rd transaction.
	var commits []int64
	inserts := 0
	tx := 0
	for _, m := range msgs {
		switch m.kind {
		case 'C':
			commits = append(commits, lsn(m.lsn))
			tx++
		case 'I':
			inserts++
			if tx == 2 && inserts == 2*3+2 {
				offset = map[string]any{"lsn": lsn(m.lsn), "lsn_proc": lsn(m.lsn), "lsn_commit": commits[1], "txId": json.Number(m.xid),
					"ts_usec": time.Now().UnixMicro(), "messageType": "INSERT"}
			}
		}
	}
	if offset == nil || len(commits) != 6 {
		t.Fatalf("slot messages: %v", msgs)
	}
	pg.Exec(db, fmt.Sprintf("SELECT pg_replication_slot_advance('debezium', '%X/%X')", uint64(commits[1])>>32, uint64(commits[1])&0xffffffff))
	for i := 2*3 + 2; i < id; i++ {
		after = append(after, fmt.Sprintf(`c {"id":%d}`, i))
	}
	// Changes made while no connector runs.
	pg.Exec(db, "UPDATE accounts SET balance = -1 WHERE id = 0", "DELETE FROM accounts WHERE id = 1")
	after = append(after, `u {"id":0}`, `d {"id":1}`)
	return offset, after
}

// debeziumConfig is the connector config as the Kafka Connect cluster ran it.
func debeziumConfig(pg *pgtest.Server, db string) map[string]string {
	return map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres", "database.password": "",
		"database.dbname": db, "topic.prefix": "shop", "plugin.name": "pgoutput", "slot.name": "debezium",
		"publication.name": "dbz_publication", "tasks.max": "1", "name": "pg",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
	}
}

// streamedOps reads the topic and returns "op {key}" of every event.
func streamedOps(t *testing.T, bootstrap string, want int) []string {
	t.Helper()
	_, _, ids := rebuildTopic(t, bootstrap, "shop.public.accounts", want)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _, _ = strings.Cut(id, " tx=")
	}
	return out
}

// TestPostgresTakeoverFromKafkaConnect takes over from a stopped Kafka
// Connect cluster running Debezium: its config, offsets and status topics
// hold Kafka Connect's records (connector, task, commit, target state,
// session key; Debezium's offset under ["pg",{"server":"shop"}]), and a
// connectd worker started on the same topics resumes the connector from
// Debezium's offset: no snapshot, and exactly the changes after the
// offset.
func TestPostgresTakeoverFromKafkaConnect(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	offset, after := debeziumState(t, pg, "shop")

	b := startBrokerProc(t, freePort(t), t.TempDir())
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.bootstrap()), kgo.DefaultProduceTopic("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for topic, parts := range map[string]int32{"connect-configs": 1, "connect-offsets": 25, "connect-status": 5} {
		if _, err := adm.CreateTopic(ctx, parts, 1, compact, topic); err != nil {
			t.Fatal(err)
		}
	}
	cfg := debeziumConfig(pg, "shop")
	task := map[string]string{"task.class": "io.debezium.connector.postgresql.PostgresConnectorTask"}
	for k, v := range cfg {
		task[k] = v
	}
	props := func(m map[string]string) string {
		b, _ := json.Marshal(map[string]any{"properties": m})
		return string(b)
	}
	offBytes, _ := json.Marshal(offset)
	records := []*kgo.Record{
		// Kafka Connect's config topic, as its KafkaConfigBackingStore writes it.
		{Topic: "connect-configs", Key: []byte("session-key"), Value: []byte(`{"key":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","algorithm":"HmacSHA256","creation-timestamp":1700000000000}`)},
		{Topic: "connect-configs", Key: []byte("connector-pg"), Value: []byte(props(cfg))},
		{Topic: "connect-configs", Key: []byte("target-state-pg"), Value: []byte(`{"state":"STARTED","state.v2":"STARTED"}`)},
		{Topic: "connect-configs", Key: []byte("task-pg-0"), Value: []byte(props(task))},
		{Topic: "connect-configs", Key: []byte("commit-pg"), Value: []byte(`{"tasks":1}`)},
		// Its offsets topic: Debezium's offset, keyed as Kafka Connect keys it.
		{Topic: "connect-offsets", Key: []byte(`["pg",{"server":"shop"}]`), Value: offBytes},
		// Its status topic, last written by the stopped cluster's workers.
		{Topic: "connect-status", Key: []byte("status-connector-pg"), Value: []byte(`{"state":"RUNNING","trace":null,"worker_id":"10.0.0.5:8083","generation":7}`)},
		{Topic: "connect-status", Key: []byte("status-task-pg-0"), Value: []byte(`{"state":"RUNNING","trace":null,"worker_id":"10.0.0.5:8083","generation":7}`)},
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	c := &cluster{t: t, broker: b, props: clusterProps(b.bootstrap())}
	c.props["offset.storage.partitions"] = "25"
	c.addWorker(freePort(t))
	c.waitRunning("pg", 1)
	got := streamedOps(t, b.bootstrap(), len(after))
	if d := fmt.Sprint(got); d != fmt.Sprint(after) {
		t.Fatalf("after the takeover the topic holds\n%v\nwant exactly the changes after Debezium's offset\n%v", got, after)
	}
	// And it goes on streaming.
	pg.Exec("shop", "INSERT INTO accounts VALUES (100, 1, 'new')")
	if got := streamedOps(t, b.bootstrap(), len(after)+1); got[len(got)-1] != `c {"id":100}` || len(got) != len(after)+1 {
		t.Fatalf("after the takeover: %v", got)
	}
	st := c.waitRunning("pg", 1)
	if st.Tasks[0].State != herder.Running {
		t.Fatalf("task: %+v", st.Tasks[0])
	}
}

// javaOffsetsFile renders a one-entry offsets file as Kafka Connect's
// standalone worker writes it: a Java-serialized HashMap<byte[], byte[]>.
func javaOffsetsFile(key, value []byte) []byte {
	var b bytes.Buffer
	w16 := func(v int) { b.Write(binary.BigEndian.AppendUint16(nil, uint16(v))) }
	w32 := func(v int) { b.Write(binary.BigEndian.AppendUint32(nil, uint32(v))) }
	utf := func(s string) { w16(len(s)); b.WriteString(s) }
	b.Write([]byte{0xAC, 0xED, 0, 5, 0x73, 0x72})
	utf("java.util.HashMap")
	b.Write([]byte{0x05, 0x07, 0xDA, 0xC1, 0xC3, 0x16, 0x60, 0xD1, 0x03, 0, 2, 'F'})
	utf("loadFactor")
	b.WriteByte('I')
	utf("threshold")
	b.Write([]byte{0x78, 0x70, 0x3F, 0x40, 0, 0}) // end, no superclass, loadFactor 0.75
	w32(12)                                       // threshold
	b.Write([]byte{0x77, 8})                      // block: capacity, size
	w32(16)
	w32(1)
	b.Write([]byte{0x75, 0x72})
	utf("[B")
	b.Write([]byte{0xAC, 0xF3, 0x17, 0xF8, 0x06, 0x08, 0x54, 0xE0, 0x02, 0, 0, 0x78, 0x70})
	w32(len(key))
	b.Write(key)
	b.Write([]byte{0x75, 0x71, 0x00, 0x7E, 0x00, 0x02}) // byte[] again: a reference to its class
	w32(len(value))
	b.Write(value)
	b.WriteByte(0x78)
	return b.Bytes()
}

// TestPostgresTakeoverFromStandalone takes over from a standalone Kafka
// Connect worker: its offsets file (Java-serialized, as
// FileOffsetBackingStore writes it) and its connector .properties file as
// they are.
func TestPostgresTakeoverFromStandalone(t *testing.T) {
	// The file form, checked against what Java wrote for one entry.
	javaWritten, err := os.ReadFile("testdata/kafka-connect-offsets-one.dat")
	if err != nil {
		t.Fatal(err)
	}
	if got := javaOffsetsFile([]byte(`["pg",{"server":"shop"}]`), []byte(`{"lsn":1,"lsn_proc":1,"lsn_commit":1,"messageType":"COMMIT","ts_usec":1}`)); !bytes.Equal(got, javaWritten) {
		t.Fatalf("the test's offsets file differs from Java's:\n%x\n%x", got, javaWritten)
	}

	pg := pgtest.Start(t)
	pg.CreateDatabase("shop")
	offset, after := debeziumState(t, pg, "shop")
	dir := t.TempDir()
	offBytes, _ := json.Marshal(offset)
	offsetsFile := filepath.Join(dir, "connect.offsets")
	if err := os.WriteFile(offsetsFile, javaOffsetsFile([]byte(`["pg",{"server":"shop"}]`), offBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBrokerProc(t, freePort(t), t.TempDir())
	rport := freePort(t)
	worker := filepath.Join(dir, "worker.properties")
	os.WriteFile(worker, []byte(strings.Join([]string{
		"bootstrap.servers=" + b.bootstrap(),
		"listeners=http://127.0.0.1:" + fmt.Sprint(rport),
		"offset.storage.file.filename=" + offsetsFile,
		"offset.flush.interval.ms=200",
		"key.converter=org.apache.kafka.connect.json.JsonConverter",
		"value.converter=org.apache.kafka.connect.json.JsonConverter",
	}, "\n")), 0o644)
	var conn strings.Builder
	for k, v := range debeziumConfig(pg, "shop") {
		fmt.Fprintf(&conn, "%s=%s\n", k, v)
	}
	connFile := filepath.Join(dir, "pg.properties")
	os.WriteFile(connFile, []byte(conn.String()), 0o644)
	p := proctest.Start(t, "standalone", []string{"REST API"}, connectdBin, "standalone", "--log-level", "info", worker, connFile)
	d := &devProcess{Proc: p, t: t, bootstrap: b.bootstrap(), client: &api.Client{BaseURL: p.Ready["REST API"]}}
	d.waitTask("pg", 0, herder.Running, "")
	got := streamedOps(t, b.bootstrap(), len(after))
	if fmt.Sprint(got) != fmt.Sprint(after) {
		t.Fatalf("after the takeover the topic holds\n%v\nwant exactly the changes after Debezium's offset\n%v", got, after)
	}
	// The file is connectd's own form after the first commit, with the
	// newer offset.
	waitFor(t, 30*time.Second, "the offsets file rewritten", func() (bool, string) {
		raw, _ := os.ReadFile(offsetsFile)
		return bytes.HasPrefix(raw, []byte("[")) && bytes.Contains(raw, []byte("lsn_commit")), string(raw)
	})
	p.Stop()
}
