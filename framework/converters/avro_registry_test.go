package converters

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/connectd/connectd/framework/connect"
)

// TestAvroRegistryAskedOncePerSchema: many records of one schema cost one
// registration when written and one schema fetch plus one version lookup
// when read, not one request per record.
func TestAvroRegistryAskedOncePerSchema(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	w := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	r := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	var out [][]byte
	for i := range 500 {
		_, v := dbzEvent(int32(i))
		b, err := w.FromConnect("customers", dbzEnvelopeSchema, v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if n := reg.requests.Load(); n != 1 {
		t.Fatalf("%d registry requests for 500 records of one schema, want 1", n)
	}
	for _, b := range out {
		if _, _, err := r.ToConnect("customers", b); err != nil {
			t.Fatal(err)
		}
	}
	if n := reg.requests.Load(); n != 3 {
		t.Fatalf("%d registry requests after reading 500 records, want 3 (register, schema by id, version)", n)
	}
}

// TestAvroSubjectStrategies registers under the subjects Confluent's
// TopicNameStrategy, RecordNameStrategy and TopicRecordNameStrategy name,
// given by their Java class names.
func TestAvroSubjectStrategies(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	for _, tc := range []struct {
		strategy string
		isKey    bool
		want     string
	}{
		{"io.confluent.kafka.serializers.subject.TopicNameStrategy", false, "orders-value"},
		{"io.confluent.kafka.serializers.subject.TopicNameStrategy", true, "orders-key"},
		{"io.confluent.kafka.serializers.subject.RecordNameStrategy", false, "dbserver1.inventory.customers.Envelope"},
		{"io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", false, "orders-dbserver1.inventory.customers.Envelope"},
	} {
		key := "value.subject.name.strategy"
		if tc.isKey {
			key = "key.subject.name.strategy"
		}
		c := mustConverter(t, "avro", tc.isKey, "schema.registry.url", reg.url, key, tc.strategy)
		_, v := dbzEvent(1)
		b, err := c.FromConnect("orders", dbzEnvelopeSchema, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.client(t).SchemaByVersion(testCtx(t), tc.want, 1); err != nil {
			t.Errorf("%s (key %v): subject %q: %v", tc.strategy, tc.isKey, tc.want, err)
		}
		// Reading resolves the subject the same way.
		if _, _, err := c.ToConnect("orders", b); err != nil {
			t.Errorf("%s: read back: %v", tc.strategy, err)
		}
	}
	// RecordNameStrategy needs a record.
	c := mustConverter(t, "avro", false, "schema.registry.url", reg.url,
		"value.subject.name.strategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy")
	if _, err := c.FromConnect("orders", connect.StringSchema, "x"); err == nil ||
		!strings.Contains(err.Error(), "the message value must only be a record schema") {
		t.Fatalf("a string under RecordNameStrategy: %v", err)
	}
}

// TestAvroEvolution writes with three versions of a schema, each change
// compatible, and reads every record with its writer's schema; with
// use.latest.version the records resolve to the latest schema (a field
// the writer lacked takes its default). An incompatible change is refused
// with the registry's 409.
func TestAvroEvolution(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	v1 := connect.StructSchema().Name("shop.Item").Field("id", connect.Int64Schema).Field("name", connect.StringSchema).Build()
	v2 := connect.StructSchema().Name("shop.Item").Field("id", connect.Int64Schema).Field("name", connect.StringSchema).
		Field("price", connect.OptionalFloat64).Build()
	v3 := connect.StructSchema().Name("shop.Item").Field("id", connect.Int64Schema).Field("name", connect.StringSchema).
		Field("price", connect.OptionalFloat64).Field("stock", connect.NewSchema(connect.Int32).Default(int32(5)).Build()).Build()
	w := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	var recs [][]byte
	for i, s := range []*connect.Schema{v1, v2, v3} {
		v := connect.NewStruct(s).Put("id", int64(i)).Put("name", fmt.Sprint("item ", i))
		if i > 0 {
			v.Put("price", 1.5)
		}
		if i > 1 {
			v.Put("stock", int32(9))
		}
		b, err := w.FromConnect("items", s, v)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	versions, err := reg.client(t).SubjectVersions(testCtx(t), "items-value")
	if err != nil || !cmp.Equal(versions, []int{1, 2, 3}) {
		t.Fatalf("versions %v, %v", versions, err)
	}
	r := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	for i, b := range recs {
		s, v, err := r.ToConnect("items", b)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Fields) != i+2 || s.Version != int32(i+1) {
			t.Errorf("record %d: schema %d fields, version %d; want %d fields, version %d", i, len(s.Fields), s.Version, i+2, i+1)
		}
		if got := v.(*connect.StructValue).Get("name"); got != fmt.Sprint("item ", i) {
			t.Errorf("record %d: name %v", i, got)
		}
	}
	latest := mustConverter(t, "avro", false, "schema.registry.url", reg.url, "use.latest.version", "true")
	for i, b := range recs {
		s, v, err := latest.ToConnect("items", b)
		if err != nil {
			t.Fatal(err)
		}
		sv := v.(*connect.StructValue)
		wantStock := int32(5)
		if i == 2 {
			wantStock = 9
		}
		if len(s.Fields) != 4 || s.Version != 3 || sv.Get("stock") != wantStock {
			t.Errorf("record %d resolved to the latest: %d fields, version %d, stock %v", i, len(s.Fields), s.Version, sv.Get("stock"))
		}
	}
	// Dropping a field without a default from the reader is compatible,
	// adding one without a default is not (BACKWARD).
	v4 := connect.StructSchema().Name("shop.Item").Field("id", connect.Int64Schema).Field("name", connect.StringSchema).
		Field("color", connect.StringSchema).Build()
	_, err = w.FromConnect("items", v4, connect.NewStruct(v4).Put("id", int64(4)).Put("name", "x").Put("color", "red"))
	var re *RegistryError
	if !errors.As(err, &re) || re.StatusCode != 409 || re.Code != 409 || connect.IsRetriable(err) ||
		!strings.Contains(err.Error(), "READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Fatalf("incompatible schema: %v", err)
	}
}

// TestAvroBadInput: data that is not in the wire format, an id the
// registry does not have, and a registry nobody answers at each fail with
// an error that says so; only the last is retriable.
func TestAvroBadInput(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	c := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	for _, tc := range []struct {
		name      string
		data      []byte
		want      string
		retriable bool
	}{
		{"JSON text", []byte(`{"id":1}`), "Unknown magic byte!", false},
		{"empty", []byte{}, "Unknown magic byte!", false},
		{"short header", []byte{0, 0, 1}, "shorter than the 5", false},
		{"GUID", []byte{1, 2, 3, 4, 5, 6}, "GUID", false},
		{"unknown id", []byte{0, 0, 0, 0, 99, 2}, "Schema 99 not found (HTTP 404, error code 40403)", false},
	} {
		_, _, err := c.ToConnect("t", tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || connect.IsRetriable(err) != tc.retriable {
			t.Errorf("%s: %v (retriable %v), want %q", tc.name, err, connect.IsRetriable(err), tc.want)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	d := mustConverter(t, "avro", false, "schema.registry.url", dead)
	_, err = d.FromConnect("t", connect.StringSchema, "x")
	if err == nil || !connect.IsRetriable(err) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("unreachable registry, writing: %v", err)
	}
	_, _, err = d.ToConnect("t", []byte{0, 0, 0, 0, 1, 2, 'x'})
	if err == nil || !connect.IsRetriable(err) {
		t.Fatalf("unreachable registry, reading: %v", err)
	}
	// A second URL is tried when the first cannot be reached.
	f := mustConverter(t, "avro", false, "schema.registry.url", dead+","+reg.url)
	if _, err := f.FromConnect("t", connect.StringSchema, "x"); err != nil {
		t.Fatalf("failover to the second URL: %v", err)
	}
	// A registry answering 503 is retriable too.
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error_code":50003,"message":"forwarding"}`)
	}))
	defer busy.Close()
	b := mustConverter(t, "avro", false, "schema.registry.url", busy.URL)
	if _, err := b.FromConnect("t", connect.StringSchema, "x"); !connect.IsRetriable(err) {
		t.Fatalf("503: %v", err)
	}
}

// TestAvroBasicAuth sends the credentials basic.auth.credentials.source
// names: those in the URL, or basic.auth.user.info.
func TestAvroBasicAuth(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	var mu sync.Mutex
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, u+":"+p)
		mu.Unlock()
		if u == "" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error_code":40101,"message":"Unauthorized"}`)
			return
		}
		proxy, _ := http.NewRequest(r.Method, reg.url+r.URL.Path, r.Body)
		proxy.Header = r.Header
		resp, err := http.DefaultTransport.RoundTrip(proxy)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 1<<16)
		n, _ := resp.Body.Read(buf)
		w.Write(buf[:n])
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	withUser := strings.Replace(srv.URL, "http://", "http://ann:secret@", 1)
	a := mustConverter(t, "avro", false, "schema.registry.url", withUser)
	if _, err := a.FromConnect("t1", connect.StringSchema, "x"); err != nil {
		t.Fatal(err)
	}
	b := mustConverter(t, "avro", false, "schema.registry.url", srv.URL,
		"basic.auth.credentials.source", "USER_INFO", "basic.auth.user.info", "bob:pw")
	if _, err := b.FromConnect("t2", connect.StringSchema, "x"); err != nil {
		t.Fatal(err)
	}
	none := mustConverter(t, "avro", false, "schema.registry.url", srv.URL)
	_, err := none.FromConnect("t3", connect.StringSchema, "x")
	var re *RegistryError
	if !errors.As(err, &re) || re.StatusCode != 401 || connect.IsRetriable(err) {
		t.Fatalf("no credentials: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"ann:secret", "bob:pw", ":"}, seen); diff != "" {
		t.Fatalf("credentials sent (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("an error shows the password: %v", err)
	}
}

// TestAvroConcurrent converts from several goroutines at once (run with
// -race): the caches and the registry client are shared.
func TestAvroConcurrent(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	c := mustConverter(t, "avro", false, "schema.registry.url", reg.url)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_, v := dbzEvent(int32(g*1000 + i))
				topic := fmt.Sprint("t", i%3)
				b, err := c.FromConnect(topic, dbzEnvelopeSchema, v)
				if err == nil {
					_, _, err = c.ToConnect(topic, b)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_ = sr.TypeAvro
}
