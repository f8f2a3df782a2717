package elasticsink

import (
	"context"
	"fmt"
	"maps"

	"github.com/connectd/connectd/framework/connect"
)

// Name is the plugin name the worker lists the connector under.
const Name = "elastic-sink"

// Version is the connector's version.
const Version = "0.1.0"

// ConfluentClass is Confluent's class name, accepted as an alias.
const ConfluentClass = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"

// NewSink returns an unstarted Elasticsearch sink connector.
func NewSink() connect.SinkConnector { return &connector{} }

type connector struct {
	config map[string]string
}

var _ connect.Validator = (*connector)(nil)

func (c *connector) Config() *connect.ConfigDef { return configDef() }

func (c *connector) Start(_ context.Context, raw map[string]string) error {
	if _, err := parseConfig(raw); err != nil {
		return err
	}
	c.config = maps.Clone(raw)
	return nil
}

// TaskConfigs returns maxTasks copies of the configuration: the consumer
// group spreads the topics' partitions over the tasks.
func (c *connector) TaskConfigs(_ context.Context, maxTasks int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, fmt.Errorf("elastic-sink: TaskConfigs called before Start")
	}
	out := make([]map[string]string, max(maxTasks, 1))
	for i := range out {
		out[i] = maps.Clone(c.config)
	}
	return out, nil
}

func (c *connector) Stop(context.Context) error { return nil }

func (c *connector) NewTask() connect.SinkTask { return &SinkTask{} }
