// Package converters turns Connect data (a schema and a value, see package
// connect) into the bytes of a Kafka record's key, value and headers, and
// back. Source tasks' records pass through FromConnect on their way to
// Kafka; sink tasks' records pass through ToConnect on their way in. The
// converters run inside the plugin process, once per record, so they are
// written for speed: no reflection on the per-record path, pooled buffers,
// cached schemas.
//
// Each converter reproduces its Kafka Connect namesake, so that data written
// by connectd reads the same in Kafka Connect and the other way round:
//
//   - json (org.apache.kafka.connect.json.JsonConverter). With
//     schemas.enable=true, the default, every record is the envelope
//     {"schema":{...},"payload":...}, the schema in Kafka Connect's JSON form
//     and the payload shaped by it; with schemas.enable=false, plain JSON read
//     back without a schema (objects as map[string]any, integral numbers as
//     int64, others as float64). The output is Kafka Connect's byte for byte
//     (member order, escaping, numbers printed as Java prints them), except
//     that Go maps, which have no order, are written with sorted keys.
//     decimal.format chooses base64 or numeric decimals;
//     replace.null.with.default and schemas.cache.size work as in Kafka Connect.
//   - string (org.apache.kafka.connect.storage.StringConverter): a string in
//     converter.encoding (UTF-8 unless set); other values in their string form.
//   - bytes (org.apache.kafka.connect.converters.ByteArrayConverter): []byte
//     passed through.
//   - avro (io.confluent.connect.avro.AvroConverter): Connect data as Avro,
//     mapped as Confluent's AvroData maps it, in the schema registry's wire
//     format (magic byte 0, 4-byte schema id, payload); schemas registered
//     and fetched through franz-go's sr client, once per schema; reading
//     resolves the writer's schema to the reader's (Avro's resolution).
//     The Avro schemas it registers are Confluent's, property for
//     property, in the text Java's Avro library writes (internal/avro).
//   - json-schema (io.confluent.connect.json.JsonSchemaConverter): the value
//     as JSON, its schema a JSON Schema as Confluent's JsonSchemaData maps
//     it, in the same wire format.
//   - simple (org.apache.kafka.connect.storage.SimpleHeaderConverter), the
//     default header converter: values in the string form of Kafka Connect's
//     Values class, with the schema inferred back on reading ("42" is an
//     int8, "[1,2]" an array). json, string and bytes serve as header
//     converters too, converting each header value as a record value.
//
// New and NewHeader build a converter by short name or Kafka Connect class
// name; FromConfig builds a connector's three converters from its
// key.converter, value.converter and header.converter settings and their
// sub-keys, falling back to the worker's, as Kafka Connect's Worker does.
//
// Where Kafka Connect silently turns bad data into wrong data (300 read as an
// int8 becomes 44, a string read as an int32 becomes 0, text after the JSON
// document is ignored), these converters return an error instead.
package converters
