package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ZincVersion is the ZincSearch release scripts/servers.sh builds.
const ZincVersion = "v0.4.10"

// Zinc is a running ZincSearch server: an Elasticsearch-compatible API
// under /es. It differs from Elasticsearch in ways tests must allow for
// (see TESTING.md): bulk actions on one _id in one request are not applied
// in order; a bulk update replaces the document with its body rather than
// merging; item failures can come back as 200 with errors:false (a
// request stops at a refused document, with the reason beside the items);
// deleting a missing id says 200; _version is always 1; documents become
// visible asynchronously; GET /{index}/_doc/{id} and DELETE /{index} are
// missing. Use Search and WaitDocs, which poll.
//
// Writes go through a write-ahead log that ZincSearch applies to its index
// every ZINC_WAL_SYNC_INTERVAL (50 ms here; 1 s by default), but a delete
// looks the document up in the index at once: a delete of a document
// written less than an interval earlier is lost (answered as deleted), and
// so are rapid rewrites of one document at times. Tests that delete or
// rewrite documents must leave an interval between writes of one id (write
// in rounds, waiting until each round is visible).
type Zinc struct {
	*Proc
	// URL is the Elasticsearch API's base address (http://host:port/es).
	URL            string
	User, Password string
	dataDir, addr  string
	client         *http.Client
	tb             testing.TB
}

// StartZinc starts ZincSearch on a free loopback port with its data in a
// temp dir.
func StartZinc(tb testing.TB) *Zinc {
	tb.Helper()
	bin := Binary(tb, "ZincSearch "+ZincVersion, filepath.Join("zincsearch-"+ZincVersion, "zincsearch"))
	port := FreePort(tb)
	dir := tb.TempDir()
	z := &Zinc{
		User: "admin", Password: "connectd-zinc",
		dataDir: filepath.Join(dir, "data"),
		addr:    "127.0.0.1:" + strconv.Itoa(port),
		client:  &http.Client{Timeout: 30 * time.Second},
		tb:      tb,
	}
	z.URL = "http://" + z.addr + "/es"
	z.Proc = Start(tb, "zincsearch", Command{
		Path: bin,
		Dir:  dir,
		Env: []string{
			"ZINC_FIRST_ADMIN_USER=" + z.User,
			"ZINC_FIRST_ADMIN_PASSWORD=" + z.Password,
			"ZINC_DATA_PATH=" + z.dataDir,
			"ZINC_SERVER_ADDRESS=127.0.0.1",
			"ZINC_SERVER_PORT=" + strconv.Itoa(port),
			"ZINC_SENTRY=false",
			"ZINC_TELEMETRY=false",
			"ZINC_PLUGIN_ES_VERSION=8.11.0",
			"ZINC_WAL_SYNC_INTERVAL=50ms",
			"GIN_MODE=release",
		},
		Ready: z.ready,
	})
	return z
}

func (z *Zinc) ready() error {
	code, body, err := z.Do("GET", "/", nil)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("GET /es/: %d %s", code, body)
	}
	return nil
}

// Do sends a request to the Elasticsearch API (path under /es) with the
// admin's credentials and returns the status and body.
func (z *Zinc) Do(method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, z.URL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(z.User, z.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := z.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// Search returns every document of index by id, with its source (Zinc's
// own @timestamp field removed); an index that does not exist yet is
// empty.
func (z *Zinc) Search(index string) map[string]map[string]any {
	z.tb.Helper()
	out := map[string]map[string]any{}
	from := 0
	const page = 10000
	for {
		q := fmt.Sprintf(`{"query":{"match_all":{}},"size":%d,"from":%d,"sort":["_id"]}`, page, from)
		code, body, err := z.Do("POST", "/"+index+"/_search", []byte(q))
		if err != nil {
			z.tb.Fatalf("zinc: search %s: %v", index, err)
		}
		if code != 200 && strings.Contains(string(body), "does not exist") {
			return out
		}
		if code != 200 {
			z.tb.Fatalf("zinc: search %s: %d %s", index, code, body)
		}
		var res struct {
			Hits struct {
				Hits []struct {
					ID     string         `json:"_id"`
					Source map[string]any `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			z.tb.Fatalf("zinc: search %s: %v: %s", index, err, body)
		}
		for _, h := range res.Hits.Hits {
			delete(h.Source, "@timestamp")
			out[h.ID] = h.Source
		}
		if len(res.Hits.Hits) < page {
			return out
		}
		from += page
	}
}

// Count returns how many documents index holds (0 when it does not exist).
func (z *Zinc) Count(index string) int {
	z.tb.Helper()
	code, body, err := z.Do("POST", "/"+index+"/_search", []byte(`{"query":{"match_all":{}},"size":0,"track_total_hits":true}`))
	if err != nil {
		z.tb.Fatalf("zinc: count %s: %v", index, err)
	}
	if code != 200 {
		if strings.Contains(string(body), "does not exist") {
			return 0
		}
		z.tb.Fatalf("zinc: count %s: %d %s", index, code, body)
	}
	var res struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		z.tb.Fatalf("zinc: count %s: %v: %s", index, err, body)
	}
	return res.Hits.Total.Value
}

// SearchJSON is Search with each source encoded as JSON (keys sorted).
func (z *Zinc) SearchJSON(index string) map[string]string {
	z.tb.Helper()
	out := map[string]string{}
	for id, src := range z.Search(index) {
		b, err := json.Marshal(src)
		if err != nil {
			z.tb.Fatal(err)
		}
		out[id] = string(b)
	}
	return out
}

// WaitDocs polls index until check accepts its documents (by id, sources
// as JSON), and fails tb after timeout with check's last message.
func (z *Zinc) WaitDocs(index string, timeout time.Duration, check func(docs map[string]string) (bool, string)) map[string]string {
	z.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		docs := z.SearchJSON(index)
		ok, msg := check(docs)
		if ok {
			return docs
		}
		if time.Now().After(deadline) {
			z.tb.Fatalf("zinc: index %s after %s: %s", index, timeout, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Mapping returns the field types of index's mapping, by field path.
func (z *Zinc) Mapping(index string) map[string]string {
	z.tb.Helper()
	code, body, err := z.Do("GET", "/"+index+"/_mapping", nil)
	if err != nil || code != 200 {
		z.tb.Fatalf("zinc: mapping of %s: %d %s %v", index, code, body, err)
	}
	var res map[string]struct {
		Mappings struct {
			Properties map[string]struct {
				Type string `json:"type"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		z.tb.Fatalf("zinc: mapping of %s: %v: %s", index, err, body)
	}
	out := map[string]string{}
	for _, m := range res {
		for f, p := range m.Mappings.Properties {
			out[f] = p.Type
		}
	}
	return out
}
