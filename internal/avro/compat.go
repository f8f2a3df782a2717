package avro

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Incompatibility is one reason a reader schema cannot read what a writer
// schema wrote, as Apache Avro's SchemaCompatibility reports it.
type Incompatibility struct {
	// Type is Avro's SchemaIncompatibilityType: NAME_MISMATCH,
	// FIXED_SIZE_MISMATCH, MISSING_ENUM_SYMBOLS,
	// READER_FIELD_MISSING_DEFAULT_VALUE, TYPE_MISMATCH or
	// MISSING_UNION_BRANCH.
	Type string
	// Location is a JSON pointer into the reader schema, e.g. /fields/1/type.
	Location string
	// Message is Avro's detail (the missing field's name, the symbols...).
	Message string
}

// Describe formats the incompatibility as Confluent's registry does in its
// error messages (its avro.Difference), with reader and writer named "new"
// and "old" as the check was made: backward checks read old data with the
// new schema.
func (in Incompatibility) Describe(reader, writer string) string {
	var d string
	switch in.Type {
	case "FIXED_SIZE_MISMATCH":
		d = fmt.Sprintf("The size of FIXED type field at path '%s' in the %s schema does not match with the %s schema", in.Location, reader, writer)
	case "TYPE_MISMATCH":
		d = fmt.Sprintf("The type (path '%s') of a field in the %s schema does not match with the %s schema", in.Location, reader, writer)
	case "NAME_MISMATCH":
		d = fmt.Sprintf("The name of the schema has changed (path '%s')", in.Location)
	case "MISSING_ENUM_SYMBOLS":
		d = fmt.Sprintf("The %s schema is missing enum symbols '%s' at path '%s' in the %s schema", reader, in.Message, in.Location, writer)
	case "MISSING_UNION_BRANCH":
		d = fmt.Sprintf("The %s schema is missing a type inside a union field at path '%s' in the %s schema", reader, in.Location, writer)
	case "READER_FIELD_MISSING_DEFAULT_VALUE":
		d = fmt.Sprintf("The field '%s' at path '%s' in the %s schema has no default value and is missing in the %s schema", in.Message, in.Location, reader, writer)
	}
	return "{errorType:'" + in.Type + "', description:'" + d + "', additionalInfo:'" + in.Message + "'}"
}

// CheckCompatibility reports what keeps reader from reading data written
// with writer, following Apache Avro's SchemaCompatibility (the check
// Confluent's registry runs): nil when it can.
func CheckCompatibility(reader, writer *Schema) []Incompatibility {
	c := compatChecker{memo: map[[2]*Schema]*compatResult{}}
	return c.check("", reader, writer, nil).incompat
}

type compatResult struct {
	incompat   []Incompatibility
	inProgress bool
}

type compatChecker struct {
	memo map[[2]*Schema]*compatResult
}

func (c *compatChecker) check(token string, reader, writer *Schema, loc []string) *compatResult {
	loc = append(slices.Clip(loc), token)
	key := [2]*Schema{reader, writer}
	if r, ok := c.memo[key]; ok {
		if r.inProgress {
			return &compatResult{} // compatible unless proven otherwise
		}
		return r
	}
	c.memo[key] = &compatResult{inProgress: true}
	r := c.calculate(reader, writer, loc)
	c.memo[key] = r
	return r
}

func location(loc []string) string {
	var b strings.Builder
	b.WriteByte('/')
	for i, t := range loc[min(1, len(loc)):] { // the root token is left out
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func incompatible(typ string, msg string, loc []string) *compatResult {
	return &compatResult{incompat: []Incompatibility{{Type: typ, Location: location(loc), Message: msg}}}
}

func (r *compatResult) merge(o *compatResult) *compatResult {
	if len(o.incompat) == 0 {
		return r
	}
	return &compatResult{incompat: append(slices.Clip(r.incompat), o.incompat...)}
}

// javaType names an Avro type as Java's Schema.Type enum prints it.
func javaType(t string) string { return strings.ToUpper(t) }

func typeMismatch(reader, writer *Schema, loc []string) *compatResult {
	return incompatible("TYPE_MISMATCH", fmt.Sprintf("reader type: %s not compatible with writer type: %s",
		javaType(reader.Type), javaType(writer.Type)), loc)
}

func (c *compatChecker) calculate(reader, writer *Schema, loc []string) *compatResult {
	res := &compatResult{}
	if reader.Type == writer.Type {
		switch reader.Type {
		case TypeArray:
			return res.merge(c.check("items", reader.Items, writer.Items, loc))
		case TypeMap:
			return res.merge(c.check("values", reader.Values, writer.Values, loc))
		case TypeFixed:
			res = res.merge(checkNames(reader, writer, loc))
			if reader.Size != writer.Size {
				res = res.merge(incompatible("FIXED_SIZE_MISMATCH",
					fmt.Sprintf("expected: %d, found: %d", writer.Size, reader.Size), append(slices.Clip(loc), "size")))
			}
			return res
		case TypeEnum:
			res = res.merge(checkNames(reader, writer, loc))
			var missing []string
			for _, s := range writer.Symbols {
				if !slices.Contains(reader.Symbols, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 && !(reader.HasEnumDefault && slices.Contains(reader.Symbols, reader.EnumDefault)) {
				sort.Strings(missing)
				res = res.merge(incompatible("MISSING_ENUM_SYMBOLS", "["+strings.Join(missing, ", ")+"]",
					append(slices.Clip(loc), "symbols")))
			}
			return res
		case TypeRecord:
			res = res.merge(checkNames(reader, writer, loc))
			floc := append(slices.Clip(loc), "fields")
			for _, rf := range reader.Fields {
				fl := append(slices.Clip(floc), fmt.Sprint(rf.Pos))
				wf := lookupWriterField(writer, rf)
				switch {
				case wf != nil:
					res = res.merge(c.check("type", rf.Type, wf.Type, fl))
				case rf.Default != nil:
				case rf.Type.Type == TypeEnum && rf.Type.HasEnumDefault:
					res = res.merge(c.check("type", rf.Type, writer, fl))
				default:
					res = res.merge(incompatible("READER_FIELD_MISSING_DEFAULT_VALUE", rf.Name, fl))
				}
			}
			return res
		case TypeUnion:
			for i, wb := range writer.Branches {
				bl := append(slices.Clip(loc), fmt.Sprint(i))
				sub := compatChecker{memo: c.memo}
				if r := sub.check("", reader, wb, nil); len(r.incompat) > 0 {
					res = res.merge(incompatible("MISSING_UNION_BRANCH",
						"reader union lacking writer type: "+javaType(wb.Type), bl))
				}
			}
			return res
		}
		return res
	}
	if writer.Type == TypeUnion {
		for i, wb := range writer.Branches {
			res = res.merge(c.check(fmt.Sprint(i), reader, wb, loc))
		}
		return res
	}
	switch reader.Type {
	case TypeLong:
		if writer.Type == TypeInt {
			return res
		}
	case TypeFloat:
		if writer.Type == TypeInt || writer.Type == TypeLong {
			return res
		}
	case TypeDouble:
		if writer.Type == TypeInt || writer.Type == TypeLong || writer.Type == TypeFloat {
			return res
		}
	case TypeBytes:
		if writer.Type == TypeString {
			return res
		}
	case TypeString:
		if writer.Type == TypeBytes {
			return res
		}
	case TypeUnion:
		for _, rb := range reader.Branches {
			sub := compatChecker{memo: c.memo}
			if r := sub.check("", rb, writer, nil); len(r.incompat) == 0 {
				return res
			}
		}
		return incompatible("MISSING_UNION_BRANCH", "reader union lacking writer type: "+javaType(writer.Type), loc)
	}
	return typeMismatch(reader, writer, loc)
}

func checkNames(reader, writer *Schema, loc []string) *compatResult {
	if reader.Name == writer.Name || slices.Contains(reader.Aliases, writer.FullName()) {
		return &compatResult{}
	}
	return incompatible("NAME_MISMATCH", "expected: "+writer.FullName(), append(slices.Clip(loc), "name"))
}

// lookupWriterField finds the writer's field for a reader field, by name
// or by one of the reader field's aliases.
func lookupWriterField(writer *Schema, rf *Field) *Field {
	if f := writer.Field(rf.Name); f != nil {
		return f
	}
	for _, a := range rf.Aliases {
		if f := writer.Field(a); f != nil {
			return f
		}
	}
	return nil
}
