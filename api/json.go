package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/connectd/connectd/framework/herder"
)

// MaxBodyBytes bounds a request body. Connector configs are small; the limit
// only stops a client from making the worker buffer without end.
const MaxBodyBytes = 10 << 20

// writeJSON writes v as the response body. Like Kafka Connect's Jackson, it
// leaves <, > and & unescaped.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a type with no JSON form gets here: a bug, not a client error.
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(&APIError{Code: status, Message: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errNoBody is returned by parseJSON for an empty body or a JSON null.
var errNoBody = herder.BadRequest("Request body is missing: expected a JSON object")

// readBody reads a request body, up to MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, herder.BadRequest("Cannot read request body: %v", err)
	}
	return body, nil
}

// parseJSON checks that body is one JSON value, and not null.
func parseJSON(body []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errNoBody
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, malformed(err)
	}
	if kindOf(raw) == "null" {
		return nil, errNoBody
	}
	return raw, nil
}

// parseObject parses a body that must be one JSON object and returns its
// members undecoded, so each field can be checked with a message that names
// it.
func parseObject(body []byte) (map[string]json.RawMessage, error) {
	raw, err := parseJSON(body)
	if err != nil {
		return nil, err
	}
	if k := kindOf(raw); k != "object" {
		return nil, herder.BadRequest("Request body must be a JSON object, not %s", article(k))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, malformed(err)
	}
	return obj, nil
}

// parseConfig parses a body that is a connector config.
func parseConfig(body []byte) (map[string]string, error) {
	raw, err := parseJSON(body)
	if err != nil {
		return nil, err
	}
	return decodeConfig(raw, "Request body")
}

func malformed(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return herder.BadRequest("Malformed JSON in request body at byte %d: %v", se.Offset, err)
	}
	return herder.BadRequest("Malformed JSON in request body: %v", err)
}

// decodeConfig turns a JSON object into a connector config. Kafka Connect
// reads configs with Jackson into Map<String, String>, which takes numbers and
// booleans as their text, so {"tasks.max": 1} works there and must work here.
// Null, arrays and objects have no string form; they are rejected, naming
// each such key.
func decodeConfig(raw json.RawMessage, what string) (map[string]string, error) {
	if k := kindOf(raw); k != "object" {
		return nil, herder.BadRequest("%s must be a JSON object of strings, not %s", what, article(k))
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, malformed(err)
	}
	config := make(map[string]string, len(members))
	var bad []string
	for key, v := range members {
		switch k := kindOf(v); k {
		case "string":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, malformed(err)
			}
			config[key] = s
		case "number", "boolean":
			config[key] = string(bytes.TrimSpace(v))
		default:
			bad = append(bad, fmt.Sprintf("%q is %s", key, article(k)))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, herder.BadRequest("Config values must be strings: %s", strings.Join(bad, ", "))
	}
	return config, nil
}

// kindOf names the JSON type of a well-formed value.
func kindOf(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func article(kind string) string {
	switch kind {
	case "null", "nothing":
		return kind
	case "object", "array":
		return "an " + kind
	}
	return "a " + kind
}

// stringField reads an optional string member of a request object. It
// returns nil when the member is absent or null.
func stringField(obj map[string]json.RawMessage, name string) (*string, error) {
	v, ok := obj[name]
	if !ok || kindOf(v) == "null" {
		return nil, nil
	}
	if k := kindOf(v); k != "string" {
		return nil, herder.BadRequest("Field %q must be a string, not %s", name, article(k))
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, malformed(err)
	}
	return &s, nil
}

// queryBool reads a boolean query parameter the way JAX-RS does with
// Boolean.valueOf: absent means def, and any value but "true" (in any case)
// means false.
func queryBool(r *http.Request, name string, def bool) bool {
	vals, ok := r.URL.Query()[name]
	if !ok || len(vals) == 0 {
		return def
	}
	return strings.EqualFold(vals[0], "true")
}
