package testserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ESFake is an in-process server that answers the parts of Elasticsearch's
// REST API a sink uses as Elasticsearch documents them, for the faults
// and semantics no server that runs here shows. ZincSearch (StartZinc) is
// the real server of the tests; it lacks, and this fake has:
//
//   - bulk items applied in order, one after the other, per document;
//   - per-item statuses and errors: 400 mapper_parsing_exception for a
//     value its field's type cannot take (dynamic mapping: a field's first
//     value fixes its type), 409 version_conflict_engine_exception for an
//     external version not above the document's (deletes leave their
//     version behind, as index.gc_deletes does) or a create of an existing
//     document, 404 not_found for a delete of a missing document, 403
//     cluster_block_exception for a write-blocked index, with errors:true;
//   - update with doc_as_upsert merging the fields into the document;
//   - data streams (create-only, an @timestamp required);
//   - injected faults: a status and error for chosen items (429
//     es_rejected_execution_exception, 503, ...), or for whole requests
//     (with Retry-After), and requests held until released;
//   - a record of every bulk request, and of any two requests in flight
//     at once that touch the same document.
//
// It is not a search engine: tests read documents with Doc and Docs.
type ESFake struct {
	URL string
	srv *httptest.Server

	// User and Password, when set, are required (HTTP basic).
	User, Password string

	mu      sync.Mutex
	version string
	distrib string
	indexes map[string]*fakeIndex
	// noAutoCreate answers 404 index_not_found_exception for writes to a
	// missing index, as action.auto_create_index=false does.
	noAutoCreate bool
	itemFault    func(FakeAction) *FakeError
	reqFault     func(n int, actions []FakeAction) *FakeRequestFault
	hold         func(actions []FakeAction) <-chan struct{}
	requests     []FakeRequest
	inFlight     map[string]int // document key → requests in flight holding it
	overlaps     []string
	seqNo        int64
	bulkCount    int
	clusterBlock string
}

type fakeIndex struct {
	docs       map[string]*fakeDoc
	tombstones map[string]int64 // deleted documents' versions
	fields     map[string]string
	mapping    json.RawMessage
	writeBlock bool
	dataStream bool
}

type fakeDoc struct {
	source  map[string]any
	version int64
}

// FakeAction is one action of a bulk request, as the fake read it.
type FakeAction struct {
	Op          string // index, create, update, delete
	Index, ID   string
	Version     int64
	VersionType string
	Source      json.RawMessage
}

// FakeError is the status and error an item (or a request) answers with.
type FakeError struct {
	Status int
	Type   string
	Reason string
}

// FakeRequestFault makes a whole bulk request fail.
type FakeRequestFault struct {
	Status     int
	Type       string
	Reason     string
	RetryAfter string // the Retry-After header, if any
}

// FakeRequest is one bulk request the fake answered.
type FakeRequest struct {
	Actions  []FakeAction
	Statuses []int // per item; nil when the request failed as a whole
	Status   int
}

// StartESFake starts the fake on a loopback port; it is closed when tb ends.
func StartESFake(tb testing.TB) *ESFake {
	f := newESFake()
	f.srv = httptest.NewServer(f)
	f.URL = f.srv.URL
	tb.Cleanup(f.srv.Close)
	return f
}

// StartESFakeTLS starts the fake over HTTPS with a certificate made for
// the test; CertPEM returns its certificate.
func StartESFakeTLS(tb testing.TB) *ESFake {
	f := newESFake()
	f.srv = httptest.NewTLSServer(f)
	f.URL = f.srv.URL
	tb.Cleanup(f.srv.Close)
	return f
}

// CertPEM is the TLS server's certificate, PEM-encoded.
func (f *ESFake) CertPEM() []byte {
	var b bytes.Buffer
	for _, c := range f.srv.TLS.Certificates {
		for _, der := range c.Certificate {
			pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
	}
	return b.Bytes()
}

func newESFake() *ESFake {
	return &ESFake{version: "8.11.0", indexes: map[string]*fakeIndex{}, inFlight: map[string]int{}}
}

// SetVersion sets the version GET / reports, and the distribution
// ("opensearch" makes it answer as OpenSearch does).
func (f *ESFake) SetVersion(number, distribution string) {
	f.mu.Lock()
	f.version, f.distrib = number, distribution
	f.mu.Unlock()
}

// SetAutoCreate turns automatic index creation on bulk writes on or off.
func (f *ESFake) SetAutoCreate(on bool) {
	f.mu.Lock()
	f.noAutoCreate = !on
	f.mu.Unlock()
}

// SetItemFault makes items for which fault returns non-nil fail with that
// error instead of being applied.
func (f *ESFake) SetItemFault(fault func(FakeAction) *FakeError) {
	f.mu.Lock()
	f.itemFault = fault
	f.mu.Unlock()
}

// SetRequestFault makes the n-th bulk request (from 1) fail as a whole when
// fault returns non-nil.
func (f *ESFake) SetRequestFault(fault func(n int, actions []FakeAction) *FakeRequestFault) {
	f.mu.Lock()
	f.reqFault = fault
	f.mu.Unlock()
}

// SetHold makes bulk requests wait, before they are applied, until the
// channel hold returns is closed (nil: no wait).
func (f *ESFake) SetHold(hold func(actions []FakeAction) <-chan struct{}) {
	f.mu.Lock()
	f.hold = hold
	f.mu.Unlock()
}

// SetWriteBlock sets or clears index.blocks.write on index (creating the
// index when missing), as PUT /{index}/_settings does.
func (f *ESFake) SetWriteBlock(index string, on bool) {
	f.mu.Lock()
	f.index(index).writeBlock = on
	f.mu.Unlock()
}

// DeleteIndex deletes an index with its documents, as DELETE /{index}.
func (f *ESFake) DeleteIndex(index string) {
	f.mu.Lock()
	delete(f.indexes, index)
	f.mu.Unlock()
}

// Close stops serving: the address refuses connections from then on.
func (f *ESFake) Close() { f.srv.Close() }

// SetClusterBlock sets (non-empty reason) or clears a cluster-wide write
// block, such as cluster.blocks.read_only.
func (f *ESFake) SetClusterBlock(reason string) {
	f.mu.Lock()
	f.clusterBlock = reason
	f.mu.Unlock()
}

func (f *ESFake) index(name string) *fakeIndex {
	ix := f.indexes[name]
	if ix == nil {
		ix = &fakeIndex{docs: map[string]*fakeDoc{}, tombstones: map[string]int64{}, fields: map[string]string{}}
		f.indexes[name] = ix
	}
	return ix
}

// Docs returns index's documents by id, as JSON with sorted keys.
func (f *ESFake) Docs(index string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	if ix := f.indexes[index]; ix != nil {
		for id, d := range ix.docs {
			b, _ := json.Marshal(d.source)
			out[id] = string(b)
		}
	}
	return out
}

// Doc returns one document's source and version.
func (f *ESFake) Doc(index, id string) (map[string]any, int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ix := f.indexes[index]; ix != nil {
		if d := ix.docs[id]; d != nil {
			return d.source, d.version, true
		}
	}
	return nil, 0, false
}

// Mapping returns the mapping last put on index (nil when none).
func (f *ESFake) Mapping(index string) json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ix := f.indexes[index]; ix != nil {
		return ix.mapping
	}
	return nil
}

// IsDataStream reports whether name was created as a data stream.
func (f *ESFake) IsDataStream(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ix := f.indexes[name]
	return ix != nil && ix.dataStream
}

// Requests returns the bulk requests answered so far.
func (f *ESFake) Requests() []FakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeRequest(nil), f.requests...)
}

// Overlaps lists every time two bulk requests in flight at once touched
// the same document (there should be none).
func (f *ESFake) Overlaps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.overlaps...)
}

func (f *ESFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if f.User != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != f.User || p != f.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
			writeError(w, 401, "security_exception", fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", u, r.URL.Path))
			return
		}
	}
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	switch {
	case path == "" && r.Method == http.MethodGet:
		f.mu.Lock()
		info := map[string]any{"name": "fake", "cluster_name": "fake", "tagline": "You Know, for Search",
			"version": map[string]any{"number": f.version, "distribution": f.distrib}}
		if f.distrib == "opensearch" {
			info["tagline"] = "The OpenSearch Project: https://opensearch.org/"
		}
		f.mu.Unlock()
		writeJSON(w, 200, info)
	case path == "_bulk" || (len(parts) == 2 && parts[1] == "_bulk"):
		f.bulk(w, r)
	case len(parts) == 2 && parts[0] == "_data_stream" && r.Method == http.MethodPut:
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.indexes[parts[1]] != nil {
			writeError(w, 400, "resource_already_exists_exception", "data_stream ["+parts[1]+"] already exists")
			return
		}
		f.index(parts[1]).dataStream = true
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case len(parts) == 1 && r.Method == http.MethodHead:
		f.mu.Lock()
		_, ok := f.indexes[parts[0]]
		f.mu.Unlock()
		if ok {
			w.WriteHeader(200)
		} else {
			w.WriteHeader(404)
		}
	case len(parts) == 1 && r.Method == http.MethodPut:
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.indexes[parts[0]] != nil {
			writeError(w, 400, "resource_already_exists_exception", "index ["+parts[0]+"/abc] already exists")
			return
		}
		f.index(parts[0])
		writeJSON(w, 200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": parts[0]})
	case len(parts) == 2 && parts[1] == "_mapping":
		f.mu.Lock()
		defer f.mu.Unlock()
		ix := f.indexes[parts[0]]
		if ix == nil {
			writeError(w, 404, "index_not_found_exception", "no such index ["+parts[0]+"]")
			return
		}
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			var m struct {
				Properties map[string]struct {
					Type string `json:"type"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(b, &m); err != nil {
				writeError(w, 400, "mapper_parsing_exception", err.Error())
				return
			}
			ix.mapping = b
			for k, p := range m.Properties {
				ix.fields[k] = p.Type
			}
			writeJSON(w, 200, map[string]any{"acknowledged": true})
			return
		}
		props := map[string]any{}
		for k, t := range ix.fields {
			props[k] = map[string]any{"type": t}
		}
		mappings := map[string]any{}
		if len(props) > 0 {
			mappings["properties"] = props
		}
		writeJSON(w, 200, map[string]any{parts[0]: map[string]any{"mappings": mappings}})
	default:
		writeError(w, 400, "illegal_argument_exception", "the fake does not serve "+r.Method+" "+r.URL.Path)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"root_cause": []any{map[string]any{"type": typ, "reason": reason}}, "type": typ, "reason": reason},
		"status": status,
	})
}

// parseBulk reads a bulk body's actions.
func parseBulkBody(body io.Reader, pathIndex string) ([]FakeAction, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 100<<20)
	var out []FakeAction
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var meta map[string]struct {
			Index       string `json:"_index"`
			ID          string `json:"_id"`
			Version     *int64 `json:"version"`
			VersionType string `json:"version_type"`
		}
		if err := json.Unmarshal(line, &meta); err != nil || len(meta) != 1 {
			return nil, fmt.Errorf("Malformed action/metadata line [%d], expected a simple value for field [_index] but found [START_OBJECT]", len(out)+1)
		}
		for op, m := range meta {
			a := FakeAction{Op: op, Index: m.Index, ID: m.ID, VersionType: m.VersionType}
			if a.Index == "" {
				a.Index = pathIndex
			}
			if m.Version != nil {
				a.Version = *m.Version
			}
			switch op {
			case "index", "create", "update":
				if !sc.Scan() {
					return nil, fmt.Errorf("the bulk request must be terminated by a newline [\\n]")
				}
				a.Source = append(json.RawMessage(nil), bytes.TrimSpace(sc.Bytes())...)
			case "delete":
			default:
				return nil, fmt.Errorf("Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", len(out)+1, op)
			}
			out = append(out, a)
		}
	}
	return out, sc.Err()
}

func (f *ESFake) bulk(w http.ResponseWriter, r *http.Request) {
	pathIndex := ""
	if p := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(p) == 2 {
		pathIndex = p[0]
	}
	actions, err := parseBulkBody(r.Body, pathIndex)
	if err != nil {
		writeError(w, 400, "illegal_argument_exception", err.Error())
		return
	}
	f.mu.Lock()
	f.bulkCount++
	n := f.bulkCount
	keys := make([]string, 0, len(actions))
	for _, a := range actions {
		k := a.Index + "/" + a.ID
		if a.ID != "" {
			if f.inFlight[k] > 0 {
				f.overlaps = append(f.overlaps, fmt.Sprintf("request %d: document %s is in another request in flight", n, k))
			}
			f.inFlight[k]++
			keys = append(keys, k)
		}
	}
	hold, reqFault := f.hold, f.reqFault
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		for _, k := range keys {
			if f.inFlight[k]--; f.inFlight[k] == 0 {
				delete(f.inFlight, k)
			}
		}
		f.mu.Unlock()
	}()
	if hold != nil {
		if ch := hold(actions); ch != nil {
			<-ch
		}
	}
	if reqFault != nil {
		if rf := reqFault(n, actions); rf != nil {
			f.mu.Lock()
			f.requests = append(f.requests, FakeRequest{Actions: actions, Status: rf.Status})
			f.mu.Unlock()
			if rf.RetryAfter != "" {
				w.Header().Set("Retry-After", rf.RetryAfter)
			}
			writeError(w, rf.Status, rf.Type, rf.Reason)
			return
		}
	}
	f.mu.Lock()
	items := make([]any, len(actions))
	statuses := make([]int, len(actions))
	errorsSeen := false
	for i, a := range actions {
		status, res := f.apply(a)
		statuses[i] = status
		if _, bad := res["error"]; bad {
			errorsSeen = true
		}
		items[i] = map[string]any{a.Op: res}
	}
	f.requests = append(f.requests, FakeRequest{Actions: actions, Statuses: statuses, Status: 200})
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"took": 1, "errors": errorsSeen, "items": items})
}

// apply applies one action as Elasticsearch would; callers hold f.mu.
func (f *ESFake) apply(a FakeAction) (int, map[string]any) {
	res := map[string]any{"_index": a.Index, "_id": a.ID}
	fail := func(status int, typ, reason string) (int, map[string]any) {
		res["status"] = status
		res["error"] = map[string]any{"type": typ, "reason": reason, "index": a.Index}
		return status, res
	}
	if a.Index == "" {
		return fail(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
	}
	if f.itemFault != nil {
		if fe := f.itemFault(a); fe != nil {
			return fail(fe.Status, fe.Type, fe.Reason)
		}
	}
	if f.clusterBlock != "" {
		return fail(403, "cluster_block_exception", "blocked by: ["+f.clusterBlock+"];")
	}
	ix := f.indexes[a.Index]
	if ix == nil {
		if a.Op == "delete" {
			res["status"], res["result"] = 404, "not_found"
			return 404, res
		}
		if f.noAutoCreate {
			return fail(404, "index_not_found_exception", "no such index ["+a.Index+"]")
		}
		ix = f.index(a.Index)
	}
	if ix.writeBlock {
		return fail(403, "cluster_block_exception", "index ["+a.Index+"] blocked by: [FORBIDDEN/8/index write (api)];")
	}
	external := a.VersionType == "external" || a.VersionType == "external_gte"
	cur := ix.docs[a.ID]
	curVersion, known := int64(0), cur != nil
	if cur != nil {
		curVersion = cur.version
	} else if v, ok := ix.tombstones[a.ID]; ok {
		curVersion, known = v, true
	}
	if ix.dataStream && a.Op != "create" {
		return fail(400, "illegal_argument_exception", "only write ops with an op_type of create are allowed in data streams")
	}
	if external && a.Op != "update" && known {
		if a.Version < curVersion || (a.Version == curVersion && a.VersionType == "external") {
			return fail(409, "version_conflict_engine_exception",
				fmt.Sprintf("[%s]: version conflict, current version [%d] is higher or equal to the one provided [%d]", a.ID, curVersion, a.Version))
		}
	}
	f.seqNo++
	res["_seq_no"], res["_primary_term"] = f.seqNo, 1
	switch a.Op {
	case "delete":
		if cur == nil {
			if external {
				ix.tombstones[a.ID] = a.Version
			}
			res["status"], res["result"], res["_version"] = 404, "not_found", curVersion+1
			return 404, res
		}
		v := curVersion + 1
		if external {
			v = a.Version
		}
		delete(ix.docs, a.ID)
		ix.tombstones[a.ID] = v
		res["status"], res["result"], res["_version"] = 200, "deleted", v
		return 200, res
	case "create":
		if cur != nil {
			return fail(409, "version_conflict_engine_exception",
				fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", a.ID, curVersion))
		}
		fallthrough
	case "index":
		var src map[string]any
		if err := json.Unmarshal(a.Source, &src); err != nil {
			return fail(400, "document_parsing_exception", "[1:1] failed to parse: "+err.Error())
		}
		if ix.dataStream {
			if _, ok := src["@timestamp"]; !ok {
				return fail(400, "document_parsing_exception", "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing")
			}
		}
		if status, typ, reason := ix.check(src, a.ID); status != 0 {
			return fail(status, typ, reason)
		}
		id := a.ID
		if id == "" {
			id = "auto-" + strconv.FormatInt(f.seqNo, 10)
			res["_id"] = id
		}
		v := curVersion + 1
		if external {
			v = a.Version
		}
		result, status := "created", 201
		if cur != nil {
			result, status = "updated", 200
		}
		ix.docs[id] = &fakeDoc{source: src, version: v}
		delete(ix.tombstones, id)
		res["status"], res["result"], res["_version"] = status, result, v
		return status, res
	case "update":
		if external || a.Version != 0 {
			return fail(400, "action_request_validation_exception", "Validation Failed: 1: can't provide version in update requests;")
		}
		var body struct {
			Doc         map[string]any `json:"doc"`
			DocAsUpsert bool           `json:"doc_as_upsert"`
			Upsert      map[string]any `json:"upsert"`
		}
		if err := json.Unmarshal(a.Source, &body); err != nil {
			return fail(400, "x_content_parse_exception", "[1:1] failed to parse: "+err.Error())
		}
		var merged map[string]any
		result, status := "updated", 200
		switch {
		case cur != nil:
			merged = mergeDoc(cloneDoc(cur.source), body.Doc)
			if b1, b2 := mustJSON(cur.source), mustJSON(merged); b1 == b2 {
				res["status"], res["result"], res["_version"] = 200, "noop", curVersion
				return 200, res
			}
		case body.DocAsUpsert:
			merged, result, status = body.Doc, "created", 201
		case body.Upsert != nil:
			merged, result, status = body.Upsert, "created", 201
		default:
			return fail(404, "document_missing_exception", "["+a.ID+"]: document missing")
		}
		if s, typ, reason := ix.check(merged, a.ID); s != 0 {
			return fail(s, typ, reason)
		}
		ix.docs[a.ID] = &fakeDoc{source: merged, version: curVersion + 1}
		delete(ix.tombstones, a.ID)
		res["status"], res["result"], res["_version"] = status, result, curVersion+1
		return status, res
	}
	return fail(400, "illegal_argument_exception", "unknown op "+a.Op)
}

// check applies the index's mapping to a document's top-level fields,
// mapping new fields dynamically from their first value.
func (ix *fakeIndex) check(src map[string]any, id string) (int, string, string) {
	for k, v := range src {
		if v == nil {
			continue
		}
		t, ok := ix.fields[k]
		if !ok {
			ix.fields[k] = dynamicType(v)
			continue
		}
		if !fits(t, v) {
			preview, _ := json.Marshal(v)
			return 400, "document_parsing_exception",
				fmt.Sprintf("[1:%d] failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", len(k)+2, k, t, id, strings.Trim(string(preview), `"`))
		}
	}
	return 0, "", ""
}

func dynamicType(v any) string {
	switch x := v.(type) {
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "long"
		}
		return "float"
	case string:
		return "text"
	case map[string]any:
		return "object"
	}
	return "keyword"
}

func fits(t string, v any) bool {
	switch t {
	case "long", "integer", "short", "byte", "float", "double":
		switch x := v.(type) {
		case float64:
			return true
		case string:
			_, err := strconv.ParseFloat(x, 64)
			return err == nil
		}
		return false
	case "boolean":
		switch x := v.(type) {
		case bool:
			return true
		case string:
			return x == "true" || x == "false"
		}
		return false
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "date":
		switch v.(type) {
		case float64, string:
			return true
		}
		return false
	}
	return true
}

func mergeDoc(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeDoc(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func cloneDoc(m map[string]any) map[string]any {
	var out map[string]any
	json.Unmarshal([]byte(mustJSON(m)), &out)
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// SortedIDs returns the keys of docs in order.
func SortedIDs(docs map[string]string) []string {
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// WaitFor polls cond every 20 ms until it holds or timeout passes, then
// fails tb with cond's last message.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
