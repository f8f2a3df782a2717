package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/connectd/connectd/framework/herder"
)

// patchConnectorConfig serves PATCH /connectors/{c}/config (KIP-477): the
// body's keys are merged into the connector's config, a key whose value is
// null is removed, and the result is validated and stored as a PUT's
// would be. It answers 200 with the connector's info; an unknown connector
// is 404, as the endpoint never creates one.
func (s *Server) patchConnectorConfig(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	patch, err := parsePatch(body)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	// A patch may not rename the connector: the name in the config must
	// stay the one in the URL, as a PUT's must.
	if v, ok := patch[nameConfig]; ok && v != nil && *v != name {
		s.fail(w, r, herder.BadRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", *v, name), "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	var info herder.ConnectorInfo
	if p, ok := s.h.(herder.ConfigPatcher); ok {
		info, err = p.PatchConnectorConfig(ctx, name, patch)
	} else {
		// A herder that cannot patch in one step: read, merge, replace.
		var cur map[string]string
		if cur, err = s.h.ConnectorConfig(ctx, name); err == nil {
			merged := herder.PatchConfig(cur, patch)
			merged[nameConfig] = name
			info, _, err = s.h.PutConnectorConfig(ctx, name, merged, true)
		}
	}
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	writeJSON(w, http.StatusOK, normInfo(info))
}

// parsePatch reads a config patch: a JSON object whose values are strings
// (numbers and booleans taken as their text, as for a PUT) or null, which
// removes the key.
func parsePatch(body []byte) (map[string]*string, error) {
	raw, err := parseJSON(body)
	if err != nil {
		return nil, err
	}
	if k := kindOf(raw); k != "object" {
		return nil, herder.BadRequest("Request body must be a JSON object of strings or nulls, not %s", article(k))
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, malformed(err)
	}
	patch := make(map[string]*string, len(members))
	var bad []string
	for key, v := range members {
		switch k := kindOf(v); k {
		case "null":
			patch[key] = nil
		case "string":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, malformed(err)
			}
			patch[key] = &s
		case "number", "boolean":
			s := string(bytes.TrimSpace(v))
			patch[key] = &s
		default:
			bad = append(bad, fmt.Sprintf("%q is %s", key, article(k)))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, herder.BadRequest("Config values must be strings or null: %s", strings.Join(bad, ", "))
	}
	return patch, nil
}
