package avro

import (
	"strconv"

	"github.com/connectd/connectd/internal/javajson"
)

// String returns the schema's JSON text as Apache Avro's Java library
// writes it (Schema.toString): compact, members in Avro's order, custom
// properties in the order they were added, a named type defined where it
// first occurs and referred to by name afterwards, namespaces written only
// where they differ from the enclosing one. Confluent's registry stores
// and compares schemas in this form.
func (s *Schema) String() string { return string(s.AppendJSON(nil)) }

// AppendJSON appends the text String returns.
func (s *Schema) AppendJSON(b []byte) []byte {
	w := writer{known: map[string]bool{}}
	return w.schema(b, s, "")
}

type writer struct {
	known map[string]bool
}

// qualified is Avro's Name.getQualified: the short name when the namespace
// is the current one (unless the short name is a primitive's), else the
// full name.
func qualified(namespace, name, current string) string {
	if namespace != "" && namespace == current && !primitives[name] && name != TypeRecord &&
		name != TypeEnum && name != TypeArray && name != TypeMap && name != TypeUnion && name != TypeFixed {
		return name
	}
	if namespace == "" {
		return name
	}
	return namespace + "." + name
}

func (w *writer) schema(b []byte, s *Schema, ns string) []byte {
	switch s.Type {
	case TypeRecord, TypeEnum, TypeFixed:
		full := s.FullName()
		if w.known[full] {
			return javajson.AppendString(b, qualified(s.Namespace, s.Name, ns))
		}
		w.known[full] = true
		b = append(b, `{"type":`...)
		switch {
		case s.Type == TypeRecord && s.IsError:
			b = append(b, `"error"`...)
		default:
			b = javajson.AppendString(b, s.Type)
		}
		b = append(b, `,"name":`...)
		b = javajson.AppendString(b, s.Name)
		switch {
		case s.Namespace != "" && s.Namespace != ns:
			b = append(b, `,"namespace":`...)
			b = javajson.AppendString(b, s.Namespace)
		case s.Namespace == "" && ns != "":
			b = append(b, `,"namespace":""`...)
		}
		if s.HasDoc {
			b = append(b, `,"doc":`...)
			b = javajson.AppendString(b, s.Doc)
		}
		switch s.Type {
		case TypeRecord:
			b = append(b, `,"fields":[`...)
			for i, f := range s.Fields {
				if i > 0 {
					b = append(b, ',')
				}
				b = w.field(b, f, s.Namespace)
			}
			b = append(b, ']')
		case TypeEnum:
			b = append(b, `,"symbols":[`...)
			for i, sym := range s.Symbols {
				if i > 0 {
					b = append(b, ',')
				}
				b = javajson.AppendString(b, sym)
			}
			b = append(b, ']')
			if s.HasEnumDefault {
				b = append(b, `,"default":`...)
				b = javajson.AppendString(b, s.EnumDefault)
			}
		case TypeFixed:
			b = append(b, `,"size":`...)
			b = strconv.AppendInt(b, int64(s.Size), 10)
		}
		b = appendProps(b, s.Props)
		if len(s.Aliases) > 0 {
			b = append(b, `,"aliases":[`...)
			for i, a := range s.Aliases {
				if i > 0 {
					b = append(b, ',')
				}
				ans, an := SplitName(a)
				b = javajson.AppendString(b, qualified(ans, an, s.Namespace))
			}
			b = append(b, ']')
		}
		return append(b, '}')
	case TypeArray:
		b = append(b, `{"type":"array","items":`...)
		b = w.schema(b, s.Items, ns)
		b = appendProps(b, s.Props)
		return append(b, '}')
	case TypeMap:
		b = append(b, `{"type":"map","values":`...)
		b = w.schema(b, s.Values, ns)
		b = appendProps(b, s.Props)
		return append(b, '}')
	case TypeUnion:
		b = append(b, '[')
		for i, br := range s.Branches {
			if i > 0 {
				b = append(b, ',')
			}
			b = w.schema(b, br, ns)
		}
		return append(b, ']')
	}
	if len(s.Props) == 0 {
		return javajson.AppendString(b, s.Type)
	}
	b = append(b, `{"type":`...)
	b = javajson.AppendString(b, s.Type)
	b = appendProps(b, s.Props)
	return append(b, '}')
}

func (w *writer) field(b []byte, f *Field, ns string) []byte {
	b = append(b, `{"name":`...)
	b = javajson.AppendString(b, f.Name)
	b = append(b, `,"type":`...)
	b = w.schema(b, f.Type, ns)
	if f.HasDoc {
		b = append(b, `,"doc":`...)
		b = javajson.AppendString(b, f.Doc)
	}
	if f.Default != nil {
		b = append(b, `,"default":`...)
		b = AppendJSON(b, f.Default)
	}
	if f.Order != "" && f.Order != "ascending" {
		b = append(b, `,"order":`...)
		b = javajson.AppendString(b, f.Order)
	}
	if len(f.Aliases) > 0 {
		b = append(b, `,"aliases":[`...)
		for i, a := range f.Aliases {
			if i > 0 {
				b = append(b, ',')
			}
			b = javajson.AppendString(b, a)
		}
		b = append(b, ']')
	}
	b = appendProps(b, f.Props)
	return append(b, '}')
}

func appendProps(b []byte, props []Member) []byte {
	for _, m := range props {
		b = append(b, ',')
		b = javajson.AppendString(b, m.Key)
		b = append(b, ':')
		b = AppendJSON(b, m.Val)
	}
	return b
}
