package transforms

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectd/connectd/framework/connect"
)

// configFromText reads a connector config from fuzz input: one key=value
// per line.
func configFromText(s string) map[string]string {
	cfg := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(line, "=")
		cfg[k] = v
	}
	return cfg
}

// fuzzRecords are records of every shape, run through each chain the fuzzer
// manages to build.
func fuzzRecords() []*connect.Record {
	s := connect.StructSchema().Name("n").
		Field("id", connect.Int64Schema).
		Field("name", connect.OptionalString).
		Field("ts", connect.TimestampSchema().Optional().Build()).
		Field("nested", connect.StructSchema().Optional().Field("a", connect.OptionalInt32).Build()).
		Build()
	v := connect.NewStruct(s).Put("id", int64(1)).Put("name", "x").Put("ts", ms(1700000000000))
	return []*connect.Record{
		{Topic: "orders", Partition: 1, Value: map[string]any{"id": int64(1), "name": "x", "ts": int64(1700000000000), "nested": map[string]any{"a": int32(1)}}, Timestamp: ms(1700000000000)},
		{Topic: "orders", KeySchema: connect.StringSchema, Key: "k", ValueSchema: s, Value: v, Timestamp: ms(1)},
		{Topic: "t", Partition: -1, Headers: []connect.Header{{Key: "h", Value: "v"}}},
		{Topic: "t", ValueSchema: connect.StringSchema, Value: "2024-01-02"},
		{Topic: "t", Key: int64(5), Value: []byte("raw")},
		// Debezium change events, for ExtractNewRecordState.
		dbzUpd(), dbzDel(), dbzTomb(), dbzTrnc(),
	}
}

// stepByStep applies c's stages one by one through their Apply, which
// never works in place: the reference for the chain's in-place path.
func stepByStep(c *Chain, r *connect.Record) (*connect.Record, error) {
	if c == nil {
		return r, nil
	}
	for _, s := range c.stages {
		if s.predicate != nil && s.predicate.Test(r) == s.negate {
			continue
		}
		out, err := s.transform.Apply(r)
		if err != nil || out == nil {
			return nil, err
		}
		r = out
	}
	return r, nil
}

// FuzzChainConfig checks that no config, however odd, makes NewChain,
// Validate, ConfigDef or a built chain panic, that NewChain and Validate
// agree, and that a chain gives what its transforms give one by one while
// leaving its input alone.
func FuzzChainConfig(f *testing.F) {
	for _, seed := range []string{
		"transforms=a\ntransforms.a.type=InsertField$Value\ntransforms.a.static.field=f\ntransforms.a.static.value=v",
		"transforms=r,f\ntransforms.r.type=RegexRouter\ntransforms.r.regex=(.*)\ntransforms.r.replacement=$1-x\ntransforms.f.type=Filter\ntransforms.f.predicate=p\ntransforms.f.negate=true\npredicates=p\npredicates.p.type=TopicNameMatches\npredicates.p.pattern=ord.*",
		"transforms=c\ntransforms.c.type=Cast$Value\ntransforms.c.spec=id:string,name:int8",
		"transforms=t\ntransforms.t.type=TimestampConverter$Value\ntransforms.t.field=ts\ntransforms.t.target.type=string\ntransforms.t.format=yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
		"transforms=e\ntransforms.e.type=ExtractField$Value\ntransforms.e.field=nested.a\ntransforms.e.field.syntax.version=V2",
		"transforms=x\ntransforms.x.type=Flatten$Value\ntransforms.x.delimiter=_",
		"transforms=a,a\ntransforms.a.type=nope",
		"predicates=p\npredicates.p.type=HasHeaderKey\npredicates.p.name=",
		"transforms=u\ntransforms.u.type=ExtractNewRecordState\ntransforms.u.delete.tombstone.handling.mode=rewrite\ntransforms.u.add.fields=op,source.ts_ms:ts\ntransforms.u.add.headers=op,lsn\ntransforms.u.route.by.field=last_name",
		"transforms=u\ntransforms.u.type=io.debezium.transforms.ExtractNewRecordState\ntransforms.u.drop.fields.header.name=h\ntransforms.u.drop.tombstones=false",
	} {
		f.Add(seed)
	}
	records := fuzzRecords()
	f.Fuzz(func(t *testing.T, text string) {
		cfg := configFromText(text)
		problems := Validate(cfg)
		_ = ConfigDef(cfg)
		for _, sink := range []bool{false, true} {
			c, err := NewChain(cfg, Env{Sink: sink})
			if (err == nil) != (len(problems) == 0) && !sink {
				t.Fatalf("NewChain error %v but Validate found %v", err, problems)
			}
			if err != nil {
				continue
			}
			for _, r := range records {
				before := snapshot(r)
				got, gotErr := c.Apply(r)
				want, wantErr := stepByStep(c, r)
				if (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("chain error %v, step by step %v", gotErr, wantErr)
				}
				if gotErr == nil {
					if d := diffRecords(want, got); d != "" {
						t.Fatalf("chain vs step by step (-step +chain):\n%s", d)
					}
				}
				if d := cmp.Diff(before, snapshot(r), cmpopts.EquateNaNs()); d != "" {
					t.Fatalf("input changed (-before +after):\n%s", d)
				}
			}
		}
	})
}
