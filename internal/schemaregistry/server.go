package schemaregistry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectd/connectd/internal/kafkalog"
)

// DefaultTopic is the topic the registry keeps its schemas in, as
// Confluent's kafkastore.topic defaults to.
const DefaultTopic = "_schemas"

// Options configure a Registry.
type Options struct {
	// ClientOpts configure the Kafka clients: the seed brokers at least.
	ClientOpts []kgo.Opt
	// Topic is the compacted topic the schemas are kept in; "" is _schemas.
	Topic string
	// ReplicationFactor of the topic when the registry creates it; 0 is
	// the broker's default.
	ReplicationFactor int16
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// Registry is a schema registry speaking Confluent's REST API, keeping
// its state in a compacted Kafka topic in Confluent's record format.
type Registry struct {
	log   *kafkalog.Log
	st    *state
	wmu   sync.Mutex // serialises writes: one version or id decided at a time
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
	serve error
}

// Open reads the topic (creating it when missing) and returns the
// registry, not yet listening; Handler serves its API. ctx bounds the
// opening.
func Open(ctx context.Context, o Options) (*Registry, error) {
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	st := newState()
	l, err := kafkalog.Open(ctx, kafkalog.Options{
		ClientOpts: o.ClientOpts, Topic: o.Topic, Partitions: 1, ReplicationFactor: o.ReplicationFactor,
		Setting: "kafkastore.topic", Purpose: "schemas", Logger: o.Logger,
	}, st.apply)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	return &Registry{log: l, st: st}, nil
}

// Serve listens on addr (host:port) and serves the API in a goroutine the
// registry owns; Close stops it.
func (r *Registry) Serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("schema registry: listen on %s: %w", addr, err)
	}
	r.ln = ln
	r.srv = &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		if err := r.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			r.serve = err
		}
	}()
	return nil
}

// URL returns the registry's URL once it serves.
func (r *Registry) URL() string {
	if r.ln == nil {
		return ""
	}
	return "http://" + r.ln.Addr().String()
}

// Close stops serving (waiting up to ctx for requests under way) and
// closes the topic's clients.
func (r *Registry) Close(ctx context.Context) error {
	var err error
	if r.srv != nil {
		err = r.srv.Shutdown(ctx)
		<-r.done
	}
	return errors.Join(err, r.log.Close())
}

// apiError is Confluent's error body.
type apiError struct {
	status int
	Code   int    `json:"error_code"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string { return e.Msg }

func errorf(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func subjectNotFound(s string) *apiError {
	return errorf(http.StatusNotFound, 40401, "Subject '%s' not found.", s)
}
func versionNotFound(v int) *apiError {
	return errorf(http.StatusNotFound, 40402, "Version %d not found.", v)
}
func schemaNotFound() *apiError { return errorf(http.StatusNotFound, 40403, "Schema not found") }
func invalidVersion(v string) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42202, `The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`, v)
}
func storeError(err error) *apiError {
	return errorf(http.StatusInternalServerError, 50001, "Error while storing in the Kafka store: %v", err)
}

const contentType = "application/vnd.schemaregistry.v1+json"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

type handler func(w http.ResponseWriter, req *http.Request) (any, error)

func (h handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	v, err := h(w, req)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errorf(http.StatusInternalServerError, 50001, "%v", err)
		}
		writeJSON(w, ae.status, ae)
		return
	}
	if s, ok := v.(rawText); ok {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, string(s))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// rawText is a response body written as it is.
type rawText string

// Handler returns the REST API: Confluent's paths and JSON shapes for
// subjects, versions, schemas by id, compatibility checks and configs.
func (r *Registry) Handler() http.Handler {
	m := chi.NewRouter()
	m.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, errorf(http.StatusNotFound, 404, "HTTP 404 Not Found"))
	})
	m.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorf(http.StatusMethodNotAllowed, 405, "HTTP 405 Method Not Allowed"))
	})
	m.Method("GET", "/", handler(func(http.ResponseWriter, *http.Request) (any, error) { return struct{}{}, nil }))
	m.Method("GET", "/schemas/types", handler(func(http.ResponseWriter, *http.Request) (any, error) {
		return []string{"JSON", "AVRO"}, nil
	}))
	m.Method("GET", "/schemas/ids/{id}", handler(r.getSchemaByID))
	m.Method("GET", "/schemas/ids/{id}/schema", handler(r.getSchemaTextByID))
	m.Method("GET", "/schemas/ids/{id}/subjects", handler(r.getSubjectsByID))
	m.Method("GET", "/schemas/ids/{id}/versions", handler(r.getVersionsByID))
	m.Method("GET", "/subjects", handler(r.listSubjects))
	m.Method("POST", "/subjects/{subject}", handler(r.lookup))
	m.Method("DELETE", "/subjects/{subject}", handler(r.deleteSubject))
	m.Method("GET", "/subjects/{subject}/versions", handler(r.listVersions))
	m.Method("POST", "/subjects/{subject}/versions", handler(r.register))
	m.Method("GET", "/subjects/{subject}/versions/{version}", handler(r.getVersion))
	m.Method("GET", "/subjects/{subject}/versions/{version}/schema", handler(r.getVersionText))
	m.Method("DELETE", "/subjects/{subject}/versions/{version}", handler(r.deleteVersion))
	m.Method("POST", "/compatibility/subjects/{subject}/versions/{version}", handler(r.checkVersion))
	m.Method("POST", "/compatibility/subjects/{subject}/versions", handler(r.checkSubject))
	m.Method("GET", "/config", handler(r.getGlobalConfig))
	m.Method("PUT", "/config", handler(r.putGlobalConfig))
	m.Method("GET", "/config/{subject}", handler(r.getSubjectConfig))
	m.Method("PUT", "/config/{subject}", handler(r.putSubjectConfig))
	m.Method("DELETE", "/config/{subject}", handler(r.deleteSubjectConfig))
	m.Method("GET", "/mode", handler(func(http.ResponseWriter, *http.Request) (any, error) {
		return map[string]string{"mode": "READWRITE"}, nil
	}))
	return m
}

func boolParam(req *http.Request, name string) bool {
	v, _ := strconv.ParseBool(req.URL.Query().Get(name))
	return v
}

func idParam(req *http.Request) (int, error) {
	id, err := strconv.Atoi(chi.URLParam(req, "id"))
	if err != nil {
		return 0, errorf(http.StatusNotFound, 40403, "Schema %s not found", chi.URLParam(req, "id"))
	}
	return id, nil
}

// schemaBody is the body of the schema endpoints (Confluent's Schema and
// RegisterSchemaRequest entities).
type schemaBody struct {
	Subject    string      `json:"subject,omitempty"`
	Version    int         `json:"version,omitempty"`
	ID         int         `json:"id,omitempty"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func typeOut(t string) string {
	if t == "AVRO" {
		return ""
	}
	return t
}

func (r *Registry) getSchemaByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	id, err := idParam(req)
	if err != nil {
		return nil, err
	}
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	s, ok := r.st.schemas[id]
	if !ok {
		return nil, errorf(http.StatusNotFound, 40403, "Schema %d not found", id)
	}
	return schemaBody{SchemaType: typeOut(s.schemaType), References: s.refs, Schema: s.text}, nil
}

func (r *Registry) getSchemaTextByID(w http.ResponseWriter, req *http.Request) (any, error) {
	v, err := r.getSchemaByID(w, req)
	if err != nil {
		return nil, err
	}
	return rawText(v.(schemaBody).Schema), nil
}

func (r *Registry) getSubjectsByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	vs, err := r.usages(req)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, v := range vs {
		if len(out) == 0 || out[len(out)-1] != v.Subject {
			out = append(out, v.Subject)
		}
	}
	return out, nil
}

type subjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (r *Registry) getVersionsByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	return r.usages(req)
}

func (r *Registry) usages(req *http.Request) ([]subjectVersion, error) {
	id, err := idParam(req)
	if err != nil {
		return nil, err
	}
	deleted := boolParam(req, "deleted")
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	if _, ok := r.st.schemas[id]; !ok {
		return nil, errorf(http.StatusNotFound, 40403, "Schema %d not found", id)
	}
	out := []subjectVersion{}
	for _, s := range r.st.subjectNames(true) {
		for _, v := range r.st.versionsOf(s, deleted) {
			if v.id == id {
				out = append(out, subjectVersion{s, v.version})
			}
		}
	}
	return out, nil
}

func (r *Registry) listSubjects(_ http.ResponseWriter, req *http.Request) (any, error) {
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	out := r.st.subjectNames(boolParam(req, "deleted"))
	if prefix := req.URL.Query().Get("subjectPrefix"); prefix != "" {
		var kept []string
		for _, s := range out {
			if strings.HasPrefix(s, prefix) {
				kept = append(kept, s)
			}
		}
		out = kept
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func (r *Registry) listVersions(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	vs := r.st.versionsOf(subject, boolParam(req, "deleted"))
	if len(vs) == 0 {
		return nil, subjectNotFound(subject)
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.version
	}
	return out, nil
}

// findVersion resolves a version path parameter ("latest", -1 or a
// number) in subject. The caller holds the read lock.
func (r *Registry) findVersion(subject, param string, deleted bool) (*version, error) {
	vs := r.st.versionsOf(subject, deleted)
	latest := param == "latest" || param == "-1"
	n, err := strconv.Atoi(param)
	if !latest && (err != nil || n < 1) {
		return nil, invalidVersion(param)
	}
	if len(vs) == 0 {
		return nil, subjectNotFound(subject)
	}
	if latest {
		return vs[len(vs)-1], nil
	}
	for _, v := range vs {
		if v.version == n {
			return v, nil
		}
	}
	return nil, versionNotFound(n)
}

func (r *Registry) body(v *version) schemaBody {
	s := r.st.schemas[v.id]
	return schemaBody{Subject: v.subject, Version: v.version, ID: v.id, SchemaType: typeOut(s.schemaType), References: s.refs, Schema: s.text}
}

func (r *Registry) getVersion(_ http.ResponseWriter, req *http.Request) (any, error) {
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	v, err := r.findVersion(chi.URLParam(req, "subject"), chi.URLParam(req, "version"), boolParam(req, "deleted"))
	if err != nil {
		return nil, err
	}
	return r.body(v), nil
}

func (r *Registry) getVersionText(w http.ResponseWriter, req *http.Request) (any, error) {
	v, err := r.getVersion(w, req)
	if err != nil {
		return nil, err
	}
	return rawText(v.(schemaBody).Schema), nil
}

// readSchema reads a request's schema and parses it into its canonical form.
func readSchema(req *http.Request) (schemaBody, format, any, error) {
	var b schemaBody
	dec := json.NewDecoder(io.LimitReader(req.Body, 16<<20))
	if err := dec.Decode(&b); err != nil {
		return b, nil, nil, errorf(http.StatusUnprocessableEntity, 422, "Unrecognized field or invalid JSON: %v", err)
	}
	if b.SchemaType == "" {
		b.SchemaType = "AVRO"
	}
	b.SchemaType = strings.ToUpper(b.SchemaType)
	f, ok := formats[b.SchemaType]
	if !ok {
		return b, nil, nil, errorf(http.StatusUnprocessableEntity, 42201, "Invalid schema type %s", b.SchemaType)
	}
	if len(b.References) > 0 {
		return b, nil, nil, errorf(http.StatusUnprocessableEntity, 42201, "Invalid schema: schema references are not supported by this registry")
	}
	canonical, parsed, err := f.canonical(b.Schema)
	if err != nil {
		return b, nil, nil, errorf(http.StatusUnprocessableEntity, 42201, "Invalid schema %s of type %s, details: %v", b.Schema, b.SchemaType, err)
	}
	b.Schema = canonical
	return b, f, parsed, nil
}

// lookup is POST /subjects/{subject}: the version and id of a schema
// already registered in the subject.
func (r *Registry) lookup(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	b, _, _, err := readSchema(req)
	if err != nil {
		return nil, err
	}
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	vs := r.st.versionsOf(subject, boolParam(req, "deleted"))
	if len(vs) == 0 {
		return nil, subjectNotFound(subject)
	}
	id, ok := r.st.byText[textKey(b.SchemaType, b.Schema)]
	if ok {
		for _, v := range vs {
			if v.id == id {
				return r.body(v), nil
			}
		}
	}
	return nil, schemaNotFound()
}

// previousOf returns the subject's live versions, parsed, ascending. The
// caller holds a lock.
func (r *Registry) previousOf(subject string, f format, schemaType string) ([]previous, error) {
	var out []previous
	for _, v := range r.st.versionsOf(subject, false) {
		s := r.st.schemas[v.id]
		if s.schemaType != schemaType {
			return nil, errorf(http.StatusConflict, 409, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [Incompatible because of different schema type, {validateFields: 'false', compatibility: '%s'}]", subject, r.level(subject))
		}
		_, parsed, err := f.canonical(s.text)
		if err != nil {
			return nil, storeError(err)
		}
		out = append(out, previous{version: v.version, text: s.text, parsed: parsed})
	}
	return out, nil
}

// level is the compatibility level in force for subject.
func (r *Registry) level(subject string) string {
	if l, ok := r.st.configs[subject]; ok && l != "" {
		return l
	}
	if r.st.global != "" {
		return r.st.global
	}
	return defaultCompatibilityMode
}

type idBody struct {
	ID int `json:"id"`
}

// register is POST /subjects/{subject}/versions.
func (r *Registry) register(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	b, f, parsed, err := readSchema(req)
	if err != nil {
		return nil, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.st.mu.RLock()
	id, known := r.st.byText[textKey(b.SchemaType, b.Schema)]
	newVersion := 1
	for _, v := range r.st.versionsOf(subject, true) {
		newVersion = max(newVersion, v.version+1)
		if known && v.id == id && !v.deleted {
			r.st.mu.RUnlock()
			return idBody{id}, nil
		}
	}
	prev, err := r.previousOf(subject, f, b.SchemaType)
	level := r.level(subject)
	if !known {
		id = r.st.maxID + 1
	}
	r.st.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if msgs := checkCompatibility(f, level, parsed, prev); len(msgs) > 0 {
		return nil, errorf(http.StatusConflict, 409, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]",
			subject, strings.Join(msgs, ", "))
	}
	val := schemaValue{Subject: subject, Version: newVersion, ID: id, SchemaType: b.SchemaType, Schema: b.Schema}
	if err := r.write(req.Context(), schemaKey(subject, newVersion), val); err != nil {
		return nil, err
	}
	return idBody{id}, nil
}

// write appends a record and waits until the registry's own reader has
// applied it, as Confluent's KafkaStore does.
func (r *Registry) write(ctx context.Context, key recordKey, value any) error {
	k, err := json.Marshal(key)
	if err != nil {
		return storeError(err)
	}
	var v []byte
	if value != nil {
		if v, err = json.Marshal(value); err != nil {
			return storeError(err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.log.Send(ctx, k, v); err != nil {
		return storeError(err)
	}
	if err := r.log.ReadToEnd(ctx); err != nil {
		return storeError(err)
	}
	return nil
}

type compatBody struct {
	IsCompatible bool     `json:"is_compatible"`
	Messages     []string `json:"messages,omitempty"`
}

func (r *Registry) checkVersion(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject, param := chi.URLParam(req, "subject"), chi.URLParam(req, "version")
	b, f, parsed, err := readSchema(req)
	if err != nil {
		return nil, err
	}
	r.st.mu.RLock()
	var prev []previous
	v, verr := r.findVersion(subject, param, false)
	latest := param == "latest" || param == "-1"
	switch {
	case verr == nil:
		var all []previous
		if all, err = r.previousOf(subject, f, b.SchemaType); err == nil {
			for _, p := range all {
				if p.version == v.version {
					prev = []previous{p}
				}
			}
		}
	case latest:
		var ae *apiError
		if errors.As(verr, &ae) && ae.Code == 40401 {
			verr = nil
		}
	}
	level := r.level(subject)
	r.st.mu.RUnlock()
	if verr != nil {
		var ae *apiError
		if errors.As(verr, &ae) && ae.Code == 40401 {
			n, _ := strconv.Atoi(param)
			return nil, versionNotFound(n)
		}
		return nil, verr
	}
	if err != nil {
		return nil, err
	}
	return compatResponse(checkCompatibility(f, strings.TrimSuffix(level, "_TRANSITIVE"), parsed, prev), boolParam(req, "verbose")), nil
}

func (r *Registry) checkSubject(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	b, f, parsed, err := readSchema(req)
	if err != nil {
		return nil, err
	}
	r.st.mu.RLock()
	prev, err := r.previousOf(subject, f, b.SchemaType)
	level := r.level(subject)
	r.st.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return compatResponse(checkCompatibility(f, level, parsed, prev), boolParam(req, "verbose")), nil
}

func compatResponse(msgs []string, verbose bool) compatBody {
	out := compatBody{IsCompatible: len(msgs) == 0}
	if verbose {
		out.Messages = msgs
		if out.Messages == nil {
			out.Messages = []string{}
		}
	}
	return out
}

type configBody struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

type configUpdate struct {
	Compatibility string `json:"compatibility"`
}

func (r *Registry) getGlobalConfig(_ http.ResponseWriter, _ *http.Request) (any, error) {
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	return configBody{r.level("")}, nil
}

func readLevel(req *http.Request) (string, error) {
	var u configUpdate
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&u); err != nil {
		return "", errorf(http.StatusUnprocessableEntity, 422, "Unrecognized field or invalid JSON: %v", err)
	}
	l, ok := validLevel(u.Compatibility)
	if !ok {
		return "", errorf(http.StatusUnprocessableEntity, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
	}
	return l, nil
}

func (r *Registry) putGlobalConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	l, err := readLevel(req)
	if err != nil {
		return nil, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.write(req.Context(), configKey(nil), configValue{CompatibilityLevel: l}); err != nil {
		return nil, err
	}
	return configUpdate{l}, nil
}

func (r *Registry) getSubjectConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	r.st.mu.RLock()
	defer r.st.mu.RUnlock()
	if l, ok := r.st.configs[subject]; ok && l != "" {
		return configBody{l}, nil
	}
	if boolParam(req, "defaultToGlobal") {
		return configBody{r.level("")}, nil
	}
	return nil, errorf(http.StatusNotFound, 40408, "Subject '%s' does not have subject-level compatibility configured", subject)
}

func (r *Registry) putSubjectConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	l, err := readLevel(req)
	if err != nil {
		return nil, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.write(req.Context(), configKey(&subject), configValue{Subject: subject, CompatibilityLevel: l}); err != nil {
		return nil, err
	}
	return configUpdate{l}, nil
}

func (r *Registry) deleteSubjectConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.st.mu.RLock()
	old, ok := r.st.configs[subject]
	r.st.mu.RUnlock()
	if !ok {
		return nil, subjectNotFound(subject)
	}
	if err := r.write(req.Context(), configKey(&subject), nil); err != nil {
		return nil, err
	}
	return configBody{old}, nil
}

// deleteSubject soft-deletes every version (a DELETE_SUBJECT record), or
// with permanent=true removes soft-deleted versions (tombstones).
func (r *Registry) deleteSubject(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject := chi.URLParam(req, "subject")
	permanent := boolParam(req, "permanent")
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.st.mu.RLock()
	all := r.st.versionsOf(subject, true)
	live := r.st.versionsOf(subject, false)
	r.st.mu.RUnlock()
	if len(all) == 0 {
		return nil, subjectNotFound(subject)
	}
	out := []int{}
	if !permanent {
		if len(live) == 0 {
			return nil, errorf(http.StatusNotFound, 40404, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
		}
		for _, v := range live {
			out = append(out, v.version)
		}
		if err := r.write(req.Context(), deleteSubjectKey(subject), deleteSubjectValue{Subject: subject, Version: live[len(live)-1].version}); err != nil {
			return nil, err
		}
		return out, nil
	}
	if len(live) > 0 {
		return nil, errorf(http.StatusNotFound, 40405, "Subject '%s' was not deleted first before being permanently deleted", subject)
	}
	for i := len(all) - 1; i >= 0; i-- {
		if err := r.write(req.Context(), schemaKey(subject, all[i].version), nil); err != nil {
			return nil, err
		}
		out = append([]int{all[i].version}, out...)
	}
	return out, nil
}

func (r *Registry) deleteVersion(_ http.ResponseWriter, req *http.Request) (any, error) {
	subject, param := chi.URLParam(req, "subject"), chi.URLParam(req, "version")
	permanent := boolParam(req, "permanent")
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.st.mu.RLock()
	v, err := r.findVersion(subject, param, permanent)
	var rec schemaRecord
	if err == nil {
		rec = *r.st.schemas[v.id]
	}
	r.st.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if permanent {
		if !v.deleted {
			return nil, errorf(http.StatusNotFound, 40407, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, v.version)
		}
		if err := r.write(req.Context(), schemaKey(subject, v.version), nil); err != nil {
			return nil, err
		}
		return v.version, nil
	}
	val := schemaValue{Subject: subject, Version: v.version, ID: v.id, SchemaType: rec.schemaType, References: rec.refs, Schema: rec.text, Deleted: true}
	if err := r.write(req.Context(), schemaKey(subject, v.version), val); err != nil {
		return nil, err
	}
	return v.version, nil
}
