//go:build e2e

// End-to-end tests with real shippers and clients, started by the test against a server on
// 127.0.0.1: Debian's rsyslog with omelasticsearch, and the official Elasticsearch Python
// client. They need the packages .ci/e2e-deps.sh installs, and fail (not skip) without them.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServer serves s on a fresh loopback port until the test ends.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// waitDocs waits until the sink holds n documents of the index, or the timeout.
func waitDocs(t *testing.T, sink *recordSink, index string, n int, timeout time.Duration) []Doc {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []Doc
		for _, d := range sink.got() {
			if d.Index == index {
				got = append(got, d)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func need(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run .ci/e2e-deps.sh to install the end-to-end test dependencies", path, err)
	}
}

func TestE2ERsyslogOmelasticsearch(t *testing.T) {
	need(t, "/usr/sbin/rsyslogd")
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/omelasticsearch.so"); len(m) == 0 {
		t.Fatal("rsyslog's omelasticsearch module is missing: run .ci/e2e-deps.sh (package rsyslog-elasticsearch)")
	}
	creds, err := ParseCredentials(strings.NewReader("shipper:pa55word\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordSink{}
	s, err := New(Config{Credentials: creds}, sink)
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, s)
	host, port, _ := net.SplitHostPort(addr)

	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf(`event %d from "app" with a tab	and a backslash \ end`, i))
	}
	if err := os.WriteFile(logFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`
global(workDirectory=%[1]q)
module(load="imfile" mode="polling" PollingInterval="1")
module(load="omelasticsearch")
template(name="ecs" type="list" option.jsonf="on") {
	property(outname="message" name="msg" format="jsonf")
	property(outname="log.file.path" name="$!metadata!filename" format="jsonf")
	property(outname="event.dataset" name="programname" format="jsonf")
}
input(type="imfile" File=%[2]q Tag="app" addMetadata="on" ruleset="ship")
ruleset(name="ship") {
	action(type="omelasticsearch" server=%[3]q serverport=%[4]q uid="shipper" pwd="pa55word"
		searchIndex="logs-rsyslog-bulk" searchType="" esVersion.major="8" template="ecs"
		bulkmode="on" errorFile=%[5]q)
	action(type="omelasticsearch" server=%[3]q serverport=%[4]q uid="shipper" pwd="pa55word"
		searchIndex="logs-rsyslog-single" searchType="" esVersion.major="8" template="ecs"
		errorFile=%[5]q)
}
`, dir, logFile, host, port, filepath.Join(dir, "es-errors.json"))
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/rsyslogd", "-N1", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd rejects the configuration: %v\n%s", err, out)
	}
	cmd := exec.Command("/usr/sbin/rsyslogd", "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			errs, _ := os.ReadFile(filepath.Join(dir, "es-errors.json"))
			t.Logf("rsyslogd output:\n%s\nomelasticsearch error file:\n%s", out.String(), errs)
		}
	}()

	for _, index := range []string{"logs-rsyslog-bulk", "logs-rsyslog-single"} {
		docs := waitDocs(t, sink, index, len(lines), 30*time.Second)
		if len(docs) != len(lines) {
			t.Fatalf("%s: %d events arrived, want %d", index, len(docs), len(lines))
		}
		var msgs []string
		for _, d := range docs {
			var v map[string]string
			if err := json.Unmarshal(d.Source, &v); err != nil {
				t.Fatalf("%s: event is not JSON: %v: %s", index, err, d.Source)
			}
			if v["log.file.path"] != logFile || v["event.dataset"] != "app" {
				t.Errorf("%s: event %s", index, d.Source)
			}
			msgs = append(msgs, v["message"])
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i] < msgs[j] })
		want := append([]string(nil), lines...)
		sort.Strings(want)
		if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: messages\n%s\nwant\n%s", index, strings.Join(msgs, "\n"), strings.Join(want, "\n"))
		}
	}
	if n := value(s.requestsRejected, "unauthenticated") + value(s.requestsRejected, "unauthorized"); n != 0 {
		t.Errorf("%d requests refused authentication", n)
	}
	if n := value(s.eventsIn, ""); n != uint64(2*len(lines)) {
		t.Errorf("events_received = %d, want %d", n, 2*len(lines))
	}
	m := httptest.NewRecorder()
	s.metricsHandler.ServeHTTP(m, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range strings.Split(m.Body.String(), "\n") {
		if strings.HasPrefix(l, "tripline_http_requests_total") || strings.HasPrefix(l, "tripline_events") {
			t.Log(l)
		}
	}
}

// pythonClient is the script the official Python client runs: the product check (GET /),
// a bulk index through helpers.bulk, one index call, and a bulk with a bad document.
const pythonClient = `
import json, os, sys
from elasticsearch import Elasticsearch, helpers
url, auth = sys.argv[1], sys.argv[2]
kw = {}
if auth.startswith("basic:"):
    kw["http_auth"] = tuple(auth[len("basic:"):].split(":", 1))
else:
    kw["api_key"] = tuple(auth[len("apikey:"):].split(":", 1))
es = Elasticsearch([url], **kw)
info = es.info()
actions = ({"_index": "logs-python", "_id": "py-%d" % i,
            "_source": {"message": "event %d" % i, "process": {"pid": i}}} for i in range(250))
ok, errors = helpers.bulk(es, actions, chunk_size=100)
single = es.index(index="logs-python", id="single", document={"message": "single"})
raw = es.bulk(body='{"index":{"_index":"logs-python","_id":"bad"}}\n{"broken": }\n{"index":{"_index":"logs-python","_id":"good"}}\n{"ok":true}\n')
print(json.dumps({"version": info["version"]["number"], "ok": ok, "errors": errors,
                  "single": single["result"], "raw_errors": raw["errors"],
                  "raw": [(list(i.values())[0]["status"], list(i.values())[0].get("error", {}).get("type")) for i in raw["items"]]}))
`

func TestE2EPythonClient(t *testing.T) {
	need(t, "/usr/bin/python3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import elasticsearch").CombinedOutput(); err != nil {
		t.Fatalf("the Python elasticsearch client is missing (%v: %s): run .ci/e2e-deps.sh", err, out)
	}
	creds, err := ParseCredentials(strings.NewReader("writer:w-pass\napikey k1:key-one\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, auth string
		env        []string
	}{
		{"basic auth", "basic:writer:w-pass", nil},
		{"API key, compatibility headers", "apikey:k1:key-one", []string{"ELASTIC_CLIENT_APIVERSIONING=true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordSink{}
			s, err := New(Config{Credentials: creds}, sink)
			if err != nil {
				t.Fatal(err)
			}
			addr := startServer(t, s)
			script := filepath.Join(t.TempDir(), "client.py")
			os.WriteFile(script, []byte(pythonClient), 0o644)
			cmd := exec.Command("/usr/bin/python3", script, "http://"+addr, tc.auth)
			cmd.Env = append(os.Environ(), tc.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("client failed: %v\n%s%s", err, out, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("client warnings:\n%s", stderr.String())
			}
			var res struct {
				Version   string
				OK        int
				Errors    []any
				Single    string
				RawErrors bool `json:"raw_errors"`
				Raw       [][2]any
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &res); err != nil {
				t.Fatalf("client output: %v\n%s", err, out)
			}
			if res.Version != Version || res.OK != 250 || len(res.Errors) != 0 || res.Single != "created" || !res.RawErrors ||
				fmt.Sprint(res.Raw) != "[[400 document_parsing_exception] [201 <nil>]]" {
				t.Errorf("client saw %+v", res)
			}
			docs := waitDocs(t, sink, "logs-python", 252, 0)
			if len(docs) != 252 {
				t.Fatalf("%d events arrived, want 252", len(docs))
			}
			seen := map[string]bool{}
			for _, d := range docs {
				seen[d.ID] = true
			}
			for _, id := range []string{"py-0", "py-249", "single", "good"} {
				if !seen[id] {
					t.Errorf("event %s did not arrive", id)
				}
			}
			if seen["bad"] {
				t.Errorf("the malformed document reached the sink")
			}
		})
	}
}

// TestE2EPythonClientWrongCredentials checks the client sees Elasticsearch's 401.
func TestE2EPythonClientWrongCredentials(t *testing.T) {
	need(t, "/usr/bin/python3")
	creds, _ := ParseCredentials(strings.NewReader("writer:w-pass\n"), "test")
	s, err := New(Config{Credentials: creds}, &recordSink{})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, s)
	script := `
import sys
from elasticsearch import Elasticsearch, AuthenticationException
es = Elasticsearch([sys.argv[1]], http_auth=("writer", "wrong"))
try:
    es.index(index="logs", body={"a": 1})
except AuthenticationException as e:
    print(e.status_code, e.error)
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, "http://"+addr).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "401 security_exception") {
		t.Errorf("client output %q, want 401 security_exception", out)
	}
	if n := value(s.requestsRejected, "unauthorized"); n < 1 {
		t.Errorf("requests_rejected{unauthorized} = %d", n)
	}
}
