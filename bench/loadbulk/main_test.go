package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fastjson"
)

// TestRun sends a file to a stand-in _bulk endpoint that wants Logstash's filter_path,
// answers the first request 429 and refuses one document (in a response that says
// "errors": false all the same): the result counts every document, the refusal and the
// retry, and the endpoint got each document once acknowledged, with the index of its data
// stream; with the bulks encoded before the first request or as they are sent.
func TestRun(t *testing.T) {
	for _, preload := range []bool{true, false} {
		t.Run(fmt.Sprintf("preload=%v", preload), func(t *testing.T) { testRun(t, preload) })
	}
}

func testRun(t *testing.T, preload bool) {
	var mu sync.Mutex
	calls := 0
	var got []string // index and n of each document acknowledged
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		body, _ := io.ReadAll(r.Body)
		if calls == 1 || r.URL.Path != "/_bulk" || r.Header.Get("Content-Type") != "application/x-ndjson" ||
			r.URL.Query().Get("filter_path") != "errors,items.*.error,items.*.status" {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		var items []string
		for i := 0; i+1 < len(lines); i += 2 {
			var action struct {
				Create struct {
					Index string `json:"_index"`
				} `json:"create"`
			}
			var doc struct{ N int }
			json.Unmarshal([]byte(lines[i]), &action)
			json.Unmarshal([]byte(lines[i+1]), &doc)
			if doc.N == 3 {
				items = append(items, `{"create":{"status":400,"error":{"type":"x","reason":"no 3"}}}`)
				continue
			}
			got = append(got, fmt.Sprintf("%s %d", action.Create.Index, doc.N))
			items = append(items, `{"create":{"status":201}}`)
		}
		fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
	}))
	defer srv.Close()
	in := filepath.Join(t.TempDir(), "events.ndjson")
	var b strings.Builder
	for n := 1; n <= 5; n++ {
		if n == 2 {
			fmt.Fprintf(&b, `{"n":%d}`+"\n\n", n) // no data stream; a blank line
			continue
		}
		fmt.Fprintf(&b, `{"data_stream":{"dataset":"d%d","namespace":"default","type":"logs"},"n":%d}`+"\n", n, n)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-url", srv.URL, "-c", "1", "-bulk", "2", fmt.Sprintf("-preload=%v", preload), in}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Docs != 5 || res.Created != 4 || res.Refused != 1 || res.Bulks != 3 || res.Retries429 != 1 || res.FirstRefusal != "no 3" || res.P99ms <= 0 {
		t.Errorf("result %+v", res)
	}
	want := "logs-d1-default 1,logs-generic-default 2,logs-d4-default 4,logs-d5-default 5"
	if strings.Join(got, ",") != want {
		t.Errorf("acknowledged %s, want %s", strings.Join(got, ","), want)
	}
}

func TestAppendIndex(t *testing.T) {
	var p fastjson.Parser
	for _, c := range []struct{ doc, want string }{
		{`{"data_stream":{"dataset":"a.b","namespace":"ns","type":"logs"}}`, "logs-a.b-ns"},
		{`{"data_stream":{"type":"metrics","namespace":"x","dataset":"y"}}`, "metrics-y-x"}, // another key order: parsed
		{`{"data_stream":{"dataset":"a\"b","namespace":"ns","type":"logs"}}`, `logs-a"b-ns`},
		{`{"data_stream":{"dataset":"a"}}`, "def"},
		{`not json`, "def"},
	} {
		if got := string(appendIndex(nil, []byte(c.doc), &p, "def")); got != c.want {
			t.Errorf("appendIndex(%s) = %q, want %q", c.doc, got, c.want)
		}
	}
}

// TestCount checks the reading of bulk responses: one without errors is counted without
// being parsed, whatever else its items hold, and any other is parsed item by item.
func TestCount(t *testing.T) {
	ok := `{"create":{"_index":"i","_id":"a\"status\":201","_version":1,"result":"created","status":201}}`
	bad := `{"create":{"_index":"i","_id":"b","status":400,"error":{"type":"x","reason":"why"}}}`
	for _, c := range []struct {
		resp             string
		n                int
		created, refused int64
		why, err         string
	}{
		{`{"took":1,"errors":false,"items":[` + ok + `,` + ok + `]}`, 2, 2, 0, "", ""},
		{`{"took":1,"errors":true,"items":[` + ok + `,` + bad + `]}`, 2, 1, 1, "why", ""},
		{`{"took":1,"errors":false,"items":[` + ok + `,` + bad + `]}`, 2, 1, 1, "why", ""}, // a server that says no error: parsed
		{`{"took":1,"errors":false,"items":[` + ok + `]}`, 2, 0, 0, "", "bulk response has 1 items for 2 documents"},
	} {
		var cn conn
		cn.resp = []byte(c.resp)
		var st bulkStatus
		err := cn.count(&st, c.n)
		if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) ||
			st.created != c.created || st.refused != c.refused || st.firstRefusal != c.why {
			t.Errorf("count(%s, %d) = %+v, %v; want %d created, %d refused (%q), error %q", c.resp, c.n, st, err, c.created, c.refused, c.why, c.err)
		}
	}
}
