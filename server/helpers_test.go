package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// recordSink keeps a copy of every document it accepts.
type recordSink struct {
	mu   sync.Mutex
	docs []Doc
	fail error // when set, Accept returns it and keeps nothing
}

func (r *recordSink) Accept(_ context.Context, docs []Doc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	for _, d := range docs {
		d.Source = bytes.Clone(d.Source)
		r.docs = append(r.docs, d)
	}
	return nil
}

func (r *recordSink) got() []Doc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Doc(nil), r.docs...)
}

func newTestServer(t *testing.T, cfg Config) (*Server, *recordSink) {
	t.Helper()
	sink := &recordSink{}
	s, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	return s, sink
}

// do sends one request through the handler.
func do(s http.Handler, method, target, contentType string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if body == nil {
		req = httptest.NewRequest(method, target, nil)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// normalizeBulk replaces the values that change from run to run (took, generated ids)
// so a bulk response can be compared exactly; it checks that generated ids look like
// Elasticsearch's (20 URL-safe characters).
func normalizeBulk(t *testing.T, body []byte) string {
	t.Helper()
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	if _, ok := resp["took"]; ok {
		resp["took"] = 0
	}
	if items, ok := resp["items"].([]any); ok {
		for _, it := range items {
			for _, v := range it.(map[string]any) {
				obj := v.(map[string]any)
				if id, ok := obj["_id"].(string); ok && len(id) == 20 && !strings.HasPrefix(id, "id") {
					obj["_id"] = "GEN"
				}
				if _, ok := obj["_seq_no"]; ok {
					obj["_seq_no"] = 0
				}
			}
		}
	}
	out, _ := json.Marshal(resp)
	return string(out)
}

// canon re-encodes a JSON text so key order and spacing do not matter.
func canon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad expected JSON %v: %s", err, s)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

var errSinkDown = errors.New("detection queue closed")

// value returns the count of a counter for one label value ("" for a counter without
// labels), 0 when it was never counted.
func value(c prometheus.Collector, label string) uint64 { return counts(c)[label] }
