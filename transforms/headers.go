package transforms

import (
	"github.com/connectd/connectd/framework/connect"
	"github.com/connectd/connectd/framework/converters"
)

// DropHeaders: Kafka Connect's org.apache.kafka.connect.transforms.DropHeaders.

var dropHeadersDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "headers", Type: connect.TypeList, Required: true, Importance: connect.High,
		Validator: nonEmptyList, Doc: "The names of the headers to remove."},
)

// nonEmptyList is Kafka Connect's NonEmptyListValidator.
func nonEmptyList(v any) error {
	if l, _ := v.([]string); len(l) == 0 {
		return errf("Empty list")
	}
	return nil
}

type dropHeaders struct {
	names map[string]struct{}
}

func newDropHeaders(cfg *connect.Config, _ Env) (updater, error) {
	t := &dropHeaders{names: map[string]struct{}{}}
	for _, h := range cfg.List("headers") {
		t.names[h] = struct{}{}
	}
	return t, nil
}

func (t *dropHeaders) update(r *connect.Record, own *owned) (bool, error) {
	keep := -1 // headers before this index are all kept
	for i, h := range r.Headers {
		if _, drop := t.names[h.Key]; drop {
			keep = i
			break
		}
	}
	if keep < 0 {
		return true, nil
	}
	hs := append(own.newHeaders(len(r.Headers)-1), r.Headers[:keep]...)
	for _, h := range r.Headers[keep+1:] {
		if _, drop := t.names[h.Key]; !drop {
			hs = append(hs, h)
		}
	}
	r.Headers = hs
	return true, nil
}

// InsertHeader: Kafka Connect's org.apache.kafka.connect.transforms.InsertHeader.

var insertHeaderDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "header", Type: connect.TypeString, Required: true, Importance: connect.High,
		Doc: "The name of the header to add."},
	connect.ConfigKey{Name: "value.literal", Type: connect.TypeString, Required: true, Importance: connect.High,
		Doc: "The header's value, the same for every record. Its type is inferred as Kafka Connect's Values.parseString does: 42 is an int8, true a boolean, [1,2] an array, anything else a string."},
)

type insertHeader struct {
	h connect.Header
}

func newInsertHeader(cfg *connect.Config, _ Env) (updater, error) {
	// Kafka Connect parses the literal with Values.parseString, which is
	// what the SimpleHeaderConverter does with a header's bytes.
	hc, err := converters.NewHeader("org.apache.kafka.connect.storage.SimpleHeaderConverter")
	if err != nil {
		return nil, err
	}
	lit := cfg.String("value.literal")
	s, v, err := hc.ToConnectHeader("", cfg.String("header"), []byte(lit))
	if err != nil {
		return nil, keyError("value.literal", &lit, "%v", err)
	}
	return &insertHeader{h: connect.Header{Key: cfg.String("header"), Schema: s, Value: v}}, nil
}

func (t *insertHeader) update(r *connect.Record, own *owned) (bool, error) {
	r.Headers = append(append(own.newHeaders(len(r.Headers)+1), r.Headers...), t.h)
	return true, nil
}

// Filter: Kafka Connect's org.apache.kafka.connect.transforms.Filter.

type filter struct{}

func newFilter(*connect.Config, Env) (updater, error) { return filter{}, nil }

func (filter) update(*connect.Record, *owned) (bool, error) { return false, nil }
