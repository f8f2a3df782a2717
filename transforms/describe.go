package transforms

import (
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// ConfigDef returns the definitions of the chain keys that config sets up,
// as Kafka Connect's ConnectorConfig.enrich adds them to a connector's
// definition: transforms and predicates; for each transform alias a,
// transforms.a.type, transforms.a.predicate, transforms.a.negate and the
// keys of a's type under transforms.a.; for each predicate alias p,
// predicates.p.type and its type's keys under predicates.p. (An alias whose
// type is unknown gets only its type key.) Keys are grouped per alias
// ("Transforms: a"), for the REST API's validate response.
//
// Take the problems from Validate, not from this definition's own Validate:
// Validate also reports what spans several keys, and builds each plugin.
func ConfigDef(config map[string]string) *connect.ConfigDef {
	return builtin.ConfigDef(config)
}

// ConfigDef describes the chain keys of config; see the package-level ConfigDef.
func (r *Registry) ConfigDef(config map[string]string) *connect.ConfigDef {
	def := connect.NewConfigDef(
		connect.ConfigKey{Name: KeyTransforms, Type: connect.TypeList, Importance: connect.Low, Group: "Transforms",
			Width: connect.WidthLong, DisplayName: "Transforms", Doc: "Aliases for the transformations to be applied to records, in order."},
		connect.ConfigKey{Name: KeyPredicates, Type: connect.TypeList, Importance: connect.Low, Group: "Predicates",
			Width: connect.WidthLong, DisplayName: "Predicates", Doc: "Aliases for the predicates used by transformations."},
	)
	seen := map[string]bool{}
	for _, alias := range connect.SplitList(config[KeyTransforms]) {
		if seen[alias] {
			continue
		}
		seen[alias] = true
		prefix := KeyTransforms + "." + alias + "."
		group := "Transforms: " + alias
		classes := make([]string, 0, len(r.tOrder))
		for _, t := range r.tOrder {
			classes = append(classes, t.Class)
		}
		def.Define(connect.ConfigKey{Name: prefix + KeyType, Type: connect.TypeClass, Required: true, Importance: connect.High,
			Group: group, Width: connect.WidthLong, DisplayName: "Transformation type for " + alias, Recommended: classes,
			Doc: "Class for the '" + alias + "' transformation: a class name or a short name such as InsertField$Value."})
		def.Define(connect.ConfigKey{Name: prefix + KeyPredicate, Type: connect.TypeString, Importance: connect.Medium, Group: group,
			Doc: "The alias of a predicate used to determine whether to apply this transformation."})
		def.Define(connect.ConfigKey{Name: prefix + KeyNegate, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium,
			Group: group, Doc: "Whether the configured predicate should be negated."})
		if t, ok := r.transforms[strings.TrimSpace(config[prefix+KeyType])]; ok {
			embed(def, prefix, group, t.Config, true)
		}
	}
	clear(seen)
	for _, alias := range connect.SplitList(config[KeyPredicates]) {
		if seen[alias] {
			continue
		}
		seen[alias] = true
		prefix := KeyPredicates + "." + alias + "."
		group := "Predicates: " + alias
		classes := make([]string, 0, len(r.pOrder))
		for _, p := range r.pOrder {
			classes = append(classes, p.Class)
		}
		def.Define(connect.ConfigKey{Name: prefix + KeyType, Type: connect.TypeClass, Required: true, Importance: connect.High,
			Group: group, Width: connect.WidthLong, DisplayName: "Predicate type for " + alias, Recommended: classes,
			Doc: "Class for the '" + alias + "' predicate: a class name or a short name such as TopicNameMatches."})
		if p, ok := r.predicates[strings.TrimSpace(config[prefix+KeyType])]; ok {
			embed(def, prefix, group, p.Config, false)
		}
	}
	return def
}

// embed adds src's keys to def under prefix, as Kafka's ConfigDef.embed.
// A transform's own predicate and negate keys are masked by the chain's.
func embed(def *connect.ConfigDef, prefix, group string, src *connect.ConfigDef, transform bool) {
	for _, k := range src.Keys() {
		if transform && (k.Name == KeyPredicate || k.Name == KeyNegate) {
			continue
		}
		k.Name = prefix + k.Name
		k.Group = group
		def.Define(k)
	}
}
