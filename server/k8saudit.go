package server

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// K8sAuditPath is where the kube-apiserver's audit webhook backend posts its batches (the
// path Falco's audit endpoint uses, so webhook configurations written for it carry over).
const K8sAuditPath = "/k8s-audit"

// K8sAuditIndex is the index the events of the audit webhook are routed by: the data
// stream of Elastic's Kubernetes integration, which the Kubernetes rules name.
const K8sAuditIndex = "logs-kubernetes.audit_logs-default"

// k8sAuditRetryAfter is the pause (Retry-After, and details.retryAfterSeconds) a refused
// batch asks for. The API server's webhook backs off at least this long and retries.
const k8sAuditRetryAfter = 1 * time.Second

// handleK8sAudit serves POST /k8s-audit: one audit.k8s.io EventList (a webhook batch) or a
// single Event, as JSON. Each item becomes a Doc with KubeAudit set, so that the sink
// normalises it as the file input normalises raw audit records. The answers are those the
// API server's webhook client understands (a metav1.Status): 200 once the sink took the
// events; 400 for a body that is not a batch (the API server drops it: sending it again
// would not help); 429 when the sink is busy and 503 when it fails or the server is
// shutting down, both with Retry-After, which the API server retries after its backoff.
// Items that are not objects, or that the sink refuses, are reported and counted; the
// request still succeeds unless every item was refused.
func (s *Server) handleK8sAudit(w http.ResponseWriter, r *http.Request) {
	st := s.getState()
	defer s.putState(st)
	if e, why := s.readBody(w, r, st); e != nil {
		s.refuseBody(w, r, e, why)
		return
	}
	start := time.Now()
	if s.draining.Load() {
		s.requestsRejected.WithLabelValues("shutting_down").Inc()
		s.k8sStatus(w, r, http.StatusServiceUnavailable, "ServiceUnavailable", "tripline is shutting down, retry")
		return
	}
	items, bad, err := s.k8sAuditItems(st)
	if err != nil {
		s.requestsRejected.WithLabelValues("malformed_audit_batch").Inc()
		s.log.Warn("refused audit batch", "remote", r.RemoteAddr, "reason", err.Error())
		s.k8sStatus(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	for _, i := range bad {
		s.eventsRejected.WithLabelValues("document_parsing_exception").Inc()
		s.log.Warn("refused audit event", "remote", r.RemoteAddr, "item", i, "reason", "not a JSON object")
	}
	if items == 0 {
		if len(bad) > 0 {
			s.k8sStatus(w, r, http.StatusBadRequest, "BadRequest", "no item of the batch is a JSON object")
			return
		}
		s.k8sStatus(w, r, http.StatusOK, "", "")
		return
	}
	if err := s.sink.Accept(r.Context(), st.docs); err != nil {
		if errors.Is(err, ErrBusy) {
			s.requestsRejected.WithLabelValues("busy").Inc()
			s.log.Warn("audit batch not accepted: busy", "remote", r.RemoteAddr, "events", items, "err", err)
			s.k8sStatus(w, r, http.StatusTooManyRequests, "TooManyRequests", "tripline is busy, retry: "+err.Error())
			return
		}
		s.requestsRejected.WithLabelValues("sink_error").Inc()
		s.log.Error("audit batch not accepted", "remote", r.RemoteAddr, "events", items, "err", err)
		s.k8sStatus(w, r, http.StatusServiceUnavailable, "ServiceUnavailable", "tripline could not accept the batch, retry: "+err.Error())
		return
	}
	taken := 0
	for i := range st.docs {
		if e := st.docs[i].Reject; e != nil {
			s.eventsRejected.WithLabelValues(e.esError().metricReason()).Inc()
			s.log.Warn("refused audit event", "remote", r.RemoteAddr, "item", st.docs[i].item, "reason", e.Reason)
			continue
		}
		taken++
	}
	s.eventsIn.Add(float64(taken))
	s.latency.Observe(time.Since(start).Seconds())
	if taken == 0 {
		s.k8sStatus(w, r, http.StatusBadRequest, "BadRequest", "no event of the batch could be used: "+st.docs[0].Reject.Reason)
		return
	}
	s.k8sStatus(w, r, http.StatusOK, "", "")
}

// k8sAuditItems splits the body of st into one Doc per audit event, in st.docs, each a
// standalone audit.k8s.io Event: the item's own text, with the list's kind and apiVersion
// added at its end when it has none (where ingest/k8saudit adds them to a whole list, so
// that the documents normalise the same). It returns the number of docs and the indexes of
// the items that are not JSON objects; an error when the body is not an EventList or
// Event of audit.k8s.io.
func (s *Server) k8sAuditItems(st *bulkState) (int, []int, error) {
	var batch struct {
		Kind       string            `json:"kind"`
		APIVersion string            `json:"apiVersion"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(st.body, &batch); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return 0, nil, errors.New("the body is not an audit.k8s.io EventList: " + te.Field + " has the wrong type")
		}
		return 0, nil, errors.New("the body is not a JSON object: " + err.Error())
	}
	if !strings.HasPrefix(batch.APIVersion, "audit.k8s.io/") || (batch.Kind != "EventList" && batch.Kind != "Event") {
		return 0, nil, errors.New(`the body is not an audit.k8s.io EventList or Event (kind and apiVersion, as --audit-webhook-version sends them)`)
	}
	list := batch.Items
	if batch.Kind == "Event" {
		list = []json.RawMessage{bytes.TrimSpace(st.body)}
	}
	p := k8sParsers.Get()
	defer k8sParsers.Put(p)
	var bad []int
	out := st.scratch[:0]
	type span struct{ item, start, end int }
	spans := make([]span, 0, len(list))
	for i, raw := range list {
		it, err := p.ParseBytes(raw)
		if err != nil || it.Type() != fastjson.TypeObject {
			bad = append(bad, i)
			continue
		}
		start := len(out)
		end := bytes.LastIndexByte(raw, '}')
		out = append(out, raw[:end]...)
		// An object is empty when only blanks come between its braces.
		empty := len(bytes.TrimSpace(raw[1:end])) == 0
		if it.Get("kind") == nil {
			if !empty {
				out = append(out, ',')
			}
			out = append(out, `"kind":"Event"`...)
			empty = false
		}
		if it.Get("apiVersion") == nil {
			if !empty {
				out = append(out, ',')
			}
			out = append(out, `"apiVersion":`...)
			out = appendJSONString(out, batch.APIVersion)
		}
		out = append(out, '}')
		spans = append(spans, span{i, start, len(out)})
	}
	st.scratch = out
	for _, sp := range spans {
		st.docs = append(st.docs, Doc{Index: K8sAuditIndex, Source: out[sp.start:sp.end], Line: sp.item + 1,
			KubeAudit: true, item: sp.item})
	}
	return len(st.docs), bad, nil
}

var k8sParsers fastjson.ParserPool

// k8sStatus answers as the Kubernetes API does, with a metav1.Status: its reason and code
// are what the API server's webhook client decides to retry by; 429 and 503 also carry
// Retry-After and details.retryAfterSeconds.
func (s *Server) k8sStatus(w http.ResponseWriter, r *http.Request, code int, reason, msg string) {
	b := []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":`)
	if code == http.StatusOK {
		b = append(b, `"Success"`...)
	} else {
		b = append(b, `"Failure","message":`...)
		b = appendJSONString(b, msg)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, reason)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			secs := strconv.Itoa(int(k8sAuditRetryAfter / time.Second))
			w.Header().Set("Retry-After", secs)
			b = append(b, `,"details":{"retryAfterSeconds":`+secs+`}`...)
		}
	}
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, '}')
	s.writeJSON(w, r, code, b)
}

// clientCertified reports whether the request came over a TLS connection whose client
// certificate the client CA verified.
func clientCertified(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
}

// loadCAs reads the PEM certificates of a client CA file.
func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("server: client CA %s: no PEM certificate in it", path)
	}
	return pool, nil
}
