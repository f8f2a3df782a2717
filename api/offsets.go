package api

import (
	"encoding/json"
	"net/http"

	"github.com/connectd/connectd/framework/herder"
)

// Kafka Connect's message for an alter request without offsets.
const msgNoOffsets = "Partitions / offsets need to be provided for an alter offsets request"

// capability returns the herder as T, an optional herder interface (offsets,
// active topics), or answers 404 as for a path that names nothing when the
// herder does not implement it.
func capability[T any](s *Server, w http.ResponseWriter, r *http.Request) (T, bool) {
	c, ok := s.h.(T)
	if !ok {
		s.notFound(w, r)
	}
	return c, ok
}

// getConnectorOffsets serves GET /connectors/{c}/offsets (KIP-875).
func (s *Server) getConnectorOffsets(w http.ResponseWriter, r *http.Request) {
	om, ok := capability[herder.OffsetsManager](s, w, r)
	if !ok {
		return
	}
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	out, err := om.ConnectorOffsets(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	if out.Offsets == nil {
		out.Offsets = []herder.ConnectorOffset{}
	}
	writeJSON(w, http.StatusOK, out)
}

// alterConnectorOffsets serves PATCH /connectors/{c}/offsets with a body
// {"offsets": [{"partition": {...}, "offset": {...} or null}, ...]}.
func (s *Server) alterConnectorOffsets(w http.ResponseWriter, r *http.Request) {
	om, ok := capability[herder.OffsetsManager](s, w, r)
	if !ok {
		return
	}
	name := pathParam(r, "connector")
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	offsets, err := parseOffsetsRequest(body)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	msg, err := om.AlterConnectorOffsets(ctx, name, offsets)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	writeJSON(w, http.StatusOK, msg)
}

// resetConnectorOffsets serves DELETE /connectors/{c}/offsets.
func (s *Server) resetConnectorOffsets(w http.ResponseWriter, r *http.Request) {
	om, ok := capability[herder.OffsetsManager](s, w, r)
	if !ok {
		return
	}
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	msg, err := om.ResetConnectorOffsets(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	writeJSON(w, http.StatusOK, msg)
}

// parseOffsetsRequest reads the body of PATCH /connectors/{c}/offsets. It
// checks the shape only (objects where Kafka Connect has maps); whether a
// partition and offset make sense for the connector is the herder's to
// say. A missing or null offset comes back as nil: a removal.
func parseOffsetsRequest(body []byte) ([]herder.ConnectorOffset, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	raw, ok := obj["offsets"]
	if !ok || kindOf(raw) == "null" {
		return nil, herder.BadRequest(msgNoOffsets)
	}
	if k := kindOf(raw); k != "array" {
		return nil, herder.BadRequest(`Field "offsets" must be a JSON array of {"partition": {...}, "offset": {...}} objects, not %s`, article(k))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, malformed(err)
	}
	if len(elems) == 0 {
		return nil, herder.BadRequest(msgNoOffsets)
	}
	out := make([]herder.ConnectorOffset, 0, len(elems))
	for i, e := range elems {
		if k := kindOf(e); k != "object" {
			return nil, herder.BadRequest(`Element %d of "offsets" must be a JSON object {"partition": {...}, "offset": {...}}, not %s`, i, article(k))
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(e, &fields); err != nil {
			return nil, malformed(err)
		}
		var co herder.ConnectorOffset
		for _, f := range []struct {
			name string
			dst  *json.RawMessage
		}{{"partition", &co.Partition}, {"offset", &co.Offset}} {
			v, ok := fields[f.name]
			if !ok || kindOf(v) == "null" {
				continue
			}
			if k := kindOf(v); k != "object" {
				return nil, herder.BadRequest(`Field %q of element %d of "offsets" must be a JSON object or null, not %s`, f.name, i, article(k))
			}
			*f.dst = v
		}
		out = append(out, co)
	}
	return out, nil
}
