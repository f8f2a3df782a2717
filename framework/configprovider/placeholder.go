package configprovider

import "strings"

// Placeholder is one reference to a config provider inside a config value,
// written ${provider:path:key} or ${provider:key}.
//
// The grammar is that of Kafka's ConfigTransformer: a placeholder opens with
// "${" and closes at the first "}" after it, and holds at least one ":". The
// provider runs to the first ":"; if another ":" follows, the path runs to it
// and the key is the rest; otherwise the path is empty and the key is the
// rest. None of the parts can contain "}", and only the key can contain ":".
// So ${file:/etc/app.properties:db:url} names the path /etc/app.properties and
// the key "db:url", and ${a:${b:c}} is the placeholder "${a:${b:c}" (provider
// "a", path "${b", key "c") followed by a literal "}": placeholders do not
// nest.
type Placeholder struct {
	// Provider is the provider name, as listed in config.providers.
	Provider string
	// Path is the path part, or "" when the placeholder has none.
	Path string
	// Key is the key part; it may be empty.
	Key string
	// Start and End are the byte offsets of the whole placeholder in the
	// value it was found in: value[Start:End] is its text.
	Start, End int
}

// FindPlaceholders returns the placeholders in value, in order, as Kafka's
// ConfigTransformer finds them: left to right, not overlapping. Text that
// looks like a placeholder but has no ":" before its "}" (such as "${x}") is
// not one, and a "${" without a closing "}" is plain text.
func FindPlaceholders(value string) []Placeholder {
	var out []Placeholder
	for i := 0; i < len(value); {
		j := strings.Index(value[i:], "${")
		if j < 0 {
			break
		}
		start := i + j
		bodyStart := start + 2
		n := strings.IndexByte(value[bodyStart:], '}')
		if n < 0 {
			// No "}" follows, so no later "${" can close either.
			break
		}
		body := value[bodyStart : bodyStart+n]
		c := strings.IndexByte(body, ':')
		if c < 0 {
			// Not a placeholder here; a "${" inside body may still start one.
			i = start + 1
			continue
		}
		p := Placeholder{Provider: body[:c], Start: start, End: bodyStart + n + 1}
		rest := body[c+1:]
		if c2 := strings.IndexByte(rest, ':'); c2 >= 0 {
			p.Path, p.Key = rest[:c2], rest[c2+1:]
		} else {
			p.Key = rest
		}
		out = append(out, p)
		i = p.End
	}
	return out
}

// HasPlaceholders reports whether any value of config holds a placeholder,
// whether or not a provider of that name is configured. Keys are not looked
// at: Kafka resolves placeholders in values only.
func HasPlaceholders(config map[string]string) bool {
	for _, v := range config {
		if hasPlaceholder(v) {
			return true
		}
	}
	return false
}

func hasPlaceholder(value string) bool {
	// Cheap test first: most values hold no "${" at all.
	return strings.Contains(value, "${") && len(FindPlaceholders(value)) > 0
}
