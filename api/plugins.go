package api

import (
	"net/http"
	"strings"

	"github.com/connectd/connectd/framework/herder"
)

// connectorClassConfig is the config key naming a connector's plugin.
const connectorClassConfig = "connector.class"

// listPlugins answers GET /connector-plugins. connectorsOnly defaults to
// true, as in Kafka Connect, which then lists only source and sink plugins.
func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	plugins, err := s.h.Plugins(ctx)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := []herder.PluginInfo{}
	connectorsOnly := queryBool(r, "connectorsOnly", true)
	for _, p := range plugins {
		if connectorsOnly && p.Type != string(herder.Source) && p.Type != string(herder.Sink) {
			continue
		}
		out = append(out, p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPluginConfig(w http.ResponseWriter, r *http.Request) {
	plugin := pathParam(r, "plugin")
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	keys, err := s.h.PluginConfig(ctx, plugin)
	if err != nil {
		s.fail(w, r, err, "Plugin "+plugin)
		return
	}
	if keys == nil {
		keys = []herder.ConfigKeyInfo{}
	}
	writeJSON(w, http.StatusOK, keys)
}

// validateConfig answers PUT /connector-plugins/{p}/config/validate. A
// validation that finds errors is still a 200: the errors are the answer.
func (s *Server) validateConfig(w http.ResponseWriter, r *http.Request) {
	plugin := pathParam(r, "plugin")
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
	if err := checkPluginMatch(plugin, config); err != nil {
		s.fail(w, r, err, "")
		return
	}
	ctx, cancel := s.herderCtx(r)
	defer cancel()
	infos, err := s.h.Validate(ctx, plugin, config)
	if err != nil {
		s.fail(w, r, err, "Plugin "+plugin)
		return
	}
	if infos.Groups == nil {
		infos.Groups = []string{}
	}
	if infos.Configs == nil {
		infos.Configs = []herder.ConfigInfo{}
	}
	writeJSON(w, http.StatusOK, infos)
}

// checkPluginMatch applies Kafka Connect's rule: a connector.class in the
// config must end with the plugin named in the path, both taken without a
// "Connector" suffix, so FileStreamSink and
// org.apache.kafka.connect.file.FileStreamSinkConnector match. An absent
// connector.class is filled in from the path; Kafka Connect would answer
// 400 "contains no connector type", but the path already says which plugin.
// The check is textual: a Java class name that is only an alias of the
// connectd plugin in the path (io.debezium...PostgresConnector against
// postgres-cdc) does not pass it.
func checkPluginMatch(plugin string, config map[string]string) error {
	included, ok := config[connectorClassConfig]
	if !ok {
		config[connectorClassConfig] = plugin
		return nil
	}
	if !strings.HasSuffix(normalizedPluginName(included), normalizedPluginName(plugin)) {
		return herder.BadRequest("Included connector type %s does not match request type %s", included, plugin)
	}
	return nil
}

func normalizedPluginName(name string) string {
	const suffix = "Connector"
	if len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
		return strings.TrimSuffix(name, suffix)
	}
	return name
}
