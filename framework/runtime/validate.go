package runtime

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
)

// Validate checks a connector config: the framework's keys here, the
// plugin's keys in the plugin (its validators do not cross the process
// boundary). class names the plugin; config's connector.class, when set,
// must name the same one.
func Validate(ctx context.Context, w *Worker, class string, config map[string]string) (herder.ConfigInfos, *PluginEntry, error) {
	if class == "" {
		return herder.ConfigInfos{}, nil, herder.BadRequest("Connector config contains no connector type: set %s", KeyConnectorClass)
	}
	entry, err := w.Plugins.Lookup(class)
	if err != nil {
		return herder.ConfigInfos{}, nil, herder.BadRequest("%s", err.Error())
	}
	if cc := config[KeyConnectorClass]; cc != "" {
		other, err := w.Plugins.Lookup(cc)
		if err != nil {
			return herder.ConfigInfos{}, nil, herder.BadRequest("%s", err.Error())
		}
		if other != entry {
			return herder.ConfigInfos{}, nil, herder.BadRequest("Included connector type %s does not match request type %s", cc, class)
		}
	}
	sink := entry.Info.Kind == plugin.Sink
	fwDef := ConnectorConfigDef(sink)
	extra := map[string][]string{}
	if sink {
		topics, re := connect.SplitList(config[KeyTopics]), config[KeyTopicsRegex]
		switch {
		case len(topics) > 0 && re != "":
			msg := "topics and topics.regex are mutually exclusive options, but both are set."
			extra[KeyTopics] = append(extra[KeyTopics], msg)
			extra[KeyTopicsRegex] = append(extra[KeyTopicsRegex], msg)
		case len(topics) == 0 && re == "":
			msg := "Must configure one of topics or topics.regex"
			extra[KeyTopics] = append(extra[KeyTopics], msg)
			extra[KeyTopicsRegex] = append(extra[KeyTopicsRegex], msg)
		case re != "":
			if _, err := regexp.Compile(re); err != nil {
				extra[KeyTopicsRegex] = append(extra[KeyTopicsRegex], fmt.Sprintf("Invalid value %s for configuration %s: %v", re, KeyTopicsRegex, err))
			}
		}
	}
	for _, k := range []string{KeyKeyConverter, KeyValueConverter} {
		if v := config[k]; v != "" {
			if _, err := converters.New(v); err != nil {
				extra[k] = append(extra[k], fmt.Sprintf("Invalid value %s for configuration %s: %v", v, k, err))
			}
		}
	}
	if v := config[KeyHeaderConverter]; v != "" {
		if _, err := converters.NewHeader(v); err != nil {
			extra[KeyHeaderConverter] = append(extra[KeyHeaderConverter], fmt.Sprintf("Invalid value %s for configuration %s: %v", v, KeyHeaderConverter, err))
		}
	}
	if len(extra[KeyKeyConverter])+len(extra[KeyValueConverter])+len(extra[KeyHeaderConverter]) == 0 {
		// Converter sub-keys (key.converter.schemas.enable, ...) are checked
		// by building the converters, as the task will.
		if _, err := converters.FromConfig(config, w.Config.ConverterDefaults()); err != nil {
			extra[KeyValueConverter] = append(extra[KeyValueConverter], err.Error())
		}
	}
	infos := herder.Validation(entry.Info.Name, fwDef, config, extra)

	vctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client, err := entry.Launch(vctx, "validate", w.Logger)
	if err != nil {
		return herder.ConfigInfos{}, nil, fmt.Errorf("validate with plugin %s: %w", entry.Info.Name, err)
	}
	defer client.Close()
	values, pextra, err := client.Validate(vctx, config)
	if err != nil {
		return herder.ConfigInfos{}, nil, fmt.Errorf("validate with plugin %s: %w", entry.Info.Name, err)
	}
	keyInfos := map[string]herder.ConfigKeyInfo{}
	for _, ki := range herder.KeyInfos(entry.Info.Config) {
		keyInfos[ki.Name] = ki
	}
	for _, v := range values {
		if _, dup := fwDef.Key(v.Name); dup {
			continue
		}
		ki, ok := keyInfos[v.Name]
		if !ok { // a key the plugin's Validator named but did not define
			ki = herder.ConfigKeyInfo{Name: v.Name, Type: string(connect.TypeString), Importance: string(connect.Low), Width: string(connect.WidthNone), DisplayName: v.Name, Dependents: []string{}}
		}
		infos.Add(ki, v, pextra[v.Name])
	}
	return infos, entry, nil
}
