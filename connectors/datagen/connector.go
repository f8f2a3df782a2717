package datagen

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/connectd/connectd/framework/connect"
)

// Name is the plugin name the worker lists the connector under.
const Name = "datagen"

// Version is the connector's version, reported by the REST API's plugin list.
const Version = "0.1.0"

// NewSource returns an unstarted datagen source connector.
func NewSource() connect.SourceConnector { return &connector{} }

type connector struct {
	config map[string]string
	cfg    config
}

func (c *connector) Version() string { return Version }

func (c *connector) Config() *connect.ConfigDef { return configDef() }

func (c *connector) Start(_ context.Context, raw map[string]string) error {
	cfg, err := parseConfig(configDef(), raw)
	if err != nil {
		return err
	}
	c.config, c.cfg = maps.Clone(raw), cfg
	return nil
}

// TaskConfigs splits count between the tasks: the first count%n tasks get
// one record more than the others. It never starts more tasks than there are
// records, because a task whose share is zero would read as unbounded.
func (c *connector) TaskConfigs(_ context.Context, maxTasks int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, fmt.Errorf("datagen: TaskConfigs called before Start")
	}
	n := int64(max(maxTasks, 1))
	if c.cfg.count > 0 {
		n = min(n, c.cfg.count)
	}
	out := make([]map[string]string, n)
	for t := range n {
		share := int64(0)
		if c.cfg.count > 0 {
			share = c.cfg.count / n
			if t < c.cfg.count%n {
				share++
			}
		}
		tc := maps.Clone(c.config)
		tc[taskIDKey] = strconv.FormatInt(t, 10)
		tc[taskCountKey] = strconv.FormatInt(n, 10)
		tc[taskRecordsKey] = strconv.FormatInt(share, 10)
		out[t] = tc
	}
	return out, nil
}

func (c *connector) Stop(context.Context) error { return nil }

func (c *connector) NewTask() connect.SourceTask { return newSourceTask() }
