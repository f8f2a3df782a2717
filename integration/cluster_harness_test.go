package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/internal/proctest"
)

// brokerProc is `connectd broker` with a data dir on a fixed port, so it
// can be restarted where clients expect it.
type brokerProc struct {
	*proctest.Proc
	port    int
	dataDir string
}

func startBrokerProc(t *testing.T, port int, dataDir string) *brokerProc {
	t.Helper()
	p := proctest.Start(t, "broker", []string{"Kafka bootstrap"}, connectdBin, "broker", "--port", strconv.Itoa(port), "--data-dir", dataDir)
	return &brokerProc{Proc: p, port: port, dataDir: dataDir}
}

func (b *brokerProc) bootstrap() string { return b.Ready["Kafka bootstrap"] }

// cluster is a broker process and the connectd workers of one group.
type cluster struct {
	t       *testing.T
	broker  *brokerProc
	workers []*workerProc
	props   map[string]string // shared worker properties
	// rest, when set, makes the workers' REST APIs https with its keys and
	// their test clients trust its CA and send its credentials.
	rest *restSecurity
}

// workerProc is one `connectd worker`.
type workerProc struct {
	*proctest.Proc
	port   int
	client *api.Client
	id     string // the worker id statuses name: 127.0.0.1:port
}

// clusterProps are the worker properties every test worker shares: short
// sessions so failover is quick, work of a departed worker reassigned at
// once, and offsets committed often.
func clusterProps(bootstrap string) map[string]string {
	return map[string]string{
		"bootstrap.servers":                 bootstrap,
		"group.id":                          "connect-cluster",
		"config.storage.topic":              "connect-configs",
		"offset.storage.topic":              "connect-offsets",
		"status.storage.topic":              "connect-status",
		"offset.storage.partitions":         "5",
		"session.timeout.ms":                "3000",
		"heartbeat.interval.ms":             "500",
		"rebalance.timeout.ms":              "10000",
		"scheduled.rebalance.max.delay.ms":  "0",
		"offset.flush.interval.ms":          "200",
		"task.shutdown.graceful.timeout.ms": "5000",
	}
}

func newCluster(t *testing.T, workers int) *cluster {
	t.Helper()
	return newClusterWith(t, workers, nil)
}

// newClusterWith starts a cluster whose workers have extra properties.
func newClusterWith(t *testing.T, workers int, extra map[string]string) *cluster {
	t.Helper()
	b := startBrokerProc(t, freePort(t), t.TempDir())
	c := &cluster{t: t, broker: b, props: clusterProps(b.bootstrap())}
	maps.Copy(c.props, extra)
	for range workers {
		c.addWorker(freePort(t))
	}
	c.waitStable()
	return c
}

// addWorker starts a worker on port and waits until it has joined.
func (c *cluster) addWorker(port int) *workerProc {
	c.t.Helper()
	w := c.addWorkerNoWait(port)
	waitFor(c.t, 60*time.Second, w.Name+" to join its group", func() (bool, string) {
		st, err := w.client.Health(context.Background())
		return err == nil, fmt.Sprintf("%+v %v", st, err)
	})
	return w
}

// addWorkerNoWait starts a worker on port without waiting for it to join.
func (c *cluster) addWorkerNoWait(port int) *workerProc {
	c.t.Helper()
	props := map[string]string{}
	for k, v := range c.props {
		props[k] = v
	}
	props["listeners"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	if c.rest != nil {
		props["listeners"] = fmt.Sprintf("https://127.0.0.1:%d", port)
		maps.Copy(props, c.rest.props)
	}
	path := filepath.Join(c.t.TempDir(), "worker.properties")
	var b strings.Builder
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		c.t.Fatal(err)
	}
	p := proctest.Start(c.t, fmt.Sprintf("worker-%d", port), []string{"REST API"}, connectdBin, "worker", "--log-level", "info", path)
	w := &workerProc{Proc: p, port: port, client: &api.Client{BaseURL: p.Ready["REST API"]}, id: fmt.Sprintf("127.0.0.1:%d", port)}
	if c.rest != nil {
		w.client.HTTP, w.client.Authorization = c.rest.httpClient(), c.rest.admin
	}
	c.workers = append(c.workers, w)
	return w
}

// live returns the workers still running.
func (c *cluster) live() []*workerProc {
	var out []*workerProc
	for _, w := range c.workers {
		if w.Running() {
			out = append(out, w)
		}
	}
	return out
}

// waitStable waits until every live worker knows a leader and accepts
// writes (a validate-free no-op write: a restart of a missing connector
// answers 404, not 409, once the group is settled).
func (c *cluster) waitStable() {
	c.t.Helper()
	for _, w := range c.live() {
		waitFor(c.t, 60*time.Second, w.Name+" to accept writes", func() (bool, string) {
			_, err := w.client.RestartConnector(context.Background(), "no-such-connector", false, false)
			var ae *api.APIError
			if errors.As(err, &ae) && ae.Code == 404 {
				return true, ""
			}
			return false, fmt.Sprint(err)
		})
	}
}

// statuses returns every live worker's view of connector name.
func (c *cluster) statuses(name string) map[string]herder.ConnectorStatus {
	out := map[string]herder.ConnectorStatus{}
	for _, w := range c.live() {
		st, err := w.client.ConnectorStatus(context.Background(), name)
		if err == nil {
			out[w.id] = st
		}
	}
	return out
}

// waitRunning waits until every live worker reports the connector and
// tasks tasks RUNNING on live workers, all views alike, and returns the
// status.
func (c *cluster) waitRunning(name string, tasks int) herder.ConnectorStatus {
	c.t.Helper()
	var last herder.ConnectorStatus
	waitFor(c.t, 90*time.Second, name+" running everywhere", func() (bool, string) {
		live := map[string]bool{}
		for _, w := range c.live() {
			live[w.id] = true
		}
		views := c.statuses(name)
		if len(views) != len(live) {
			return false, fmt.Sprintf("%d of %d workers answered", len(views), len(live))
		}
		var first *herder.ConnectorStatus
		for _, st := range views {
			if st.Connector.State != herder.Running || !live[st.Connector.WorkerID] || len(st.Tasks) != tasks {
				return false, fmt.Sprintf("%+v", st)
			}
			for _, ts := range st.Tasks {
				if ts.State != herder.Running || !live[ts.WorkerID] {
					return false, fmt.Sprintf("%+v", st)
				}
			}
			if first == nil {
				first = &st
			} else if a, b := jsonOf(*first), jsonOf(st); a != b {
				return false, fmt.Sprintf("views differ: %s vs %s", a, b)
			}
		}
		last = *first
		return true, ""
	})
	return last
}

// owners maps each worker id to the instances it runs of connector name.
func owners(st herder.ConnectorStatus) map[string][]string {
	out := map[string][]string{st.Connector.WorkerID: {st.Name}}
	for _, ts := range st.Tasks {
		out[ts.WorkerID] = append(out[ts.WorkerID], fmt.Sprintf("%s-%d", st.Name, ts.ID))
	}
	return out
}

func (c *cluster) worker(id string) *workerProc {
	for _, w := range c.workers {
		if w.id == id {
			return w
		}
	}
	c.t.Fatalf("no worker %s", id)
	return nil
}

// pluginPIDs returns the pids of w's plugin processes serving instance.
func (w *workerProc) pluginPIDs(instance string) []int {
	return pluginPIDsOf(w.Pid(), instance)
}

// jsonOf renders v as the REST API does, to compare views.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
