package postgrescdc

import (
	"regexp"
	"strings"
)

// Column defaults go into the field schemas, as Debezium puts them
// (PostgresDefaultValueConverter): a literal DEFAULT becomes the schema's
// default; a DEFAULT computed by a function (nextval, now()) becomes a
// placeholder of the type (0, "", the epoch); types Debezium has no mapping
// for (bytea, arrays, unconstrained numeric) get no default.

var (
	literalDefaultRE  = regexp.MustCompile(`'(.*?)'`)
	functionDefaultRE = regexp.MustCompile(`^[(]?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\)`)
	currentDateTimes  = map[string]bool{"current_timestamp": true, "current_time": true, "current_date": true, "localtime": true, "localtimestamp": true}
)

// defaultPlaceholders maps the type names Debezium parses defaults of to
// the text it uses when the default is computed.
var defaultPlaceholders = map[string]string{
	"bool": "false", "bpchar": "", "varchar": "", "text": "", "numeric": "0.0", "float4": "0.0", "float8": "0.0",
	"int2": "0", "int4": "0", "int8": "0", "json": "{}", "jsonb": "{}", "xml": "",
	"uuid": "00000000-0000-0000-0000-000000000000", "date": "1970-01-01", "time": "00:00",
	"timestamp": "1970-01-01", "timestamptz": "1970-01-01",
}

var trimmedTypes = map[string]bool{"bit": true, "varbit": true, "bool": true, "numeric": true, "float4": true, "float8": true,
	"int2": true, "int4": true, "int8": true, "uuid": true, "date": true, "time": true, "timestamp": true, "timestamptz": true, "interval": true}

// nullableDefault types read "NULL::type" as no default.
var nullableDefault = map[string]bool{"bool": true, "numeric": true, "float4": true, "float8": true, "int2": true, "int4": true, "int8": true}

// defaultText returns the text form of a column's default, or false.
func defaultText(cm columnMeta) (string, bool) {
	if cm.defaultExpr == nil {
		return "", false
	}
	expr := *cm.defaultExpr
	if cm.enum {
		suffix := "::" + cm.typname
		if !strings.HasSuffix(expr, suffix) {
			return "", false
		}
		v := strings.TrimSuffix(expr, suffix)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			return v[1 : len(v)-1], true
		}
		return "", false
	}
	placeholder, ok := defaultPlaceholders[cm.typname]
	if !ok {
		return "", false
	}
	if trimmedTypes[cm.typname] {
		expr = strings.TrimSpace(expr)
	}
	if nullableDefault[cm.typname] && strings.HasPrefix(expr, "NULL::") {
		return "", false
	}
	if functionDefaultRE.MatchString(expr) || currentDateTimes[strings.ToLower(expr)] {
		expr = placeholder
	} else if !strings.Contains(expr, "'") {
		if strings.HasPrefix(expr, "NULL::") {
			return "", false
		}
	} else {
		m := literalDefaultRE.FindStringSubmatch(expr)
		if m == nil {
			return "", false
		}
		expr = m[1]
	}
	// The text forms the decoders read: timestamps and times in full.
	switch cm.typname {
	case "timestamp", "timestamptz":
		if len(expr) == len("1970-01-01") {
			expr += " 00:00:00"
		}
		if cm.typname == "timestamptz" && !strings.ContainsAny(expr[min(len(expr), 11):], "+-") {
			expr += "+00"
		}
	case "time":
		if strings.Count(expr, ":") == 1 {
			expr += ":00"
		}
	case "bool":
		expr = strings.ToLower(expr)
	}
	return expr, true
}

// columnDefault returns the schema default of a column, or nil.
func columnDefault(cm columnMeta, conv *valueConv, decode func([]byte) (any, error)) any {
	text, ok := defaultText(cm)
	if !ok || conv.schema.Type == "struct" {
		return nil
	}
	v, err := decode([]byte(text))
	if err != nil {
		return nil // as Debezium: an expression it cannot parse has no default
	}
	return v
}
