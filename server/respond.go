package server

import (
	"net/http"
	"strconv"

	"github.com/tripline/tripline/internal/jsonw"
)

// esError is an Elasticsearch exception as it appears in responses: a type such as
// "illegal_argument_exception" and a reason, plus optional extra fields, already
// encoded as JSON members (`"index":"x"`), written after the reason.
type esError struct {
	status int
	typ    string
	reason string
	extra  string
	metric string // the reason label of tripline_events_rejected_total, when not typ
}

// metricReason is the label the error is counted under in tripline_events_rejected_total.
func (e *esError) metricReason() string {
	if e.metric != "" {
		return e.metric
	}
	return e.typ
}

// appendObject appends the error object {"type":...,"reason":...,extra}.
func (e *esError) appendObject(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, e.typ)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, e.reason)
	if e.extra != "" {
		b = append(b, ',')
		b = append(b, e.extra...)
	}
	return append(b, '}')
}

// appendResponse appends the whole error response as Elasticsearch writes it:
// {"error":{"root_cause":[E],"type":...,"reason":...},"status":N}.
func (e *esError) appendResponse(b []byte) []byte {
	b = append(b, `{"error":{"root_cause":[`...)
	b = e.appendObject(b)
	b = append(b, `],"type":`...)
	b = appendJSONString(b, e.typ)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, e.reason)
	if e.extra != "" {
		b = append(b, ',')
		b = append(b, e.extra...)
	}
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	return append(b, '}')
}

// simpleError appends Elasticsearch's "simple" error form, used for routing and content
// type failures: {"error":"message","status":N}.
func simpleError(b []byte, status int, msg string) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string of a response: only what JSON requires is
// escaped, and invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	return jsonw.AppendString(b, s, jsonw.Minimal)
}

// statusRecorder remembers the status code a handler wrote, for the metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
