package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/configprovider"
	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
	"github.com/connectd/connectd/framework/herder"
	"github.com/connectd/connectd/framework/plugin"
	"github.com/connectd/connectd/transforms"
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
	extra := map[string][]string{}
	raw := config
	if resolved, err := w.ResolveConfig(ctx, config); err != nil {
		// Each placeholder that cannot be resolved is an error of its key;
		// the rest is checked as written.
		for _, e := range resolveErrors(err) {
			extra[e.ConfigKey] = append(extra[e.ConfigKey], e.Error())
		}
	} else {
		config = resolved
	}
	fwDef := ConnectorConfigDef(sink).Merge(transforms.ConfigDef(config))
	for k, msgs := range transforms.Validate(config) {
		extra[k] = append(extra[k], msgs...)
	}
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
		if dlq := strings.TrimSpace(config[plugin.KeyDLQTopic]); dlq != "" {
			if slices.Contains(topics, dlq) {
				extra[KeyTopics] = append(extra[KeyTopics], fmt.Sprintf("The DLQ topic '%s' may not be included in the list of topics ('%s=[%s]') consumed by the connector", dlq, KeyTopics, strings.Join(topics, ", ")))
			}
			if re != "" {
				if p, err := regexp.Compile("^(?:" + re + ")$"); err == nil && p.MatchString(dlq) {
					extra[KeyTopicsRegex] = append(extra[KeyTopicsRegex], fmt.Sprintf("The DLQ topic '%s' may not be matched by the regex for the topics ('%s=%s') consumed by the connector", dlq, KeyTopicsRegex, re))
				}
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
	w.clientOverrideErrors(config, extra)

	vctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client, err := entry.Launch(vctx, "validate", w.Logger)
	if err != nil {
		return herder.ConfigInfos{}, nil, fmt.Errorf("validate with plugin %s: %w", entry.Info.Name, w.redactErr(err))
	}
	defer client.Close()
	if !sink {
		_, tcErrs := parseTopicCreation(config)
		for k, msgs := range tcErrs {
			extra[k] = append(extra[k], msgs...)
		}
		if err := w.exactlyOnceErrors(vctx, client, config, extra); err != nil {
			return herder.ConfigInfos{}, nil, fmt.Errorf("validate with plugin %s: %w", entry.Info.Name, w.redactErr(err))
		}
	}
	infos := herder.Validation(entry.Info.Name, fwDef, config, extra)
	values, pextra, err := client.Validate(vctx, config)
	if err != nil {
		return herder.ConfigInfos{}, nil, fmt.Errorf("validate with plugin %s: %w", entry.Info.Name, w.redactErr(err))
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
	return w.finishValidation(infos, raw, extra), entry, nil
}

// finishValidation completes a validate response: messages for keys no
// definition holds get entries of their own, a message reported twice
// (by the definition and by the transform chain's checks) is kept once,
// values show the config as given (placeholders, not what they resolve
// to), and no message shows a resolved secret.
func (w *Worker) finishValidation(infos herder.ConfigInfos, raw map[string]string, extra map[string][]string) herder.ConfigInfos {
	seen := map[string]bool{}
	for _, c := range infos.Configs {
		seen[c.Definition.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		if seen[name] {
			continue
		}
		var val *string
		if v, ok := raw[name]; ok {
			val = &v
		}
		ki := herder.ConfigKeyInfo{Name: name, Type: string(connect.TypeString), Importance: string(connect.Low), Width: string(connect.WidthNone), DisplayName: name, Dependents: []string{}}
		infos.Add(ki, connect.ConfigValue{Name: name, Value: val, Visible: true}, extra[name])
	}
	infos.ErrorCount = 0
	for i := range infos.Configs {
		v := &infos.Configs[i].Value
		var errs []string
		for _, e := range v.Errors {
			e = w.redact(e)
			if !slices.Contains(errs, e) {
				errs = append(errs, e)
			}
		}
		if errs == nil {
			errs = []string{}
		}
		v.Errors = errs
		infos.ErrorCount += len(errs)
		if r, ok := raw[v.Name]; ok && v.Value != nil && *v.Value != configprovider.Hidden {
			v.Value = &r
		} else if v.Value != nil {
			red := w.redact(*v.Value)
			v.Value = &red
		}
	}
	return infos
}

// resolveErrors lists the placeholders ResolveConfig could not resolve.
func resolveErrors(err error) []*configprovider.ResolveError {
	var out []*configprovider.ResolveError
	var walk func(error)
	walk = func(e error) {
		var re *configprovider.ResolveError
		if errors.As(e, &re) && e == error(re) {
			out = append(out, re)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}
