package transforms

import (
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// ReplaceField: Kafka Connect's org.apache.kafka.connect.transforms.ReplaceField$Key and $Value.

var replaceFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "exclude", Type: connect.TypeList, Importance: connect.Medium,
		Doc: "Fields to drop. Exclusion wins over include."},
	connect.ConfigKey{Name: "blacklist", Type: connect.TypeList, Importance: connect.Low,
		Doc: "Deprecated alias of exclude, used when exclude is not set."},
	connect.ConfigKey{Name: "include", Type: connect.TypeList, Importance: connect.Medium,
		Doc: "Fields to keep; when set, every other field is dropped."},
	connect.ConfigKey{Name: "whitelist", Type: connect.TypeList, Importance: connect.Low,
		Doc: "Deprecated alias of include, used when include is not set."},
	connect.ConfigKey{Name: "renames", Type: connect.TypeList, Importance: connect.Medium,
		Validator: func(v any) error {
			_, err := parseRenames(v.([]string))
			return err
		},
		Doc: "Fields to rename, as old:new pairs, e.g. foo:bar,abc:xyz."},
	replaceNullKey,
)

// javaSplit splits s at sep as Java's String.split does: trailing empty
// strings are dropped (so "a:" is ["a"], and ":" is []).
func javaSplit(s string, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// javaList renders a list as Java's List.toString does.
func javaList(l []string) string { return "[" + strings.Join(l, ", ") + "]" }

func parseRenames(mappings []string) (map[string]string, error) {
	m := make(map[string]string, len(mappings))
	for _, mapping := range mappings {
		parts := javaSplit(mapping, ":")
		if len(parts) != 2 {
			return nil, errf("Invalid rename mapping: %s", mapping)
		}
		m[parts[0]] = parts[1]
	}
	return m, nil
}

type replaceField struct {
	part             part
	exclude, include map[string]bool
	renames          map[string]string
	reverse          map[string]string
	excludeList      []string    // exclude, as a list
	renameList       [][2]string // renames, as old/new pairs
	withDefault      bool
	cache            schemaCache[*replacePlan]
}

// replacePlan is the schema ReplaceField builds for one input schema and,
// for each of its fields, the input field it copies.
type replacePlan struct {
	schema *connect.Schema
	from   []connect.Field
}

// deprecatedList returns key's list, or the deprecated alias's when key
// is unset and the alias is set, as Kafka Connect's
// ConfigUtils.translateDeprecatedConfigs did.
func deprecatedList(cfg *connect.Config, key, alias string) []string {
	raw := cfg.Raw()
	if _, ok := raw[key]; !ok {
		if _, ok := raw[alias]; ok {
			return cfg.List(alias)
		}
	}
	return cfg.List(key)
}

func newReplaceField(p part) func(*connect.Config, Env) (updater, error) {
	return func(cfg *connect.Config, _ Env) (updater, error) {
		renames, err := parseRenames(cfg.List("renames"))
		if err != nil {
			v := javaList(cfg.List("renames"))
			return nil, keyError("renames", &v, "%v", err)
		}
		t := &replaceField{part: p, exclude: map[string]bool{}, include: map[string]bool{},
			renames: renames, reverse: make(map[string]string, len(renames)),
			withDefault: cfg.Bool("replace.null.with.default")}
		for _, f := range deprecatedList(cfg, "exclude", "blacklist") {
			t.exclude[f] = true
		}
		for _, f := range deprecatedList(cfg, "include", "whitelist") {
			t.include[f] = true
		}
		for k, v := range renames {
			t.reverse[v] = k
			t.renameList = append(t.renameList, [2]string{k, v})
		}
		for k := range t.exclude {
			t.excludeList = append(t.excludeList, k)
		}
		return t, nil
	}
}

func (t *replaceField) keep(name string) bool {
	return !t.exclude[name] && (len(t.include) == 0 || t.include[name])
}

func (t *replaceField) renamed(name string) string {
	if n, ok := t.renames[name]; ok {
		return n
	}
	return name
}

const replacePurpose = "field replacement"

func (t *replaceField) update(r *connect.Record, own *owned) (bool, error) {
	v := t.part.value(r)
	if v == nil {
		return true, nil
	}
	if t.part.schema(r) == nil {
		m, err := requireMap(v, replacePurpose)
		if err != nil {
			return false, err
		}
		t.part.setFresh(r, own, nil, t.replaceMap(m, own, t.part.owns(own)))
		return true, nil
	}
	sv, err := requireStruct(v, replacePurpose)
	if err != nil {
		return false, err
	}
	plan, err := t.cache.get(sv.Schema(), t.buildPlan)
	if err != nil {
		return false, err
	}
	out := own.structToFill(plan.schema)
	for i, f := range plan.from {
		setField(out, i, field(sv, f, t.withDefault))
	}
	t.part.setFresh(r, own, plan.schema, out)
	return true, nil
}

func (t *replaceField) buildPlan(in *connect.Schema) (*replacePlan, error) {
	var fields []connect.Field
	for _, f := range in.Fields {
		if t.keep(f.Name) {
			fields = append(fields, connect.Field{Name: t.renamed(f.Name), Schema: f.Schema})
		}
	}
	s, err := newStructSchema(in, fields)
	if err != nil {
		return nil, err
	}
	plan := &replacePlan{schema: s, from: make([]connect.Field, len(s.Fields))}
	for i, f := range s.Fields {
		src := f.Name
		if o, ok := t.reverse[src]; ok {
			src = o
		}
		of, ok := in.Field(src)
		if !ok {
			return nil, dataErr("%s is not a valid field name", src)
		}
		plan.from[i] = of
	}
	return plan, nil
}

// replaceMap is Kafka Connect's loop over the entries of m, keeping those
// filter allows, under their new names. Without include it copies m whole
// (a map clone is several times faster than a rebuild) and edits the copy:
// the excluded and renamed keys are deleted before the new names are set,
// so renames that swap or chain names (a:b,b:c) read the original values.
//
// A map the chain made (owned) is edited in place.
func (t *replaceField) replaceMap(m map[string]any, own *owned, owned bool) map[string]any {
	if len(t.include) > 0 {
		out := own.newMap(len(t.include))
		for k, fv := range m {
			if t.keep(k) {
				out[t.renamed(k)] = fv
			}
		}
		return out
	}
	// Read the renamed values first: in place, the deletes below change m.
	var buf [8]any
	vals := buf[:0]
	if len(t.renameList) > len(buf) {
		vals = make([]any, 0, len(t.renameList))
	}
	present := uint64(0) // bit i: renameList[i] applies (first 64)
	for i, rn := range t.renameList {
		v, ok := m[rn[0]]
		vals = append(vals, v)
		if ok && !t.exclude[rn[0]] && i < 64 {
			present |= 1 << i
		}
	}
	out := m
	if !owned {
		out = own.cloneMap(m)
	}
	for _, k := range t.excludeList {
		delete(out, k)
	}
	for i, rn := range t.renameList {
		if present&(1<<i) != 0 {
			delete(out, rn[0])
		}
	}
	for i, rn := range t.renameList {
		if present&(1<<i) != 0 {
			out[rn[1]] = vals[i]
		}
	}
	return out
}

func (t *replaceField) mapsPart() (part, bool) { return t.part, true }

// fieldPlan: each kept field from the input field it renames.
func (t *replaceField) fieldPlan(in *connect.Schema) (*fieldPlan, error) {
	plan, err := t.cache.get(in, t.buildPlan)
	if err != nil {
		return nil, err
	}
	p := &fieldPlan{schema: plan.schema, src: make([]fieldSource, len(plan.from))}
	for i, f := range plan.from {
		p.src[i] = fieldSource{from: f.Index, ops: defaultOp(f, t.withDefault)}
	}
	return p, nil
}
