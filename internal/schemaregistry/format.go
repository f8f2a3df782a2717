package schemaregistry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/connectd/connectd/internal/avro"
	"github.com/connectd/connectd/internal/jsonschema"
)

// format is one schema type the registry holds.
type format interface {
	// canonical parses text and returns the form the registry stores and
	// compares it in, and the parsed schema.
	canonical(text string) (string, any, error)
	// incompatibilities returns why reader cannot read what writer wrote,
	// in Confluent's message form, naming the schemas by their roles
	// ("new" or "old").
	incompatibilities(reader, writer any, readerRole, writerRole string) []string
}

var formats = map[string]format{
	"AVRO": avroFormat{},
	"JSON": jsonFormat{},
}

type avroFormat struct{}

func (avroFormat) canonical(text string) (string, any, error) {
	s, err := avro.Parse(text)
	if err != nil {
		return "", nil, err
	}
	return s.String(), s, nil
}

func (avroFormat) incompatibilities(reader, writer any, readerRole, writerRole string) []string {
	var out []string
	for _, in := range avro.CheckCompatibility(reader.(*avro.Schema), writer.(*avro.Schema)) {
		out = append(out, in.Describe(readerRole, writerRole))
	}
	return out
}

type jsonFormat struct{}

func (jsonFormat) canonical(text string) (string, any, error) {
	s, err := jsonschema.Parse(text)
	if err != nil {
		return "", nil, err
	}
	return s.String(), s, nil
}

func (jsonFormat) incompatibilities(reader, writer any, readerRole, writerRole string) []string {
	var out []string
	for _, d := range jsonschema.CheckCompatibility(reader.(*jsonschema.Schema), writer.(*jsonschema.Schema)) {
		out = append(out, d.Describe(readerRole, writerRole))
	}
	return out
}

// Compatibility levels.
const (
	levelNone                = "NONE"
	levelBackward            = "BACKWARD"
	levelBackwardTransitive  = "BACKWARD_TRANSITIVE"
	levelForward             = "FORWARD"
	levelForwardTransitive   = "FORWARD_TRANSITIVE"
	levelFull                = "FULL"
	levelFullTransitive      = "FULL_TRANSITIVE"
	defaultCompatibilityMode = levelBackward
)

var levels = []string{levelNone, levelBackward, levelBackwardTransitive, levelForward, levelForwardTransitive, levelFull, levelFullTransitive}

func validLevel(l string) (string, bool) {
	l = strings.ToUpper(strings.TrimSpace(l))
	for _, v := range levels {
		if v == l {
			return v, true
		}
	}
	return "", false
}

// previous is an earlier version to check a new schema against.
type previous struct {
	version int
	text    string
	parsed  any
}

// checkCompatibility checks a new schema against the earlier versions of
// a subject (ascending) at level, as Confluent's CompatibilityChecker
// does: the non-transitive levels against the latest only, the
// transitive ones against each, newest first, up to the first that fails.
// It returns Confluent's error messages; none means compatible.
func checkCompatibility(f format, level string, parsed any, prev []previous) []string {
	if level == levelNone || len(prev) == 0 {
		return nil
	}
	transitive := strings.HasSuffix(level, "_TRANSITIVE")
	base := strings.TrimSuffix(level, "_TRANSITIVE")
	for i := len(prev) - 1; i >= 0; i-- {
		p := prev[i]
		var msgs []string
		canRead := func(reader, writer any, readerRole, writerRole string, appendSchema bool) {
			found := f.incompatibilities(reader, writer, readerRole, writerRole)
			if len(found) == 0 {
				return
			}
			msgs = append(msgs, found...)
			if appendSchema {
				msgs = append(msgs, fmt.Sprintf("{oldSchemaVersion: %d}", p.version))
				text := p.text
				if len(text) > 10*1024 {
					msgs = append(msgs, "{oldSchema: <truncated> '"+text[:10*1024]+"...'}")
				} else {
					msgs = append(msgs, "{oldSchema: '"+text+"'}")
				}
			}
		}
		switch base {
		case levelBackward:
			canRead(parsed, p.parsed, "new", "old", true)
		case levelForward:
			canRead(p.parsed, parsed, "old", "new", true)
		case levelFull:
			canRead(p.parsed, parsed, "old", "new", false)
			canRead(parsed, p.parsed, "new", "old", true)
		}
		if len(msgs) > 0 {
			return append(msgs, fmt.Sprintf("{validateFields: 'false', compatibility: '%s'}", level))
		}
		if !transitive {
			break
		}
	}
	return nil
}

var errUnknownType = errors.New("unknown schema type")
