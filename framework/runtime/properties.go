package runtime

import (
	"io"

	"github.com/connectd/connectd/internal/properties"
)

// ReadProperties parses a Java .properties file, as Kafka Connect's worker
// and connector files are written: key=value or key: value or key value,
// # and ! comments, backslash line continuation and escapes.
func ReadProperties(path string) (map[string]string, error) {
	return properties.ReadFile(path)
}

// ParseProperties parses properties text from r.
func ParseProperties(r io.Reader) (map[string]string, error) {
	return properties.Parse(r)
}
