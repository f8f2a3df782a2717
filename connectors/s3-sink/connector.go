package s3sink

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// Name is the plugin name the worker lists the connector under.
const Name = "s3-sink"

// Version is the connector's version, reported by the REST API's plugin list.
const Version = "0.1.0"

// ConfluentClass is Confluent's class name, accepted as an alias.
const ConfluentClass = "io.confluent.connect.s3.S3SinkConnector"

// NewSink returns an unstarted S3 sink connector.
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

// TaskConfigs returns maxTasks copies of the config: the worker's consumer
// group spreads the topic partitions over the tasks.
func (c *connector) TaskConfigs(_ context.Context, maxTasks int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, fmt.Errorf("s3-sink: TaskConfigs called before Start")
	}
	out := make([]map[string]string, max(maxTasks, 1))
	for i := range out {
		out[i] = maps.Clone(c.config)
	}
	return out, nil
}

func (c *connector) Stop(context.Context) error { return nil }

func (c *connector) NewTask() connect.SinkTask { return &sinkTask{} }

// Validate checks that the bucket exists and the credentials reach it.
func (c *connector) Validate(ctx context.Context, raw map[string]string) map[string][]string {
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil // the ConfigDef's own checks name the keys
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	st, err := newStore(ctx, cfg)
	if err != nil {
		return map[string][]string{AccessKeyIDKey: {err.Error()}}
	}
	defer st.close()
	if err := st.checkBucket(ctx); err != nil {
		return map[string][]string{BucketKey: {err.Error()}}
	}
	return nil
}
