package herder

import (
	"context"
	"strings"
)

// LoggerLevel is one logger's level as GET /admin/loggers shows it
// (KIP-495, with KIP-976's last_modified): LastModified is when it was last
// set through the REST API, in milliseconds since the epoch, and null when
// it never was.
type LoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

// RootLogger is the name of the logger every other logger falls under.
const RootLogger = "root"

// LoggerAdmin adjusts a worker's log levels at runtime, behind Kafka
// Connect's /admin/loggers endpoints. Levels are Kafka Connect's (log4j's)
// names; see LogLevelNames.
type LoggerAdmin interface {
	// LoggerLevels returns the loggers whose level is set explicitly, and
	// the root logger.
	LoggerLevels() map[string]LoggerLevel
	// LoggerLevel returns a known logger's level (its effective level when
	// none is set on it); false when no such logger is known.
	LoggerLevel(name string) (LoggerLevel, bool)
	// SetLoggerLevel sets the level of the logger namespace and of every
	// known logger under it, and returns their names, sorted. level is one
	// of LogLevelNames.
	SetLoggerLevel(namespace, level string) []string
}

// ClusterLoggerAdmin is implemented by herders whose workers form a
// cluster: PUT /admin/loggers/{name}?scope=cluster (KIP-976) asks it to
// set a level on every worker. A herder without it is a cluster of one,
// and the REST API sets the level on its own worker, as Kafka Connect's
// standalone herder does.
type ClusterLoggerAdmin interface {
	// SetClusterLoggerLevel has every worker of the cluster set the level
	// of the logger namespace (as LoggerAdmin.SetLoggerLevel) once it
	// learns of it; it returns once the request is recorded, before the
	// workers have applied it. level is as the request gave it; the REST
	// API checks it is one of LogLevelNames.
	SetClusterLoggerLevel(ctx context.Context, namespace, level string) error
}

// LogLevelNames are the levels Kafka Connect accepts, least severe first.
var LogLevelNames = []string{"ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"}

// ParseLogLevel returns the canonical (upper case) name of a level, and
// false when it is none of LogLevelNames.
func ParseLogLevel(s string) (string, bool) {
	u := strings.ToUpper(s)
	for _, n := range LogLevelNames {
		if n == u {
			return n, true
		}
	}
	return "", false
}
