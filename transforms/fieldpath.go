package transforms

import (
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// Field paths of KIP-821 (field.syntax.version): V1 names a top-level
// field; V2 reads dots as steps into nested structs or maps, with
// `backticks` around names that contain dots.

var fieldSyntaxKey = connect.ConfigKey{Name: "field.syntax.version", Type: connect.TypeString, Default: "V1",
	Importance: connect.High, Validator: connect.OneOf("V1", "V2"),
	Doc: "How field names are read. V1: a name is a top-level field. V2: dots step into nested structs or maps " +
		"(a.b is field b of field a); wrap a name that contains dots in backticks (`a.b`.c), and put a backslash " +
		"before a backtick that belongs to a name."}

type fieldPath struct {
	steps []string
}

// parseFieldPath reads path as version (V1 or V2, any case) reads it.
func parseFieldPath(path, version string) (*fieldPath, error) {
	if !strings.EqualFold(version, "V2") {
		return &fieldPath{steps: []string{path}}, nil
	}
	var steps []string
	i := 0
	for i < len(path) {
		if path[i] != '`' {
			j := strings.IndexByte(path[i:], '.')
			if j < 0 {
				steps = append(steps, path[i:])
				i = len(path)
				break
			}
			steps = append(steps, path[i:i+j])
			i += j + 1
			continue
		}
		open := i
		i++
		start := i
		var name strings.Builder
		for {
			j := strings.IndexByte(path[i:], '`')
			if j < 0 {
				return nil, incompleteBacktick(path, open)
			}
			i += j
			escaped := path[i-1] == '\\'
			if i >= len(path)-1 { // the closing backtick ends the path
				if escaped {
					return nil, incompleteBacktick(path, open)
				}
				name.WriteString(path[start:i])
				steps = append(steps, name.String())
				i++
				break
			}
			if path[i+1] != '.' { // a backtick inside the name
				i++
				continue
			}
			if escaped {
				name.WriteString(path[start : i-1])
				name.WriteByte('`')
				i++
				start = i
				continue
			}
			name.WriteString(path[start:i])
			steps = append(steps, name.String())
			i += 2
			break
		}
	}
	if len(path) > 0 && path[len(path)-1] == '.' {
		steps = append(steps, "")
	}
	if len(steps) == 0 {
		steps = []string{""}
	}
	return &fieldPath{steps: steps}, nil
}

func incompleteBacktick(path string, at int) error {
	return errf("Incomplete backtick pair in path: [%s], consider adding a backslash before backtick at position %d to escape it", path, at)
}

// field returns the field the path names in s, or false.
func (p *fieldPath) field(s *connect.Schema) (connect.Field, bool) {
	if s == nil {
		return connect.Field{}, false
	}
	cur := s
	for _, step := range p.steps[:len(p.steps)-1] {
		f, ok := cur.Field(step)
		if !ok {
			return connect.Field{}, false
		}
		cur = f.Schema
	}
	return cur.Field(p.steps[len(p.steps)-1])
}

// fromStruct returns the value the path names in sv, or nil. withDefault
// applies to the last step; nested structs are read with their defaults.
func (p *fieldPath) fromStruct(sv *connect.StructValue, withDefault bool) (any, error) {
	cur := sv
	for _, step := range p.steps[:len(p.steps)-1] {
		f, ok := cur.Schema().Field(step)
		if !ok {
			return nil, nil
		}
		next, err := requireStructOrNull(field(cur, f, true), "nested field access")
		if err != nil || next == nil {
			return nil, err
		}
		cur = next
	}
	f, ok := cur.Schema().Field(p.steps[len(p.steps)-1])
	if !ok {
		return nil, nil
	}
	return field(cur, f, withDefault), nil
}

// fromMap returns the value the path names in m, or nil.
func (p *fieldPath) fromMap(m map[string]any) (any, error) {
	cur := m
	for _, step := range p.steps[:len(p.steps)-1] {
		v := cur[step]
		if v == nil {
			return nil, nil
		}
		next, err := requireMap(v, "nested field access")
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur[p.steps[len(p.steps)-1]], nil
}
