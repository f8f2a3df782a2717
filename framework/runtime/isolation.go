package runtime

import (
	"fmt"
	"strings"
)

// Isolation is how a connector's instance and tasks run on a worker
// (plugin.isolation, a worker key that a connector's config may override).
type Isolation string

const (
	// IsolationConnector: on each worker, one plugin process hosts the
	// connector's instance (when it runs there) and every task of the
	// connector assigned to the worker, each task on goroutines of its
	// own. A crash fails that connector's work on that worker only.
	IsolationConnector Isolation = "connector"
	// IsolationTask: a plugin process for the connector instance and one
	// for every task. "process" is its older name.
	IsolationTask Isolation = "task"
	// IsolationNone: built-in connectors run inside the worker's process
	// (tests, benchmarks). Only a worker may choose it.
	IsolationNone Isolation = "none"
)

// isolationValues are the values plugin.isolation takes, as a worker key.
var isolationValues = []string{string(IsolationConnector), string(IsolationTask), "process", string(IsolationNone)}

// ParseIsolation reads a plugin.isolation value: connector, task (or its
// older name process) or none.
func ParseIsolation(v string) (Isolation, error) {
	switch strings.TrimSpace(v) {
	case string(IsolationConnector):
		return IsolationConnector, nil
	case string(IsolationTask), "process":
		return IsolationTask, nil
	case string(IsolationNone):
		return IsolationNone, nil
	}
	return "", fmt.Errorf("%s: %q is not one of connector, task, process, none", KeyPluginIsolation, v)
}

// validateConnectorIsolation checks a connector's own plugin.isolation:
// connector or task (process). A connector may not place itself inside
// the worker, where its crash would take the worker down.
func validateConnectorIsolation(v any) error {
	s, _ := v.(string)
	if strings.TrimSpace(s) == "" {
		return nil
	}
	iso, err := ParseIsolation(s)
	if err != nil {
		return fmt.Errorf("%q is not one of connector, task, process", s)
	}
	if iso == IsolationNone {
		return fmt.Errorf("none is a worker setting: a connector may choose connector or task")
	}
	return nil
}

// isolationOf returns how the connector with config runs on this worker:
// its own plugin.isolation, else the worker's.
func (w *Worker) isolationOf(config map[string]string) Isolation {
	if iso, err := ParseIsolation(config[KeyPluginIsolation]); err == nil && iso != IsolationNone {
		return iso
	}
	if w.Config.Isolation == "" {
		if w.Config.Isolated {
			return IsolationConnector
		}
		return IsolationNone
	}
	return w.Config.Isolation
}
