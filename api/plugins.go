package api

import (
	"net/http"

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
	fillPluginClass(plugin, config)
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

// fillPluginClass fills in an absent connector.class from the path (Kafka
// Connect would answer 400 "contains no connector type", but the path
// already says which plugin). Whether a present connector.class names the
// same plugin is the herder's to decide: only it knows the aliases (a
// Debezium or Confluent class name standing for a connectd plugin).
func fillPluginClass(plugin string, config map[string]string) {
	if _, ok := config[connectorClassConfig]; !ok {
		config[connectorClassConfig] = plugin
	}
}
