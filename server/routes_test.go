package server

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/routes.golden from the current answers")

// routePaths are the paths TestRoutes sends every method to: each endpoint, its neighbours
// that no endpoint serves, and paths with empty, dot and escaped segments.
var routePaths = []string{
	"/", "/healthz", "/metrics", "/_bulk", "/_license", "/_xpack", "/_nodes", "/_nodes/http",
	"/_nodes/_local/http", "/_refresh", "/_flush", "/_cluster", "/_cluster/health",
	"/_cluster/health/logs", "/_cluster/settings", "/_cluster/settings/x", "/_cluster/state",
	"/_cat/health", "/_cat/health/x", "/_cat/indices", "/_security/_authenticate",
	"/_security/user", "/_index_template", "/_index_template/t", "/_template/t",
	"/_component_template/c", "/_ilm/policy/p", "/_ingest/pipeline/p", "/_data_stream/d",
	"/_alias/x", "/_aliases", "/_slm/policy/x", "/_search", "/_search/x/y", "/_bulk/x",
	"/_license/x", "/_refresh/x", "/_foo/_bulk", "/_foo/_doc/1",
	"/logs", "/logs/_bulk", "/logs/_doc", "/logs/_doc/1", "/logs/_create/1", "/logs/_create",
	"/logs/_refresh", "/logs/_flush/x", "/logs/_mapping", "/logs/_settings/x", "/logs/_alias/a",
	"/logs/_aliases", "/logs/_search", "/logs/_bulk/x", "/logs/_doc/1/x", "/logs/x", "/a/b/c/d",
	"/healthz/_bulk", "/metrics/_doc", "/metrics/x",
	"//_bulk", "/_bulk/", "/_bulk//", "/a//_bulk", "/./_bulk", "/../_bulk", "/a/./_doc",
	"/logs/_doc/..", "/%2E/_bulk", "/a%2Fb/_bulk", "/_nodes//x", "/logs/_mapping//x",
	"/metrics/", "/healthz/", "/_cluster//health", "/logs/", "//", "/a%20b/_doc/x%2Fy",
	"/_bulk?refresh=true", "/nope/x/y?pretty", "/logs/_doc/1?pretty&refresh=wait_for", "/logs/_doc/x%2Fy",
}

var routeMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}

// routeMasks replace what changes from run to run in an answer.
var routeMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"took":\d+`), `"took":0`},
	{regexp.MustCompile(`"_seq_no":\d+`), `"_seq_no":0`},
	{regexp.MustCompile(`"_id":"[A-Za-z0-9_-]{20}"`), `"_id":"GEN"`},
	{regexp.MustCompile(`(?m)^\d+ \d\d:\d\d:\d\d `), `EPOCH TIME `},
	{regexp.MustCompile(`"epoch":"\d+","timestamp":"[0-9:]+"`), `"epoch":"EPOCH","timestamp":"TIME"`},
	{regexp.MustCompile(`/_doc/[A-Za-z0-9_-]{20}$`), `/_doc/GEN`},
}

// TestRoutes sends every method to every path of routePaths over a real connection and
// compares the status, the Allow and Location headers, the content type and the body with
// testdata/routes.golden, which holds the answers as Elasticsearch words them.
func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t, Config{ClusterName: "c1", NodeName: "n1"})
	s.clusterUUID, s.nodeID = "CLUSTER-UUID", "NODE-ID"
	ts := httptest.NewServer(s)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var got bytes.Buffer
	for _, p := range routePaths {
		for _, m := range routeMethods {
			var body io.Reader
			if m == "POST" || m == "PUT" || m == "PATCH" {
				switch {
				case strings.HasPrefix(strings.TrimLeft(p, "/"), "_bulk"):
					body = strings.NewReader(`{"index":{"_index":"a","_id":"1"}}` + "\n" + `{"x":1}` + "\n")
				case strings.Contains(p, "_bulk"): // the index comes from the path
					body = strings.NewReader(`{"index":{"_id":"1"}}` + "\n" + `{"x":1}` + "\n")
				default:
					body = strings.NewReader(`{"x":1}`)
				}
			}
			req, err := http.NewRequest(m, ts.URL+p, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			ct := resp.Header.Get("Content-Type")
			text := string(b)
			if strings.HasPrefix(ct, "text/plain; version=0.0.4") {
				ct, text = "METRICS", "(metrics)" // TestMetricsEndpoint checks them
			}
			text = strings.ReplaceAll(text, addr, "ADDR")
			loc := resp.Header.Get("Location")
			for _, mk := range routeMasks {
				text = mk.re.ReplaceAllString(text, mk.with)
				loc = mk.re.ReplaceAllString(loc, mk.with)
			}
			fmt.Fprintf(&got, "%s %s -> %d allow=%q location=%q type=%q\n%s\n", m, p, resp.StatusCode,
				resp.Header.Get("Allow"), loc, ct, strings.TrimRight(text, "\n"))
		}
	}
	const golden = "testdata/routes.golden"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		shown := 0
		for i := 0; i < max(len(gl), len(wl)) && shown < 20; i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s line %d:\n got %s\nwant %s", golden, i+1, g, w)
				shown++
			}
		}
	}
}
