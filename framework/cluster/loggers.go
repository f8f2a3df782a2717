package cluster

import (
	"context"
	"fmt"

	"github.com/connectd/connectd/framework/cluster/storage"
	"github.com/connectd/connectd/framework/herder"
)

var _ herder.ClusterLoggerAdmin = (*Distributed)(nil)

// SetClusterLoggerLevel implements herder.ClusterLoggerAdmin, as Kafka
// Connect's distributed herder does (KIP-976): the worker the request
// reached writes a logger-cluster-<namespace> record to the config topic
// itself (no forwarding to the leader) and returns once Kafka has it.
// Every worker, this one included, sets the level when it reads the
// record. A worker sets only the levels written after it started: the
// ones already in the topic when it starts are left alone, as Kafka
// Connect leaves them.
func (d *Distributed) SetClusterLoggerLevel(ctx context.Context, namespace, level string) error {
	if err := d.configs.PutLoggerLevel(ctx, namespace, level); err != nil {
		return fmt.Errorf("set the cluster log level of %s: %w", namespace, err)
	}
	return nil
}

// applyLoggerLevel sets on this worker a level read from the config topic.
// It runs on the config topic's reader goroutine, and only takes the
// levels' lock.
func (d *Distributed) applyLoggerLevel(c storage.Change) {
	if d.levels == nil {
		d.logger.Warn("a cluster log level was set, but this worker's logger has no adjustable levels; ignoring it",
			"logger", c.Namespace, "level", c.Level)
		return
	}
	level, ok := herder.ParseLogLevel(c.Level)
	if !ok {
		d.logger.Warn("ignoring a cluster log level that is not a level Kafka Connect knows",
			"logger", c.Namespace, "level", c.Level, "offset", c.Offset)
		return
	}
	affected := d.levels.SetLoggerLevel(c.Namespace, level)
	d.logger.Info("cluster log level set", "logger", c.Namespace, "level", level, "affected", affected)
}
