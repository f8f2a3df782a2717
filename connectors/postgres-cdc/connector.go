package postgrescdc

import (
	"context"
	"fmt"
	"maps"

	"github.com/connectd/connectd/framework/connect"
)

// Name is the plugin name the worker lists the connector under.
const Name = "postgres-cdc"

// Version is the connector's version, reported by the REST API's plugin
// list and in every event's source.version.
const Version = "0.1.0"

// DebeziumClass is Debezium's class name, accepted as an alias.
const DebeziumClass = "io.debezium.connector.postgresql.PostgresConnector"

// NewSource returns an unstarted Postgres CDC source connector.
func NewSource() connect.SourceConnector { return &connector{} }

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

// TaskConfigs returns one task: a replication slot has one reader.
func (c *connector) TaskConfigs(_ context.Context, _ int) ([]map[string]string, error) {
	if c.config == nil {
		return nil, fmt.Errorf("postgres-cdc: TaskConfigs called before Start")
	}
	return []map[string]string{maps.Clone(c.config)}, nil
}

func (c *connector) Stop(context.Context) error { return nil }

func (c *connector) NewTask() connect.SourceTask { return &SourceTask{} }
