package schemaregistry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/goleak"

	"github.com/connectd/connectd/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start opens a registry on seeds and serves it on a loopback port.
func start(t *testing.T, seeds []string) *Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Open(ctx, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Serve("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func client(t *testing.T, r *Registry) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(r.URL()), sr.HTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

const (
	userV1 = `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"}]}`
	// v2 adds a field with a default: backward compatible.
	userV2 = `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}`
	// v3 adds a field without a default: not backward compatible.
	userV3 = `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null},{"name":"age","type":"int"}]}`
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestRegisterEvolveRefuse registers a schema, evolves it compatibly,
// has an incompatible change refused with Confluent's 409 body, and reads
// everything back after a restart from the _schemas topic.
func TestRegisterEvolveRefuse(t *testing.T) {
	t.Parallel()
	seeds := kafkatest.Seeds(t)
	r := start(t, seeds)
	cl := client(t, r)

	id1, err := cl.RegisterSchema(ctx(t), "users-value", sr.Schema{Schema: userV1}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 {
		t.Fatalf("first id = %d, want 1", id1)
	}
	// The same schema again, with other whitespace: the same id, no new version.
	again, err := cl.RegisterSchema(ctx(t), "users-value", sr.Schema{Schema: strings.ReplaceAll(userV1, ",", ", ")}, -1, -1)
	if err != nil || again != id1 {
		t.Fatalf("re-register: id %d, %v; want %d", again, err, id1)
	}
	id2, err := cl.RegisterSchema(ctx(t), "users-value", sr.Schema{Schema: userV2}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.RegisterSchema(ctx(t), "users-value", sr.Schema{Schema: userV3}, -1, -1)
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("incompatible register: %v, want a 409", err)
	}
	wantMsg := `Schema being registered is incompatible with an earlier schema for subject "users-value", details: [` +
		`{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'age' at path '/fields/2' in the new schema has no default value and is missing in the old schema', additionalInfo:'age'}, ` +
		`{oldSchemaVersion: 2}, {oldSchema: '` + userV2 + `'}, {validateFields: 'false', compatibility: 'BACKWARD'}]`
	if diff := cmp.Diff(struct {
		Status, Code int
		Msg          string
	}{409, 409, wantMsg}, struct {
		Status, Code int
		Msg          string
	}{re.StatusCode, re.ErrorCode, re.Message}); diff != "" {
		t.Fatalf("409 body (-want +got):\n%s", diff)
	}

	// The same schema under another subject keeps its id.
	other, err := cl.RegisterSchema(ctx(t), "copy-value", sr.Schema{Schema: userV2}, -1, -1)
	if err != nil || other != id2 {
		t.Fatalf("register in another subject: id %d, %v; want %d", other, err, id2)
	}

	check := func(cl *sr.Client) {
		t.Helper()
		versions, err := cl.SubjectVersions(ctx(t), "users-value")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{1, 2}, versions); diff != "" {
			t.Fatalf("versions (-want +got):\n%s", diff)
		}
		latest, err := cl.SchemaByVersion(ctx(t), "users-value", -1)
		if err != nil {
			t.Fatal(err)
		}
		if latest.Version != 2 || latest.ID != id2 || latest.Schema.Schema != userV2 {
			t.Fatalf("latest = %+v", latest)
		}
		byID, err := cl.SchemaByID(ctx(t), id1)
		if err != nil || byID.Schema != userV1 {
			t.Fatalf("schema %d = %+v, %v", id1, byID, err)
		}
		subjects, err := cl.Subjects(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"copy-value", "users-value"}, subjects); diff != "" {
			t.Fatalf("subjects (-want +got):\n%s", diff)
		}
		looked, err := cl.LookupSchema(ctx(t), "users-value", sr.Schema{Schema: userV1})
		if err != nil || looked.Version != 1 || looked.ID != id1 {
			t.Fatalf("lookup = %+v, %v", looked, err)
		}
	}
	check(cl)

	// A second registry on the same topic (a restart) reads the same state.
	r2 := start(t, seeds)
	check(client(t, r2))
}

// TestErrorBodies checks Confluent's error codes for what is not there.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	r := start(t, kafkatest.Seeds(t))
	cl := client(t, r)
	if _, err := cl.RegisterSchema(ctx(t), "s-value", sr.Schema{Schema: `"string"`}, -1, -1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status, code             int
	}{
		{"unknown subject", "GET", "/subjects/nope/versions", "", 404, 40401},
		{"unknown version", "GET", "/subjects/s-value/versions/7", "", 404, 40402},
		{"invalid version", "GET", "/subjects/s-value/versions/0", "", 422, 42202},
		{"unknown id", "GET", "/schemas/ids/99", "", 404, 40403},
		{"lookup of a schema not there", "POST", "/subjects/s-value", `{"schema":"\"int\""}`, 404, 40403},
		{"invalid schema", "POST", "/subjects/s-value/versions", `{"schema":"{\"type\":\"recrd\"}"}`, 422, 42201},
		{"invalid level", "PUT", "/config", `{"compatibility":"SIDEWAYS"}`, 422, 42203},
		{"subject config not set", "GET", "/config/s-value", "", 404, 40408},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx(t), tc.method, r.URL()+tc.path, strings.NewReader(tc.body))
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var e struct {
				Code int `json:"error_code"`
			}
			json.Unmarshal(b, &e)
			if resp.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("HTTP %d %s, want %d with error_code %d", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
}

// record is an Avro record schema named R with the given fields.
func record(fields string) string {
	return `{"type":"record","name":"R","fields":[` + fields + `]}`
}

// TestCompatibilityLevels registers a history under NONE, sets the
// subject's level, and registers a candidate: accepted or refused with a
// 409 as the level says, the compatibility endpoints agreeing (against the
// latest version, and against the versions the level names).
func TestCompatibilityLevels(t *testing.T) {
	t.Parallel()
	var (
		a       = `{"name":"a","type":"int"}`
		b       = `{"name":"b","type":"string"}`
		bDef    = `{"name":"b","type":"string","default":"x"}`
		bInt    = `{"name":"b","type":"int"}`
		bIntDef = `{"name":"b","type":"int","default":0}`
	)
	// The histories: each level's verdict on the candidate differs between
	// the latest version and the older ones, so that the transitive levels
	// answer otherwise than their plain forms.
	addedField := []string{record(a), record(a + "," + bDef)} // candidate {a, b} (b without a default)
	removedField := []string{record(a + "," + bInt), record(a + "," + bIntDef)}
	tests := []struct {
		name      string
		typ       sr.SchemaType
		history   []string
		candidate string
		// accepted by level, and the verdict of
		// /compatibility/subjects/{s}/versions/latest.
		accepted map[sr.CompatibilityLevel]bool
		latest   bool
	}{
		{
			name: "a field without a default added after one with", history: addedField, candidate: record(a + "," + b),
			accepted: map[sr.CompatibilityLevel]bool{
				sr.CompatNone: true, sr.CompatBackward: true, sr.CompatBackwardTransitive: false,
				sr.CompatForward: true, sr.CompatForwardTransitive: true, sr.CompatFull: true, sr.CompatFullTransitive: false,
			},
			latest: true,
		},
		{
			name: "a field removed after it gained a default", history: removedField, candidate: record(a),
			accepted: map[sr.CompatibilityLevel]bool{
				sr.CompatNone: true, sr.CompatBackward: true, sr.CompatBackwardTransitive: true,
				sr.CompatForward: true, sr.CompatForwardTransitive: false, sr.CompatFull: true, sr.CompatFullTransitive: false,
			},
			latest: true,
		},
		{
			name: "int promoted to long", history: []string{record(a)}, candidate: record(`{"name":"a","type":"long"}`),
			accepted: map[sr.CompatibilityLevel]bool{
				sr.CompatNone: true, sr.CompatBackward: true, sr.CompatBackwardTransitive: true,
				sr.CompatForward: false, sr.CompatForwardTransitive: false, sr.CompatFull: false, sr.CompatFullTransitive: false,
			},
		},
		{
			name: "a field's type changed", history: []string{record(a)}, candidate: record(`{"name":"a","type":"string"}`),
			accepted: map[sr.CompatibilityLevel]bool{
				sr.CompatNone: true, sr.CompatBackward: false, sr.CompatBackwardTransitive: false,
				sr.CompatForward: false, sr.CompatForwardTransitive: false, sr.CompatFull: false, sr.CompatFullTransitive: false,
			},
		},
		{
			name: "JSON Schema: integer widened to number", typ: sr.TypeJSON,
			history: []string{`{"type":"object","properties":{"a":{"type":"integer"}}}`}, candidate: `{"type":"object","properties":{"a":{"type":"number"}}}`,
			accepted: map[sr.CompatibilityLevel]bool{
				sr.CompatNone: true, sr.CompatBackward: true, sr.CompatBackwardTransitive: true,
				sr.CompatForward: false, sr.CompatForwardTransitive: false, sr.CompatFull: false, sr.CompatFullTransitive: false,
			},
		},
		{
			name: "JSON Schema: a property added to a closed object", typ: sr.TypeJSON,
			history:   []string{`{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}`},
			candidate: `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"additionalProperties":false}`,
			accepted: map[sr.CompatibilityLevel]bool{
				sr.CompatNone: true, sr.CompatBackward: true, sr.CompatBackwardTransitive: true,
				sr.CompatForward: false, sr.CompatForwardTransitive: false, sr.CompatFull: false, sr.CompatFullTransitive: false,
			},
		},
	}
	r := start(t, kafkatest.Seeds(t))
	cl := client(t, r)
	for i, tc := range tests {
		for level, want := range tc.accepted {
			subject := fmt.Sprintf("case%d-%s", i, strings.ToLower(level.String()))
			t.Run(tc.name+"/"+level.String(), func(t *testing.T) {
				t.Parallel()
				set := func(l sr.CompatibilityLevel) {
					t.Helper()
					res := cl.SetCompatibility(ctx(t), sr.SetCompatibility{Level: l}, subject)
					if len(res) != 1 || res[0].Err != nil {
						t.Fatalf("set %s: %+v", l, res)
					}
				}
				set(sr.CompatNone)
				for _, s := range tc.history {
					if _, err := cl.RegisterSchema(ctx(t), subject, sr.Schema{Schema: s, Type: tc.typ}, -1, -1); err != nil {
						t.Fatalf("register %s: %v", s, err)
					}
				}
				set(level)
				if got := cl.Compatibility(ctx(t), subject); len(got) != 1 || got[0].Err != nil || got[0].Level != level {
					t.Fatalf("GET /config/%s = %+v", subject, got)
				}
				candidate := sr.Schema{Schema: tc.candidate, Type: tc.typ}
				all, err := cl.CheckCompatibility(ctx(t), subject, -2, candidate)
				if err != nil || all.Is != want {
					t.Fatalf("check against the versions: %+v, %v; want is_compatible %v", all, err, want)
				}
				latest, err := cl.CheckCompatibility(ctx(t), subject, -1, candidate)
				wantLatest := want
				if level != sr.CompatNone {
					wantLatest = tc.latest || want
				}
				if err != nil || latest.Is != wantLatest {
					t.Fatalf("check against the latest: %+v, %v; want is_compatible %v", latest, err, wantLatest)
				}
				_, err = cl.RegisterSchema(ctx(t), subject, candidate, -1, -1)
				var re *sr.ResponseError
				switch {
				case want && err != nil:
					t.Fatalf("register: %v, want it accepted", err)
				case !want && (!errors.As(err, &re) || re.StatusCode != 409 || re.ErrorCode != 409 ||
					!strings.Contains(re.Message, "compatibility: '"+level.String()+"'")):
					t.Fatalf("register: %v, want a 409 naming %s", err, level)
				}
			})
		}
	}
}
