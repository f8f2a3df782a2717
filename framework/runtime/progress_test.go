package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/herder"
)

// progressConnector is the counter connector whose tasks also report their
// progress: records produced of the count, and a phase.
type progressConnector struct{ counterConnector }

func (c *progressConnector) NewTask() connect.SourceTask { return &progressTask{} }

// progressTask publishes how far its counter got after every poll; Progress
// runs on another goroutine and reads only what is published.
type progressTask struct {
	counterTask
	done atomic.Int64
}

func (t *progressTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	recs, err := t.counterTask.Poll(ctx)
	t.done.Store(t.next)
	return recs, err
}

func (t *progressTask) Progress() map[string]any {
	done := t.done.Load()
	phase := "counting"
	if done >= t.count {
		phase = "done"
	}
	return map[string]any{"phase": phase, "records_done": done, "records_total": t.count, "tables": []any{"t"}}
}

// TestTaskStatusShowsProgress reads GET /connectors/{c}/tasks/{t}/status
// and GET /connectors/{c}/status through the REST API until a task that
// reports progress shows it has produced every record, in-process and
// from a plugin process.
func TestTaskStatusShowsProgress(t *testing.T) {
	for _, isolated := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			e := newEnv(t, isolated)
			srv := httptest.NewServer(api.New(e.h, api.Options{}).Handler())
			defer srv.Close()
			const count = 300
			e.put("p1", map[string]string{"connector.class": "progress", "tasks.max": "2", "topic": "tp", "count": fmt.Sprint(count), "batch": "7"})
			e.put("c1", map[string]string{"connector.class": "counter", "tasks.max": "1", "topic": "tc", "count": "10"})
			e.readTopic("tp", 2*count)

			want := map[string]any{"phase": "done", "records_done": float64(count), "records_total": float64(count), "tables": []any{"t"}}
			for task := range 2 {
				waitFor(t, fmt.Sprintf("task %d's status to show it is done", task), func() (bool, string) {
					var st struct {
						ID       int            `json:"id"`
						State    string         `json:"state"`
						Progress map[string]any `json:"progress"`
					}
					body := getJSON(t, srv.URL+fmt.Sprintf("/connectors/p1/tasks/%d/status", task), &st)
					return st.ID == task && st.State == string(herder.Running) && fmt.Sprint(st.Progress) == fmt.Sprint(want), body
				})
				// The same progress, as gauges for dashboards.
				for key, v := range map[string]float64{"records_done": count, "records_total": count} {
					if got := progressGauge(t, e.h.w.Metrics, "p1", task, key); got != v {
						t.Errorf("task %d: connectd_task_progress{key=%q} = %v, want %v", task, key, got, v)
					}
				}
			}
			var cs struct {
				Tasks []map[string]any `json:"tasks"`
			}
			body := getJSON(t, srv.URL+"/connectors/p1/status", &cs)
			if len(cs.Tasks) != 2 || fmt.Sprint(cs.Tasks[0]["progress"]) != fmt.Sprint(want) || fmt.Sprint(cs.Tasks[1]["progress"]) != fmt.Sprint(want) {
				t.Fatalf("connector status does not show both tasks done: %s", body)
			}

			// A task that does not report progress has no progress field.
			e.readTopic("tc", 10)
			e.waitTaskState("c1", 0, herder.Running, "")
			var raw map[string]any
			body = getJSON(t, srv.URL+"/connectors/c1/tasks/0/status", &raw)
			if _, ok := raw["progress"]; ok {
				t.Fatalf("a task without progress shows one: %s", body)
			}
		})
	}
}

// getJSON GETs url, decodes its JSON body into out and returns the body.
func getJSON(t *testing.T, url string, out any) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %v", url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, b)
	}
	return string(b)
}

// progressGauge returns connectd_task_progress of a task's key.
func progressGauge(t *testing.T, m *Metrics, connector string, task int, key string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "connectd_task_progress" {
			continue
		}
		for _, s := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range s.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["connector"] == connector && l["task"] == fmt.Sprint(task) && l["key"] == key {
				return s.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no connectd_task_progress for %s-%d key %s", connector, task, key)
	return 0
}
