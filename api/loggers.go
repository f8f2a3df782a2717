package api

import (
	"net/http"
	"strings"

	"github.com/connectd/connectd/framework/herder"
)

// Scopes of PUT /admin/loggers/{logger}.
const (
	scopeWorker  = "worker"
	scopeCluster = "cluster"
)

// listLoggers serves GET /admin/loggers: the loggers with a level set,
// and the root logger.
func (s *Server) listLoggers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.loggers.LoggerLevels())
}

// getLogger serves GET /admin/loggers/{logger}.
func (s *Server) getLogger(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "logger")
	lvl, ok := s.loggers.LoggerLevel(name)
	if !ok {
		s.fail(w, r, herder.NotFound("Logger %s not found.", name), "")
		return
	}
	writeJSON(w, http.StatusOK, lvl)
}

// setLoggerLevel serves PUT /admin/loggers/{logger} with a body
// {"level": "DEBUG"}, as Kafka Connect does. scope=worker (the default)
// sets the level on this worker and answers the affected loggers.
// scope=cluster answers 204: a herder that is a herder.ClusterLoggerAdmin
// has every worker of its cluster set the level; any other (standalone)
// sets it on this worker. scope is matched in any case; any other value
// is logged and taken as worker.
func (s *Server) setLoggerLevel(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "logger")
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	obj, err := parseObject(body)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	given, err := stringField(obj, "level")
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	if given == nil {
		s.fail(w, r, herder.BadRequest("Desired 'level' parameter was not specified in request."), "")
		return
	}
	level, ok := herder.ParseLogLevel(*given)
	if !ok {
		// Kafka Connect answers an unknown level with 404.
		s.fail(w, r, herder.NotFound("invalid log level '%s'.", *given), "")
		return
	}
	scope := scopeWorker
	if q := r.URL.Query(); q.Has("scope") {
		scope = q.Get("scope")
	}
	switch strings.ToLower(scope) {
	case scopeCluster:
		if c, ok := s.h.(herder.ClusterLoggerAdmin); ok {
			ctx, cancel := s.herderCtx(r)
			defer cancel()
			// The level goes out as given, as Kafka Connect writes it;
			// each worker reads it in any case.
			if err := c.SetClusterLoggerLevel(ctx, name, *given); err != nil {
				s.fail(w, r, err, "")
				return
			}
		} else {
			s.loggers.SetLoggerLevel(name, level)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	case scopeWorker:
	default:
		s.log.WarnContext(r.Context(), "unknown scope in a request to set a log level; using worker", "scope", scope)
	}
	affected := s.loggers.SetLoggerLevel(name, level)
	if affected == nil {
		affected = []string{}
	}
	writeJSON(w, http.StatusOK, affected)
}
