package elasticsink

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/testserver"
)

// zincConfig is a task configuration for z.
func zincConfig(z *testserver.Zinc, topic string, extra ...string) map[string]string {
	cfg := baseConfig(z.URL, append([]string{ConnectionUsernameKey, z.User, ConnectionPasswordKey, z.Password, "topics", topic}, extra...)...)
	return cfg
}

// waitZinc polls index until it holds want (ZincSearch indexes
// asynchronously).
func waitZinc(t *testing.T, z *testserver.Zinc, index string, want map[string]string) {
	t.Helper()
	z.WaitDocs(index, time.Minute, func(docs map[string]string) (bool, string) {
		d := cmp.Diff(want, docs)
		return d == "", "(-want +got):\n" + d
	})
}

// TestZinc runs the task against ZincSearch, the Elasticsearch-API server
// that runs here. ZincSearch applies the bulk actions of one document in
// one request in any order; the task never sends two in one request, so
// the tests need not avoid them. Its other deviations (TESTING.md) are
// noted where a test meets them; Elasticsearch's exact semantics are
// tested against the fake in sink_test.go.
func TestZinc(t *testing.T) {
	t.Parallel()
	z := testserver.StartZinc(t)

	t.Run("index and delete by tombstone", func(t *testing.T) {
		t.Parallel()
		task := startTask(t, zincConfig(z, "people", BehaviorOnNullKey, NullDelete), nil, tp("people", 0), tp("people", 1))
		// In rounds that touch each key once, each visible before the next
		// (see testserver.Zinc on deletes).
		want := map[string]string{}
		offsets := [2]int64{}
		for round := range 5 {
			var batch []*connect.Record
			for k := range 97 {
				if (k+round)%3 == 0 {
					continue // not every key every round
				}
				key := fmt.Sprintf("p%d", k)
				p := int32(k % 2)
				var v any = doc("name", key, "round", int64(round))
				if (k*7+round)%5 == 0 {
					v = nil
					delete(want, key)
				} else {
					want[key] = fmt.Sprintf(`{"name":%q,"round":%d}`, key, round)
				}
				batch = append(batch, rec("people", p, offsets[p], key, v))
				offsets[p]++
			}
			put(t, task, batch...)
			flushed(t, task)
			waitZinc(t, z, "people", want)
		}
	})

	t.Run("upsert", func(t *testing.T) {
		t.Parallel()
		task := startTask(t, zincConfig(z, "ups", WriteMethodKey, WriteUpsert), nil, tp("ups", 0))
		put(t, task, rec("ups", 0, 0, "a", doc("x", int64(1))), rec("ups", 0, 1, "b", doc("x", int64(2))))
		flushed(t, task)
		waitZinc(t, z, "ups", map[string]string{
			"a": `{"doc":{"x":1},"doc_as_upsert":true}`,
			"b": `{"doc":{"x":2},"doc_as_upsert":true}`,
		})
		put(t, task, rec("ups", 0, 2, "a", doc("y", int64(3))))
		flushed(t, task)
		// ZincSearch stores an update's body as the document instead of
		// merging it (TestUpsertMerges checks the merge against the fake):
		// what it shows is that each upsert reached it, in order.
		waitZinc(t, z, "ups", map[string]string{
			"a": `{"doc":{"y":3},"doc_as_upsert":true}`,
			"b": `{"doc":{"x":2},"doc_as_upsert":true}`,
		})
	})

	t.Run("ids from topic partition offset", func(t *testing.T) {
		t.Parallel()
		task := startTask(t, zincConfig(z, "Events", KeyIgnoreKey, "true"), nil, tp("Events", 3))
		put(t, task, rec("Events", 3, 40, nil, doc("e", "a")), rec("Events", 3, 41, nil, doc("e", "b")))
		flushed(t, task)
		// The index is the topic lower-cased; no data stream.
		waitZinc(t, z, "events", map[string]string{"Events+3+40": `{"e":"a"}`, "Events+3+41": `{"e":"b"}`})
	})

	t.Run("mapping from the record schema", func(t *testing.T) {
		t.Parallel()
		s := connect.StructSchema().Name("item").
			Field("id", connect.NewSchema(connect.Int64).Build()).
			Field("name", connect.NewSchema(connect.String).Build()).
			Field("price", connect.NewSchema(connect.Float64).Build()).
			Field("active", connect.NewSchema(connect.Boolean).Build()).
			Field("at", connect.TimestampSchema().Build()).
			Build()
		task := startTask(t, zincConfig(z, "items", SchemaIgnoreKey, "false"), nil, tp("items", 0))
		v := connect.NewStruct(s).Put("id", int64(1)).Put("name", "pen").Put("price", 2.5).Put("active", true).Put("at", time.UnixMilli(1_700_000_000_000).UTC())
		put(t, task, &connect.Record{Topic: "items", KeySchema: connect.NewSchema(connect.Int64).Build(), Key: int64(1), ValueSchema: s, Value: v})
		flushed(t, task)
		got := z.Mapping("items")
		delete(got, "_id")
		delete(got, "@timestamp")
		// ZincSearch's names of Elasticsearch's long, double, boolean.
		want := map[string]string{"id": "numeric", "name": "text", "price": "numeric", "active": "bool", "at": "date"}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("mapping (-want +got):\n%s", d)
		}
		waitZinc(t, z, "items", map[string]string{"1": `{"active":true,"at":1700000000000,"id":1,"name":"pen","price":2.5}`})
	})

	t.Run("malformed document", func(t *testing.T) {
		t.Parallel()
		// ZincSearch stops a bulk request at a document its mapping refuses
		// and says why beside the items it answered (the refused one among
		// them, as written): the task takes the last item answered as
		// refused and sends the rest again.
		s := connect.StructSchema().Field("n", connect.NewSchema(connect.Int64).Build()).Build()
		rep := &reporter{}
		task := startTask(t, zincConfig(z, "nums", SchemaIgnoreKey, "false", "topic.schema.ignore", ""), rep, tp("nums", 0))
		put(t, task, &connect.Record{Topic: "nums", Offset: 0, Key: "a", ValueSchema: s, Value: connect.NewStruct(s).Put("n", int64(1))})
		flushed(t, task)
		bad := &connect.Record{Topic: "nums", Offset: 2, Key: "c", Value: map[string]any{"n": "not a number"}}
		put(t, task, &connect.Record{Topic: "nums", Offset: 1, Key: "b", Value: map[string]any{"n": int64(2)}}, bad,
			&connect.Record{Topic: "nums", Offset: 3, Key: "d", Value: map[string]any{"n": int64(4)}})
		flushed(t, task)
		recs, errs := rep.reported()
		if len(recs) != 1 || recs[0] != bad || !strings.Contains(errs[0].Error(), "can't convert") {
			t.Fatalf("reported %v %v, want the refused record with ZincSearch's reason", recs, errs)
		}
		if got := committable(t, task, tp("nums", 0), 4); got != 4 {
			t.Fatalf("committable %d, want 4", got)
		}
		waitZinc(t, z, "nums", map[string]string{"a": `{"n":1}`, "b": `{"n":2}`, "d": `{"n":4}`})
	})

	t.Run("validate", func(t *testing.T) {
		t.Parallel()
		if errs := (&connector{}).Validate(context.Background(), zincConfig(z, "v")); errs != nil {
			t.Fatalf("Validate: %v", errs)
		}
		bad := zincConfig(z, "v")
		bad[ConnectionPasswordKey] = "wrong"
		errs := (&connector{}).Validate(context.Background(), maps.Clone(bad))
		if len(errs[ConnectionPasswordKey]) == 0 || len(errs[ConnectionUsernameKey]) == 0 {
			t.Fatalf("Validate with a wrong password: %v, want the credentials named", errs)
		}
	})
}
