package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestInFlightBytes checks the limit on body memory across requests: reservations from
// Content-Length, growth of bodies of unknown length, the circuit-breaker answer and the
// release of every reservation when the request ends.
func TestInFlightBytes(t *testing.T) {
	doc := `{"index":{"_index":"a"}}` + "\n" + `{"x":"` + strings.Repeat("a", 1000) + `"}` + "\n"
	small := []byte(doc)             // 1034 bytes
	large := bytes.Repeat(small, 40) // 41360 bytes
	tests := []struct {
		name     string
		body     []byte
		chunked  bool
		gzip     bool
		held     int64 // bytes other requests hold when this one arrives
		status   int
		want     string
		reserved int64 // bytes this request holds while the sink runs
	}{
		{name: "fits, length known: buffer sized once", body: large, status: 200, reserved: int64(len(large)) + 1},
		{name: "fits beside others", body: small, held: 50_000, status: 200, reserved: int64(len(small)) + 1},
		{name: "length known, over the limit with others", body: large, held: 60_000, status: 429,
			want: `{"error":{"root_cause":[{"type":"circuit_breaking_exception","reason":"[in_flight_requests] Data too large, data for [<http_request>] would be [101361/99kb], which is larger than the limit of [100000/97.7kb]","bytes_wanted":101361,"bytes_limit":100000,"durability":"TRANSIENT"}],"type":"circuit_breaking_exception","reason":"[in_flight_requests] Data too large, data for [<http_request>] would be [101361/99kb], which is larger than the limit of [100000/97.7kb]","bytes_wanted":101361,"bytes_limit":100000,"durability":"TRANSIENT"},"status":429}`},
		{name: "chunked, grows into the limit", body: large, chunked: true, held: 60_000, status: 429,
			want: `{"error":{"root_cause":[{"type":"circuit_breaking_exception","reason":"[in_flight_requests] Data too large, data for [<http_request>] would be [125536/122.6kb], which is larger than the limit of [100000/97.7kb]","bytes_wanted":125536,"bytes_limit":100000,"durability":"TRANSIENT"}],"type":"circuit_breaking_exception","reason":"[in_flight_requests] Data too large, data for [<http_request>] would be [125536/122.6kb], which is larger than the limit of [100000/97.7kb]","bytes_wanted":125536,"bytes_limit":100000,"durability":"TRANSIENT"},"status":429}`},
		{name: "chunked, fits", body: large, chunked: true, status: 200, reserved: 65536},
		{name: "gzip, grows as decompressed", body: gz(t, large), gzip: true, status: 200, reserved: 65536},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s *Server
			var during int64 = -1
			s, err := New(Config{MaxBodyBytes: 1 << 20, MaxInFlightBytes: 100_000}, SinkFunc(func(context.Context, []Doc) error {
				during = s.inFlightBytes.Load() - tc.held
				return nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.reserve(tc.held); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("POST", "/_bulk", bytes.NewReader(tc.body))
			if tc.chunked {
				req = httptest.NewRequest("POST", "/_bulk", io.MultiReader(bytes.NewReader(tc.body)))
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			if tc.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, tc.status, rec.Body)
			}
			if tc.want != "" && rec.Body.String() != tc.want {
				t.Errorf("body\n got %s\nwant %s", rec.Body, tc.want)
			}
			wantRejected := uint64(0)
			if tc.status == 429 {
				wantRejected = 1
			}
			if n := value(s.requestsRejected, "circuit_breaking"); n != wantRejected {
				t.Errorf("requests_rejected{circuit_breaking} = %d, want %d", n, wantRejected)
			}
			if tc.status == 200 && during != tc.reserved {
				t.Errorf("reserved %d bytes during the request, want %d", during, tc.reserved)
			}
			if n := s.inFlightBytes.Load(); n != tc.held {
				t.Errorf("after the request %d bytes reserved, want %d (the others')", n, tc.held)
			}
		})
	}
}

// TestByteSize checks the ByteSizeValue form used in breaker messages.
func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0/0b"}, {1023, "1023/1023b"}, {1024, "1024/1kb"}, {123848638, "123848638/118.1mb"}, {32207069102, "32207069102/30gb"}} {
		if got := byteSize(tc.n); got != tc.want {
			t.Errorf("byteSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestBodyReadTimeout checks that a client that sends its headers and then stalls gets
// 408 after BodyReadTimeout, and that at shutdown such a request is answered 503 and the
// shutdown still ends cleanly (Serve returns nil).
func TestBodyReadTimeout(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration
		shutdown bool
		status   string
		want     string
		reason   string
	}{
		{name: "stalled body", timeout: 200 * time.Millisecond, status: "HTTP/1.1 408 Request Timeout", reason: "body_timeout",
			want: `{"error":{"root_cause":[{"type":"timeout_exception","reason":"the request body did not arrive within 200ms"}],"type":"timeout_exception","reason":"the request body did not arrive within 200ms"},"status":408}`},
		{name: "stalled body at shutdown", timeout: time.Minute, shutdown: true, status: "HTTP/1.1 503 Service Unavailable", reason: "shutting_down",
			want: `{"error":{"root_cause":[{"type":"node_closed_exception","reason":"node closed: the server is shutting down and the request body did not arrive in time, retry"}],"type":"node_closed_exception","reason":"node closed: the server is shutting down and the request body did not arrive in time, retry"},"status":503}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{BodyReadTimeout: tc.timeout, ShutdownTimeout: time.Second})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, "POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100\r\n\r\n{\"index\":")
			start := time.Now()
			if tc.shutdown {
				for s.inFlight.Load() == 0 {
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if got := resp.Proto + " " + resp.Status; got != tc.status {
				t.Errorf("status %q, want %q", got, tc.status)
			}
			if string(body) != tc.want {
				t.Errorf("body\n got %s\nwant %s", body, tc.want)
			}
			if !resp.Close {
				t.Error("connection left open")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("answered after %s", d)
			}
			if n := value(s.requestsRejected, tc.reason); n != 1 {
				t.Errorf("requests_rejected{%s} = %d, want 1", tc.reason, n)
			}
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v, want nil (a clean stop)", err)
			}
		})
	}
}

// TestPublicMetricsMethods checks that PublicMetrics opens only reads of /metrics: other
// methods on the path need credentials like any other request.
func TestPublicMetricsMethods(t *testing.T) {
	creds, err := ParseCredentials(strings.NewReader("u:p\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	const basic = "Basic dTpw" // u:p
	tests := []struct {
		public       bool
		method, auth string
		status       int
		metrics      bool // the answer is the metrics text
	}{
		{public: true, method: "GET", status: 200, metrics: true},
		{public: true, method: "HEAD", status: 200, metrics: true},
		{public: true, method: "PUT", status: 401},
		{public: true, method: "DELETE", status: 401},
		{public: true, method: "POST", status: 401},
		{public: true, method: "PUT", auth: basic, status: 200},
		{public: true, method: "DELETE", auth: basic, status: 200},
		{public: false, method: "GET", status: 401},
		{public: false, method: "HEAD", status: 401},
		{public: false, method: "GET", auth: basic, status: 200, metrics: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("public=%v %s auth=%v", tc.public, tc.method, tc.auth != ""), func(t *testing.T) {
			s, _ := newTestServer(t, Config{Credentials: creds, PublicMetrics: tc.public})
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			rec := do(s, tc.method, "/metrics", "", nil, hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %.200s", rec.Code, tc.status, rec.Body)
			}
			isMetrics := strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4")
			if isMetrics != tc.metrics {
				t.Errorf("metrics answer = %v, want %v (Content-Type %q)", isMetrics, tc.metrics, rec.Header().Get("Content-Type"))
			}
		})
	}
}

// TestIndexNameBytes checks that index names with invalid UTF-8 or control characters are
// refused for that reason, in the URL and in bulk action lines.
func TestIndexNameBytes(t *testing.T) {
	refusal := func(shown, why string) string {
		r := `Invalid index name [` + shown + `], ` + why
		return `{"error":{"root_cause":[{"type":"invalid_index_name_exception","reason":"` + r + `","index_uuid":"_na_","index":"` + shown +
			`"}],"type":"invalid_index_name_exception","reason":"` + r + `","index_uuid":"_na_","index":"` + shown + `"},"status":400}`
	}
	tests := []struct {
		name, target string
		body         string
		status       int
		want         string
	}{
		{name: "NUL in URL", target: "/%00/_doc", body: `{"a":1}`, status: 400, want: refusal(`\u0000`, "must not contain control characters")},
		{name: "tab in URL", target: "/a%09b/_doc", body: `{"a":1}`, status: 400, want: refusal(`a\tb`, "must not contain control characters")},
		{name: "DEL in URL", target: "/a%7f/_doc", body: `{"a":1}`, status: 400, want: refusal("a\x7f", "must not contain control characters")},
		{name: "C1 control in URL", target: "/a%c2%85/_doc", body: `{"a":1}`, status: 400, want: refusal("a\u0085", "must not contain control characters")},
		{name: "invalid UTF-8 in URL", target: "/a%ff/_doc", body: `{"a":1}`, status: 400, want: refusal(`a\ufffd`, "must not contain invalid UTF-8")},
		{name: "upper case still", target: "/A/_doc", body: `{"a":1}`, status: 400, want: refusal("A", "must be lowercase")},
		{name: "valid UTF-8", target: "/caf%c3%a9/_doc/x", body: `{"a":1}`, status: 201},
		{name: "NUL in bulk action", target: "/_bulk", body: `{"index":{"_index":"a\u0000"}}` + "\n" + `{"a":1}` + "\n", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newTestServer(t, Config{})
			rec := do(s, "POST", tc.target, "application/json", []byte(tc.body))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.want != "" && rec.Body.String() != tc.want {
				t.Errorf("body\n got %s\nwant %s", rec.Body, tc.want)
			}
			wantDocs := 0
			if tc.status == 201 {
				wantDocs = 1
			}
			if n := len(sink.got()); n != wantDocs {
				t.Errorf("sink got %d docs, want %d", n, wantDocs)
			}
			if tc.status == 200 {
				if n := value(s.eventsRejected, "invalid_index_name_exception"); n != 1 {
					t.Errorf("events_rejected{invalid_index_name_exception} = %d, want 1", n)
				}
			}
		})
	}
}
