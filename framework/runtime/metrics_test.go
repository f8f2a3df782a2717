package runtime

import (
	"math"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// metricValue returns the value of the sample of name whose connector and
// task labels are connectorTask (none for a worker metric); it fails the
// test when there is no such sample.
func metricValue(t *testing.T, m *Metrics, name string, connectorTask ...string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if !labelsMatch(s.GetLabel(), connectorTask) {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no sample of %s with connector and task %v", name, connectorTask)
	return 0
}

func labelsMatch(labels []*dto.LabelPair, connectorTask []string) bool {
	want := map[string]string{}
	if len(connectorTask) > 0 {
		want["connector"] = connectorTask[0]
	}
	if len(connectorTask) > 1 {
		want["task"] = connectorTask[1]
	}
	for k, v := range want {
		found := false
		for _, l := range labels {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestWindowStat: windowed averages, maximums and rates cover the last two
// 30-second samples, and are NaN with nothing in them, as Kafka's.
func TestWindowStat(t *testing.T) {
	t.Parallel()
	var w windowStat
	t0 := time.Unix(1000, 0)
	if x := w.read(t0); !math.IsNaN(x.avg()) || !math.IsNaN(x.maximum()) || x.rate() != 0 {
		t.Errorf("empty: avg %v max %v rate %v", x.avg(), x.maximum(), x.rate())
	}
	w.recordAt(10, t0)
	w.recordAt(30, t0.Add(10*time.Second))
	w.recordAt(20, t0.Add(40*time.Second)) // a second sample
	x := w.read(t0.Add(45 * time.Second))
	if x.avg() != 20 || x.maximum() != 30 || x.minimum() != 10 || x.rate() != 60.0/45 {
		t.Errorf("two samples: avg %v max %v min %v rate %v", x.avg(), x.maximum(), x.minimum(), x.rate())
	}
	// The first sample leaves the window 60 s after it started.
	x = w.read(t0.Add(61 * time.Second))
	if x.avg() != 20 || x.maximum() != 20 || x.rate() != 20.0/30 {
		t.Errorf("first sample expired: avg %v max %v rate %v", x.avg(), x.maximum(), x.rate())
	}
	if x := w.read(t0.Add(200 * time.Second)); x.n != 0 {
		t.Errorf("all expired: %d values left", x.n)
	}
}

// TestStateTracker: running-ratio and pause-ratio are the fractions of the
// time since the task started spent in each state.
func TestStateTracker(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	s := newStateTracker(t0)
	s.set("RUNNING", t0.Add(10*time.Second))
	s.set("PAUSED", t0.Add(40*time.Second))
	now := t0.Add(100 * time.Second)
	if r, p := s.ratio("RUNNING", now), s.ratio("PAUSED", now); r != 0.3 || p != 0.6 {
		t.Errorf("running %v paused %v, want 0.3 and 0.6", r, p)
	}
}
