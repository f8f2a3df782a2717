// Package jsonschema holds JSON Schemas for the JSON Schema converter and
// the schema registry: parsing, the canonical text Confluent's registry
// stores (the document re-written compactly, members in their order), and
// the compatibility check of Confluent's JSON Schema provider (its
// SchemaDiff: each change between two schemas is a typed difference, some
// compatible, some not) for the keywords Kafka Connect's schemas use:
// type, properties, required, additionalProperties, items, the string and
// number bounds, enum, oneOf/anyOf/allOf, title, description, default.
package jsonschema

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connectd/connectd/internal/avro"
)

// Schema is a parsed JSON Schema: the document, in order.
type Schema struct {
	Doc *avro.Value
}

// Parse parses a JSON Schema document: a JSON object, or true or false.
func Parse(text string) (*Schema, error) {
	v, err := avro.ParseJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("jsonschema: invalid JSON: %w", err)
	}
	if v.Kind != avro.ObjectValue && v.Kind != avro.BoolValue {
		return nil, errors.New("jsonschema: a schema is a JSON object or a boolean")
	}
	return &Schema{Doc: v}, nil
}

// String returns the schema's canonical text.
func (s *Schema) String() string { return s.Doc.String() }

// Difference is one change from an old schema to a new one, typed as
// Confluent's JSON Schema Difference.Type.
type Difference struct {
	Type string
	Path string // JSON pointer into the schema, e.g. #/properties/id
}

// compatible lists the difference types Confluent's STRICT policy accepts.
var compatible = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`ID_CHANGED DESCRIPTION_CHANGED TITLE_CHANGED DEFAULT_CHANGED SCHEMA_REMOVED
		TYPE_EXTENDED MAX_LENGTH_INCREASED MAX_LENGTH_REMOVED MIN_LENGTH_DECREASED MIN_LENGTH_REMOVED PATTERN_REMOVED
		MAXIMUM_INCREASED MAXIMUM_REMOVED MINIMUM_DECREASED MINIMUM_REMOVED EXCLUSIVE_MAXIMUM_INCREASED
		EXCLUSIVE_MAXIMUM_REMOVED EXCLUSIVE_MINIMUM_DECREASED EXCLUSIVE_MINIMUM_REMOVED MULTIPLE_OF_REDUCED
		MULTIPLE_OF_REMOVED REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED REQUIRED_ATTRIBUTE_REMOVED
		MAX_PROPERTIES_INCREASED MAX_PROPERTIES_REMOVED MIN_PROPERTIES_DECREASED MIN_PROPERTIES_REMOVED
		ADDITIONAL_PROPERTIES_ADDED ADDITIONAL_PROPERTIES_EXTENDED PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
		REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
		PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL
		MAX_ITEMS_INCREASED MAX_ITEMS_REMOVED MIN_ITEMS_DECREASED MIN_ITEMS_REMOVED UNIQUE_ITEMS_REMOVED
		ENUM_ARRAY_EXTENDED COMBINED_TYPE_EXTENDED PRODUCT_TYPE_NARROWED SUM_TYPE_EXTENDED NOT_TYPE_NARROWED`) {
		compatible[t] = true
	}
}

// Describe formats the difference as Confluent's registry does, naming the
// schemas by their roles in the check ("new" and "old").
func (d Difference) Describe(readerRole, writerRole string) string {
	return fmt.Sprintf(`{errorType:"%s", description:"%s'}`, d.Type, fmt.Sprintf(d.message(), readerRole, writerRole))
}

func (d Difference) message() string {
	p := strings.ReplaceAll(d.Path, "%", "%%")
	switch d.Type {
	case "MAXIMUM_ADDED", "MINIMUM_ADDED", "EXCLUSIVE_MAXIMUM_ADDED", "EXCLUSIVE_MINIMUM_ADDED", "MULTIPLE_OF_ADDED",
		"MAX_LENGTH_ADDED", "MIN_LENGTH_ADDED", "PATTERN_ADDED", "REQUIRED_ATTRIBUTE_ADDED", "MAX_PROPERTIES_ADDED",
		"MIN_PROPERTIES_ADDED", "MAX_ITEMS_ADDED", "MIN_ITEMS_ADDED", "UNIQUE_ITEMS_ADDED", "ADDITIONAL_PROPERTIES_REMOVED":
		return "The keyword at path '" + p + "' in the %s schema is not present in the %s schema"
	case "MIN_LENGTH_INCREASED", "MINIMUM_INCREASED", "EXCLUSIVE_MINIMUM_INCREASED", "MIN_PROPERTIES_INCREASED",
		"MULTIPLE_OF_EXPANDED", "MIN_ITEMS_INCREASED":
		return "The value at path '" + p + "' in the %s schema is more than its value in the %s schema"
	case "MAX_LENGTH_DECREASED", "MAXIMUM_DECREASED", "MAX_ITEMS_DECREASED", "EXCLUSIVE_MAXIMUM_DECREASED", "MAX_PROPERTIES_DECREASED":
		return "The value at path '" + p + "' in the %s schema is less than its value in the %s schema"
	case "PATTERN_CHANGED", "MULTIPLE_OF_CHANGED":
		return "The value at path '" + p + "' is different between the %s and %s schema"
	case "ENUM_ARRAY_NARROWED", "SUM_TYPE_NARROWED", "ADDITIONAL_PROPERTIES_NARROWED":
		return "An array or combined type at path '" + p + "' has fewer elements in the %s schema than the %s schema"
	case "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED":
		return "An array or combined type at path '" + p + "' has more elements in the %s schema than the %s schema"
	case "TYPE_CHANGED", "TYPE_NARROWED", "COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED", "ENUM_ARRAY_CHANGED":
		return "A type at path '" + p + "' is different between the %s schema and the %s schema"
	case "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
		"REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL":
		return "The %s schema has an open content model and has a property or item at path '" + p + "' which is missing in the %s schema"
	case "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
		return "The %s schema has an unopen content model and has a required property at path '" + p + "' which is missing in the %s schema"
	case "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL":
		return "The %s has a closed content model and is missing a property or item present at path '" + p + "' in the %s schema"
	}
	return ""
}

// CheckCompatibility returns the differences that keep reader from
// reading what writer wrote: Confluent's check compares the writer's
// schema (the original) with the reader's (the update) and keeps the
// incompatible changes.
func CheckCompatibility(reader, writer *Schema) []Difference {
	c := &differ{}
	c.compare("#", writer.Doc, reader.Doc, 0)
	var out []Difference
	for _, d := range c.diffs {
		if !compatible[d.Type] {
			out = append(out, d)
		}
	}
	return out
}

type differ struct{ diffs []Difference }

func (c *differ) add(path, typ string) { c.diffs = append(c.diffs, Difference{Type: typ, Path: path}) }

// Types returns the JSON types a schema allows: its "type", else "object"
// for a schema with properties and "array" for one with items, as
// everit's loader infers them; nil for any.
func Types(s *avro.Value) []string {
	if s == nil || s.Kind != avro.ObjectValue {
		return nil
	}
	t := s.Get("type")
	switch {
	case t == nil:
		switch {
		case s.Get("properties") != nil:
			return []string{"object"}
		case s.Get("items") != nil:
			return []string{"array"}
		}
		return nil
	case t.Kind == avro.StringValue:
		return []string{t.Str}
	case t.Kind == avro.ArrayValue:
		var out []string
		for _, e := range t.Arr {
			out = append(out, e.Str)
		}
		return out
	}
	return nil
}

func combined(s *avro.Value) (string, []*avro.Value) {
	if s == nil || s.Kind != avro.ObjectValue {
		return "", nil
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if v := s.Get(k); v != nil && v.Kind == avro.ArrayValue {
			return k, v.Arr
		}
	}
	return "", nil
}

func (c *differ) compare(path string, orig, upd *avro.Value, depth int) {
	if depth > 200 {
		return
	}
	switch {
	case orig == nil && upd == nil:
		return
	case orig == nil:
		c.add(path, "SCHEMA_ADDED")
		return
	case upd == nil:
		c.add(path, "SCHEMA_REMOVED")
		return
	}
	if upd.Kind == avro.BoolValue && upd.Bool || upd.Kind == avro.ObjectValue && len(upd.Obj) == 0 {
		return // the update accepts anything
	}
	ok, ov := combined(orig)
	uk, uv := combined(upd)
	if ok == "" && uk != "" {
		if len(uv) == 1 {
			sub := &differ{}
			sub.compare(path, orig, uv[0], depth+1)
			if sub.compatible() {
				c.diffs = append(c.diffs, sub.diffs...)
				return
			}
		} else if uk != "allOf" {
			for _, b := range uv {
				sub := &differ{}
				sub.compare(path, orig, b, depth+1)
				if sub.compatible() {
					c.diffs = append(c.diffs, sub.diffs...)
					c.add(path, "SUM_TYPE_EXTENDED")
					return
				}
			}
		}
	} else if ok != "" && uk == "" && len(ov) == 1 {
		sub := &differ{}
		sub.compare(path, ov[0], upd, depth+1)
		if sub.compatible() {
			c.diffs = append(c.diffs, sub.diffs...)
			return
		}
	}
	if (ok == "") != (uk == "") {
		c.add(path, "TYPE_CHANGED")
		return
	}
	if ok != "" {
		c.compareCombined(path, ok, ov, uk, uv, depth)
		return
	}
	ot, ut := Types(orig), Types(upd)
	if !slices.Equal(ot, ut) {
		switch {
		case len(ut) == 0:
		case len(ot) > 0 && subset(ot, ut):
			c.add(path+"/type", "TYPE_EXTENDED")
		case len(ot) > 0 && subset(ut, ot):
			c.add(path+"/type", "TYPE_NARROWED")
		case slices.Contains(ut, "number") && slices.Equal(ot, []string{"integer"}):
			c.add(path+"/type", "TYPE_EXTENDED")
		default:
			c.add(path, "TYPE_CHANGED")
			return
		}
	}
	for _, k := range []struct{ key, typ string }{{"$id", "ID_CHANGED"}, {"title", "TITLE_CHANGED"},
		{"description", "DESCRIPTION_CHANGED"}, {"default", "DEFAULT_CHANGED"}} {
		if !avro.Equal(orig.Get(k.key), upd.Get(k.key)) {
			c.add(path, k.typ)
		}
	}
	if oe, ue := orig.Get("enum"), upd.Get("enum"); oe != nil || ue != nil {
		c.compareEnum(path, oe, ue)
	}
	c.bounds(path, orig, upd)
	if slices.Contains(ot, "object") || orig.Get("properties") != nil || upd.Get("properties") != nil {
		c.compareObject(path, orig, upd, depth)
	}
	if oi, ui := orig.Get("items"), upd.Get("items"); oi != nil || ui != nil {
		if oi != nil && ui != nil {
			c.compare(path+"/items", oi, ui, depth+1)
		} else if ui == nil {
			c.add(path+"/items", "SCHEMA_REMOVED")
		} else {
			c.add(path+"/items", "SCHEMA_ADDED")
		}
	}
}

func (c *differ) compatible() bool {
	for _, d := range c.diffs {
		if !compatible[d.Type] {
			return false
		}
	}
	return true
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (c *differ) compareCombined(path, ok string, ov []*avro.Value, uk string, uv []*avro.Value, depth int) {
	if ok != uk {
		c.add(path, "COMBINED_TYPE_CHANGED")
		return
	}
	// Each original branch must match some update branch (for a sum
	// type); the update may have more (sum extended) or fewer (narrowed).
	matched := 0
	used := make([]bool, len(uv))
	for _, o := range ov {
		for j, u := range uv {
			if used[j] {
				continue
			}
			sub := &differ{}
			sub.compare(path, o, u, depth+1)
			if sub.compatible() {
				used[j] = true
				matched++
				c.diffs = append(c.diffs, sub.diffs...)
				break
			}
		}
	}
	switch {
	case matched < len(ov) && ok != "allOf":
		c.add(path, "COMBINED_TYPE_SUBSCHEMAS_CHANGED")
	case len(uv) > len(ov):
		if ok == "allOf" {
			c.add(path, "PRODUCT_TYPE_EXTENDED")
		} else {
			c.add(path, "SUM_TYPE_EXTENDED")
		}
	case len(uv) < len(ov):
		if ok == "allOf" {
			c.add(path, "PRODUCT_TYPE_NARROWED")
		} else {
			c.add(path, "SUM_TYPE_NARROWED")
		}
	}
}

func (c *differ) compareEnum(path string, oe, ue *avro.Value) {
	switch {
	case oe == nil:
		c.add(path+"/enum", "ENUM_ARRAY_NARROWED")
		return
	case ue == nil:
		c.add(path+"/enum", "ENUM_ARRAY_EXTENDED")
		return
	}
	has := func(list *avro.Value, v *avro.Value) bool {
		return slices.ContainsFunc(list.Arr, func(e *avro.Value) bool { return avro.Equal(e, v) })
	}
	ext, nar := false, false
	for _, v := range oe.Arr {
		if !has(ue, v) {
			nar = true
		}
	}
	for _, v := range ue.Arr {
		if !has(oe, v) {
			ext = true
		}
	}
	switch {
	case ext && nar:
		c.add(path+"/enum", "ENUM_ARRAY_CHANGED")
	case ext:
		c.add(path+"/enum", "ENUM_ARRAY_EXTENDED")
	case nar:
		c.add(path+"/enum", "ENUM_ARRAY_NARROWED")
	}
}

// bounds compares the numeric keywords: a bound added or tightened is
// incompatible, one removed or loosened compatible.
func (c *differ) bounds(path string, orig, upd *avro.Value) {
	for _, b := range []struct {
		key, name string
		upper     bool
	}{{"maxLength", "MAX_LENGTH", true}, {"minLength", "MIN_LENGTH", false}, {"maximum", "MAXIMUM", true},
		{"minimum", "MINIMUM", false}, {"exclusiveMaximum", "EXCLUSIVE_MAXIMUM", true}, {"exclusiveMinimum", "EXCLUSIVE_MINIMUM", false},
		{"maxItems", "MAX_ITEMS", true}, {"minItems", "MIN_ITEMS", false}, {"maxProperties", "MAX_PROPERTIES", true},
		{"minProperties", "MIN_PROPERTIES", false}} {
		o, u := orig.Get(b.key), upd.Get(b.key)
		p := path + "/" + b.key
		switch {
		case o == nil && u == nil:
		case o == nil:
			c.add(p, b.name+"_ADDED")
		case u == nil:
			c.add(p, b.name+"_REMOVED")
		case o.Float() < u.Float():
			c.add(p, b.name+"_INCREASED")
		case o.Float() > u.Float():
			c.add(p, b.name+"_DECREASED")
		}
	}
	o, u := orig.Get("pattern"), upd.Get("pattern")
	switch {
	case o == nil && u == nil:
	case o == nil:
		c.add(path+"/pattern", "PATTERN_ADDED")
	case u == nil:
		c.add(path+"/pattern", "PATTERN_REMOVED")
	case !avro.Equal(o, u):
		c.add(path+"/pattern", "PATTERN_CHANGED")
	}
	ou, uu := orig.Get("uniqueItems"), upd.Get("uniqueItems")
	if (ou != nil && ou.Bool) != (uu != nil && uu.Bool) {
		if ou != nil && ou.Bool {
			c.add(path+"/uniqueItems", "UNIQUE_ITEMS_REMOVED")
		} else {
			c.add(path+"/uniqueItems", "UNIQUE_ITEMS_ADDED")
		}
	}
}

func properties(s *avro.Value) map[string]*avro.Value {
	out := map[string]*avro.Value{}
	if p := s.Get("properties"); p != nil && p.Kind == avro.ObjectValue {
		for _, m := range p.Obj {
			out[m.Key] = m.Val
		}
	}
	return out
}

func required(s *avro.Value) map[string]bool {
	out := map[string]bool{}
	if r := s.Get("required"); r != nil && r.Kind == avro.ArrayValue {
		for _, e := range r.Arr {
			out[e.Str] = true
		}
	}
	return out
}

// openContent reports whether an object schema takes any property it does
// not list (additionalProperties absent or true).
func openContent(s *avro.Value) bool {
	ap := s.Get("additionalProperties")
	if pp := s.Get("patternProperties"); pp != nil && len(pp.Obj) > 0 {
		return false
	}
	return ap == nil || ap.Kind == avro.BoolValue && ap.Bool || ap.Kind == avro.ObjectValue && len(ap.Obj) == 0
}

func hasDefault(s *avro.Value) bool { return s != nil && s.Get("default") != nil }

func (c *differ) compareObject(path string, orig, upd *avro.Value, depth int) {
	op, up := properties(orig), properties(upd)
	or, ur := required(orig), required(upd)
	for _, k := range slices.Sorted(maps.Keys(op)) {
		if _, ok := up[k]; !ok {
			continue
		}
		switch {
		case or[k] && !ur[k]:
			c.add(path+"/required/"+k, "REQUIRED_ATTRIBUTE_REMOVED")
		case !or[k] && ur[k]:
			if hasDefault(up[k]) {
				c.add(path+"/required/"+k, "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED")
			} else {
				c.add(path+"/required/"+k, "REQUIRED_ATTRIBUTE_ADDED")
			}
		}
	}
	keys := slices.Sorted(maps.Keys(op))
	for k := range up {
		if _, ok := op[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := path + "/properties/" + k
		o, u := op[k], up[k]
		switch {
		case u == nil:
			if openContent(upd) {
				c.add(p, "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
			} else if o.Kind == avro.BoolValue && !o.Bool {
				c.add(p, "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
			} else {
				c.add(p, "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")
			}
		case o == nil:
			if openContent(orig) {
				switch {
				case u.Kind == avro.ObjectValue && len(u.Obj) == 0 || u.Kind == avro.BoolValue && u.Bool:
					c.add(p, "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
				case ur[k] && hasDefault(u):
					c.add(p, "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL")
				case ur[k]:
					c.add(p, "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
				default:
					c.add(p, "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
				}
			} else {
				switch {
				case ur[k] && hasDefault(u):
					c.add(p, "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL")
				case ur[k]:
					c.add(p, "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
				default:
					c.add(p, "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
				}
			}
		default:
			c.compare(p, o, u, depth+1)
		}
	}
	oa, ua := openContent(orig), openContent(upd)
	p := path + "/additionalProperties"
	switch {
	case oa == ua:
	case ua:
		c.add(p, "ADDITIONAL_PROPERTIES_ADDED")
	default:
		c.add(p, "ADDITIONAL_PROPERTIES_REMOVED")
	}
}
