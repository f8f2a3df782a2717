package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/connectors/datagen"
	"github.com/connectd/connectd/framework/connecttest"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/kafkatest"
	"github.com/connectd/connectd/offsets"
)

var datagenPlugin = plugin.Plugin{Name: "datagen", Version: datagen.Version, NewSource: datagen.NewSource}

func TestMain(m *testing.M) {
	connecttest.ServeIfPlugin(datagenPlugin)
	os.Exit(m.Run())
}

// pipeline is a worker over a fresh in-process broker.
type pipeline struct {
	cluster *kfake.Cluster
	h       *runtime.Standalone
	adm     *kadm.Client
	cl      *kgo.Client
}

func newPipeline(b *testing.B, isolated bool) *pipeline {
	b.Helper()
	if isolated {
		return newPipelineIn(b, "task")
	}
	return newPipelineIn(b, "none")
}

// newPipelineIn is newPipeline with plugin.isolation iso.
func newPipelineIn(b *testing.B, iso string) *pipeline {
	b.Helper()
	isolated := iso != "none"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := runtime.ParseWorkerConfig(map[string]string{
		runtime.KeyBootstrapServers:    strings.Join(c.ListenAddrs(), ","),
		runtime.KeyPluginIsolation:     iso,
		runtime.KeyOffsetFlushInterval: "1000",
	}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := runtime.NewRegistry(context.Background(), map[string]plugin.Plugin{"datagen": datagenPlugin}, isolated, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	w := runtime.NewWorker("bench:0", cfg, reg, offsets.NewMemory(), quiet)
	h, err := runtime.NewStandalone(context.Background(), w, &runtime.MemoryConfigStore{})
	if err != nil {
		b.Fatal(err)
	}
	// A low metadata age: the default 5 s would hide a new topic's growth.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	return &pipeline{cluster: c, h: h, adm: kadm.NewClient(cl), cl: cl}
}

func (p *pipeline) close() {
	p.h.Close()
	p.cl.Close()
	p.cluster.Close()
}

// createTopic creates topic ahead of a measurement, so no run pays for
// auto-creation.
func (p *pipeline) createTopic(b *testing.B, topic string) {
	b.Helper()
	if _, err := p.adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
}

// topicCount returns how many records topic holds.
func (p *pipeline) topicCount(topic string) int64 { return kafkatest.EndOffsets(p.adm, topic) }

// runDatagen runs a bounded datagen connector and returns records per
// second from creation until the topic holds every record.
func (p *pipeline) runDatagen(b *testing.B, name string, count, batch, size int) float64 {
	b.Helper()
	return p.runDatagenTasks(b, name, count, batch, size, 1)
}

// runDatagenTasks is runDatagen with the count split between tasks tasks.
func (p *pipeline) runDatagenTasks(b *testing.B, name string, count, batch, size, tasks int) float64 {
	b.Helper()
	cfg := map[string]string{
		"name": name, "connector.class": "datagen", "topic": name, "count": fmt.Sprint(count), "tasks.max": fmt.Sprint(tasks),
		"batch.size": fmt.Sprint(batch), "record.size": fmt.Sprint(size), "schema": "bytes",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
		"key.converter":   "org.apache.kafka.connect.converters.ByteArrayConverter",
	}
	p.createTopic(b, name)
	start := time.Now()
	if _, _, err := p.h.PutConnectorConfig(context.Background(), name, cfg, false); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(5 * time.Minute)
	for p.topicCount(name) < int64(count) {
		if time.Now().After(deadline) {
			st, _ := p.h.ConnectorStatus(context.Background(), name)
			b.Fatalf("%s: %d of %d records after 5 minutes; status %+v", name, p.topicCount(name), count, st)
		}
		for t := 0; t < tasks; t++ {
			st, _ := p.h.TaskStatus(context.Background(), herder.TaskID{Connector: name, Task: t})
			if st.State == herder.Failed {
				b.Fatalf("%s task %d failed: %s", name, t, st.Trace)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if err := p.h.DeleteConnector(context.Background(), name); err != nil {
		b.Fatal(err)
	}
	return float64(count) / elapsed.Seconds()
}
