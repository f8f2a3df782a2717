package elasticsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// client talks to the cluster through go-elasticsearch's transport and
// request types. It does not use the library's Client: that one refuses
// servers that do not call themselves Elasticsearch (its product check),
// which OpenSearch and other servers of the same API do not; nor its
// retries, which know neither Retry-After nor per-document failures (the
// writer retries, see writer.go). With several URLs the transport sends
// each request to the next node and skips a node that failed for a while.
type client struct {
	tp *elastictransport.Client
	ht *http.Transport
}

func newClient(cfg *config) (*client, error) {
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("elastic-sink: %w", err)
	}
	urls := make([]*url.URL, len(cfg.urls))
	https := false
	for i, s := range cfg.urls {
		u, err := parseURL(s)
		if err != nil {
			return nil, fmt.Errorf("elastic-sink: %s: %w", ConnectionURLKey, err)
		}
		https = https || u.Scheme == "https"
		urls[i] = u
	}
	if https { // as Confluent's: one https URL makes all of them https
		for _, u := range urls {
			u.Scheme = "https"
		}
	}
	dialer := &net.Dialer{Timeout: cfg.connectTimeout, KeepAlive: 30 * time.Second}
	ht := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   cfg.connectTimeout + 10*time.Second,
		ResponseHeaderTimeout: cfg.readTimeout,
		MaxIdleConnsPerHost:   cfg.maxInFlight + 2,
		ForceAttemptHTTP2:     false,
	}
	if cfg.idleTimeout > 0 {
		ht.IdleConnTimeout = cfg.idleTimeout
	}
	if cfg.proxyHost != "" {
		pu := &url.URL{Scheme: "http", Host: net.JoinHostPort(cfg.proxyHost, strconv.Itoa(cfg.proxyPort))}
		if cfg.proxyUser != "" {
			pu.User = url.UserPassword(cfg.proxyUser, cfg.proxyPwd)
		}
		ht.Proxy = http.ProxyURL(pu)
	}
	tp, err := elastictransport.New(elastictransport.Config{
		URLs:                urls,
		Username:            cfg.username,
		Password:            cfg.password,
		Transport:           ht,
		DisableRetry:        true,
		CompressRequestBody: cfg.compress,
		UserAgent:           "connectd-elastic-sink/" + Version,
	})
	if err != nil {
		return nil, fmt.Errorf("elastic-sink: client: %w", err)
	}
	return &client{tp: tp, ht: ht}, nil
}

// close releases idle connections.
func (c *client) close() {
	c.tp.Close(context.Background())
	c.ht.CloseIdleConnections()
}

// httpError is an answer other than 2xx to a request, with what
// Elasticsearch's error body says.
type httpError struct {
	op         string
	status     int
	errType    string
	reason     string
	retryAfter time.Duration
}

func (e *httpError) Error() string {
	msg := fmt.Sprintf("elastic-sink: %s: HTTP %d", e.op, e.status)
	if e.errType != "" {
		msg += " " + e.errType
	}
	if e.reason != "" {
		msg += ": " + e.reason
	}
	return msg
}

// transportError is a request that got no answer (connection refused, a
// timeout, TLS), always worth retrying.
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string { return fmt.Sprintf("elastic-sink: %s: %v", e.op, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// retriable reports whether a failed request may pass when sent again: no
// answer, or 408, 429 and 5xx. Authentication and authorization failures
// (401, 403) are retried too: they stop all writes until someone fixes the
// credentials or the cluster, and the task says it is blocked meanwhile.
func retriable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.status == 408 || he.status == 429 || he.status >= 500 || he.status == 401 || he.status == 403
	}
	return false
}

// do sends req and returns the answer's status, headers and body. A
// transport failure comes back as a *transportError.
func (c *client) do(ctx context.Context, op string, req interface {
	Do(context.Context, esapi.Transport) (*esapi.Response, error)
}) (int, http.Header, []byte, error) {
	res, err := req.Do(ctx, c.tp)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, fmt.Errorf("elastic-sink: %s: %w", op, ctx.Err())
		}
		return 0, nil, nil, &transportError{op: op, err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil, &transportError{op: op, err: err}
	}
	return res.StatusCode, res.Header, body, nil
}

// errorFor builds the httpError of a failed answer.
func errorFor(op string, status int, h http.Header, body []byte) *httpError {
	e := &httpError{op: op, status: status, retryAfter: retryAfter(h, time.Now())}
	var eb struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && len(eb.Error) > 0 {
		var d struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(eb.Error, &d) == nil && d.Type != "" {
			e.errType, e.reason = d.Type, d.Reason
		} else {
			var s string
			if json.Unmarshal(eb.Error, &s) == nil {
				e.reason = s
			}
		}
	}
	if e.errType == "" && e.reason == "" && len(body) > 0 {
		e.reason = strings.TrimSpace(string(truncate(body, 300)))
	}
	return e
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date).
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// serverInfo is what GET / says about the server.
type serverInfo struct {
	Version struct {
		Number       string `json:"number"`
		Distribution string `json:"distribution"`
	} `json:"version"`
	Tagline string `json:"tagline"`
}

// openSearch reports whether the server says it is OpenSearch.
func (s serverInfo) openSearch() bool { return strings.EqualFold(s.Version.Distribution, "opensearch") }

func (c *client) info(ctx context.Context) (serverInfo, error) {
	var si serverInfo
	status, h, body, err := c.do(ctx, "GET /", esapi.InfoRequest{})
	if err != nil {
		return si, err
	}
	if status/100 != 2 {
		return si, errorFor("GET /", status, h, body)
	}
	if err := json.Unmarshal(body, &si); err != nil {
		return si, fmt.Errorf("elastic-sink: GET /: the answer is not the JSON of an Elasticsearch server: %w", err)
	}
	return si, nil
}

// exists reports whether an index, alias or data stream named name exists.
func (c *client) exists(ctx context.Context, name string) (bool, error) {
	op := "HEAD /" + name
	status, h, body, err := c.do(ctx, op, esapi.IndicesExistsRequest{Index: []string{name}})
	if err != nil {
		return false, err
	}
	switch {
	case status == 404:
		return false, nil
	case status/100 == 2:
		return true, nil
	}
	return false, errorFor(op, status, h, body)
}

// createIndex creates index; one that exists already is fine.
func (c *client) createIndex(ctx context.Context, index string) error {
	op := "PUT /" + index
	// An empty body, not none: some servers of the API (ZincSearch) need one.
	status, h, body, err := c.do(ctx, op, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader("{}")})
	if err = created(op, status, h, body, err); err != nil && !retriable(err) {
		// Created meanwhile by another task, from a server that does not
		// say resource_already_exists_exception?
		if ok, _ := c.exists(ctx, index); ok {
			return nil
		}
	}
	return err
}

// createDataStream creates a data stream (Elasticsearch needs an index
// template matching its name; logs-*-* and metrics-*-* come built in).
func (c *client) createDataStream(ctx context.Context, name string) error {
	op := "PUT /_data_stream/" + name
	status, h, body, err := c.do(ctx, op, esapi.IndicesCreateDataStreamRequest{Name: name})
	return created(op, status, h, body, err)
}

func created(op string, status int, h http.Header, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status/100 == 2 {
		return nil
	}
	he := errorFor(op, status, h, body)
	if he.errType == "resource_already_exists_exception" {
		return nil
	}
	return he
}

// hasMapping reports whether the index (or the backing indexes of a data
// stream) has any mapped field.
func (c *client) hasMapping(ctx context.Context, index string) (bool, error) {
	op := "GET /" + index + "/_mapping"
	status, h, body, err := c.do(ctx, op, esapi.IndicesGetMappingRequest{Index: []string{index}})
	if err != nil {
		return false, err
	}
	if status/100 != 2 {
		return false, errorFor(op, status, h, body)
	}
	var m map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return false, fmt.Errorf("elastic-sink: %s: %w", op, err)
	}
	for _, im := range m {
		props := im.Mappings.Properties
		if _, zinc := props["_id"]; zinc {
			// ZincSearch lists its built-in _id and @timestamp fields
			// (Elasticsearch never lists _id): they are no mapping.
			delete(props, "_id")
			delete(props, "@timestamp")
		}
		if len(props) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// putMapping sets the index's mapping.
func (c *client) putMapping(ctx context.Context, index string, mapping []byte) error {
	op := "PUT /" + index + "/_mapping"
	status, h, body, err := c.do(ctx, op, esapi.IndicesPutMappingRequest{Index: []string{index}, Body: bytes.NewReader(mapping)})
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return errorFor(op, status, h, body)
	}
	return nil
}

// bulk sends one bulk request body and returns the answer.
func (c *client) bulk(ctx context.Context, body []byte) (int, http.Header, []byte, error) {
	return c.do(ctx, "POST /_bulk", esapi.BulkRequest{Body: bytes.NewReader(body)})
}
