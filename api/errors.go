package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/connectd/connectd/framework/herder"
)

// APIError is Kafka Connect's error body, {"error_code": N, "message": "..."}.
// The server writes every error in this shape; the Client returns one for
// every response with a status of 400 or more.
type APIError struct {
	// Code is the body's error_code, which Kafka Connect sets to the HTTP
	// status. When a response has no such body (a proxy's error page), the
	// Client puts the HTTP status here.
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return fmt.Sprintf("rest api: %d: %s", e.Code, e.Message) }

// Is lets callers test a 404 with errors.Is(err, herder.ErrNotFound). No
// other code maps to one sentinel: a 409 is either a duplicate or a rebalance.
func (e *APIError) Is(target error) bool {
	return target == herder.ErrNotFound && e.Code == http.StatusNotFound
}

// Kafka Connect's messages for errors that carry none of their own.
const (
	msgRebalancing = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
	msgTimedOut    = "Request timed out"
	msgNotFound    = "HTTP 404 Not Found"
	msgNotAllowed  = "HTTP 405 Method Not Allowed"
)

// errorFor maps an error to a status and body. A *herder.RequestError speaks
// for itself. The sentinels carry no message meant for a client, so subject
// ("Connector foo", "Task foo-0") makes one the way Kafka Connect words it.
func errorFor(err error, subject string) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		// Another worker's answer to a forwarded request, passed on as is.
		return ae
	}
	var re *herder.RequestError
	if errors.As(err, &re) {
		code := re.Status
		if code < 400 || code > 599 {
			code = http.StatusInternalServerError
		}
		return &APIError{Code: code, Message: re.Message}
	}
	var ve *herder.ValidationError
	if errors.As(err, &ve) {
		return &APIError{Code: http.StatusBadRequest, Message: ve.Error()}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, herder.ErrNotFound):
		if subject == "" {
			return &APIError{Code: http.StatusNotFound, Message: err.Error()}
		}
		return &APIError{Code: http.StatusNotFound, Message: subject + " not found"}
	case errors.Is(err, herder.ErrAlreadyExists):
		if subject == "" {
			return &APIError{Code: http.StatusConflict, Message: err.Error()}
		}
		return &APIError{Code: http.StatusConflict, Message: subject + " already exists"}
	case errors.Is(err, herder.ErrRebalancing):
		return &APIError{Code: http.StatusConflict, Message: msgRebalancing}
	case errors.As(err, &mbe):
		return &APIError{
			Code:    http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Request body is larger than the limit of %d bytes", mbe.Limit),
		}
	case errors.Is(err, context.DeadlineExceeded):
		// Kafka Connect answers a herder that does not finish in time with
		// 500: none of the timeout codes describe a slow operation.
		return &APIError{Code: http.StatusInternalServerError, Message: msgTimedOut}
	}
	return &APIError{Code: http.StatusInternalServerError, Message: err.Error()}
}

// fail writes err as a JSON error body. Server errors are logged here, since
// this is where they are handled; client errors are not, as they are the
// client's to see.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, subject string) {
	e := errorFor(err, subject)
	if e.Code >= 500 {
		s.log.ErrorContext(r.Context(), "rest request failed",
			"method", r.Method, "path", r.URL.Path, "status", e.Code, "err", err)
	}
	writeJSON(w, e.Code, e)
}

func connectorSubject(name string) string { return "Connector " + name }

func taskSubject(id herder.TaskID) string { return "Task " + id.String() }
