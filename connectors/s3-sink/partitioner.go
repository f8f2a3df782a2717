package s3sink

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
)

// partitioner sorts records into folders (encoded partitions) and names
// objects, as Confluent's partitioners and TopicPartitionWriter do.
type partitioner struct {
	cfg  *config
	path jodaPattern // time-based partitioners
}

func newPartitioner(cfg *config) (*partitioner, error) {
	p := &partitioner{cfg: cfg}
	if cfg.timeBased() {
		var err error
		if p.path, err = parseJoda(cfg.pathFormat, cfg.locale); err != nil {
			return nil, fmt.Errorf("s3-sink: %s: %w", PathFormatKey, err)
		}
	}
	return p, nil
}

// encode returns the encoded partition of r: "partition=<n>" (default),
// "<field>=<value>" joined by directory.delim (field), or the formatted
// start of r's time partition (time-based). Tombstones written under
// behavior.on.null.values=write go to tombstone.encoded.partition.
func (p *partitioner) encode(r *connect.Record, now time.Time) (string, error) {
	if r.Value == nil && p.cfg.nullValues == "write" {
		return p.cfg.tombstonePartition, nil
	}
	switch p.cfg.partitioner {
	case partField:
		return p.encodeFields(r)
	case partTime, partDaily, partHourly:
		ms, err := p.recordTime(r, now)
		if err != nil {
			return "", err
		}
		start := partitionStart(ms, p.cfg.partitionDuration.Milliseconds(), p.cfg.tz)
		return p.path.format(time.UnixMilli(start).In(p.cfg.tz)), nil
	}
	return "partition=" + strconv.Itoa(int(r.Partition)), nil
}

func (p *partitioner) encodeFields(r *connect.Record) (string, error) {
	sv, ok := r.Value.(*connect.StructValue)
	if !ok || sv == nil {
		return "", fmt.Errorf("FieldPartitioner needs struct values (a schema), got %T", r.Value)
	}
	var b strings.Builder
	for _, name := range p.cfg.partitionFields {
		if b.Len() > 0 {
			b.WriteString(p.cfg.dirDelim)
		}
		schema, value, ok := nestedField(r.ValueSchema, sv, name)
		if !ok {
			return "", fmt.Errorf("field %q is not present in the schema", name)
		}
		if value == nil {
			b.WriteString(name + "=null")
			continue
		}
		b.WriteString(name + "=")
		switch schema.Type {
		case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
			if isLogical(schema) {
				return "", fmt.Errorf("field %q: type %s is not supported as a partition key", name, schema.Name)
			}
			fmt.Fprint(&b, value)
		case connect.String:
			b.WriteString(value.(string))
		case connect.Boolean:
			b.WriteString(strconv.FormatBool(value.(bool)))
		default:
			return "", fmt.Errorf("field %q: type %s is not supported as a partition key", name, schema.Type)
		}
	}
	return b.String(), nil
}

func isLogical(s *connect.Schema) bool {
	switch s.Name {
	case connect.DateName, connect.TimeName, connect.TimestampName, connect.DecimalName:
		return true
	}
	return false
}

// nestedField walks a dotted path through struct fields.
func nestedField(schema *connect.Schema, sv *connect.StructValue, path string) (*connect.Schema, any, bool) {
	parts := strings.Split(path, ".")
	var value any = sv
	for _, part := range parts {
		f, ok := schema.Field(part)
		if !ok {
			return nil, nil, false
		}
		s, _ := value.(*connect.StructValue)
		schema = f.Schema
		if s == nil {
			value = nil
			continue
		}
		value = s.Get(part)
	}
	return schema, value, true
}

var numericTimestamp = regexp.MustCompile(`^-?[0-9]{1,19}$`)

// recordTime is the time of r per timestamp.extractor, in ms since the epoch.
func (p *partitioner) recordTime(r *connect.Record, now time.Time) (int64, error) {
	switch p.cfg.extractor {
	case extractRecord:
		if r.Timestamp.IsZero() {
			return 0, fmt.Errorf("the record has no timestamp (timestamp.extractor=Record)")
		}
		return r.Timestamp.UnixMilli(), nil
	case extractRecordField:
		return p.fieldTime(r)
	}
	return now.UnixMilli(), nil
}

func (p *partitioner) fieldTime(r *connect.Record) (int64, error) {
	name := p.cfg.timestampField
	var v any
	switch x := r.Value.(type) {
	case *connect.StructValue:
		schema, value, ok := nestedField(r.ValueSchema, x, name)
		if !ok {
			return 0, fmt.Errorf("timestamp field %q is not present in the schema", name)
		}
		if value == nil {
			return 0, fmt.Errorf("timestamp field %q is null", name)
		}
		if schema.Name == connect.TimestampName {
			return value.(time.Time).UnixMilli(), nil
		}
		switch schema.Type {
		case connect.Int32, connect.Int64, connect.String:
			v = value
		default:
			return 0, fmt.Errorf("unsupported type %s for timestamp field %q", schema.Type, name)
		}
	case map[string]any:
		var cur any = x
		for _, part := range strings.Split(name, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[part]
		}
		v = cur
	default:
		return 0, fmt.Errorf("timestamp.extractor=RecordField needs struct or map values, got %T", r.Value)
	}
	switch x := v.(type) {
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	case json.Number:
		return x.Int64()
	case time.Time:
		return x.UnixMilli(), nil
	case string:
		return parseTimeString(x)
	case nil:
		return 0, fmt.Errorf("timestamp field %q is missing or null", name)
	}
	return 0, fmt.Errorf("unsupported type %T for timestamp field %q", v, name)
}

// parseTimeString reads epoch milliseconds or an ISO-8601 date-time (UTC
// when it has no offset).
func parseTimeString(s string) (int64, error) {
	if numericTimestamp.MatchString(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("timestamp %q is neither epoch milliseconds nor an ISO-8601 date-time", s)
}

// objectKey names the object of a file of topic partition tp in folder
// encoded, starting at offset start, as Confluent's sink does:
// <topics.dir>/<topic>/<encoded>/<topic>+<partition>+<start, zero-padded><ext>.
func (p *partitioner) objectKey(tp connect.TopicPartition, encoded string, start int64, ext string) string {
	c := p.cfg
	name := tp.Topic + c.fileDelim + strconv.Itoa(int(tp.Partition)) + c.fileDelim + fmt.Sprintf("%0*d", c.zeroPad, start) + ext
	suffix := tp.Topic + c.dirDelim + encoded + c.dirDelim + name
	if strings.TrimSpace(c.topicsDir) == "" {
		return suffix
	}
	return c.topicsDir + c.dirDelim + suffix
}
