package transforms

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// The golden files under testdata/extractnewrecordstate show what
// ExtractNewRecordState makes of a stream of change events as Kafka holds
// them (the JsonConverter's form, schemas included), one file per
// configuration, so that a reader can set them beside Debezium's
// documentation. events.json is the input; README.md there says what each
// file shows. The test reads the events as a sink task would (JsonConverter
// → chain → JsonConverter), the way a sink connector applies the
// transform to events a Debezium source wrote.

const unwrapGoldenDir = "testdata/extractnewrecordstate"

// goldenRecord is a record as Kafka holds it: key and value as the
// JsonConverter writes them, headers as the SimpleHeaderConverter does.
type goldenRecord struct {
	Event   string            `json:"event,omitempty"`
	Topic   string            `json:"topic"`
	Key     json.RawMessage   `json:"key"`
	Value   json.RawMessage   `json:"value"`
	Headers map[string]string `json:"headers,omitempty"`
}

// goldenOutput is what the transform made of one event: nil when dropped.
type goldenOutput struct {
	Event string        `json:"event"`
	Out   *goldenRecord `json:"out"`
}

// unwrapGoldenConfigs are the configurations with a golden file each.
var unwrapGoldenConfigs = map[string]map[string]string{
	"defaults":               {},
	"tombstone":              {"delete.tombstone.handling.mode": "tombstone"},
	"rewrite":                {"delete.tombstone.handling.mode": "rewrite"},
	"rewrite-with-tombstone": {"delete.tombstone.handling.mode": "rewrite-with-tombstone"},
	"legacy-none-keep-tombstones": {
		"delete.handling.mode": "none", "drop.tombstones": "false"},
	// The configuration of the documentation's "Adding metadata" section.
	"documented-metadata": {"add.fields": "op,table,lsn,source.ts_ms", "add.headers": "db", "delete.handling.mode": "rewrite"},
	"route-by-field":      {"route.by.field": "last_name", "delete.tombstone.handling.mode": "tombstone"},
}

// unwrapGoldenEvents are the input events, by name, in order.
func unwrapGoldenEvents() ([]string, []*connect.Record) {
	hb := withTopic(rec(dbzKey, st(dbzKey, "id", int32(0)), dbzHeartbeat, st(dbzHeartbeat, "ts_ms", dbzNowMs)), "__debezium-heartbeat.dbserver1")
	hb.KeySchema = connect.StructSchema().Name("io.debezium.connector.common.ServerNameKey").Version(1).Field("serverName", connect.StringSchema).Build()
	hb.Key = st(hb.KeySchema, "serverName", "dbserver1")
	return []string{"read", "create", "update", "delete", "tombstone", "truncate", "heartbeat"},
		[]*connect.Record{dbzRead(), dbzCrt(), dbzUpd(), dbzDel(), dbzTomb(), dbzTrnc(), hb}
}

func goldenJSON(t *testing.T) converters.Converter {
	t.Helper()
	c, err := converters.New("json")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(map[string]string{"schemas.enable": "true"}, false); err != nil {
		t.Fatal(err)
	}
	return c
}

// toGolden writes r as Kafka would hold it.
func toGolden(t *testing.T, conv converters.Converter, event string, r *connect.Record) *goldenRecord {
	t.Helper()
	hc, err := converters.NewHeader("org.apache.kafka.connect.storage.SimpleHeaderConverter")
	if err != nil {
		t.Fatal(err)
	}
	g := &goldenRecord{Event: event, Topic: r.Topic}
	k, err := conv.FromConnect(r.Topic, r.KeySchema, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := conv.FromConnect(r.Topic, r.ValueSchema, r.Value)
	if err != nil {
		t.Fatal(err)
	}
	g.Key, g.Value = rawOrNull(k), rawOrNull(v)
	for _, h := range r.Headers {
		b, err := hc.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
		if err != nil {
			t.Fatal(err)
		}
		if g.Headers == nil {
			g.Headers = map[string]string{}
		}
		g.Headers[h.Key] = string(b)
	}
	return g
}

func rawOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

// fromGolden reads a record as a sink task's converters would.
func fromGolden(t *testing.T, conv converters.Converter, g *goldenRecord) *connect.Record {
	t.Helper()
	r := &connect.Record{Topic: g.Topic, Partition: 0}
	var err error
	if !bytes.Equal(g.Key, []byte("null")) {
		if r.KeySchema, r.Key, err = conv.ToConnect(g.Topic, g.Key); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(g.Value, []byte("null")) {
		if r.ValueSchema, r.Value, err = conv.ToConnect(g.Topic, g.Value); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// indentJSON renders v as the golden files hold it: indented, keys sorted.
func indentJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip through any, so that the raw key and value JSON is
	// indented and its keys sorted too.
	var a any
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n"
}

// checkUnwrapGolden compares got with the golden file name, or rewrites
// it with -update.
func checkUnwrapGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(unwrapGoldenDir, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

func TestExtractNewRecordStateGolden(t *testing.T) {
	t.Parallel()
	conv := goldenJSON(t)
	names, events := unwrapGoldenEvents()
	in := make([]*goldenRecord, len(events))
	for i, e := range events {
		in[i] = toGolden(t, conv, names[i], e)
	}
	checkUnwrapGolden(t, "events.json", indentJSON(t, in))

	// The events as a sink reads them from Kafka.
	raw, err := os.ReadFile(filepath.Join(unwrapGoldenDir, "events.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored []*goldenRecord
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	for name, keys := range unwrapGoldenConfigs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := one(t, unwrapClass, keys, Env{Sink: true})
			var outs []goldenOutput
			for _, g := range stored {
				r := fromGolden(t, conv, g)
				got, err := c.ApplyOwned(r)
				if err != nil {
					t.Fatalf("%s: %v", g.Event, err)
				}
				o := goldenOutput{Event: g.Event}
				if got != nil {
					o.Out = toGolden(t, conv, "", got)
				}
				outs = append(outs, o)
			}
			checkUnwrapGolden(t, name+".golden", indentJSON(t, outs))
		})
	}
}
