package connect

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ConfigType is the type of a configuration key, named as Kafka Connect names it.
type ConfigType string

const (
	TypeBoolean  ConfigType = "BOOLEAN"
	TypeString   ConfigType = "STRING"
	TypeInt      ConfigType = "INT"
	TypeShort    ConfigType = "SHORT"
	TypeLong     ConfigType = "LONG"
	TypeDouble   ConfigType = "DOUBLE"
	TypeList     ConfigType = "LIST"
	TypeClass    ConfigType = "CLASS"
	TypePassword ConfigType = "PASSWORD"
)

// Importance ranks a key for documentation, as Kafka Connect does.
type Importance string

const (
	High   Importance = "HIGH"
	Medium Importance = "MEDIUM"
	Low    Importance = "LOW"
)

// Width hints how wide a UI field should be.
type Width string

const (
	WidthNone   Width = "NONE"
	WidthShort  Width = "SHORT"
	WidthMedium Width = "MEDIUM"
	WidthLong   Width = "LONG"
)

// ValidatorFunc checks a parsed value; it returns a message for the user, or
// nil. The value has the key's Go type: bool, string, int32 (INT), int16
// (SHORT), int64 (LONG), float64, []string (LIST), Password.
type ValidatorFunc func(value any) error

// ConfigKey defines one configuration key.
type ConfigKey struct {
	Name string
	Type ConfigType
	// Default is the value used when the key is absent, written as the user
	// would write it ("10", "a,b"). Ignored when Required.
	Default    string
	Required   bool
	Importance Importance
	Doc        string
	Group      string
	Width      Width
	// DisplayName defaults to Name.
	DisplayName string
	Dependents  []string
	Validator   ValidatorFunc
	// Recommended lists the allowed values, when there is a short list.
	Recommended []string
}

// ConfigDef is an ordered set of key definitions. It drives parsing,
// validation, the REST API's plugin config and validate responses, and the
// connectors' README tables.
type ConfigDef struct {
	keys  []ConfigKey
	index map[string]int
}

// NewConfigDef returns a definition holding keys, in order.
func NewConfigDef(keys ...ConfigKey) *ConfigDef {
	d := &ConfigDef{index: map[string]int{}}
	for _, k := range keys {
		d.Define(k)
	}
	return d
}

// Define adds k, replacing a key of the same name. It returns d.
func (d *ConfigDef) Define(k ConfigKey) *ConfigDef {
	if d.index == nil {
		d.index = map[string]int{}
	}
	if k.Width == "" {
		k.Width = WidthNone
	}
	if k.Importance == "" {
		k.Importance = Medium
	}
	if i, ok := d.index[k.Name]; ok {
		d.keys[i] = k
		return d
	}
	d.index[k.Name] = len(d.keys)
	d.keys = append(d.keys, k)
	return d
}

// Merge returns a new definition with d's keys followed by other's.
func (d *ConfigDef) Merge(other *ConfigDef) *ConfigDef {
	m := NewConfigDef(d.Keys()...)
	if other != nil {
		for _, k := range other.keys {
			m.Define(k)
		}
	}
	return m
}

// Keys returns the definitions in order.
func (d *ConfigDef) Keys() []ConfigKey {
	if d == nil {
		return nil
	}
	return slices.Clone(d.keys)
}

// Key returns the definition of name.
func (d *ConfigDef) Key(name string) (ConfigKey, bool) {
	if d == nil {
		return ConfigKey{}, false
	}
	i, ok := d.index[name]
	if !ok {
		return ConfigKey{}, false
	}
	return d.keys[i], true
}

// ConfigValue is the validation result of one key.
type ConfigValue struct {
	Name              string
	Value             *string
	RecommendedValues []string
	Errors            []string
	Visible           bool
}

// Validate checks every defined key of cfg and returns one result per key,
// in definition order. Keys cfg has that d does not define are ignored.
func (d *ConfigDef) Validate(cfg map[string]string) []ConfigValue {
	out := make([]ConfigValue, 0, len(d.keys))
	for _, k := range d.keys {
		cv := ConfigValue{Name: k.Name, Visible: true, RecommendedValues: k.Recommended}
		raw, present := cfg[k.Name]
		if present {
			v := raw
			cv.Value = &v
		} else if !k.Required {
			v := k.Default
			cv.Value = &v
		}
		if _, err := k.parse(raw, present); err != nil {
			cv.Errors = append(cv.Errors, err.Error())
		}
		out = append(out, cv)
	}
	return out
}

// ConfigError lists the keys whose values are wrong.
type ConfigError struct {
	// Errs maps a key name to its messages.
	Errs map[string][]string
}

func (e *ConfigError) Error() string {
	names := make([]string, 0, len(e.Errs))
	for n := range e.Errs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strings.Join(e.Errs[n], ", "))
	}
	return b.String()
}

// Parse checks cfg and returns the typed values of every defined key.
// It returns a *ConfigError naming every wrong key.
func (d *ConfigDef) Parse(cfg map[string]string) (*Config, error) {
	c := &Config{values: make(map[string]any, len(d.keys)), raw: cfg}
	errs := map[string][]string{}
	for _, k := range d.keys {
		raw, present := cfg[k.Name]
		v, err := k.parse(raw, present)
		if err != nil {
			errs[k.Name] = append(errs[k.Name], err.Error())
			continue
		}
		c.values[k.Name] = v
	}
	if len(errs) > 0 {
		return nil, &ConfigError{Errs: errs}
	}
	return c, nil
}

func (k ConfigKey) parse(raw string, present bool) (any, error) {
	if !present {
		if k.Required {
			return nil, fmt.Errorf("Missing required configuration %q which has no default value.", k.Name)
		}
		raw = k.Default
	}
	v, err := parseValue(k.Type, strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("Invalid value %s for configuration %s: %v", shown(k, raw), k.Name, err)
	}
	if k.Validator != nil && (present || k.Required || raw != "") {
		if err := k.Validator(v); err != nil {
			return nil, fmt.Errorf("Invalid value %s for configuration %s: %v", shown(k, raw), k.Name, err)
		}
	}
	return v, nil
}

func shown(k ConfigKey, raw string) string {
	if k.Type == TypePassword {
		return "[hidden]"
	}
	return raw
}

func parseValue(t ConfigType, s string) (any, error) {
	switch t {
	case TypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
		return nil, errors.New("Expected value to be either true or false")
	case TypeInt:
		if s == "" {
			return int32(0), nil
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, errors.New("Not a number of type INT")
		}
		return int32(n), nil
	case TypeShort:
		if s == "" {
			return int16(0), nil
		}
		n, err := strconv.ParseInt(s, 10, 16)
		if err != nil {
			return nil, errors.New("Not a number of type SHORT")
		}
		return int16(n), nil
	case TypeLong:
		if s == "" {
			return int64(0), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errors.New("Not a number of type LONG")
		}
		return n, nil
	case TypeDouble:
		if s == "" {
			return float64(0), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errors.New("Not a number of type DOUBLE")
		}
		return f, nil
	case TypeList:
		return SplitList(s), nil
	case TypePassword:
		return Password(s), nil
	default: // STRING, CLASS
		return s, nil
	}
}

// SplitList splits a comma-separated list, trimming blanks and dropping
// empty items, as Kafka's ConfigDef does.
func SplitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Password is a secret configuration value; it prints as [hidden].
type Password string

func (Password) String() string     { return "[hidden]" }
func (p Password) GoString() string { return "[hidden]" }
func (p Password) Value() string    { return string(p) }

// Config holds the parsed values of a ConfigDef.
type Config struct {
	values map[string]any
	raw    map[string]string
}

// Raw returns the configuration as given, undefined keys included.
func (c *Config) Raw() map[string]string { return c.raw }

// Get returns the parsed value of name (nil if undefined).
func (c *Config) Get(name string) any { return c.values[name] }

func (c *Config) String(name string) string {
	switch v := c.values[name].(type) {
	case string:
		return v
	case Password:
		return string(v)
	}
	return ""
}
func (c *Config) Bool(name string) bool       { v, _ := c.values[name].(bool); return v }
func (c *Config) Int(name string) int         { return int(c.Long(name)) }
func (c *Config) Double(name string) float64  { v, _ := c.values[name].(float64); return v }
func (c *Config) List(name string) []string   { v, _ := c.values[name].([]string); return v }
func (c *Config) Password(name string) string { return c.String(name) }

// Long returns an INT, SHORT or LONG value widened to int64.
func (c *Config) Long(name string) int64 {
	switch v := c.values[name].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	}
	return 0
}

// AtLeast returns a validator that accepts numbers >= min.
func AtLeast(min float64) ValidatorFunc {
	return func(v any) error {
		if toFloat(v) < min {
			return fmt.Errorf("Value must be at least %v", min)
		}
		return nil
	}
}

// Between returns a validator that accepts numbers in [min, max].
func Between(min, max float64) ValidatorFunc {
	return func(v any) error {
		if f := toFloat(v); f < min || f > max {
			return fmt.Errorf("Value must be between %v and %v", min, max)
		}
		return nil
	}
}

// OneOf returns a validator that accepts only the given strings
// (case-insensitively, as Kafka Connect's CaseInsensitiveValidString does).
func OneOf(values ...string) ValidatorFunc {
	return func(v any) error {
		s, _ := v.(string)
		for _, a := range values {
			if strings.EqualFold(a, s) {
				return nil
			}
		}
		return fmt.Errorf("String must be one of: %s", strings.Join(values, ", "))
	}
}

// NonEmpty is a validator that rejects empty strings and lists.
func NonEmpty(v any) error {
	switch x := v.(type) {
	case string:
		if x == "" {
			return errors.New("String must be non-empty")
		}
	case []string:
		if len(x) == 0 {
			return errors.New("List must be non-empty")
		}
	}
	return nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// MarkdownTable renders the definition as the config table of a
// connector's README: key, type, default, importance, description.
func (d *ConfigDef) MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Importance | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, k := range d.Keys() {
		dflt := "`" + k.Default + "`"
		switch {
		case k.Required:
			dflt = "required"
		case k.Default == "":
			dflt = `""`
		}
		doc := k.Doc
		if len(k.Recommended) > 0 {
			doc += " One of: `" + strings.Join(k.Recommended, "`, `") + "`."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, dflt, k.Importance,
			strings.ReplaceAll(doc, "|", `\|`))
	}
	return b.String()
}
