package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// bulkBody returns n index actions with ECS-like process events of about 400 bytes.
func bulkBody(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"create":{"_index":"logs-endpoint.events.process-default"}}`+"\n"+
			`{"@timestamp":"2024-05-01T10:00:%02d.000Z","event":{"category":["process"],"type":["start"],"kind":"event"},`+
			`"process":{"pid":%d,"name":"bash","executable":"/usr/bin/bash","args":["bash","-c","id"],"parent":{"pid":1,"name":"containerd-shim"}},`+
			`"host":{"name":"node-1","id":"a1b2c3"},"user":{"name":"root","id":"0"},"container":{"id":"c0ffee"}}`+"\n", i%60, i)
	}
	return b.Bytes()
}

// BenchmarkParseBulk measures splitting and validating a 1000-event bulk body, per event.
func BenchmarkParseBulk(b *testing.B) {
	s, err := New(Config{}, SinkFunc(func(context.Context, []Doc) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	body := bulkBody(1000)
	st := new(bulkState)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		st.reset()
		if e := s.parseBulk(st, body, ""); e != nil {
			b.Fatal(e.reason)
		}
		st.out = appendBulkResponse(st.out, 1, st.items)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
}

// BenchmarkServeBulk measures a whole 1000-event request through the handler.
func BenchmarkServeBulk(b *testing.B) { benchServe(b, "POST", "/_bulk", bulkBody(1000), 200, 1000) }

// BenchmarkServeBulk10 measures a 10-event request, where what each request costs
// (routing, metrics) shows.
func BenchmarkServeBulk10(b *testing.B) {
	benchServe(b, "POST", "/logs-endpoint.events.process-default/_bulk", bulkBody(10), 200, 10)
}

// BenchmarkServeDoc measures one document sent to the single-document API.
func BenchmarkServeDoc(b *testing.B) {
	doc := bulkBody(1)
	doc = doc[bytes.IndexByte(doc, '\n')+1:]
	benchServe(b, "PUT", "/logs-endpoint.events.process-default/_doc/id-1", doc, 201, 1)
}

// benchServe sends one request through the handler in a loop; events is how many it
// carries, for ns/event.
func benchServe(b *testing.B, method, target string, body []byte, status, events int) {
	s, err := New(Config{}, SinkFunc(func(context.Context, []Doc) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	rd := bytes.NewReader(body)
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Content-Type", "application/x-ndjson")
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = readCloser{rd}
		clear(w.h)
		s.ServeHTTP(w, req)
		if w.code != status {
			b.Fatal(w.code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(c int)           { d.code = c }
