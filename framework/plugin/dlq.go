package plugin

import (
	"fmt"
	"strings"
	"time"

	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// dlqPayload fills w with what the dead letter queue receives for a source
// record that failed: the record as the task returned it, before any
// transform, converted by the connector's converters. A key, value or
// header that the connector's converter cannot write (the failure may be
// that very conversion) is written by the JsonConverter with schemas
// enabled instead, and if even that fails it is null. Kafka Connect has no
// dead letter queue for sources; docs/errors.md describes this format.
func (l *local) dlqPayload(r *connect.Record, w *Record) {
	if !r.Timestamp.IsZero() {
		w.TimestampMs = r.Timestamp.UnixMilli()
	}
	w.Key = l.dlqEncode(l.conv.Key, r.Topic, r.KeySchema, r.Key)
	w.Value = l.dlqEncode(l.conv.Value, r.Topic, r.ValueSchema, r.Value)
	if len(r.Headers) > 0 {
		w.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			b, err := l.conv.Header.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
			if err != nil {
				b = l.jsonFallback(r.Topic, h.Schema, h.Value)
			}
			w.Headers[i] = Header{Key: h.Key, Value: b}
		}
	}
}

func (l *local) dlqEncode(c converters.Converter, topic string, s *connect.Schema, v any) []byte {
	b, err := c.FromConnect(topic, s, v)
	if err != nil {
		return l.jsonFallback(topic, s, v)
	}
	return b
}

// jsonFallback writes v with a JsonConverter with schemas enabled: the
// self-describing form, for data the connector's own converter refused.
func (l *local) jsonFallback(topic string, s *connect.Schema, v any) []byte {
	c, err := converters.New("json")
	if err != nil {
		return nil
	}
	if err := c.Configure(map[string]string{"schemas.enable": "true"}, false); err != nil {
		return nil
	}
	b, err := c.FromConnect(topic, s, v)
	if err != nil {
		return nil
	}
	return b
}

// describeSource renders a source record for the error log the way Kafka
// Connect's SourceRecord.toString does.
func describeSource(r *connect.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SourceRecord{sourcePartition=%s, sourceOffset=%s} ConnectRecord{topic='%s', kafkaPartition=%s, key=%s, keySchema=%s, value=%s, valueSchema=%s, timestamp=%s, headers=ConnectHeaders(headers=",
		javaMap(r.SourcePartition), javaMap(r.SourceOffset), r.Topic, partitionText(r.Partition),
		valueText(r.Key), schemaText(r.KeySchema), valueText(r.Value), schemaText(r.ValueSchema), timestampText(r.Timestamp))
	for i, h := range r.Headers {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "ConnectHeader(key=%s, value=%s, schema=%s)", h.Key, valueText(h.Value), schemaText(h.Schema))
	}
	b.WriteString(")}")
	return b.String()
}

func javaMap(m map[string]any) string {
	if m == nil {
		return "null"
	}
	enc, err := EncodeMap(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(enc)
}

func partitionText(p int32) string {
	if p < 0 {
		return "null"
	}
	return fmt.Sprint(p)
}

func timestampText(t time.Time) string {
	if t.IsZero() {
		return "null"
	}
	return fmt.Sprint(t.UnixMilli())
}

func schemaText(s *connect.Schema) string {
	if s == nil {
		return "null"
	}
	return s.String()
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case []byte:
		return fmt.Sprintf("[B@%d bytes", len(x))
	case *connect.StructValue:
		if x == nil {
			return "null"
		}
		var b strings.Builder
		b.WriteString("Struct{")
		n := 0
		for i, f := range x.Schema().Fields {
			fv := x.GetIndex(i)
			if fv == nil {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%s", f.Name, valueText(fv))
			n++
		}
		b.WriteByte('}')
		return b.String()
	}
	return fmt.Sprint(v)
}
