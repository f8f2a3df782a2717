package api

import (
	"net/http"

	"github.com/connectd/connectd/framework/herder"
)

// getConnectorTopics serves GET /connectors/{c}/topics (KIP-558): the
// topics the connector's tasks used, as {"<c>": {"topics": [...]}}. Like
// Kafka Connect, a connector that does not exist has no topics rather than
// a 404.
func (s *Server) getConnectorTopics(w http.ResponseWriter, r *http.Request) {
	tt, ok := capability[herder.TopicTracker](s, w, r)
	if !ok {
		return
	}
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	out, err := tt.ConnectorActiveTopics(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	if out.Topics == nil {
		out.Topics = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]herder.ActiveTopics{name: out})
}

// resetConnectorTopics serves PUT /connectors/{c}/topics/reset: 202 with
// no body, as Kafka Connect answers.
func (s *Server) resetConnectorTopics(w http.ResponseWriter, r *http.Request) {
	tt, ok := capability[herder.TopicTracker](s, w, r)
	if !ok {
		return
	}
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	if err := tt.ResetConnectorActiveTopics(ctx, name); err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
