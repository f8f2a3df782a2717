package converters

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/internal/avro"
)

// decOp is what a decPlan node reads, and how it resolves the writer's
// type to the reader's (Avro's schema resolution: promotions, fields by
// name, enum symbols by name, union branches).
type decOp uint8

const (
	decNull decOp = iota
	decFail
	decBoolean
	decIntToInt8
	decIntToInt16
	decInt
	decIntToLong
	decIntToFloat
	decIntToDouble
	decLong
	decLongToFloat
	decLongToDouble
	decFloat
	decFloatToDouble
	decDouble
	decString
	decBytes
	decFixed
	decEnum
	decArray
	decMap
	decMapEntries
	decRecord
	decWriterUnion // the writer wrote a union: read its branch index
	decReaderUnion // the reader's Connect union struct holds the value
)

// Logical conversions, by the reader's Connect schema.
const (
	logicalNone = iota
	logicalDecimal
	logicalDate
	logicalTime
	logicalTimestamp
)

// decPlan reads data written with one Avro schema (the writer's) into the
// Connect value of another (the reader's, as toConnectSchema made it).
type decPlan struct {
	op      decOp
	schema  *connect.Schema // the reader's
	logical int
	scale   int32
	size    int      // fixed
	toStr   bool     // bytes or string read as a string
	symbols []string // enum: the reader's symbol for each writer index ("" none)
	enumDef string   // enum: the reader's default symbol, "" none
	fail    string   // decFail

	items, keys *decPlan
	fields      []decField     // record: in the writer's order
	defaults    []fieldDefault // record: reader fields the writer lacks
	branches    []*decPlan     // writer union: one per writer branch
	member      int            // reader union: the struct field of the value
	inner       *decPlan       // reader union: the value's plan
}

// decField is one field the writer wrote: read into the reader's field
// (plan), or skipped (skip is its writer schema).
type decField struct {
	reader int
	plan   *decPlan
	skip   *avro.Schema
}

type fieldDefault struct {
	index int
	value any
}

// compileDecoder builds the plan that reads what w wrote into values of rc,
// the Connect form of r. It fails where Avro's resolution fails.
func (d *avroData) compileDecoder(w, r *avro.Schema, rc *connect.Schema, depth int) (*decPlan, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels", maxDepth)
	}
	if r.Type == avro.TypeUnion {
		return d.compileReaderUnion(w, r, rc, depth)
	}
	if w.Type == avro.TypeUnion {
		p := &decPlan{op: decWriterUnion, schema: rc}
		for _, wb := range w.Branches {
			bp, err := d.compileDecoder(wb, r, rc, depth+1)
			if err != nil {
				// Avro resolves lazily: a writer branch the reader cannot
				// take fails only when data uses it.
				bp = &decPlan{op: decFail, fail: err.Error()}
			}
			p.branches = append(p.branches, bp)
		}
		return p, nil
	}
	p := &decPlan{schema: rc}
	switch rc.Name {
	case connect.DecimalName:
		if w.Type != avro.TypeBytes && w.Type != avro.TypeFixed {
			return nil, mismatchErr(w, r)
		}
		scale, err := connect.DecimalScale(rc)
		if err != nil {
			return nil, err
		}
		p.logical, p.scale = logicalDecimal, scale
	case connect.DateName:
		p.logical = logicalDate
	case connect.TimeName:
		p.logical = logicalTime
	case connect.TimestampName:
		p.logical = logicalTimestamp
	}
	switch r.Type {
	case avro.TypeNull:
		if w.Type != avro.TypeNull {
			return nil, mismatchErr(w, r)
		}
		p.op = decNull
	case avro.TypeBoolean:
		if w.Type != avro.TypeBoolean {
			return nil, mismatchErr(w, r)
		}
		p.op = decBoolean
	case avro.TypeInt:
		if w.Type != avro.TypeInt {
			return nil, mismatchErr(w, r)
		}
		switch rc.Type {
		case connect.Int8:
			p.op = decIntToInt8
		case connect.Int16:
			p.op = decIntToInt16
		default:
			p.op = decInt
		}
	case avro.TypeLong:
		switch w.Type {
		case avro.TypeInt:
			p.op = decIntToLong
		case avro.TypeLong:
			p.op = decLong
		default:
			return nil, mismatchErr(w, r)
		}
	case avro.TypeFloat:
		switch w.Type {
		case avro.TypeInt:
			p.op = decIntToFloat
		case avro.TypeLong:
			p.op = decLongToFloat
		case avro.TypeFloat:
			p.op = decFloat
		default:
			return nil, mismatchErr(w, r)
		}
	case avro.TypeDouble:
		switch w.Type {
		case avro.TypeInt:
			p.op = decIntToDouble
		case avro.TypeLong:
			p.op = decLongToDouble
		case avro.TypeFloat:
			p.op = decFloatToDouble
		case avro.TypeDouble:
			p.op = decDouble
		default:
			return nil, mismatchErr(w, r)
		}
	case avro.TypeString, avro.TypeBytes:
		if w.Type != avro.TypeString && w.Type != avro.TypeBytes {
			return nil, mismatchErr(w, r)
		}
		p.op, p.toStr = decBytes, r.Type == avro.TypeString
	case avro.TypeFixed:
		if w.Type != avro.TypeFixed || w.Size != r.Size || !sameAvroName(r, w) {
			return nil, mismatchErr(w, r)
		}
		p.op, p.size = decFixed, w.Size
	case avro.TypeEnum:
		if w.Type != avro.TypeEnum || !sameAvroName(r, w) {
			return nil, mismatchErr(w, r)
		}
		p.op = decEnum
		if r.HasEnumDefault {
			p.enumDef = r.EnumDefault
		}
		for _, sym := range w.Symbols {
			found := ""
			for _, rs := range r.Symbols {
				if rs == sym {
					found = sym
				}
			}
			p.symbols = append(p.symbols, found)
		}
	case avro.TypeArray:
		if w.Type != avro.TypeArray {
			return nil, mismatchErr(w, r)
		}
		if rc.Type == connect.Map {
			// AvroData's MapEntry records.
			if !isMapEntry(w.Items) || w.Items.Field("key") == nil || w.Items.Field("value") == nil {
				return nil, mismatchErr(w, r)
			}
			keys, err := d.compileDecoder(w.Items.Field("key").Type, r.Items.Field("key").Type, rc.Keys, depth+1)
			if err != nil {
				return nil, err
			}
			values, err := d.compileDecoder(w.Items.Field("value").Type, r.Items.Field("value").Type, rc.Values, depth+1)
			if err != nil {
				return nil, err
			}
			p.op, p.keys, p.items = decMapEntries, keys, values
			p.fields = entryOrder(w.Items)
			break
		}
		items, err := d.compileDecoder(w.Items, r.Items, rc.Items, depth+1)
		if err != nil {
			return nil, err
		}
		p.op, p.items = decArray, items
	case avro.TypeMap:
		if w.Type != avro.TypeMap {
			return nil, mismatchErr(w, r)
		}
		values, err := d.compileDecoder(w.Values, r.Values, rc.Values, depth+1)
		if err != nil {
			return nil, err
		}
		p.op, p.items = decMap, values
	case avro.TypeRecord:
		if w.Type != avro.TypeRecord || !sameAvroName(r, w) {
			return nil, mismatchErr(w, r)
		}
		p.op = decRecord
		matched := make([]bool, len(r.Fields))
		for _, wf := range w.Fields {
			ri := -1
			for i, rf := range r.Fields {
				if rf.Name == wf.Name || containsString(rf.Aliases, wf.Name) {
					ri = i
					break
				}
			}
			if ri < 0 {
				p.fields = append(p.fields, decField{reader: -1, skip: wf.Type})
				continue
			}
			matched[ri] = true
			fp, err := d.compileDecoder(wf.Type, r.Fields[ri].Type, rc.Fields[ri].Schema, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", wf.Name, err)
			}
			p.fields = append(p.fields, decField{reader: ri, plan: fp})
		}
		for i, rf := range r.Fields {
			if matched[i] {
				continue
			}
			if rf.Default == nil {
				return nil, fmt.Errorf("Found %s, expecting %s, missing required field %s", w.FullName(), r.FullName(), rf.Name)
			}
			v, err := d.defaultFromAvro(rc.Fields[i].Schema, rf.Type, rf.Default, 0)
			if err != nil {
				return nil, fmt.Errorf("field %s: default: %w", rf.Name, err)
			}
			p.defaults = append(p.defaults, fieldDefault{index: i, value: v})
		}
	default:
		return nil, mismatchErr(w, r)
	}
	return p, nil
}

// entryOrder returns where a MapEntry record's key and value fields are:
// fields[0] is read first.
func entryOrder(entry *avro.Schema) []decField {
	if entry.Fields[0].Name == "key" {
		return []decField{{reader: 0}, {reader: 1}}
	}
	return []decField{{reader: 1}, {reader: 0}}
}

func (d *avroData) compileReaderUnion(w, r *avro.Schema, rc *connect.Schema, depth int) (*decPlan, error) {
	if !isUnionSchema(rc) {
		// An optional schema ([null, X]) or a flattened one-branch union:
		// rc is X's Connect schema.
		var x *avro.Schema
		for _, b := range r.Branches {
			if b.Type != avro.TypeNull {
				x = b
			}
		}
		if w.Type == avro.TypeUnion {
			p := &decPlan{op: decWriterUnion, schema: rc}
			for _, wb := range w.Branches {
				var bp *decPlan
				var err error
				if wb.Type == avro.TypeNull {
					if len(r.Branches) == 1 {
						err = errors.New("Found null, expecting a value")
					} else {
						bp = &decPlan{op: decNull}
					}
				} else {
					bp, err = d.compileDecoder(wb, x, rc, depth+1)
				}
				if err != nil {
					bp = &decPlan{op: decFail, fail: err.Error()}
				}
				p.branches = append(p.branches, bp)
			}
			return p, nil
		}
		if w.Type == avro.TypeNull {
			return &decPlan{op: decNull}, nil
		}
		return d.compileDecoder(w, x, rc, depth+1)
	}
	// A Connect union struct: each writer branch lands in the field of
	// the reader branch that takes it.
	one := func(wb *avro.Schema) (*decPlan, error) {
		if wb.Type == avro.TypeNull {
			return &decPlan{op: decNull}, nil
		}
		i := bestBranch(r, wb)
		if i < 0 {
			return nil, fmt.Errorf("Found %s, expecting union", wb.FullName())
		}
		f, ok := rc.Field(d.unionMemberName(r.Branches[i], i))
		if !ok {
			return nil, fmt.Errorf("no Connect union field for %s", r.Branches[i].FullName())
		}
		inner, err := d.compileDecoder(wb, r.Branches[i], f.Schema, depth+1)
		if err != nil {
			return nil, err
		}
		return &decPlan{op: decReaderUnion, schema: rc, member: f.Index, inner: inner}, nil
	}
	if w.Type != avro.TypeUnion {
		return one(w)
	}
	p := &decPlan{op: decWriterUnion, schema: rc}
	for _, wb := range w.Branches {
		bp, err := one(wb)
		if err != nil {
			bp = &decPlan{op: decFail, fail: err.Error()}
		}
		p.branches = append(p.branches, bp)
	}
	return p, nil
}

// bestBranch picks the reader union branch for a writer type, as Avro's
// resolution does: the same type (a named type by its full name, then its
// short name), else the first the writer's type promotes to.
func bestBranch(r, w *avro.Schema) int {
	for i, b := range r.Branches {
		if b.Type == w.Type && (!b.Named() || b.FullName() == w.FullName()) {
			return i
		}
	}
	for i, b := range r.Branches {
		if b.Type == w.Type && b.Named() && b.Name == w.Name {
			return i
		}
	}
	promotes := map[string][]string{
		avro.TypeInt:    {avro.TypeLong, avro.TypeFloat, avro.TypeDouble},
		avro.TypeLong:   {avro.TypeFloat, avro.TypeDouble},
		avro.TypeFloat:  {avro.TypeDouble},
		avro.TypeString: {avro.TypeBytes},
		avro.TypeBytes:  {avro.TypeString},
	}
	for i, b := range r.Branches {
		if containsString(promotes[w.Type], b.Type) {
			return i
		}
	}
	return -1
}

func sameAvroName(r, w *avro.Schema) bool {
	return r.Name == w.Name || containsString(r.Aliases, w.FullName())
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func mismatchErr(w, r *avro.Schema) error {
	return fmt.Errorf("Found %s, expecting %s", w.FullName(), r.FullName())
}

// decode reads one value.
func (p *decPlan) decode(r *avro.Reader, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	var v any
	switch p.op {
	case decNull:
		return nil, nil
	case decFail:
		return nil, errors.New(p.fail)
	case decBoolean:
		v = r.Boolean()
	case decIntToInt8:
		n := r.Int()
		if int32(int8(n)) != n {
			return nil, fmt.Errorf("int %d out of range for int8", n)
		}
		v = int8(n)
	case decIntToInt16:
		n := r.Int()
		if int32(int16(n)) != n {
			return nil, fmt.Errorf("int %d out of range for int16", n)
		}
		v = int16(n)
	case decInt:
		v = r.Int()
	case decIntToLong:
		v = int64(r.Int())
	case decIntToFloat:
		v = float32(r.Int())
	case decIntToDouble:
		v = float64(r.Int())
	case decLong:
		v = r.Long()
	case decLongToFloat:
		v = float32(r.Long())
	case decLongToDouble:
		v = float64(r.Long())
	case decFloat:
		v = r.Float()
	case decFloatToDouble:
		v = float64(r.Float())
	case decDouble:
		v = r.Double()
	case decBytes:
		b := r.Bytes()
		if p.toStr {
			v = string(b)
		} else {
			v = bytes.Clone(b)
		}
	case decFixed:
		v = bytes.Clone(r.Fixed(p.size))
	case decEnum:
		i := r.Long()
		if r.Err() != nil {
			return nil, r.Err()
		}
		if i < 0 || i >= int64(len(p.symbols)) {
			return nil, fmt.Errorf("enum index %d out of range [0, %d)", i, len(p.symbols))
		}
		sym := p.symbols[i]
		if sym == "" {
			if p.enumDef == "" {
				return nil, fmt.Errorf("the reader's enum has no symbol for the writer's index %d and no default", i)
			}
			sym = p.enumDef
		}
		v = sym
	case decArray:
		out := []any{}
		for n := r.BlockCount(minBytes(p.items)); n > 0; n = r.BlockCount(minBytes(p.items)) {
			for ; n > 0; n-- {
				e, err := p.items.decode(r, depth+1)
				if err != nil {
					return nil, fmt.Errorf("array element %d: %w", len(out), err)
				}
				out = append(out, e)
			}
		}
		return out, r.Err()
	case decMap:
		out := map[string]any{}
		for n := r.BlockCount(1); n > 0; n = r.BlockCount(1) {
			for ; n > 0; n-- {
				k := string(r.Bytes())
				e, err := p.items.decode(r, depth+1)
				if err != nil {
					return nil, fmt.Errorf("map value %q: %w", k, err)
				}
				out[k] = e
			}
		}
		return out, r.Err()
	case decMapEntries:
		out := map[any]any{}
		for n := r.BlockCount(0); n > 0; n = r.BlockCount(0) {
			for ; n > 0; n-- {
				var kv [2]any
				for _, f := range p.fields {
					sub := p.keys
					if f.reader == 1 {
						sub = p.items
					}
					e, err := sub.decode(r, depth+1)
					if err != nil {
						return nil, fmt.Errorf("map entry: %w", err)
					}
					kv[f.reader] = e
				}
				switch kv[0].(type) {
				case []byte, []any, map[string]any, map[any]any:
					return nil, fmt.Errorf("map key of Go type %T cannot be a Go map key", kv[0])
				}
				if isNil(kv[0]) {
					return nil, errors.New("map key is null")
				}
				out[kv[0]] = kv[1]
			}
		}
		return out, r.Err()
	case decRecord:
		sv := connect.NewStruct(p.schema)
		for _, f := range p.fields {
			if f.reader < 0 {
				if err := skipAvro(r, f.skip, depth+1); err != nil {
					return nil, err
				}
				continue
			}
			e, err := f.plan.decode(r, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", p.schema.Fields[f.reader].Name, err)
			}
			if e == nil && !f.plan.schema.Optional {
				return nil, fmt.Errorf("field %q: null for a required field", p.schema.Fields[f.reader].Name)
			}
			sv.SetIndex(f.reader, e)
		}
		for _, def := range p.defaults {
			sv.SetIndex(def.index, def.value)
		}
		return sv, r.Err()
	case decWriterUnion:
		i := r.Long()
		if r.Err() != nil {
			return nil, r.Err()
		}
		if i < 0 || i >= int64(len(p.branches)) {
			return nil, fmt.Errorf("union index %d out of range [0, %d)", i, len(p.branches))
		}
		return p.branches[i].decode(r, depth+1)
	case decReaderUnion:
		e, err := p.inner.decode(r, depth+1)
		if err != nil || e == nil {
			return e, err
		}
		sv := connect.NewStruct(p.schema)
		sv.SetIndex(p.member, e)
		return sv, nil
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return p.toLogical(v)
}

func (p *decPlan) toLogical(v any) (any, error) {
	switch p.logical {
	case logicalDecimal:
		b, _ := v.([]byte)
		if len(b) == 0 {
			return nil, errors.New("a decimal of no bytes")
		}
		return connect.DecimalFromBytes(b, p.scale), nil
	case logicalDate:
		n, ok := v.(int32)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Date, underlying representation should be int32 but was %T", v)
		}
		return connect.DaysToDate(n), nil
	case logicalTime:
		n, ok := v.(int32)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Time, underlying representation should be int32 but was %T", v)
		}
		return connect.MillisToTime(n), nil
	case logicalTimestamp:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("Invalid type for Timestamp, underlying representation should be int64 but was %T", v)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	return v, nil
}

// minBytes is the least an item of p takes in the encoding, which bounds
// how many items the bytes left can hold.
func minBytes(p *decPlan) int {
	switch p.op {
	case decNull, decFail, decReaderUnion:
		return 0
	case decRecord:
		n := 0
		for _, f := range p.fields {
			if f.plan != nil {
				n += minBytes(f.plan)
			}
		}
		return min(n, 1)
	case decFixed:
		return min(p.size, 1)
	}
	return 1
}

// skipAvro reads and drops a value the writer wrote with schema w.
func skipAvro(r *avro.Reader, w *avro.Schema, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	switch w.Type {
	case avro.TypeNull:
	case avro.TypeBoolean:
		r.Boolean()
	case avro.TypeInt, avro.TypeLong, avro.TypeEnum:
		r.Long()
	case avro.TypeFloat:
		r.Float()
	case avro.TypeDouble:
		r.Double()
	case avro.TypeString, avro.TypeBytes:
		r.Bytes()
	case avro.TypeFixed:
		r.Fixed(w.Size)
	case avro.TypeArray, avro.TypeMap:
		for n := r.BlockCount(0); n > 0 && r.Err() == nil; n = r.BlockCount(0) {
			for ; n > 0 && r.Err() == nil; n-- {
				if w.Type == avro.TypeMap {
					r.Bytes()
					if err := skipAvro(r, w.Values, depth+1); err != nil {
						return err
					}
				} else if err := skipAvro(r, w.Items, depth+1); err != nil {
					return err
				}
			}
		}
	case avro.TypeRecord:
		for _, f := range w.Fields {
			if err := skipAvro(r, f.Type, depth+1); err != nil {
				return err
			}
		}
	case avro.TypeUnion:
		i := r.Long()
		if r.Err() == nil {
			if i < 0 || i >= int64(len(w.Branches)) {
				return fmt.Errorf("union index %d out of range [0, %d)", i, len(w.Branches))
			}
			return skipAvro(r, w.Branches[i], depth+1)
		}
	}
	return r.Err()
}
