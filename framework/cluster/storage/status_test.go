package storage

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

func openStatus(t *testing.T, seeds []string, topic string) *StatusLog {
	t.Helper()
	s, err := OpenStatusLog(ctxT(t), Options{ClientOpts: clientOpts(seeds), Topic: topic})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// byKey flattens a topic's records to each key's values in order (a key's
// records are all in one partition).
func byKey(parts map[int32][]rawRecord) map[string][]string {
	out := map[string][]string{}
	for _, recs := range parts {
		for _, r := range recs {
			out[r.Key] = append(out[r.Key], r.Value)
		}
	}
	return out
}

// TestStatusLogWireFormat: statuses and deletes, byte for byte as Kafka
// Connect writes them, in a compacted topic of 5 partitions.
func TestStatusLogWireFormat(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "connect-status")
	s := openStatus(t, seeds, topic)
	ctx := ctxT(t)
	must(t, s.PutConnector(ctx, "my-conn", Status{State: herder.Running, WorkerID: "10.0.0.1:8083", Generation: 3}))
	must(t, s.PutTask(ctx, herder.TaskID{Connector: "my-conn", Task: 0}, Status{State: herder.Failed, Trace: "org.example.Boom: \"bad\"\n\tat X.y(X.java:1)", WorkerID: "10.0.0.2:8083", Generation: 4}))
	must(t, s.PutTask(ctx, herder.TaskID{Connector: "my-conn", Task: 1}, Status{State: herder.Unassigned, WorkerID: "10.0.0.1:8083", Generation: 4}))
	must(t, s.ReadToEnd(ctx))
	must(t, s.Delete(ctx, "my-conn"))

	want := map[string][]string{
		"status-connector-my-conn": {`{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":3}`, "null"},
		"status-task-my-conn-0":    {`{"state":"FAILED","trace":"org.example.Boom: \"bad\"\n\tat X.y(X.java:1)","worker_id":"10.0.0.2:8083","generation":4}`, "null"},
		"status-task-my-conn-1":    {`{"state":"UNASSIGNED","trace":null,"worker_id":"10.0.0.1:8083","generation":4}`, "null"},
	}
	if d := cmp.Diff(want, byKey(readRaw(t, seeds, topic))); d != "" {
		t.Fatalf("records on the status topic (-want +got):\n%s", d)
	}
	checkTopic(t, seeds, topic, 5)
}

// TestStatusLogReadRules: which status read replaces the one before, as
// in Kafka Connect. Only a task's late UNASSIGNED loses to a RUNNING of
// the same or a newer generation; a lower generation otherwise wins,
// because a generation can restart (a group recreated).
func TestStatusLogReadRules(t *testing.T) {
	t.Parallel()
	st := func(state herder.State, worker string, gen int32) Status {
		return Status{State: state, WorkerID: worker, Generation: gen}
	}
	tests := map[string]struct {
		task        bool
		first, then Status
		want        Status
	}{
		"late UNASSIGNED, same generation":   {task: true, first: st(herder.Running, "w2", 5), then: st(herder.Unassigned, "w1", 5), want: st(herder.Running, "w2", 5)},
		"late UNASSIGNED, older generation":  {task: true, first: st(herder.Running, "w2", 5), then: st(herder.Unassigned, "w1", 4), want: st(herder.Running, "w2", 5)},
		"UNASSIGNED of a newer generation":   {task: true, first: st(herder.Running, "w2", 5), then: st(herder.Unassigned, "w1", 6), want: st(herder.Unassigned, "w1", 6)},
		"UNASSIGNED after PAUSED":            {task: true, first: st(herder.Paused, "w2", 5), then: st(herder.Unassigned, "w1", 4), want: st(herder.Unassigned, "w1", 4)},
		"FAILED of an older generation":      {task: true, first: st(herder.Running, "w2", 5), then: st(herder.Failed, "w1", 4), want: st(herder.Failed, "w1", 4)},
		"RUNNING after a generation restart": {task: true, first: st(herder.Running, "w2", 9), then: st(herder.Running, "w1", 1), want: st(herder.Running, "w1", 1)},
		"connector: any status replaces":     {first: st(herder.Running, "w2", 5), then: st(herder.Unassigned, "w1", 4), want: st(herder.Unassigned, "w1", 4)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seeds := newKafka(t)
			topic := topicName(t, seeds, "status")
			w := openStatus(t, seeds, topic)
			ctx := ctxT(t)
			id := herder.TaskID{Connector: "c", Task: 0}
			for _, s := range []Status{tc.first, tc.then} {
				if tc.task {
					must(t, w.PutTask(ctx, id, s))
				} else {
					must(t, w.PutConnector(ctx, "c", s))
				}
			}
			must(t, w.ReadToEnd(ctx))
			// The writer and a worker reading the topic later agree.
			for name, l := range map[string]*StatusLog{"writer": w, "reader": openStatus(t, seeds, topic)} {
				var got Status
				var ok bool
				if tc.task {
					got, ok = l.Task(id)
				} else {
					got, ok = l.Connector("c")
				}
				if !ok {
					t.Fatalf("%s: no status", name)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("%s: status (-want +got):\n%s", name, d)
				}
			}
		})
	}
}

// TestStatusLogPutSafe: a safe write is skipped when the status last read
// was written by another worker in a newer generation.
func TestStatusLogPutSafe(t *testing.T) {
	t.Parallel()
	st := func(worker string, gen int32) Status {
		return Status{State: herder.Running, WorkerID: worker, Generation: gen}
	}
	tests := map[string]struct {
		before *Status
		put    Status
		wrote  bool
	}{
		"nothing known":                  {put: st("w1", 1), wrote: true},
		"same worker, older generation":  {before: &Status{State: herder.Running, WorkerID: "w1", Generation: 7}, put: st("w1", 3), wrote: true},
		"other worker, older generation": {before: &Status{State: herder.Running, WorkerID: "w2", Generation: 7}, put: st("w1", 3), wrote: false},
		"other worker, same generation":  {before: &Status{State: herder.Running, WorkerID: "w2", Generation: 7}, put: st("w1", 7), wrote: true},
		"other worker, newer generation": {before: &Status{State: herder.Running, WorkerID: "w2", Generation: 7}, put: st("w1", 8), wrote: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seeds := newKafka(t)
			topic := topicName(t, seeds, "status")
			s := openStatus(t, seeds, topic)
			ctx := ctxT(t)
			id := herder.TaskID{Connector: "c", Task: 2}
			want := map[string][]string{}
			if tc.before != nil {
				must(t, s.PutTask(ctx, id, *tc.before))
				must(t, s.PutConnector(ctx, "c", *tc.before))
				must(t, s.ReadToEnd(ctx))
				want["status-task-c-2"] = []string{string(statusValue(*tc.before))}
				want["status-connector-c"] = []string{string(statusValue(*tc.before))}
			}
			wroteTask, err := s.PutTaskSafe(ctx, id, tc.put)
			must(t, err)
			wroteConn, err := s.PutConnectorSafe(ctx, "c", tc.put)
			must(t, err)
			if wroteTask != tc.wrote || wroteConn != tc.wrote {
				t.Fatalf("PutTaskSafe wrote %v, PutConnectorSafe wrote %v; want %v", wroteTask, wroteConn, tc.wrote)
			}
			if tc.wrote {
				want["status-task-c-2"] = append(want["status-task-c-2"], string(statusValue(tc.put)))
				want["status-connector-c"] = append(want["status-connector-c"], string(statusValue(tc.put)))
			}
			if d := cmp.Diff(want, byKey(readRaw(t, seeds, topic))); d != "" {
				t.Fatalf("records on the topic (-want +got):\n%s", d)
			}
		})
	}
}

// TestStatusLogsConverge: what one worker writes, another reads; a delete
// removes the connector and all its tasks everywhere.
func TestStatusLogsConverge(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "status")
	a, b := openStatus(t, seeds, topic), openStatus(t, seeds, topic)
	ctx := ctxT(t)
	run := func(w string) Status { return Status{State: herder.Running, WorkerID: w, Generation: 2} }
	must(t, a.PutConnector(ctx, "c", run("a")))
	must(t, b.PutConnector(ctx, "d", run("b")))
	for n := range 3 {
		must(t, a.PutTask(ctx, herder.TaskID{Connector: "c", Task: n}, run("a")))
	}
	must(t, b.PutTask(ctx, herder.TaskID{Connector: "d", Task: 0}, run("b")))
	must(t, b.DeleteTask(ctx, herder.TaskID{Connector: "c", Task: 2}))
	must(t, a.ReadToEnd(ctx))
	must(t, b.ReadToEnd(ctx))
	wantTasks := []TaskStatus{{ID: herder.TaskID{Connector: "c", Task: 0}, Status: run("a")}, {ID: herder.TaskID{Connector: "c", Task: 1}, Status: run("a")}}
	for name, l := range map[string]*StatusLog{"a": a, "b": b} {
		if d := cmp.Diff([]string{"c", "d"}, l.Connectors()); d != "" {
			t.Errorf("%s: connectors (-want +got):\n%s", name, d)
		}
		if d := cmp.Diff(wantTasks, l.Tasks("c")); d != "" {
			t.Errorf("%s: tasks of c (-want +got):\n%s", name, d)
		}
	}

	must(t, b.Delete(ctx, "c"))
	must(t, a.ReadToEnd(ctx))
	must(t, b.ReadToEnd(ctx))
	for name, l := range map[string]*StatusLog{"a": a, "b": b, "late": openStatus(t, seeds, topic)} {
		if _, ok := l.Connector("c"); ok || len(l.Tasks("c")) != 0 {
			t.Errorf("%s still has statuses of the deleted connector: %v", name, l.Tasks("c"))
		}
		if got, ok := l.Task(herder.TaskID{Connector: "d", Task: 0}); !ok || !cmp.Equal(got, run("b")) {
			t.Errorf("%s: d-0 = %+v, %v", name, got, ok)
		}
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		want    Status
		wantErr bool
	}{
		"kafka connect's":     {in: `{"state":"RUNNING","trace":null,"worker_id":"h:8083","generation":12}`, want: Status{State: herder.Running, WorkerID: "h:8083", Generation: 12}},
		"field order":         {in: `{"generation":1,"worker_id":"w","state":"FAILED","trace":"t"}`, want: Status{State: herder.Failed, Trace: "t", WorkerID: "w", Generation: 1}},
		"unknown state":       {in: `{"state":"SLEEPING","worker_id":"w","generation":1}`, wantErr: true},
		"fractional gen":      {in: `{"state":"RUNNING","worker_id":"w","generation":1.5}`, wantErr: true},
		"missing generation":  {in: `{"state":"RUNNING","worker_id":"w"}`, wantErr: true},
		"not an object":       {in: `"RUNNING"`, wantErr: true},
		"progress":            {in: `{"state":"RUNNING","trace":null,"worker_id":"w","generation":2,"progress":{"rows_done":10,"phase":"snapshot"}}`, want: Status{State: herder.Running, WorkerID: "w", Generation: 2, Progress: map[string]any{"rows_done": float64(10), "phase": "snapshot"}}},
		"progress null":       {in: `{"state":"RUNNING","worker_id":"w","generation":2,"progress":null}`, want: Status{State: herder.Running, WorkerID: "w", Generation: 2}},
		"progress not object": {in: `{"state":"RUNNING","worker_id":"w","generation":2,"progress":[1]}`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatus([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatus(%s): %v", tc.in, err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("parseStatus(%s) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

// TestStatusLogProgress: a task's progress is written as an extra
// "progress" field after Kafka Connect's four, so the value still reads as
// Kafka Connect's status (it ignores unknown fields: its four fields are
// there, in its order, with their values), and reads back into Status.
func TestStatusLogProgress(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	topic := topicName(t, seeds, "status")
	w := openStatus(t, seeds, topic)
	ctx := ctxT(t)
	id := herder.TaskID{Connector: "pg", Task: 0}
	progress := map[string]any{
		"phase": "snapshot", "tables_done": float64(1), "tables_total": float64(3),
		"rows_done": float64(1500), "rows_estimated": float64(4000), "eta_seconds": 12.5,
		"table": `public."Orders"`, "tables": []any{"public.a", "public.b"}, "lsn": nil,
	}
	running := Status{State: herder.Running, WorkerID: "10.0.0.1:8083", Generation: 3, Progress: progress}
	must(t, w.PutTask(ctx, id, running))
	must(t, w.PutTask(ctx, herder.TaskID{Connector: "pg", Task: 1}, Status{State: herder.Running, WorkerID: "10.0.0.1:8083", Generation: 3}))
	must(t, w.ReadToEnd(ctx))

	for name, l := range map[string]*StatusLog{"writer": w, "reader": openStatus(t, seeds, topic)} {
		got, ok := l.Task(id)
		if !ok {
			t.Fatalf("%s: no status", name)
		}
		if d := cmp.Diff(running, got); d != "" {
			t.Errorf("%s: status (-want +got):\n%s", name, d)
		}
		if got, _ := l.Task(herder.TaskID{Connector: "pg", Task: 1}); got.Progress != nil {
			t.Errorf("%s: a status written without progress reads with %v", name, got.Progress)
		}
	}

	values := byKey(readRaw(t, seeds, topic))
	if got := values["status-task-pg-1"]; len(got) != 1 || got[0] != `{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":3}` {
		t.Fatalf("a status without progress is not Kafka Connect's value byte for byte: %q", got)
	}
	raw := values["status-task-pg-0"]
	if len(raw) != 1 {
		t.Fatalf("want one value of the task's status, got %q", raw)
	}
	// Kafka Connect reads the value as schemaless JSON and takes its four
	// fields by name.
	d := json.NewDecoder(strings.NewReader(raw[0]))
	var keys []string
	tok, err := d.Token()
	must(t, err)
	if tok != json.Delim('{') {
		t.Fatalf("value is not a JSON object: %s", raw[0])
	}
	fields := map[string]any{}
	for d.More() {
		k, err := d.Token()
		must(t, err)
		var v any
		must(t, d.Decode(&v))
		keys = append(keys, k.(string))
		fields[k.(string)] = v
	}
	if want := []string{"state", "trace", "worker_id", "generation", "progress"}; !slices.Equal(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}
	wantFields := map[string]any{"state": "RUNNING", "trace": nil, "worker_id": "10.0.0.1:8083", "generation": float64(3), "progress": progress}
	if d := cmp.Diff(wantFields, fields); d != "" {
		t.Errorf("fields of the value (-want +got):\n%s", d)
	}
}

// A task's exactly_once flag is an extra field after Kafka Connect's,
// written only when true, and read back.
func TestStatusExactlyOnceField(t *testing.T) {
	t.Parallel()
	st := Status{State: herder.Running, WorkerID: "w:8083", Generation: 3, ExactlyOnce: true}
	got := string(statusValue(st))
	if want := `{"state":"RUNNING","trace":null,"worker_id":"w:8083","generation":3,"exactly_once":true}`; got != want {
		t.Fatalf("statusValue = %s, want %s", got, want)
	}
	back, err := parseStatus([]byte(got))
	if err != nil || !back.ExactlyOnce {
		t.Fatalf("parseStatus = %+v, %v", back, err)
	}
	st.ExactlyOnce = false
	if got := string(statusValue(st)); strings.Contains(got, "exactly_once") {
		t.Fatalf("statusValue without exactly once = %s", got)
	}
}
