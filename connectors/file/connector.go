package file

import (
	"context"
	"fmt"
	"maps"

	"github.com/connectd/connectd/framework/connect"
)

// Plugin names, and the Kafka Connect classes they stand in for.
const (
	SourceName  = "file-source"
	SinkName    = "file-sink"
	SourceClass = "org.apache.kafka.connect.file.FileStreamSourceConnector"
	SinkClass   = "org.apache.kafka.connect.file.FileStreamSinkConnector"
)

// Version is the connectors' version, reported by the REST API's plugin list.
const Version = "0.1.0"

// NewSource returns an unstarted file source connector.
func NewSource() connect.SourceConnector { return &sourceConnector{} }

// NewSink returns an unstarted file sink connector.
func NewSink() connect.SinkConnector { return &sinkConnector{} }

type sourceConnector struct{ config map[string]string }

func (c *sourceConnector) Version() string            { return Version }
func (c *sourceConnector) Config() *connect.ConfigDef { return sourceConfigDef() }

func (c *sourceConnector) Start(_ context.Context, raw map[string]string) error {
	if _, err := parseSourceConfig(raw); err != nil {
		return err
	}
	c.config = maps.Clone(raw)
	return nil
}

// TaskConfigs returns one task whatever maxTasks is: a file has one reader.
func (c *sourceConnector) TaskConfigs(context.Context, int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, fmt.Errorf("file-source: TaskConfigs called before Start")
	}
	return []map[string]string{maps.Clone(c.config)}, nil
}

func (c *sourceConnector) Stop(context.Context) error  { return nil }
func (c *sourceConnector) NewTask() connect.SourceTask { return &sourceTask{} }

type sinkConnector struct{ config map[string]string }

func (c *sinkConnector) Version() string            { return Version }
func (c *sinkConnector) Config() *connect.ConfigDef { return sinkConfigDef() }

func (c *sinkConnector) Start(_ context.Context, raw map[string]string) error {
	if _, err := parseSinkConfig(raw); err != nil {
		return err
	}
	c.config = maps.Clone(raw)
	return nil
}

// TaskConfigs returns maxTasks identical tasks, as Kafka Connect does. They
// append to the same file; see sinkTask for why their lines never mix.
func (c *sinkConnector) TaskConfigs(_ context.Context, maxTasks int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, fmt.Errorf("file-sink: TaskConfigs called before Start")
	}
	out := make([]map[string]string, max(maxTasks, 1))
	for i := range out {
		out[i] = maps.Clone(c.config)
	}
	return out, nil
}

func (c *sinkConnector) Stop(context.Context) error { return nil }
func (c *sinkConnector) NewTask() connect.SinkTask  { return &sinkTask{} }
