package transforms

import (
	"github.com/connectd/connectd/framework/connect"
)

// The Java packages of Kafka Connect's built-in transforms and predicates.
const (
	transformsPackage = "org.apache.kafka.connect.transforms."
	predicatesPackage = "org.apache.kafka.connect.transforms.predicates."
)

// keyValue returns the $Key and $Value variants of a transform.
func keyValue(name, doc string, def *connect.ConfigDef, mk func(part) func(*connect.Config, Env) (updater, error)) []TransformType {
	out := make([]TransformType, 0, 2)
	for _, p := range []part{keyPart, valuePart} {
		which := "key"
		if p == valuePart {
			which = "value"
		}
		out = append(out, TransformType{
			Class:  transformsPackage + name + p.suffix(),
			Name:   name + p.suffix(),
			Doc:    doc + " This variant works on the record's " + which + ".",
			Config: def,
			New:    asTransform(mk(p)),
		})
	}
	return out
}

func single(name, doc string, def *connect.ConfigDef, mk func(*connect.Config, Env) (updater, error)) []TransformType {
	return []TransformType{{Class: transformsPackage + name, Name: name, Doc: doc, Config: def, New: asTransform(mk)}}
}

// builtinTransforms lists the transforms Kafka Connect ships, by class
// name, and Debezium's ExtractNewRecordState, which Debezium's users put in
// front of every sink.
func builtinTransforms() []TransformType {
	var ts []TransformType
	for _, group := range [][]TransformType{
		keyValue("Cast", "Casts fields, or the whole key or value, to another primitive type.", castDef, newCast),
		single("DropHeaders", "Removes the headers with the given names.", dropHeadersDef, newDropHeaders),
		keyValue("ExtractField", "Replaces the key or value with one of its fields.", extractFieldDef, newExtractField),
		single("Filter", "Drops every record; use it with a predicate to drop some.", emptyDef, newFilter),
		keyValue("Flatten", "Flattens nested structs (or maps) into one level, joining the field names with a delimiter.",
			flattenDef, newFlatten),
		keyValue("HeaderFrom", "Moves or copies fields of the key or value into headers.", headerFromDef, newHeaderFrom),
		keyValue("HoistField", "Wraps the key or value in a struct (or map) with one field.", hoistFieldDef, newHoistField),
		keyValue("InsertField", "Adds fields holding the record's topic, partition, offset or timestamp, or a fixed string.",
			insertFieldDef, newInsertField),
		single("InsertHeader", "Adds a header with a fixed value.", insertHeaderDef, newInsertHeader),
		keyValue("MaskField", "Replaces the values of the given fields with their type's empty value (0, false, \"\", an empty array or map), or with a replacement.",
			maskFieldDef, newMaskField),
		single("RegexRouter", "Renames the topic when a regular expression matches it whole.", regexRouterDef, newRegexRouter),
		keyValue("ReplaceField", "Drops, keeps or renames fields.", replaceFieldDef, newReplaceField),
		keyValue("SetSchemaMetadata", "Sets the name or version of the key's or value's schema.", setSchemaMetadataDef, newSetSchemaMetadata),
		keyValue("TimestampConverter", "Converts a timestamp, the whole key or value or one field, between unix time, strings, and the Date, Time and Timestamp types.",
			timestampConverterDef, newTimestampConverter),
		single("TimestampRouter", "Renames the topic from the topic and the record's timestamp, e.g. to one topic per day.",
			timestampRouterDef, newTimestampRouter),
		single("ValueToKey", "Replaces the key with a struct (or map) of fields taken from the value.", valueToKeyDef, newValueToKey),
		{{Class: debeziumTransformsPackage + "ExtractNewRecordState", Name: "ExtractNewRecordState",
			Doc: "Debezium's event flattening: replaces a change event with its after row, drops, nulls or rewrites deletes, " +
				"drops or keeps tombstones, and can add the event's metadata as fields or headers.",
			Config: extractNewRecordStateDef, New: asTransform(newExtractNewRecordState)}},
	} {
		ts = append(ts, group...)
	}
	return ts
}

// builtinPredicates lists the predicates Kafka Connect ships.
func builtinPredicates() []PredicateType {
	return []PredicateType{
		{Class: predicatesPackage + "HasHeaderKey", Name: "HasHeaderKey",
			Doc: "True for records with at least one header of the given name.", Config: hasHeaderKeyDef, New: newHasHeaderKey},
		{Class: predicatesPackage + "RecordIsTombstone", Name: "RecordIsTombstone",
			Doc: "True for records whose value is null (tombstones).", Config: emptyDef, New: newRecordIsTombstone},
		{Class: predicatesPackage + "TopicNameMatches", Name: "TopicNameMatches",
			Doc: "True for records whose whole topic name matches a regular expression.", Config: topicNameMatchesDef, New: newTopicNameMatches},
	}
}
