package converters

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/connect"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"json":   "*converters.jsonConverter",
		"string": "*converters.stringConverter",
		"bytes":  "converters.byteArrayConverter",
		"org.apache.kafka.connect.json.JsonConverter":            "*converters.jsonConverter",
		"org.apache.kafka.connect.storage.StringConverter":       "*converters.stringConverter",
		"org.apache.kafka.connect.converters.ByteArrayConverter": "converters.byteArrayConverter",
		"JsonConverter": "*converters.jsonConverter",
		"ByteArray":     "converters.byteArrayConverter",
		" json ":        "*converters.jsonConverter",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", c); got != want {
				t.Errorf("New(%q) is a %s, want %s", name, got, want)
			}
			if _, err := ConfigDef(name); err != nil {
				t.Errorf("ConfigDef(%q): %v", name, err)
			}
		})
	}
}

func TestNewUnknown(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"protobuf", "", "simple", "org.apache.kafka.connect.storage.SimpleHeaderConverter"} {
		_, err := New(name)
		if !errors.Is(err, ErrUnknown) {
			t.Fatalf("New(%q) = %v, want ErrUnknown", name, err)
		}
		for _, known := range []string{"json", "string", "bytes", jsonClass, stringClass, bytesClass} {
			if !strings.Contains(err.Error(), known) {
				t.Errorf("New(%q) error %q does not list %s", name, err, known)
			}
		}
	}
	if _, err := NewHeader("avro"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), simpleClass) {
		t.Errorf("NewHeader(avro) = %v, want ErrUnknown listing %s", err, simpleClass)
	}
	if _, err := ConfigDef("protobuf"); !errors.Is(err, ErrUnknown) {
		t.Errorf("ConfigDef(protobuf) = %v, want ErrUnknown", err)
	}
	for _, name := range []string{"avro", avroConverterClass, "json-schema", jsonSchemaConverterClass} {
		if _, err := ConfigDef(name); err != nil {
			t.Errorf("ConfigDef(%s) = %v", name, err)
		}
	}
}

func TestNewHeader(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		name string
		want string // FromConnectHeader of the string "v"
	}{
		"simple":       {"simple", "v"},
		"simple class": {simpleClass, "v"},
		"string":       {"string", "v"},
		"string class": {stringClass, "v"},
		"json":         {"json", `{"schema":{"type":"string","optional":false},"payload":"v"}`},
		"json class":   {jsonClass, `{"schema":{"type":"string","optional":false},"payload":"v"}`},
		"bytes":        {"bytes", "v"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, err := NewHeader(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Configure(map[string]string{}); err != nil {
				t.Fatal(err)
			}
			var value any = "v"
			schema := connect.StringSchema
			if tc.name == "bytes" {
				value, schema = []byte("v"), connect.BytesSchema
			}
			got, err := h.FromConnectHeader("topic", "h", schema, value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("FromConnectHeader = %s, want %s", got, tc.want)
			}
			_, back, err := h.ToConnectHeader("topic", "h", got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(value, back); diff != "" {
				t.Errorf("ToConnectHeader (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	type want struct {
		key, value, header string // %T of each
		keyOut, valueOut   string // FromConnect of int8(1) with Int8Schema
	}
	const (
		jsonEnv  = `{"schema":{"type":"int8","optional":false},"payload":1}`
		jsonBare = `1`
	)
	tests := map[string]struct {
		connector, worker map[string]string
		want              want
	}{
		"defaults": {
			want: want{"*converters.jsonConverter", "*converters.jsonConverter", "converters.simpleHeaderConverter", jsonEnv, jsonEnv},
		},
		"connector names them": {
			connector: map[string]string{
				"key.converter": "org.apache.kafka.connect.storage.StringConverter", "value.converter": "json",
				"value.converter.schemas.enable": "false", "header.converter": "json",
			},
			want: want{"*converters.stringConverter", "*converters.jsonConverter", "*converters.headerAdapter", "1", jsonBare},
		},
		"worker fallback with its sub-keys": {
			worker: map[string]string{
				"key.converter": "json", "key.converter.schemas.enable": "false",
				"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
			},
			want: want{"*converters.jsonConverter", "converters.byteArrayConverter", "converters.simpleHeaderConverter", jsonBare, ""},
		},
		"connector sub-keys without a name are ignored": {
			connector: map[string]string{"value.converter.schemas.enable": "false"},
			worker:    map[string]string{"value.converter": "json"},
			want:      want{"*converters.jsonConverter", "*converters.jsonConverter", "converters.simpleHeaderConverter", jsonEnv, jsonEnv},
		},
		"connector overrides worker and its sub-keys": {
			connector: map[string]string{"value.converter": "json"},
			worker:    map[string]string{"value.converter": "json", "value.converter.schemas.enable": "false"},
			want:      want{"*converters.jsonConverter", "*converters.jsonConverter", "converters.simpleHeaderConverter", jsonEnv, jsonEnv},
		},
		"worker default sub-keys apply to the default converter": {
			worker: map[string]string{"key.converter.schemas.enable": "false"},
			want:   want{"*converters.jsonConverter", "*converters.jsonConverter", "converters.simpleHeaderConverter", jsonBare, jsonEnv},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			set, err := FromConfig(tc.connector, tc.worker)
			if err != nil {
				t.Fatal(err)
			}
			got := want{key: fmt.Sprintf("%T", set.Key), value: fmt.Sprintf("%T", set.Value), header: fmt.Sprintf("%T", set.Header)}
			if b, err := set.Key.FromConnect("t", connect.Int8Schema, int8(1)); err == nil {
				got.keyOut = string(b)
			}
			if b, err := set.Value.FromConnect("t", connect.Int8Schema, int8(1)); err == nil {
				got.valueOut = string(b)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("FromConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromConfigErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		connector, worker map[string]string
		want              string
		wantKeys          []string // keys of a wrapped *connect.ConfigError
	}{
		"unknown connector converter": {
			connector: map[string]string{"value.converter": "io.confluent.connect.protobuf.ProtobufConverter"},
			want:      `converters: value.converter: unknown converter "io.confluent.connect.protobuf.ProtobufConverter"; known converters: json`,
		},
		"unknown worker converter": {
			worker: map[string]string{"key.converter": "protobuf"},
			want:   `converters: key.converter: unknown converter "protobuf"`,
		},
		"unknown header converter": {
			connector: map[string]string{"header.converter": "avro"},
			want:      `converters: header.converter: unknown converter "avro"; known header converters: simple`,
		},
		"empty name": {
			connector: map[string]string{"key.converter": " "},
			want:      `converters: key.converter: empty converter name`,
		},
		"bad sub-key": {
			connector: map[string]string{"value.converter": "json", "value.converter.schemas.enable": "nope", "value.converter.decimal.format": "HEX"},
			want:      "converters: value.converter: Invalid value",
			wantKeys:  []string{"value.converter.decimal.format", "value.converter.schemas.enable"},
		},
		"bad encoding": {
			connector: map[string]string{"key.converter": "string", "key.converter.converter.encoding": "EBCDIC"},
			want:      "unsupported character set",
			wantKeys:  []string{"key.converter.converter.encoding"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := FromConfig(tc.connector, tc.worker)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FromConfig = %v, want an error containing %q", err, tc.want)
			}
			if tc.wantKeys == nil {
				return
			}
			var ce *connect.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("FromConfig = %v, want a *connect.ConfigError inside", err)
			}
			var keys []string
			for k := range ce.Errs {
				keys = append(keys, k)
			}
			if diff := cmp.Diff(tc.wantKeys, keys, cmpSorted); diff != "" {
				t.Errorf("ConfigError keys (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func ExampleFromConfig() {
	set, err := FromConfig(map[string]string{
		"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": "false",
	}, nil)
	if err != nil {
		panic(err)
	}
	schema := connect.StructSchema().Field("id", connect.Int64Schema).Field("name", connect.OptionalString).Build()
	value := connect.NewStruct(schema).Put("id", int64(42)).Put("name", "Ada")

	key, _ := set.Key.FromConnect("users", connect.Int64Schema, int64(42))
	data, _ := set.Value.FromConnect("users", schema, value)
	fmt.Println(string(key))
	fmt.Println(string(data))

	_, back, _ := set.Value.ToConnect("users", data)
	fmt.Println(back)
	// Output:
	// {"schema":{"type":"int64","optional":false},"payload":42}
	// {"id":42,"name":"Ada"}
	// map[id:42 name:Ada]
}
