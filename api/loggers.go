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
// {"level": "DEBUG"}. With scope=worker (the default, and what Kafka
// Connect falls back to for a scope it does not know) it answers the
// affected loggers. scope=cluster answers 204 as Kafka Connect does, but
// changes this worker only: connectd does not broadcast levels to the
// other workers of a cluster.
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
	scope := strings.ToLower(r.URL.Query().Get("scope"))
	if scope != scopeWorker && scope != scopeCluster && scope != "" {
		s.log.WarnContext(r.Context(), "unknown scope in a request to set a log level; using worker", "scope", scope)
	}
	affected := s.loggers.SetLoggerLevel(name, level)
	if scope == scopeCluster {
		s.log.WarnContext(r.Context(), "log level set with scope=cluster changes this worker only", "logger", name, "level", level)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if affected == nil {
		affected = []string{}
	}
	writeJSON(w, http.StatusOK, affected)
}
