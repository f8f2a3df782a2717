package elasticsink

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestClassify: every kind of item answer Elasticsearch documents, and
// the shapes other servers of its API send, gets its outcome.
func TestClassify(t *testing.T) {
	t.Parallel()
	e := func(typ, reason string) *itemErrorJ { return &itemErrorJ{Type: typ, Reason: reason} }
	for name, tc := range map[string]struct {
		op       opKind
		item     itemResult
		external bool
		want     outcome
	}{
		"created":                          {opIndex, itemResult{Status: 201, Result: "created"}, true, outOK},
		"updated":                          {opUpdate, itemResult{Status: 200, Result: "updated"}, false, outOK},
		"noop":                             {opUpdate, itemResult{Status: 200, Result: "noop"}, false, outOK},
		"deleted":                          {opDelete, itemResult{Status: 200, Result: "deleted"}, true, outOK},
		"delete not found":                 {opDelete, itemResult{Status: 404, Result: "not_found"}, false, outOK},
		"delete in a missing index":        {opDelete, itemResult{Status: 404, Error: e("index_not_found_exception", "no such index [x]")}, false, outOK},
		"external version conflict":        {opIndex, itemResult{Status: 409, Error: e("version_conflict_engine_exception", "[k]: version conflict, current version [9] is higher or equal to the one provided [4]")}, true, outConflict},
		"external delete conflict":         {opDelete, itemResult{Status: 409, Error: e("version_conflict_engine_exception", "...")}, true, outConflict},
		"create of an existing document":   {opCreate, itemResult{Status: 409, Error: e("version_conflict_engine_exception", "document already exists")}, false, outConflict},
		"update conflict":                  {opUpdate, itemResult{Status: 409, Error: e("version_conflict_engine_exception", "...")}, false, outRetry},
		"rejected execution":               {opIndex, itemResult{Status: 429, Error: e("es_rejected_execution_exception", "rejected execution of coordinating operation")}, true, outRetry},
		"circuit breaker":                  {opIndex, itemResult{Status: 429, Error: e("circuit_breaking_exception", "[parent] Data too large")}, true, outRetry},
		"unavailable shards":               {opIndex, itemResult{Status: 503, Error: e("unavailable_shards_exception", "primary shard is not active")}, true, outRetry},
		"internal error":                   {opIndex, itemResult{Status: 500, Error: e("illegal_state_exception", "boom")}, true, outRetry},
		"read-only index":                  {opIndex, itemResult{Status: 403, Error: e("cluster_block_exception", "index [x] blocked by: [FORBIDDEN/8/index write (api)];")}, true, outBlocked},
		"flood stage":                      {opIndex, itemResult{Status: 429, Error: e("cluster_block_exception", "index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];")}, true, outBlocked},
		"cluster read-only":                {opDelete, itemResult{Status: 403, Error: e("cluster_block_exception", "blocked by: [FORBIDDEN/6/cluster read-only (api)];")}, true, outBlocked},
		"not authorized":                   {opIndex, itemResult{Status: 403, Error: e("security_exception", "action [indices:data/write/bulk[s]] is unauthorized")}, true, outBlocked},
		"missing index, no auto-create":    {opIndex, itemResult{Status: 404, Error: e("index_not_found_exception", "no such index [x]")}, true, outMissingIndex},
		"mapping conflict":                 {opIndex, itemResult{Status: 400, Error: e("mapper_parsing_exception", "failed to parse field [a] of type [long]")}, true, outMalformed},
		"document parsing":                 {opIndex, itemResult{Status: 400, Error: e("document_parsing_exception", "[1:8] failed to parse")}, true, outMalformed},
		"strict mapping":                   {opIndex, itemResult{Status: 400, Error: e("strict_dynamic_mapping_exception", "mapping set to strict")}, true, outMalformed},
		"illegal argument":                 {opUpdate, itemResult{Status: 400, Error: e("illegal_argument_exception", "Limit of total fields [1000] has been exceeded")}, false, outMalformed},
		"unknown 4xx":                      {opIndex, itemResult{Status: 422, Error: e("something_new", "?")}, true, outMalformed},
		"2xx carrying an error":            {opIndex, itemResult{Status: 200, Error: e("odd", "half done")}, true, outRetry},
		"rejected execution with a 400":    {opIndex, itemResult{Status: 400, Error: e("es_rejected_execution_exception", "queue full")}, true, outRetry},
		"request timeout":                  {opIndex, itemResult{Status: 408}, true, outRetry},
		"unknown status without an error":  {opIndex, itemResult{Status: 0}, true, outRetry},
		"opensearch rejected execution":    {opIndex, itemResult{Status: 429, Error: e("rejected_execution_exception", "rejected execution")}, true, outRetry},
		"opensearch read-only (all)":       {opIndex, itemResult{Status: 403, Error: e("cluster_block_exception", "index [x] blocked by: [FORBIDDEN/5/index read-only (api)];")}, true, outBlocked},
		"authentication expired mid-batch": {opIndex, itemResult{Status: 401, Error: e("security_exception", "token expired")}, true, outBlocked},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tc.op, tc.item, tc.external); got != tc.want {
				t.Fatalf("classify = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestParseBulk reads Elasticsearch's answer and ZincSearch's variants.
func TestParseBulk(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		body string
		want bulkAnswer
		bad  bool
	}{
		"elasticsearch": {
			body: `{"took":3,"errors":true,"items":[{"index":{"_index":"t","_id":"1","_version":1,"result":"created","status":201}},` +
				`{"create":{"_index":"t","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists","caused_by":{"type":"x","reason":"y"}}}},` +
				`{"delete":{"_index":"t","_id":"3","result":"not_found","status":404}}]}`,
			want: bulkAnswer{Errors: true, Items: []itemResult{
				{Status: 201, Result: "created"},
				{Status: 409, Error: &itemErrorJ{Type: "version_conflict_engine_exception", Reason: "exists", CausedBy: &itemErrorJ{Type: "x", Reason: "y"}}},
				{Status: 404, Result: "not_found"},
			}},
		},
		"zinc, empty error objects": {
			body: `{"took":0,"errors":false,"items":[{"delete":{"_index":"t","_id":"zz","result":"deleted","status":200,"error":{}}}]}`,
			want: bulkAnswer{Items: []itemResult{{Status: 200, Result: "deleted"}}},
		},
		"zinc, stopped half-way": {
			body: `{"took":0,"errors":false,"error":"field [a] can't convert","items":[{"index":{"_id":"1","result":"created","status":200}}]}`,
			want: bulkAnswer{Error: "field [a] can't convert", Items: []itemResult{{Status: 200, Result: "created"}}},
		},
		"not json":            {body: `<html>`, bad: true},
		"item with two names": {body: `{"items":[{"index":{},"create":{}}]}`, bad: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := parseBulk([]byte(tc.body))
			if tc.bad {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("answer (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzParseBulk: any answer is read or refused, never a panic, and every
// item read gets an outcome.
func FuzzParseBulk(f *testing.F) {
	f.Add([]byte(`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"x","caused_by":{"type":"y"}}}}]}`))
	f.Add([]byte(`{"items":[{"delete":{"status":404}}],"error":"stopped"}`))
	f.Add([]byte(`{"took":3,"errors":false,"items":[{"index":{"_index":"t","_id":"1","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The scanner, when it reads an answer, reads what encoding/json
		// reads.
		if fast, ok := scanBulk(b); ok {
			if slow, err := parseBulkJSON(b); err == nil {
				if d := cmp.Diff(slow, fast); d != "" {
					t.Fatalf("%s: scanner and encoding/json differ (-json +scanner):\n%s", b, d)
				}
			}
		}
		a, err := parseBulk(b)
		if err != nil {
			return
		}
		for _, it := range a.Items {
			for _, op := range []opKind{opIndex, opCreate, opUpdate, opDelete} {
				if o := classify(op, it, true); o > outMalformed {
					t.Fatalf("outcome %d out of range", o)
				}
			}
			_ = it.Error.describe()
		}
	})
}
