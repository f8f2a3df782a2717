package runtime

import (
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// What every herder (standalone here, distributed in package cluster)
// uses of the runtime besides Worker.

// ConnectorType says whether a plugin is a source or a sink, as the REST
// API names it.
func ConnectorType(e *PluginEntry) herder.ConnectorType {
	if e == nil {
		return herder.Unknown
	}
	if e.Info.Kind == plugin.Sink {
		return herder.Sink
	}
	return herder.Source
}

// Trace renders an error for a status's trace field.
func Trace(err error) string { return trace(err) }
