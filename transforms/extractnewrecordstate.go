package transforms

import (
	"slices"
	"strings"

	"github.com/connectd/connectd/framework/connect"
)

// ExtractNewRecordState: Debezium's io.debezium.transforms.ExtractNewRecordState
// (event flattening), as Debezium 2.7 documents and implements it.
//
// A Debezium change event is a struct named <topic prefix>.<schema>.<table>.Envelope
// with before, after, source, transaction, op and ts_ms fields. The
// transform replaces it with its after struct, and decides what becomes of
// deletes (after is null), tombstones (no value) and truncates (neither
// before nor after). Records that are not change events pass unchanged.

// debeziumTransformsPackage is the Java package of Debezium's transforms.
const debeziumTransformsPackage = "io.debezium.transforms."

// Debezium's envelope and the names the transform adds.
const (
	envelopeSuffix = ".Envelope"
	deletedField   = "__deleted"
	opField        = "op"
	// unwrapPurpose is the purpose Debezium's add.fields step names when a
	// value is not a struct.
	unwrapPurpose = "source field insertion"
)

// The __deleted values and a tombstone's op header, each boxed once.
var (
	deletedTrue  any = "true"
	deletedFalse any = "false"
	deleteOpCode any = "d"
)

// The delete.tombstone.handling.mode values, and delete.handling.mode's.
var (
	tombstoneModes = []string{"drop", "tombstone", "rewrite", "rewrite-with-tombstone"}
	deleteModes    = []string{"drop", "rewrite", "none"}
)

var extractNewRecordStateDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "delete.tombstone.handling.mode", Type: connect.TypeString, Importance: connect.Medium,
		Validator: debeziumEnum(true, tombstoneModes...), Recommended: tombstoneModes,
		Doc: "What becomes of delete events and of the tombstones that follow them. drop: both are dropped. " +
			"tombstone: a delete becomes a record with a null value (and the row's schema); tombstones are dropped. " +
			"rewrite: a delete becomes its before row with __deleted=\"true\" (other rows get __deleted=\"false\"); tombstones are dropped. " +
			"rewrite-with-tombstone: as rewrite, and tombstones are kept. " +
			"When set, drop.tombstones and delete.handling.mode are ignored."},
	connect.ConfigKey{Name: "drop.tombstones", Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Deprecated (use delete.tombstone.handling.mode): whether tombstones are dropped. Read only when delete.tombstone.handling.mode is not set."},
	connect.ConfigKey{Name: "delete.handling.mode", Type: connect.TypeString, Default: "drop", Importance: connect.Medium,
		Validator: debeziumEnum(false, deleteModes...), Recommended: deleteModes,
		Doc: "Deprecated (use delete.tombstone.handling.mode): what becomes of delete events. drop: dropped. " +
			"none: a record with a null value. rewrite: the before row with __deleted=\"true\" (other rows get __deleted=\"false\"). " +
			"Read only when delete.tombstone.handling.mode is not set."},
	connect.ConfigKey{Name: "route.by.field", Type: connect.TypeString, Importance: connect.Low,
		Doc: "A string field of the row (of after; of before for a delete) whose value, when not empty, replaces the topic."},
	connect.ConfigKey{Name: "add.fields.prefix", Type: connect.TypeString, Default: "__", Importance: connect.Low,
		Doc: "What to put before the names of the fields add.fields adds."},
	connect.ConfigKey{Name: "add.fields", Type: connect.TypeList, Importance: connect.Low,
		Doc: "Change event fields to add to the row, e.g. op,table,lsn,source.ts_ms: op, ts_ms, ts_us and ts_ns are the envelope's, " +
			"id, total_order and data_collection_order the transaction's, any other name the source's; struct.field names one field of " +
			"one struct. Each is named prefix + field (prefix + struct_field when qualified), or prefix + alias with field:alias. " +
			"A field the event lacks is left out."},
	connect.ConfigKey{Name: "add.headers.prefix", Type: connect.TypeString, Default: "__", Importance: connect.Low,
		Doc: "What to put before the names of the headers add.headers adds."},
	connect.ConfigKey{Name: "add.headers", Type: connect.TypeList, Importance: connect.Low,
		Doc: "Change event fields to add as headers, named as add.fields names its fields. A tombstone gets only op, as \"d\"."},
	connect.ConfigKey{Name: "drop.fields.header.name", Type: connect.TypeString, Importance: connect.Low,
		Doc: "A header whose value is a list of field names to remove from the row (and from the key, with drop.fields.from.key)."},
	connect.ConfigKey{Name: "drop.fields.from.key", Type: connect.TypeBoolean, Default: "false", Importance: connect.Low,
		Doc: "Whether the fields named by drop.fields.header.name are removed from the key too."},
	connect.ConfigKey{Name: "drop.fields.keep.schema.compatible", Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "true: of the fields named by drop.fields.header.name, only optional ones are removed; false: all of them."},
)

// debeziumEnum is the validator of Debezium's enumerated keys: one of
// values, trimmed, in any case; blank too when blankOK.
func debeziumEnum(blankOK bool, values ...string) connect.ValidatorFunc {
	return func(v any) error {
		s, _ := v.(string)
		if blankOK && s == "" {
			return nil
		}
		if slices.Contains(values, strings.ToLower(strings.TrimSpace(s))) {
			return nil
		}
		return errf("Value must be one of %s", strings.Join(values, ", "))
	}
}

// deleteHandling is what becomes of a delete event.
type deleteHandling int

const (
	deleteDrop    deleteHandling = iota // dropped
	deleteToNull                        // a null value of the row's schema
	deleteRewrite                       // the before row, __deleted="true"
)

type extractNewRecordState struct {
	deletes        deleteHandling
	keepTombstones bool
	rewrite        bool // every row gets __deleted
	routeBy        string
	fields         []fieldRef
	headers        []fieldRef
	dropHeader     string
	dropFromKey    bool
	dropCompatible bool
	cache          schemaCache[*unwrapPlan]
}

func newExtractNewRecordState(cfg *connect.Config, _ Env) (updater, error) {
	t := &extractNewRecordState{
		routeBy:        cfg.String("route.by.field"),
		dropHeader:     cfg.String("drop.fields.header.name"),
		dropFromKey:    cfg.Bool("drop.fields.from.key"),
		dropCompatible: cfg.Bool("drop.fields.keep.schema.compatible"),
	}
	// delete.tombstone.handling.mode wins when set; else the deprecated
	// pair decides, with their defaults (drop deletes, drop tombstones).
	if mode := strings.ToLower(strings.TrimSpace(cfg.String("delete.tombstone.handling.mode"))); mode != "" {
		switch mode {
		case "drop":
			t.deletes = deleteDrop
		case "tombstone":
			t.deletes = deleteToNull
		case "rewrite":
			t.deletes = deleteRewrite
		case "rewrite-with-tombstone":
			t.deletes, t.keepTombstones = deleteRewrite, true
		}
	} else {
		switch strings.ToLower(strings.TrimSpace(cfg.String("delete.handling.mode"))) {
		case "none":
			t.deletes = deleteToNull
		case "rewrite":
			t.deletes = deleteRewrite
		default:
			t.deletes = deleteDrop
		}
		t.keepTombstones = !cfg.Bool("drop.tombstones")
	}
	t.rewrite = t.deletes == deleteRewrite
	var err error
	if t.fields, err = parseFieldRefs(cfg, "add.fields", cfg.String("add.fields.prefix")); err != nil {
		return nil, err
	}
	if t.headers, err = parseFieldRefs(cfg, "add.headers", cfg.String("add.headers.prefix")); err != nil {
		return nil, err
	}
	return t, nil
}

// fieldRef is one entry of add.fields or add.headers: a field of the
// change event, and the name it gets.
type fieldRef struct {
	entry  string // as configured, for messages
	parent string // the envelope field holding it; "" for the envelope itself
	field  string
	name   string // the added field's or header's name
}

// parseFieldRefs reads add.fields or add.headers, as Debezium's
// FieldReference does: "field", "struct.field", each optionally followed
// by ":alias".
func parseFieldRefs(cfg *connect.Config, key, prefix string) ([]fieldRef, error) {
	var refs []fieldRef
	for _, e := range cfg.List(key) {
		parts := javaSplit(e, ":")
		if len(parts) == 0 || len(parts) > 2 {
			raw := cfg.Raw()[key]
			return nil, keyError(key, &raw, "Unexpected field name: %s", e)
		}
		path := javaSplit(parts[0], ".")
		if len(path) == 0 {
			raw := cfg.Raw()[key]
			return nil, keyError(key, &raw, "Unexpected field name: %s", e)
		}
		r := fieldRef{entry: e}
		if len(path) == 1 {
			r.field = path[0]
			r.parent = envelopeStructOf(r.field)
			r.name = prefix + r.field
		} else {
			// As Debezium's, "a.b.c" reads as field b of struct a.
			r.parent, r.field = path[0], path[1]
			r.name = prefix + r.parent + "_" + r.field
		}
		if len(parts) == 2 {
			r.name = prefix + parts[1]
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// envelopeStructOf names the envelope field that holds an unqualified
// field of add.fields or add.headers.
func envelopeStructOf(field string) string {
	switch field {
	case "id", "total_order", "data_collection_order":
		return "transaction"
	case "op", "ts_ms", "ts_us", "ts_ns":
		return ""
	case "updateDescription": // MongoDB's
		return "updateDescription"
	}
	return "source"
}

// unwrapPlan is what the transform derives from one envelope schema.
type unwrapPlan struct {
	after, before connect.Field // Index -1: the envelope has no such field
	headers       []refSlot
	fields        []refSlot
	added         []*refSlot // the fields whose schema was found
	addErr        error      // a field of add.fields that cannot be resolved
	// row replaces a create, update or read event's after; deleteRow a
	// rewritten delete's before; bareDelete is deleteRow without the
	// added fields, for when fields are dropped before they are added.
	row, deleteRow, bareDelete rowPlan
}

// refSlot is a fieldRef resolved against an envelope schema.
type refSlot struct {
	name string
	// schema is the added field's or header's; nil when the event lacks
	// the field, which is then left out.
	schema *connect.Schema
	// parent is the envelope field holding the value (-1: the envelope),
	// parentSchema its schema; inParent says whether index is in the
	// parent or, when Debezium found the field at the top level instead,
	// in the envelope.
	parent       int
	parentSchema *connect.Schema
	inParent     bool
	index        int
	field        string
	err          error // the field cannot be resolved: fails the records that need it
}

// rowPlan maps a row struct (after, or before for a rewritten delete) to
// the struct that replaces the change event.
type rowPlan struct {
	in      *connect.Schema // the row's schema
	schema  *connect.Schema // the result's
	deleted any             // the __deleted value, or nil for none
	fields  []*refSlot      // added fields, after the row's (and __deleted)
	err     error
}

func (t *extractNewRecordState) plan(env *connect.Schema) (*unwrapPlan, error) {
	p := &unwrapPlan{after: connect.Field{Index: -1}, before: connect.Field{Index: -1}}
	if f, ok := env.Field("after"); ok {
		p.after = f
	}
	if f, ok := env.Field("before"); ok {
		p.before = f
	}
	p.headers = resolveRefs(env, t.headers)
	p.fields = resolveRefs(env, t.fields)
	for i := range p.fields {
		s := &p.fields[i]
		if s.err != nil && p.addErr == nil {
			p.addErr = s.err
		}
		if s.schema != nil {
			p.added = append(p.added, s)
		}
	}
	if p.after.Index >= 0 {
		var deleted any
		if t.rewrite {
			deleted = deletedFalse
		}
		p.row = newRowPlan(p.after.Schema, deleted, p.added, p.addErr)
	}
	if p.before.Index >= 0 && t.deletes == deleteRewrite {
		p.deleteRow = newRowPlan(p.before.Schema, deletedTrue, p.added, p.addErr)
		p.bareDelete = newRowPlan(p.before.Schema, deletedTrue, nil, nil)
	}
	return p, nil
}

func newRowPlan(in *connect.Schema, deleted any, added []*refSlot, addErr error) rowPlan {
	rp := rowPlan{in: in, deleted: deleted, fields: added, err: addErr}
	if rp.err != nil {
		return rp
	}
	if in.Type != connect.Struct {
		// The value cannot be a struct: update reports what it is.
		return rp
	}
	fields := rowFields(in, deleted != nil)
	for _, s := range added {
		fields = append(fields, connect.Field{Name: s.name, Schema: s.schema})
	}
	rp.schema, rp.err = newStructSchema(in, fields)
	return rp
}

// resolveRefs finds each reference's field in the envelope schema, as
// Debezium's FieldReference.getSchema does: in its struct, else at the
// top of the envelope, else nowhere (left out).
func resolveRefs(env *connect.Schema, refs []fieldRef) []refSlot {
	out := make([]refSlot, len(refs))
	for i, r := range refs {
		s := &out[i]
		s.name, s.field, s.parent, s.parentSchema = r.name, r.field, -1, env
		if r.parent != "" {
			pf, ok := env.Field(r.parent)
			if !ok {
				// Debezium fails with a NullPointerException.
				s.err = &DataError{Exception: nullPointer,
					Msg: "the change event has no field " + r.parent + " (named by " + r.entry + ")"}
				continue
			}
			s.parent, s.parentSchema = pf.Index, pf.Schema
		}
		if s.parentSchema.Type != connect.Struct {
			s.err = dataErr("Cannot look up fields on non-struct type")
			continue
		}
		if f, ok := s.parentSchema.Field(r.field); ok {
			s.schema, s.inParent, s.index = metadataSchema(f.Schema), true, f.Index
		} else if f, ok := env.Field(r.field); ok {
			s.schema, s.index = metadataSchema(f.Schema), f.Index
		}
	}
	return out
}

// metadataSchema is the schema of a field or header copied from the
// change event: its type, name, version, doc and parameters, optional,
// with no default (Debezium's copySchemaBasics(...).optional()). An
// array keeps its items, and a struct or map its fields, keys and values.
func metadataSchema(s *connect.Schema) *connect.Schema {
	c := copyBasics(s, s.Type)
	c.Optional = true
	c.Items, c.Keys, c.Values = s.Items, s.Keys, s.Values
	if s.Type == connect.Struct {
		structOf(c, slices.Clone(s.Fields))
	}
	return c
}

// value returns the referenced field's value in the envelope env, raw (a
// null stays null), or nil when its struct is null.
func (s *refSlot) value(env *connect.StructValue) any {
	if s.parent < 0 {
		return env.GetIndex(s.index)
	}
	p, _ := env.GetIndex(s.parent).(*connect.StructValue)
	if p == nil {
		return nil
	}
	if !s.inParent {
		return env.GetIndex(s.index)
	}
	if p.Schema() != s.parentSchema {
		if f, ok := p.Schema().Field(s.field); ok {
			return p.GetIndex(f.Index)
		}
		return nil
	}
	return p.GetIndex(s.index)
}

// isEnvelope reports whether a value schema is a Debezium change event's.
func isEnvelope(s *connect.Schema) bool {
	return s != nil && strings.HasSuffix(s.Name, envelopeSuffix)
}

func (t *extractNewRecordState) update(r *connect.Record, own *owned) (bool, error) {
	if r.Value == nil {
		// A tombstone: with add.headers it gets op as "d", if asked for.
		if len(t.headers) > 0 {
			t.addTombstoneHeaders(r, own)
		}
		return t.keepTombstones, nil
	}
	if !isEnvelope(r.ValueSchema) {
		return true, nil // a heartbeat, a schema change, anything else
	}
	env, err := requireStruct(r.Value, extractPurpose)
	if err != nil {
		return false, err
	}
	plan, _ := t.cache.get(r.ValueSchema, t.plan)
	if len(plan.headers) > 0 {
		if err := t.addHeaders(r, own, plan, env); err != nil {
			return false, err
		}
	}
	if plan.after.Index < 0 {
		return false, &DataError{Exception: illegalArgument, Msg: "Unknown field: after"}
	}
	after := field(env, plan.after, true)
	if after != nil {
		return t.updateRow(r, own, plan, env, after)
	}
	if plan.before.Index < 0 {
		return false, &DataError{Exception: illegalArgument, Msg: "Unknown field: before"}
	}
	before := field(env, plan.before, true)
	if before == nil {
		return false, nil // a truncate: Debezium drops it
	}
	return t.updateDelete(r, own, plan, env, before)
}

// updateDelete handles a delete event, whose before row is before.
func (t *extractNewRecordState) updateDelete(r *connect.Record, own *owned, plan *unwrapPlan, env *connect.StructValue, before any) (bool, error) {
	if t.deletes == deleteDrop {
		return false, nil
	}
	if err := t.route(r, before, plan.before.Schema, false, "DELETE"); err != nil {
		return false, err
	}
	if t.deletes == deleteToNull {
		// The after field's schema, with a null value: not a tombstone.
		valuePart.set(r, own, plan.after.Schema, nil)
		return true, t.dropFields(r, own)
	}
	// A rewritten delete: the before row with __deleted="true".
	row, ok := before.(*connect.StructValue)
	if !ok {
		return false, dataErr("Only Struct objects supported for [%s], found: %s", unwrapPurpose, javaClassName(before))
	}
	if t.dropHeader == "" {
		return true, t.fill(r, own, &plan.deleteRow, env, row)
	}
	// Debezium drops fields before it adds the metadata fields here.
	if err := t.fill(r, own, &plan.bareDelete, env, row); err != nil {
		return false, err
	}
	if err := t.dropFields(r, own); err != nil {
		return false, err
	}
	return true, t.appendFields(r, plan, env)
}

// updateRow replaces a create, update or read event with its after row.
func (t *extractNewRecordState) updateRow(r *connect.Record, own *owned, plan *unwrapPlan, env *connect.StructValue, after any) (bool, error) {
	row, ok := after.(*connect.StructValue)
	if !ok {
		purpose := unwrapPurpose
		if t.routeBy != "" {
			purpose = "Read record to set topic routing for CREATE / UPDATE"
		}
		return false, dataErr("Only Struct objects supported for [%s], found: %s", purpose, javaClassName(after))
	}
	if t.routeBy != "" {
		if err := t.route(r, row, plan.after.Schema, t.rewrite, "CREATE / UPDATE"); err != nil {
			return false, err
		}
	}
	if err := t.fill(r, own, &plan.row, env, row); err != nil {
		return false, err
	}
	if t.dropHeader != "" {
		if err := t.dropFields(r, own); err != nil {
			return false, err
		}
	}
	return true, nil
}

// rowFields lists a row schema's fields, with __deleted when deleted.
func rowFields(in *connect.Schema, deleted bool) []connect.Field {
	fields := make([]connect.Field, 0, len(in.Fields)+1)
	for _, f := range in.Fields {
		fields = append(fields, connect.Field{Name: f.Name, Schema: f.Schema})
	}
	if deleted {
		fields = append(fields, connect.Field{Name: deletedField, Schema: connect.OptionalString})
	}
	return fields
}

// fill sets r's value to the struct rp makes of row and the envelope env.
// A null field of the row reads as its default in rewrite mode, where
// Debezium adds __deleted with Kafka Connect's InsertField (which reads
// fields that way), and stays null otherwise.
func (t *extractNewRecordState) fill(r *connect.Record, own *owned, rp *rowPlan, env, row *connect.StructValue) error {
	if rp.err != nil {
		return rp.err
	}
	if rs := row.Schema(); rs != rp.in && !rs.Equal(rp.in) {
		return dataErr("Struct schemas do not match.")
	}
	out := own.structToFill(rp.schema)
	n := len(rp.in.Fields)
	for i := range n {
		v := row.GetIndex(i)
		if v == nil && t.rewrite {
			v = rp.in.Fields[i].Schema.Default
		}
		setField(out, i, v)
	}
	if rp.deleted != nil {
		setField(out, n, rp.deleted)
		n++
	}
	for i, s := range rp.fields {
		setField(out, n+i, s.value(env))
	}
	valuePart.setFresh(r, own, rp.schema, out)
	return nil
}

// appendFields adds the metadata fields to r's value, a struct of ours,
// for a rewritten delete whose fields were dropped first.
func (t *extractNewRecordState) appendFields(r *connect.Record, plan *unwrapPlan, env *connect.StructValue) error {
	if plan.addErr != nil {
		return plan.addErr
	}
	refs := plan.added
	if len(refs) == 0 {
		return nil
	}
	sv := r.Value.(*connect.StructValue)
	in := sv.Schema()
	fields := rowFields(in, false)
	for _, s := range refs {
		fields = append(fields, connect.Field{Name: s.name, Schema: s.schema})
	}
	schema, err := newStructSchema(in, fields)
	if err != nil {
		return err
	}
	out := connect.NewStruct(schema)
	for i := range in.Fields {
		out.SetIndex(i, sv.GetIndex(i))
	}
	for i, s := range refs {
		out.SetIndex(len(in.Fields)+i, s.value(env))
	}
	r.ValueSchema, r.Value = schema, out
	return nil
}

// route sets the topic to the string field route.by.field of row, when
// that is neither null nor blank. In rewrite mode the row Debezium reads
// it from has __deleted too, and nulls read as defaults.
func (t *extractNewRecordState) route(r *connect.Record, rowValue any, rowSchema *connect.Schema, rewritten bool, what string) error {
	if t.routeBy == "" {
		return nil
	}
	row, ok := rowValue.(*connect.StructValue)
	if !ok {
		if what == "DELETE" { // Debezium reads the envelope's before as a struct
			return dataErr("Field 'before' is not of type STRUCT")
		}
		return dataErr("Only Struct objects supported for [Read record to set topic routing for %s], found: %s", what, javaClassName(rowValue))
	}
	var v any
	if f, ok := rowSchema.Field(t.routeBy); ok {
		if f.Schema.Type != connect.String {
			return dataErr("Field '%s' is not of type STRING", t.routeBy)
		}
		v = row.GetIndex(f.Index)
		if v == nil && rewritten {
			v = f.Schema.Default
		}
	} else if rewritten && t.routeBy == deletedField {
		v = deletedFalse
	} else {
		return dataErr("%s is not a valid field name", t.routeBy)
	}
	if s, _ := v.(string); strings.TrimSpace(s) != "" && r.Topic != s {
		r.Topic = s
	}
	return nil
}

// addHeaders appends the add.headers fields of env to r's headers.
func (t *extractNewRecordState) addHeaders(r *connect.Record, own *owned, plan *unwrapPlan, env *connect.StructValue) error {
	hs := append(own.newHeaders(len(r.Headers)+len(plan.headers)), r.Headers...)
	for i := range plan.headers {
		s := &plan.headers[i]
		if s.err != nil {
			return s.err
		}
		if s.schema == nil {
			continue
		}
		hs = append(hs, connect.Header{Key: s.name, Schema: s.schema, Value: s.value(env)})
	}
	r.Headers = hs
	return nil
}

// addTombstoneHeaders gives a tombstone the op headers, as "d".
func (t *extractNewRecordState) addTombstoneHeaders(r *connect.Record, own *owned) {
	n := 0
	for _, h := range t.headers {
		if h.field == opField {
			n++
		}
	}
	if n == 0 {
		return
	}
	hs := append(own.newHeaders(len(r.Headers)+n), r.Headers...)
	for _, h := range t.headers {
		if h.field == opField {
			hs = append(hs, connect.Header{Key: h.name, Schema: connect.StringSchema, Value: deleteOpCode})
		}
	}
	r.Headers = hs
}

// dropFields removes from r's value (and key, with drop.fields.from.key)
// the fields that the drop.fields.header.name header lists: only the
// optional ones with drop.fields.keep.schema.compatible. What remains is
// copied as Kafka Connect's ReplaceField copies it, a null field reading
// as its default.
func (t *extractNewRecordState) dropFields(r *connect.Record, own *owned) error {
	if t.dropHeader == "" {
		return nil
	}
	var names []string
	for _, h := range r.Headers {
		if h.Key != t.dropHeader {
			continue
		}
		switch l := h.Value.(type) {
		case nil:
		case []string:
			names = l
		case []any:
			for _, e := range l {
				s, ok := e.(string)
				if !ok {
					return dataErr("header %s lists %s, not a field name", t.dropHeader, javaClassName(e))
				}
				names = append(names, s)
			}
		default:
			return dataErr("header %s holds %s, not a list of field names", t.dropHeader, javaClassName(h.Value))
		}
		break
	}
	if len(names) == 0 {
		return nil
	}
	if t.dropFromKey && r.Key != nil {
		s, v, err := t.dropFrom(r.KeySchema, r.Key, names)
		if err != nil {
			return err
		}
		r.KeySchema, r.Key = s, v
		own.key = false
	}
	if r.Value != nil {
		s, v, err := t.dropFrom(r.ValueSchema, r.Value, names)
		if err != nil {
			return err
		}
		r.ValueSchema, r.Value = s, v
		own.value = false
	}
	return nil
}

// dropFrom returns v without the fields names, as Debezium does it: with
// drop.fields.keep.schema.compatible only the optional ones of them, and
// nothing changes when none is; otherwise ReplaceField with exclude=names
// rebuilds the struct even when it has none of them (reading nulls as
// defaults). A schemaless key loses those keys.
func (t *extractNewRecordState) dropFrom(s *connect.Schema, v any, names []string) (*connect.Schema, any, error) {
	if s == nil {
		m, err := requireMap(v, "field replacement")
		if err != nil {
			return nil, nil, err
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			if !slices.Contains(names, k) {
				out[k] = x
			}
		}
		return nil, out, nil
	}
	sv, err := requireStruct(v, "field replacement")
	if err != nil {
		return nil, nil, err
	}
	drop := func(f connect.Field) bool {
		return slices.Contains(names, f.Name) && (!t.dropCompatible || f.Schema.Optional)
	}
	if t.dropCompatible && !slices.ContainsFunc(s.Fields, drop) {
		return s, v, nil
	}
	var keep []connect.Field
	for _, f := range s.Fields {
		if !drop(f) {
			keep = append(keep, f)
		}
	}
	fields := make([]connect.Field, len(keep))
	for i, f := range keep {
		fields[i] = connect.Field{Name: f.Name, Schema: f.Schema}
	}
	out := structOf(copyBasics(s, connect.Struct), fields)
	nv := connect.NewStruct(out)
	for i, f := range keep {
		if g, ok := sv.Schema().Field(f.Name); ok {
			nv.SetIndex(i, field(sv, g, true))
		}
	}
	return out, nv, nil
}
