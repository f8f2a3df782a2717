// Command hello-source is an example third-party connectd plugin: a source
// connector built as its own executable. Put the binary in a folder named
// by the worker's plugin.path and use connector.class=hello-source.
//
//	go build -o /opt/connectd/plugins/ ./examples/hello-source
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/plugin"
)

func main() {
	plugin.Serve(plugin.Plugin{
		Name:      "hello-source",
		Version:   "1.0.0",
		Aliases:   []string{"com.example.HelloSourceConnector"},
		NewSource: func() connect.SourceConnector { return &connector{} },
	})
}

var configDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic", Type: connect.TypeString, Required: true, Importance: connect.High, Doc: "Topic to write greetings to.", Validator: connect.NonEmpty},
	connect.ConfigKey{Name: "greeting", Type: connect.TypeString, Default: "hello", Importance: connect.Medium, Doc: "Word each record starts with."},
	connect.ConfigKey{Name: "count", Type: connect.TypeLong, Default: "100", Importance: connect.Medium, Doc: "How many greetings to write in all.", Validator: connect.AtLeast(0)},
)

type connector struct{ cfg map[string]string }

func (c *connector) Config() *connect.ConfigDef { return configDef }

func (c *connector) Start(_ context.Context, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}

func (c *connector) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	return []map[string]string{c.cfg}, nil
}

func (c *connector) Stop(context.Context) error { return nil }

func (c *connector) NewTask() connect.SourceTask { return &task{} }

// task writes "<greeting> <n>" for n = 0..count-1, resuming after the last
// committed n.
type task struct {
	topic, greeting string
	next, count     int64
}

var partition = map[string]any{"greeter": "hello"}

func (t *task) Start(_ context.Context, cfg map[string]string, offsets connect.OffsetReader) error {
	c, err := configDef.Parse(cfg)
	if err != nil {
		return err
	}
	t.topic, t.greeting, t.count = c.String("topic"), c.String("greeting"), c.Long("count")
	if off := offsets.Offset(partition); off != nil {
		n, ok := off["n"].(int64)
		if !ok {
			return fmt.Errorf("hello-source: stored offset %v has no integer n", off)
		}
		t.next = n + 1
	}
	return nil
}

func (t *task) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.next >= t.count {
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
		return nil, nil
	}
	var out []*connect.Record
	for ; t.next < t.count && len(out) < 10; t.next++ {
		out = append(out, &connect.Record{
			Topic: t.topic, Partition: -1,
			ValueSchema: connect.StringSchema, Value: fmt.Sprintf("%s %d", t.greeting, t.next),
			SourcePartition: partition, SourceOffset: map[string]any{"n": t.next},
		})
	}
	return out, nil
}

func (t *task) Stop(context.Context) error { return nil }
