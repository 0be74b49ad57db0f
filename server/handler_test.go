package server

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const oneDoc = `{"index":{"_index":"a"}}` + "\n" + `{"x":1}` + "\n"

func TestContentType(t *testing.T) {
	tests := []struct {
		contentType string // "-" for none
		status      int
		want        string // exact body, "" = a bulk success
	}{
		{"application/json", 200, ""},
		{"application/x-ndjson", 200, ""},
		{"application/json; charset=utf-8", 200, ""}, // rsyslog's
		{"application/vnd.elasticsearch+json;compatible-with=8", 200, ""},
		{"application/vnd.elasticsearch+x-ndjson; compatible-with=8", 200, ""},
		{"application/vnd.elasticsearch+json;compatible-with=7", 200, ""},
		{"text/plain", 406, `{"error":"Content-Type header [text/plain] is not supported","status":406}`},
		{"application/x-www-form-urlencoded", 406, `{"error":"Content-Type header [application/x-www-form-urlencoded] is not supported","status":406}`},
		{"application/yaml", 406, `{"error":"Content-Type header [application/yaml] is not supported","status":406}`},
		{"-", 406, `{"error":"Content-Type header is missing","status":406}`},
		{"application/vnd.elasticsearch+json;compatible-with=9", 400, `{"error":{"root_cause":[{"type":"media_type_header_exception","reason":"Invalid media-type value on headers [Content-Type]"}],"type":"media_type_header_exception","reason":"Invalid media-type value on headers [Content-Type]"},"status":400}`},
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			s, sink := newTestServer(t, Config{})
			ct := tc.contentType
			if ct == "-" {
				ct = ""
			}
			rec := do(s, "POST", "/_bulk", ct, []byte(oneDoc))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.want != "" {
				if rec.Body.String() != tc.want {
					t.Errorf("body\n got %s\nwant %s", rec.Body, tc.want)
				}
				if n := value(s.requestsRejected, "content_type"); n != 1 {
					t.Errorf("requests_rejected{content_type} = %d, want 1", n)
				}
				if len(sink.got()) != 0 {
					t.Errorf("sink got %d docs", len(sink.got()))
				}
				return
			}
			if len(sink.got()) != 1 {
				t.Errorf("sink got %d docs, want 1", len(sink.got()))
			}
		})
	}
}

func TestResponseContentTypeMirrorsCompatibility(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	for accept, want := range map[string]string{
		"":                 "application/json",
		"application/json": "application/json",
		"application/vnd.elasticsearch+json; compatible-with=8": "application/vnd.elasticsearch+json;compatible-with=8",
		"application/vnd.elasticsearch+json;compatible-with=7":  "application/vnd.elasticsearch+json;compatible-with=7",
	} {
		rec := do(s, "GET", "/", "", nil, "Accept", accept)
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("Accept %q: Content-Type %q, want %q", accept, got, want)
		}
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCompressedAndOversizedBodies(t *testing.T) {
	const limit = 1 << 20
	big := append(append([]byte(`{"index":{"_index":"a"}}`+"\n"+`{"x":"`), bytes.Repeat([]byte{'a'}, 50<<20)...), "\"}\n"...)
	tests := []struct {
		name     string
		body     []byte
		encoding string
		chunked  bool // hide the length, so only reading finds the size
		status   int
		want     string
		reason   string // requests_rejected reason
		docs     int
	}{
		{name: "gzip", body: gz(t, []byte(strings.Repeat(oneDoc, 3))), encoding: "gzip", status: 200, docs: 3},
		{name: "corrupt gzip", body: []byte("not gzip at all"), encoding: "gzip", status: 400,
			want:   `{"error":{"root_cause":[{"type":"parse_exception","reason":"failed to decompress the gzip request body: gzip: invalid header"}],"type":"parse_exception","reason":"failed to decompress the gzip request body: gzip: invalid header"},"status":400}`,
			reason: "bad_encoding"},
		{name: "gzip cut short", body: gz(t, []byte(oneDoc))[:20], encoding: "gzip", status: 400,
			want:   `{"error":{"root_cause":[{"type":"parse_exception","reason":"failed to read the request body: unexpected EOF"}],"type":"parse_exception","reason":"failed to read the request body: unexpected EOF"},"status":400}`,
			reason: "bad_body"},
		{name: "brotli", body: []byte(oneDoc), encoding: "br", status: 400,
			want:   `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"unsupported Content-Encoding [br]"}],"type":"illegal_argument_exception","reason":"unsupported Content-Encoding [br]"},"status":400}`,
			reason: "bad_encoding"},
		{name: "50 MB line, length announced", body: big, status: 413, reason: "content_too_long"},
		{name: "50 MB line, chunked", body: big, chunked: true, status: 413, reason: "content_too_long"},
		{name: "50 MB line, gzip (limit applies after decompression)", body: gz(t, big), encoding: "gzip", status: 413, reason: "content_too_long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newTestServer(t, Config{MaxBodyBytes: limit})
			req := httptest.NewRequest("POST", "/_bulk", bytes.NewReader(tc.body))
			if tc.chunked {
				req = httptest.NewRequest("POST", "/_bulk", io.MultiReader(bytes.NewReader(tc.body)))
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 413 && rec.Body.Len() != 0 {
				t.Errorf("413 body %q, want empty like Elasticsearch", rec.Body)
			}
			if tc.want != "" && rec.Body.String() != tc.want {
				t.Errorf("body\n got %s\nwant %s", rec.Body, tc.want)
			}
			if tc.reason != "" {
				if n := value(s.requestsRejected, tc.reason); n != 1 {
					t.Errorf("requests_rejected{%s} = %d, want 1", tc.reason, n)
				}
			}
			if n := len(sink.got()); n != tc.docs {
				t.Errorf("sink got %d docs, want %d", n, tc.docs)
			}
			if n := value(s.requests, statusLabel(tc.status)); n != 1 {
				t.Errorf("http_requests{code=%d} = %d, want 1", tc.status, n)
			}
		})
	}
}

// TestOversizedOverTheWire sends a 50 MB line to a real listener: the client gets 413, and
// the server goes on serving.
func TestOversizedOverTheWire(t *testing.T) {
	s, sink := newTestServer(t, Config{MaxBodyBytes: 1 << 20})
	ts := httptest.NewServer(s)
	defer ts.Close()
	big := append(append([]byte(`{"index":{"_index":"a"}}`+"\n"+`{"x":"`), bytes.Repeat([]byte{'a'}, 50<<20)...), "\"}\n"...)
	resp, err := http.Post(ts.URL+"/_bulk", "application/x-ndjson", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	resp, err = http.Post(ts.URL+"/_bulk", "application/x-ndjson", strings.NewReader(oneDoc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(sink.got()) != 1 {
		t.Fatalf("after the 413: status %d, %d docs; want 200, 1", resp.StatusCode, len(sink.got()))
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthentication(t *testing.T) {
	creds, err := ParseCredentials(strings.NewReader("# users\nshipper:s3cret:with:colons\napikey VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw\napikey "+
		base64.StdEncoding.EncodeToString([]byte("k2:secret2"))+"\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	const www = `"header":{"WWW-Authenticate":["Basic realm=\"security\" charset=\"UTF-8\"","ApiKey"]}`
	refusal := func(reason string) string {
		return `{"error":{"root_cause":[{"type":"security_exception","reason":"` + reason + `",` + www + `}],"type":"security_exception","reason":"` + reason + `",` + www + `},"status":401}`
	}
	tests := []struct {
		name, path, auth string
		status           int
		want             string
		reason           string
	}{
		{"no credentials", "/_bulk", "", 401, refusal("missing authentication credentials for REST request [/_bulk]"), "unauthenticated"},
		{"wrong password", "/_bulk", basic("shipper", "nope"), 401, refusal("unable to authenticate user [shipper] for REST request [/_bulk]"), "unauthorized"},
		{"unknown user", "/_bulk", basic("root", "s3cret:with:colons"), 401, refusal("unable to authenticate user [root] for REST request [/_bulk]"), "unauthorized"},
		{"wrong API key", "/_bulk", "ApiKey " + base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:wrong")), 401,
			refusal("unable to authenticate with provided credentials and anonymous access is not allowed for this request"), "unauthorized"},
		{"bearer token", "/_bulk", "Bearer abc", 401,
			refusal("unable to authenticate with provided credentials and anonymous access is not allowed for this request"), "unauthorized"},
		{"garbage basic", "/_bulk", "Basic %%%", 401,
			refusal("unable to authenticate with provided credentials and anonymous access is not allowed for this request"), "unauthorized"},
		{"right password", "/_bulk", basic("shipper", "s3cret:with:colons"), 200, "", ""},
		{"right API key", "/_bulk", "ApiKey " + base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw")), 200, "", ""},
		{"API key given encoded", "/_bulk", "ApiKey " + base64.StdEncoding.EncodeToString([]byte("k2:secret2")), 200, "", ""},
		{"healthz is public", "/healthz", "", 200, `{"status":"ok"}`, ""},
		{"metrics are not", "/metrics", "", 401, refusal("missing authentication credentials for REST request [/metrics]"), "unauthenticated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newTestServer(t, Config{Credentials: creds})
			method, body := "POST", []byte(oneDoc)
			if tc.path != "/_bulk" {
				method, body = "GET", nil
			}
			rec := do(s, method, tc.path, "application/json", body, "Authorization", tc.auth)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.want != "" && rec.Body.String() != tc.want {
				t.Errorf("body\n got %s\nwant %s", rec.Body, tc.want)
			}
			if tc.status == 401 {
				if got := rec.Header().Values("WWW-Authenticate"); len(got) != 2 || got[0] != `Basic realm="security" charset="UTF-8"` || got[1] != "ApiKey" {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if n := value(s.requestsRejected, tc.reason); n != 1 {
					t.Errorf("requests_rejected{%s} = %d, want 1", tc.reason, n)
				}
				if n := value(s.requests, "401"); n != 1 {
					t.Errorf("http_requests{code=401} = %d, want 1", n)
				}
				if len(sink.got()) != 0 {
					t.Errorf("refused request reached the sink")
				}
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		text, want string
		n          int
	}{
		{"a:b\n\n# c\napikey id:key\n", "", 2},
		{"a:b\na:c\n", `f:2: user "a" defined twice`, 0},
		{"nocolon\n", "f:1: want user:password (or apikey ID:KEY), both parts non-empty", 0},
		{":pw\n", "f:1: want user:password (or apikey ID:KEY), both parts non-empty", 0},
		{"apikey !!!\n", `f:1: apikey: "!!!" is neither ID:KEY nor base64 of it`, 0},
		{"apikey id:\n", "f:1: apikey: want ID:KEY with both parts non-empty", 0},
		{"# nothing\n", "f: no credentials defined", 0},
	}
	for _, tc := range tests {
		c, err := ParseCredentials(strings.NewReader(tc.text), "f")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.text, err)
		case tc.want == "" && c.count() != tc.n:
			t.Errorf("%q: %d credentials, want %d", tc.text, c.count(), tc.n)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("a:b\n"), 0o644)
	if _, err := LoadCredentials(open); err == nil || !strings.Contains(err.Error(), "readable by group or others (mode 0644)") {
		t.Errorf("world-readable file: %v", err)
	}
	private := filepath.Join(dir, "private")
	os.WriteFile(private, []byte("a:b\n"), 0o600)
	if c, err := LoadCredentials(private); err != nil || c.count() != 1 {
		t.Errorf("private file: %v", err)
	}
}

func TestStartupProbes(t *testing.T) {
	s, _ := newTestServer(t, Config{ClusterName: "c1", NodeName: "n1"})
	tests := []struct {
		method, path string
		status       int
		want         string // exact body unless check is set
		check        func(t *testing.T, v map[string]any)
	}{
		{"GET", "/", 200, "", func(t *testing.T, v map[string]any) {
			ver := v["version"].(map[string]any)
			if v["name"] != "n1" || v["cluster_name"] != "c1" || v["tagline"] != "You Know, for Search" ||
				ver["number"] != "8.17.0" || ver["build_flavor"] != "default" || ver["lucene_version"] != "9.12.0" ||
				ver["minimum_wire_compatibility_version"] != "7.17.0" || len(v["cluster_uuid"].(string)) != 22 {
				t.Errorf("cluster info %v", v)
			}
		}},
		{"HEAD", "/", 200, "", nil},
		{"GET", "/_license", 200, "", func(t *testing.T, v map[string]any) {
			l := v["license"].(map[string]any)
			if l["status"] != "active" || l["type"] != "basic" {
				t.Errorf("license %v", v)
			}
		}},
		{"GET", "/_xpack", 200, "", func(t *testing.T, v map[string]any) {
			if v["license"].(map[string]any)["mode"] != "basic" || v["features"].(map[string]any)["ilm"].(map[string]any)["enabled"] != true {
				t.Errorf("xpack %v", v)
			}
		}},
		{"GET", "/_nodes/http", 200, "", func(t *testing.T, v map[string]any) {
			if v["_nodes"].(map[string]any)["total"] != 1.0 || len(v["nodes"].(map[string]any)) != 1 {
				t.Errorf("nodes %v", v)
			}
		}},
		{"GET", "/_cluster/health", 200, "", func(t *testing.T, v map[string]any) {
			if v["status"] != "green" || v["cluster_name"] != "c1" {
				t.Errorf("health %v", v)
			}
		}},
		{"HEAD", "/_cat/health", 200, "", nil},
		{"HEAD", "/logs-2024.01.01", 200, "", nil},
		{"PUT", "/logs", 200, `{"acknowledged":true,"shards_acknowledged":true,"index":"logs"}`, nil},
		{"HEAD", "/_index_template/filebeat-8.17.0", 200, "", nil},
		{"PUT", "/_index_template/filebeat-8.17.0", 200, `{"acknowledged":true}`, nil},
		{"PUT", "/_ilm/policy/filebeat", 200, `{"acknowledged":true}`, nil},
		{"GET", "/_ilm/policy/filebeat", 404, `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"tripline stores no index settings: [/_ilm/policy/filebeat] does not exist"}],"type":"resource_not_found_exception","reason":"tripline stores no index settings: [/_ilm/policy/filebeat] does not exist"},"status":404}`, nil},
		{"PUT", "/_ingest/pipeline/p1", 200, `{"acknowledged":true}`, nil},
		{"POST", "/logs/_refresh", 200, `{"_shards":{"total":1,"successful":1,"failed":0}}`, nil},
		{"GET", "/_security/_authenticate", 200, "", func(t *testing.T, v map[string]any) {
			if v["username"] != "_anonymous" {
				t.Errorf("authenticate %v", v)
			}
		}},
		{"GET", "/_bulk", 405, `{"error":"Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]","status":405}`, nil},
		{"GET", "/_cluster", 400, `{"error":"no handler found for uri [/_cluster] and method [GET]","status":400}`, nil},
		{"GET", "/_search/x/y", 400, `{"error":"no handler found for uri [/_search/x/y] and method [GET]","status":400}`, nil},
		{"GET", "/a/b/c/d", 400, `{"error":"no handler found for uri [/a/b/c/d] and method [GET]","status":400}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body []byte
			if tc.method == "PUT" {
				body = []byte(`{"settings":{}}`)
			}
			rec := do(s, tc.method, tc.path, "application/json", body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if rec.Header().Get("X-Elastic-Product") != "Elasticsearch" {
				t.Errorf("no X-Elastic-Product header")
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD with a body: %s", rec.Body)
			}
			if tc.check != nil {
				var v map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
					t.Fatalf("%v: %s", err, rec.Body)
				}
				tc.check(t, v)
			} else if tc.method != "HEAD" && rec.Body.String() != tc.want {
				t.Errorf("body\n got %s\nwant %s", rec.Body, tc.want)
			}
		})
	}
}

func TestCatHealthText(t *testing.T) {
	s, _ := newTestServer(t, Config{ClusterName: "c1"})
	rec := do(s, "GET", "/_cat/health", "", nil)
	f := strings.Fields(rec.Body.String())
	if rec.Code != 200 || len(f) != 14 || f[2] != "c1" || f[3] != "green" || f[13] != "100.0%" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
	rec = do(s, "GET", "/_cat/health?format=json", "", nil)
	var v []map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || len(v) != 1 || v[0]["status"] != "green" {
		t.Errorf("%v %s", err, rec.Body)
	}
}
