package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/connectd/connectd/framework/herder"
)

// ConnectorExpansion is one value of GET /connectors?expand=status&expand=info.
type ConnectorExpansion struct {
	Status *herder.ConnectorStatus `json:"status,omitempty"`
	Info   *herder.ConnectorInfo   `json:"info,omitempty"`
}

// InitialStateCreator is implemented by a herder that can create a connector
// in a target state other than STARTED, which POST /connectors asks for with
// "initial_state": "PAUSED" or "STOPPED" (Kafka Connect 3.5+). The connector
// must never run before it reaches that state, which is why creating it and
// then pausing it will not do. Like PutConnectorConfig with allowReplace
// false, it returns herder.ErrAlreadyExists for an existing connector.
type InitialStateCreator interface {
	CreateConnectorInState(ctx context.Context, name string, config map[string]string, state herder.TargetState) (herder.ConnectorInfo, error)
}

// nameConfig is the config key that holds a connector's name.
const nameConfig = "name"

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	names, err := s.h.Connectors(ctx)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	// Kafka Connect switches to the map form when the parameter is present
	// at all, and ignores expansions it does not know.
	expand, ok := r.URL.Query()["expand"]
	if !ok {
		if names == nil {
			names = []string{}
		}
		writeJSON(w, http.StatusOK, names)
		return
	}
	var wantStatus, wantInfo bool
	for _, e := range expand {
		switch e {
		case "status":
			wantStatus = true
		case "info":
			wantInfo = true
		}
	}
	out := make(map[string]ConnectorExpansion, len(names))
	for _, name := range names {
		var x ConnectorExpansion
		if wantStatus {
			st, err := s.h.ConnectorStatus(ctx, name)
			if errors.Is(err, herder.ErrNotFound) {
				continue // deleted since the listing
			}
			if err != nil {
				s.fail(w, r, err, connectorSubject(name))
				return
			}
			st = normStatus(st)
			x.Status = &st
		}
		if wantInfo {
			info, err := s.h.ConnectorInfo(ctx, name)
			if errors.Is(err, herder.ErrNotFound) {
				continue
			}
			if err != nil {
				s.fail(w, r, err, connectorSubject(name))
				return
			}
			info = normInfo(info)
			x.Info = &info
		}
		out[name] = x
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	name, config, state, err := parseCreateRequest(body)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	var info herder.ConnectorInfo
	if state == herder.TargetStarted {
		info, _, err = s.h.PutConnectorConfig(ctx, name, config, false)
	} else if c, ok := s.h.(InitialStateCreator); ok {
		info, err = c.CreateConnectorInState(ctx, name, config, state)
	} else {
		err = herder.BadRequest("This worker cannot create a connector in initial_state %s", initialStateName(state))
	}
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	w.Header().Set("Location", connectorLocation(name))
	writeJSON(w, http.StatusCreated, normInfo(info))
}

// parseCreateRequest reads the body of POST /connectors:
// {"name": ..., "config": {...}, "initial_state": ...}. It is separate from
// the handler so that it can be fuzzed.
func parseCreateRequest(body []byte) (name string, config map[string]string, state herder.TargetState, err error) {
	obj, err := parseObject(body)
	if err != nil {
		return "", nil, "", err
	}
	nameField, err := stringField(obj, "name")
	if err != nil {
		return "", nil, "", err
	}
	raw, ok := obj["config"]
	if !ok || kindOf(raw) == "null" {
		return "", nil, "", herder.BadRequest(`Missing required field "config": the connector's configuration, a JSON object of strings`)
	}
	config, err = decodeConfig(raw, `Field "config"`)
	if err != nil {
		return "", nil, "", err
	}
	switch {
	case nameField != nil:
		// Kafka Connect trims the name given in the body, then requires
		// config's name, if any, to match it exactly.
		name = javaTrim(*nameField)
		if err := checkAndPutName(name, config); err != nil {
			return "", nil, "", err
		}
	case config[nameConfig] != "":
		// Kafka Connect would reject this (an absent name is "", which the
		// config's name does not match). Accepting the name from the config
		// lets a connector file be posted as it is.
		name = javaTrim(config[nameConfig])
		config[nameConfig] = name
	default:
		return "", nil, "", herder.BadRequest(`Missing required field "name": the connector's name`)
	}
	if err := validateName(name); err != nil {
		return "", nil, "", err
	}
	state = herder.TargetStarted
	if st, err := stringField(obj, "initial_state"); err != nil {
		return "", nil, "", err
	} else if st != nil {
		switch strings.ToUpper(*st) {
		case "RUNNING":
		case "PAUSED":
			state = herder.TargetPaused
		case "STOPPED":
			state = herder.TargetStopped
		default:
			return "", nil, "", herder.BadRequest(`Invalid value %q for field "initial_state": must be one of RUNNING, PAUSED, STOPPED`, *st)
		}
	}
	return name, config, state, nil
}

func initialStateName(s herder.TargetState) string {
	if s == herder.TargetStarted {
		return "RUNNING"
	}
	return string(s)
}

// javaTrim trims as Java's String.trim does: every char up to U+0020.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// checkAndPutName requires config's name, when present, to equal name, and
// sets it when absent. The message is Kafka Connect's.
func checkAndPutName(name string, config map[string]string) error {
	if included, ok := config[nameConfig]; ok {
		if included != name {
			return herder.BadRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", included, name)
		}
		return nil
	}
	config[nameConfig] = name
	return nil
}

// validateName applies Kafka Connect's rule for connector names
// (ConfigDef.NonEmptyStringWithoutControlChars: not empty, no ISO control
// characters), and also refuses surrounding whitespace, which POST trims
// but a PUT path could otherwise bring in.
func validateName(name string) error {
	if name == "" {
		return herder.BadRequest(`Invalid value "" for configuration name: String may not be empty`)
	}
	var controls []string
	for _, r := range name {
		// unicode.IsControl is exactly Java's Character.isISOControl:
		// U+0000-U+001F and U+007F-U+009F.
		if unicode.IsControl(r) {
			controls = append(controls, strconv.Itoa(int(r)))
		}
	}
	if len(controls) > 0 {
		return herder.BadRequest("Invalid value %q for configuration name: String may not contain control sequences but had the following ASCII chars: %s",
			name, strings.Join(controls, ", "))
	}
	if strings.TrimSpace(name) != name {
		return herder.BadRequest("Invalid value %q for configuration name: String may not begin or end with whitespace", name)
	}
	return nil
}

func connectorLocation(name string) string { return "/connectors/" + url.PathEscape(name) }

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	info, err := s.h.ConnectorInfo(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	writeJSON(w, http.StatusOK, normInfo(info))
}

func (s *Server) getConnectorConfig(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	config, err := s.h.ConnectorConfig(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	if config == nil {
		config = map[string]string{}
	}
	writeJSON(w, http.StatusOK, config)
}

func (s *Server) putConnectorConfig(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	if err := validateName(name); err != nil {
		s.fail(w, r, err, "")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	config, err := parseConfig(body)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	if err := checkAndPutName(name, config); err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	info, created, err := s.h.PutConnectorConfig(ctx, name, config, true)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", connectorLocation(name))
	}
	writeJSON(w, status, normInfo(info))
}

func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	if err := s.h.DeleteConnector(ctx, name); err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getConnectorStatus(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	st, err := s.h.ConnectorStatus(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	writeJSON(w, http.StatusOK, normStatus(st))
}

func (s *Server) getTaskConfigs(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	tasks, err := s.h.TaskConfigs(ctx, name)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	if tasks == nil {
		tasks = []herder.TaskInfo{}
	}
	for i := range tasks {
		if tasks[i].Config == nil {
			tasks[i].Config = map[string]string{}
		}
	}
	writeJSON(w, http.StatusOK, tasks)
}

// putTaskConfigs serves Kafka Connect's internal POST /connectors/{c}/tasks:
// a worker of a cluster hands the leader the task configs its connector
// generated. Herders without a cluster answer 404, as the path names
// nothing there.
func (s *Server) putTaskConfigs(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	tw, ok := s.h.(herder.TaskConfigWriter)
	if !ok {
		s.notFound(w, r)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	var configs []map[string]string
	if err := json.Unmarshal(body, &configs); err != nil {
		s.fail(w, r, herder.BadRequest("Request body is not a JSON list of task configs: %v", err), "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	ctx = herder.WithInternalRequest(ctx, internalRequest(r, body))
	if err := tw.PutTaskConfigs(ctx, name, configs); err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fenceZombies serves PUT /connectors/{c}/fence, Kafka Connect's internal
// endpoint for zombie fencing (KIP-618): signed, served by the leader.
// Herders that do not run sources exactly once answer 404.
func (s *Server) fenceZombies(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	zf, ok := capability[herder.ZombieFencer](s, w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	ctx = herder.WithInternalRequest(ctx, internalRequest(r, body))
	if err := zf.FenceZombies(ctx, name); err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// internalRequest is what the herder needs to verify an internal request's
// signature (KIP-507).
func internalRequest(r *http.Request, body []byte) *herder.InternalRequest {
	return &herder.InternalRequest{
		Body:               body,
		Signature:          r.Header.Get(herder.SignatureHeader),
		SignatureAlgorithm: r.Header.Get(herder.SignatureAlgorithmHeader),
	}
}

// taskID reads {connector} and {task}. Kafka Connect's task parameter is a
// JAX-RS Integer, and JAX-RS answers a path parameter that does not convert
// with 404: the path names no resource.
func taskID(r *http.Request) (herder.TaskID, error) {
	raw := pathParam(r, "task")
	n, err := strconv.ParseInt(raw, 10, 32)
	if err != nil {
		return herder.TaskID{}, herder.NotFound("Task ID %q is not an integer", raw)
	}
	return herder.TaskID{Connector: pathParam(r, "connector"), Task: int(n)}, nil
}

func (s *Server) getTaskStatus(w http.ResponseWriter, r *http.Request) {
	id, err := taskID(r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	st, err := s.h.TaskStatus(ctx, id)
	if err != nil {
		s.fail(w, r, err, taskSubject(id))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// restartConnector follows Kafka Connect: the plain restart (neither
// includeTasks nor onlyFailed) answers 204 with no body, for clients older
// than KIP-745; any other answers 202 with the status, the restarting
// instances marked RESTARTING.
func (s *Server) restartConnector(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	includeTasks := queryBool(r, "includeTasks", false)
	onlyFailed := queryBool(r, "onlyFailed", false)
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	st, err := s.h.RestartConnector(ctx, name, includeTasks, onlyFailed)
	if err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	if !includeTasks && !onlyFailed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusAccepted, normStatus(st))
}

func (s *Server) restartTask(w http.ResponseWriter, r *http.Request) {
	id, err := taskID(r)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	if err := s.h.RestartTask(ctx, id); err != nil {
		s.fail(w, r, err, taskSubject(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) pauseConnector(w http.ResponseWriter, r *http.Request) {
	s.setTargetState(w, r, herder.TargetPaused, http.StatusAccepted)
}

func (s *Server) resumeConnector(w http.ResponseWriter, r *http.Request) {
	s.setTargetState(w, r, herder.TargetStarted, http.StatusAccepted)
}

// stopConnector answers 204 where pause and resume answer 202: Kafka
// Connect's stop is a void method, the others return 202 Accepted.
func (s *Server) stopConnector(w http.ResponseWriter, r *http.Request) {
	s.setTargetState(w, r, herder.TargetStopped, http.StatusNoContent)
}

func (s *Server) setTargetState(w http.ResponseWriter, r *http.Request, state herder.TargetState, status int) {
	name := pathParam(r, "connector")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	if err := s.h.SetTargetState(ctx, name, state); err != nil {
		s.fail(w, r, err, connectorSubject(name))
		return
	}
	w.WriteHeader(status)
}

// normInfo and normStatus make nil collections empty, so that clients see
// [] and {} as Kafka Connect sends them, never null.
func normInfo(info herder.ConnectorInfo) herder.ConnectorInfo {
	if info.Config == nil {
		info.Config = map[string]string{}
	}
	if info.Tasks == nil {
		info.Tasks = []herder.TaskID{}
	}
	return info
}

func normStatus(st herder.ConnectorStatus) herder.ConnectorStatus {
	if st.Tasks == nil {
		st.Tasks = []herder.TaskState{}
	}
	return st
}
