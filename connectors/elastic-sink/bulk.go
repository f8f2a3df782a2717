package elasticsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// This file reads bulk answers and classifies every item, apart from I/O
// so the rules are table-tested and the parser fuzzed.

// outcome is what became of one document write.
type outcome uint8

const (
	// outOK: written, deleted, or a delete of a document that was not
	// there.
	outOK outcome = iota
	// outConflict: refused because the document already has this or a
	// newer external version (or exists, for a create): the write of a
	// replay, counted as written.
	outConflict
	// outRetry: may pass later (429, 5xx, rejected execution, a missing
	// answer).
	outRetry
	// outBlocked: may pass later, and says the cluster refuses writes
	// (a read-only index or cluster block, authentication): retried, and
	// the task says it is blocked.
	outBlocked
	// outMissingIndex: the index is gone; it is created again and the
	// write retried.
	outMissingIndex
	// outMalformed: the document is refused for itself (a mapping or
	// parse error), per behavior.on.malformed.documents.
	outMalformed
)

func (o outcome) String() string {
	return [...]string{"ok", "conflict", "retry", "blocked", "missing-index", "malformed"}[o]
}

// itemResult is one item of a bulk answer.
type itemResult struct {
	Status int         `json:"status"`
	Result string      `json:"result"`
	Error  *itemErrorJ `json:"error"`
}

type itemErrorJ struct {
	Type     string      `json:"type"`
	Reason   string      `json:"reason"`
	CausedBy *itemErrorJ `json:"caused_by"`
}

// describe renders an item error as Elasticsearch's messages read:
// type, reason, and the causes.
func (e *itemErrorJ) describe() string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	for c, depth := e, 0; c != nil && depth < 5; c, depth = c.CausedBy, depth+1 {
		if depth > 0 {
			b.WriteString("; caused by ")
		}
		fmt.Fprintf(&b, "[%s] %s", c.Type, c.Reason)
	}
	return b.String()
}

// bulkAnswer is a parsed 2xx bulk answer: the items in request order, and
// the error some servers put beside them when they stopped half-way.
type bulkAnswer struct {
	Errors bool
	Items  []itemResult
	Error  string
}

// parseBulk reads a bulk answer's body. Each item is an object with one
// member named by its action; a server may name it differently from the
// request (ZincSearch answers "index" for a create), so only the order
// counts.
func parseBulk(body []byte) (bulkAnswer, error) {
	if a, ok := scanBulk(body); ok {
		return a, nil
	}
	return parseBulkJSON(body)
}

// parseBulkJSON is parseBulk with encoding/json.
func parseBulkJSON(body []byte) (bulkAnswer, error) {
	var raw struct {
		Errors bool            `json:"errors"`
		Items  []bulkItemJ     `json:"items"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return bulkAnswer{}, fmt.Errorf("cannot read the bulk answer: %w", err)
	}
	a := bulkAnswer{Errors: raw.Errors, Items: make([]itemResult, len(raw.Items))}
	if len(raw.Error) > 0 && string(raw.Error) != "null" {
		var s string
		if json.Unmarshal(raw.Error, &s) != nil {
			s = string(raw.Error)
		}
		a.Error = s
	}
	for i, it := range raw.Items {
		var r *itemResult
		n := 0
		for _, x := range []*itemResult{it.Index, it.Create, it.Update, it.Delete} {
			if x != nil {
				r = x
				n++
			}
		}
		if n != 1 {
			return bulkAnswer{}, fmt.Errorf("cannot read the bulk answer: item %d has %d known members, want 1", i, n)
		}
		a.Items[i] = *r
		if e := r.Error; e != nil && e.Type == "" && e.Reason == "" {
			a.Items[i].Error = nil // an empty error object (ZincSearch's deletes): none
		}
	}
	return a, nil
}

// bulkItemJ is one item of a bulk answer: an object with one member named
// by the action.
type bulkItemJ struct {
	Index  *itemResult `json:"index"`
	Create *itemResult `json:"create"`
	Update *itemResult `json:"update"`
	Delete *itemResult `json:"delete"`
}

// classify decides what became of one item: op is the action sent, and
// external says whether it carried an external version.
func classify(op opKind, it itemResult, external bool) outcome {
	errType := ""
	if it.Error != nil {
		errType = it.Error.Type
	}
	switch {
	case it.Status >= 200 && it.Status < 300 && it.Error == nil:
		return outOK
	case op == opDelete && it.Status == 404:
		// not_found, or index_not_found: there is nothing to delete.
		return outOK
	case errType == "version_conflict_engine_exception" || it.Status == 409:
		if external || op == opCreate {
			return outConflict
		}
		// An upsert raced another writer past retry_on_conflict: the
		// document is not written; try again.
		return outRetry
	case errType == "cluster_block_exception" || it.Status == 401 || it.Status == 403 ||
		errType == "security_exception" || strings.Contains(reasonOf(it), "flood-stage watermark"):
		return outBlocked
	case errType == "index_not_found_exception" || (it.Status == 404 && errType == ""):
		return outMissingIndex
	case it.Status == 429 || it.Status == 408 || it.Status >= 500 || errType == "es_rejected_execution_exception" ||
		errType == "circuit_breaking_exception" || errType == "unavailable_shards_exception":
		return outRetry
	case it.Status >= 400 && it.Status < 500:
		// Any other refusal is the document's: a mapping conflict, a
		// parse error, an illegal value; an unknown kind counts as one,
		// so it is handled (dead letter queue or a failed task), never
		// silently retried or dropped.
		return outMalformed
	case it.Status >= 200 && it.Status < 300:
		// A 2xx item that carries an error (servers that answer so): the
		// document is not known to be written.
		return outRetry
	}
	return outRetry
}

func reasonOf(it itemResult) string {
	if it.Error == nil {
		return ""
	}
	return it.Error.Reason
}

// errUnexpectedAnswer is a bulk answer the connector cannot act on: a
// wrong URL path, or a request the server does not understand.
var errUnexpectedAnswer = errors.New("unexpected answer to a bulk request")
