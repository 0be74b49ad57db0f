package server

import (
	"reflect"
	"strings"
	"testing"
)

const okItem = `"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201`

func TestBulk(t *testing.T) {
	type doc struct{ index, id, source string }
	tests := []struct {
		name     string
		path     string
		body     string
		status   int
		want     string // normalised response
		docs     []doc  // what the sink received; id "GEN" = generated
		rejected map[string]uint64
		refused  map[string]uint64
	}{
		{
			name: "index and create, _index, URL index, explicit and generated ids",
			path: "/logs-default/_bulk",
			body: `{"index":{"_index":"k8s","_id":"1"}}` + "\n" + `{"a":1}` + "\n" +
				`{"create":{}}` + "\n" + `{"b":"x"}` + "\n" +
				`{"index":{"_id":"7","pipeline":"p","_type":"_doc"}}` + "\n" + `{"c":[1,2]}` + "\n",
			status: 200,
			want: `{"took":0,"errors":false,"items":[` +
				`{"index":{"_index":"k8s","_id":"1",` + okItem + `}},` +
				`{"create":{"_index":"logs-default","_id":"GEN",` + okItem + `}},` +
				`{"index":{"_index":"logs-default","_id":"7",` + okItem + `}}]}`,
			docs: []doc{{"k8s", "1", `{"a":1}`}, {"logs-default", "GEN", `{"b":"x"}`}, {"logs-default", "7", `{"c":[1,2]}`}},
		},
		{
			name: "malformed document fails its item only",
			path: "/_bulk",
			body: `{"index":{"_index":"a"}}` + "\n" + `{"ok":1}` + "\n" +
				`{"index":{"_index":"a","_id":"2"}}` + "\n" + `{"bad": }` + "\n" +
				`{"index":{"_index":"a","_id":"3"}}` + "\n" + `["not","an","object"]` + "\n" +
				`{"index":{"_index":"a"}}` + "\n" + `{"ok":2}` + "\n",
			status: 200,
			want: `{"took":0,"errors":true,"items":[` +
				`{"index":{"_index":"a","_id":"GEN",` + okItem + `}},` +
				`{"index":{"_index":"a","_id":"2","status":400,"error":{"type":"document_parsing_exception","reason":"[1:9] failed to parse: invalid character '}' looking for beginning of value (request body line 4)"}}},` +
				`{"index":{"_index":"a","_id":"3","status":400,"error":{"type":"document_parsing_exception","reason":"[1:1] failed to parse: Malformed content, must start with an object (request body line 6)"}}},` +
				`{"index":{"_index":"a","_id":"GEN",` + okItem + `}}]}`,
			docs:     []doc{{"a", "GEN", `{"ok":1}`}, {"a", "GEN", `{"ok":2}`}},
			rejected: map[string]uint64{"document_parsing_exception": 2},
		},
		{
			name: "invalid index name, update and delete are per-item errors",
			path: "/_bulk",
			body: `{"index":{"_index":"Logs"}}` + "\n" + `{"x":1}` + "\n" +
				`{"update":{"_index":"a","_id":"1"}}` + "\n" + `{"doc":{"x":2}}` + "\n" +
				`{"delete":{"_index":"a","_id":"1"}}` + "\n" +
				`{"index":{"_index":"a","_id":"ok"}}` + "\n" + `{"x":3}` + "\n",
			status: 200,
			want: `{"took":0,"errors":true,"items":[` +
				`{"index":{"_index":"Logs","_id":"GEN","status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [Logs], must be lowercase","index_uuid":"_na_","index":"Logs"}}},` +
				`{"update":{"_index":"a","_id":"1","status":400,"error":{"type":"illegal_argument_exception","reason":"[update] is not supported by tripline, which receives events and stores no documents (action on line 3)"}}},` +
				`{"delete":{"_index":"a","_id":"1","status":400,"error":{"type":"illegal_argument_exception","reason":"[delete] is not supported by tripline, which receives events and stores no documents (action on line 5)"}}},` +
				`{"index":{"_index":"a","_id":"ok",` + okItem + `}}]}`,
			docs:     []doc{{"a", "ok", `{"x":3}`}},
			rejected: map[string]uint64{"invalid_index_name_exception": 1, "illegal_argument_exception": 2},
		},
		{
			name: "index names in turn, each checked once, the invalid one refused each time",
			path: "/Bad/_bulk",
			body: `{"index":{"_index":"Logs"}}` + "\n" + `{"x":1}` + "\n" + `{"index":{"_index":"a","_id":"1"}}` + "\n" + `{"x":2}` + "\n" +
				`{"index":{"_index":"Logs"}}` + "\n" + `{"x":3}` + "\n" + `{"index":{"_index":"b","_id":"2"}}` + "\n" + `{"x":4}` + "\n" +
				`{"index":{"_index":"a","_id":"3"}}` + "\n" + `{"x":5}` + "\n" + `{"create":{}}` + "\n" + `{"x":6}` + "\n",
			status: 200,
			want: `{"took":0,"errors":true,"items":[` +
				`{"index":{"_index":"Logs","_id":"GEN","status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [Logs], must be lowercase","index_uuid":"_na_","index":"Logs"}}},` +
				`{"index":{"_index":"a","_id":"1",` + okItem + `}},` +
				`{"index":{"_index":"Logs","_id":"GEN","status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [Logs], must be lowercase","index_uuid":"_na_","index":"Logs"}}},` +
				`{"index":{"_index":"b","_id":"2",` + okItem + `}},` +
				`{"index":{"_index":"a","_id":"3",` + okItem + `}},` +
				`{"create":{"_index":"Bad","_id":"GEN","status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [Bad], must be lowercase","index_uuid":"_na_","index":"Bad"}}}]}`,
			docs:     []doc{{"a", "1", `{"x":2}`}, {"b", "2", `{"x":4}`}, {"a", "3", `{"x":5}`}},
			rejected: map[string]uint64{"invalid_index_name_exception": 3},
		},
		{
			name:   "CRLF, blank lines, escaped strings",
			path:   "/_bulk",
			body:   "\r\n" + `{ "index" : { "_index" : "a\u002db", "_id" : "q\"1" } }` + "\r\n" + `{"m":"\u00e9"}` + "\r\n\n",
			status: 200,
			want:   `{"took":0,"errors":false,"items":[{"index":{"_index":"a-b","_id":"q\"1",` + okItem + `}}]}`,
			docs:   []doc{{"a-b", `q"1`, `{"m":"\u00e9"}`}},
		},
		{
			name:    "body cut in half",
			path:    "/_bulk",
			body:    `{"index":{"_index":"a"}}` + "\n" + `{"x":1}` + "\n" + `{"index":{"_ind`,
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\n]"}],"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\n]"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
		{
			name:    "action line without its document",
			path:    "/_bulk",
			body:    `{"index":{"_index":"a"}}` + "\n" + `{"x":1}` + "\n" + `{"index":{"_index":"a"}}` + "\n",
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Malformed action/metadata line [3], the [index] action is not followed by a document line"}],"type":"illegal_argument_exception","reason":"Malformed action/metadata line [3], the [index] action is not followed by a document line"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
		{
			name:    "malformed action line refuses the whole request",
			path:    "/_bulk",
			body:    `{"index":{"_index":"a"}}` + "\n" + `{"x":1}` + "\n" + `"index"` + "\n" + `{"x":2}` + "\n",
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_STRING]"}],"type":"illegal_argument_exception","reason":"Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_STRING]"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
		{
			name:    "unknown action",
			path:    "/_bulk",
			body:    `{"upsert":{"_index":"a"}}` + "\n" + `{"x":1}` + "\n",
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]"}],"type":"illegal_argument_exception","reason":"Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
		{
			name:    "unknown parameter",
			path:    "/_bulk",
			body:    `{"index":{"_index":"a","colour":"red"}}` + "\n" + `{"x":1}` + "\n",
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Action/metadata line [1] contains an unknown parameter [colour]"}],"type":"illegal_argument_exception","reason":"Action/metadata line [1] contains an unknown parameter [colour]"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
		{
			name:    "no index anywhere",
			path:    "/_bulk",
			body:    `{"index":{}}` + "\n" + `{"x":1}` + "\n",
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"action_request_validation_exception","reason":"Validation Failed: 1: index is missing;"}],"type":"action_request_validation_exception","reason":"Validation Failed: 1: index is missing;"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
		{
			name:    "empty body",
			path:    "/_bulk",
			body:    "",
			status:  400,
			want:    `{"error":{"root_cause":[{"type":"parse_exception","reason":"request body is required"}],"type":"parse_exception","reason":"request body is required"},"status":400}`,
			refused: map[string]uint64{"malformed_bulk": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newTestServer(t, Config{})
			rec := do(s, "POST", tc.path, "application/x-ndjson", []byte(tc.body))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got, want := normalizeBulk(t, rec.Body.Bytes()), canon(t, tc.want); got != want {
				t.Errorf("response\n got %s\nwant %s", got, want)
			}
			if got := rec.Header().Get("X-Elastic-Product"); got != "Elasticsearch" {
				t.Errorf("X-Elastic-Product = %q", got)
			}
			var got []doc
			ids := map[string]bool{}
			for _, d := range sink.got() {
				id := d.ID
				if len(id) == 20 {
					if ids[id] {
						t.Errorf("generated id %s twice", id)
					}
					ids[id] = true
					id = "GEN"
				}
				got = append(got, doc{d.Index, id, string(d.Source)})
			}
			if !reflect.DeepEqual(got, tc.docs) {
				t.Errorf("sink got %q, want %q", got, tc.docs)
			}
			if n := value(s.eventsIn, ""); n != uint64(len(tc.docs)) {
				t.Errorf("events_received = %d, want %d", n, len(tc.docs))
			}
			for _, reason := range []string{"document_parsing_exception", "invalid_index_name_exception", "illegal_argument_exception"} {
				if n := value(s.eventsRejected, reason); n != tc.rejected[reason] {
					t.Errorf("events_rejected{%s} = %d, want %d", reason, n, tc.rejected[reason])
				}
			}
			if n := value(s.requestsRejected, "malformed_bulk"); n != tc.refused["malformed_bulk"] {
				t.Errorf("requests_rejected{malformed_bulk} = %d, want %d", n, tc.refused["malformed_bulk"])
			}
			if n := value(s.requests, statusLabel(tc.status)); n != 1 {
				t.Errorf("http_requests{code=%d} = %d, want 1", tc.status, n)
			}
		})
	}
}

func TestBulkSequenceNumbersAndSinkFailure(t *testing.T) {
	s, sink := newTestServer(t, Config{})
	body := []byte(strings.Repeat(`{"index":{"_index":"a"}}`+"\n"+`{"x":1}`+"\n", 3))
	rec := do(s, "POST", "/_bulk", "application/json", body)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	for i, want := range []string{`"_seq_no":0,`, `"_seq_no":1,`, `"_seq_no":2,`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("item %d: %s missing in %s", i, want, rec.Body)
		}
	}
	sink.fail = errSinkDown
	rec = do(s, "POST", "/_bulk", "application/json", body)
	want := `{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"tripline could not accept the 3 events of this request, retry: detection queue closed"}],"type":"es_rejected_execution_exception","reason":"tripline could not accept the 3 events of this request, retry: detection queue closed"},"status":429}`
	if rec.Code != 429 || rec.Body.String() != want {
		t.Errorf("sink failure: %d %s\nwant 429 %s", rec.Code, rec.Body, want)
	}
	if n, r := value(s.eventsIn, ""), value(s.requestsRejected, "sink_error"); n != 3 || r != 1 {
		t.Errorf("events_received = %d (want 3), requests_rejected{sink_error} = %d (want 1)", n, r)
	}
}

func TestDocAPI(t *testing.T) {
	tests := []struct {
		method, path, body string
		status             int
		want               string
		location           string
	}{
		{"POST", "/logs/_doc", `{"a":1}`, 201, `{"_index":"logs","_id":"GEN",` + strings.TrimSuffix(okItem, `,"status":201`) + `}`, ""},
		{"PUT", "/logs/_doc/x%2F1", "{\n  \"a\": 1\n}\n", 201, `{"_index":"logs","_id":"x/1",` + strings.TrimSuffix(okItem, `,"status":201`) + `}`, "/logs/_doc/x%2F1"},
		{"POST", "/logs/_create/9", `{"a":1}`, 201, `{"_index":"logs","_id":"9",` + strings.TrimSuffix(okItem, `,"status":201`) + `}`, "/logs/_doc/9"},
		{"POST", "/logs/_doc", `{"a":`, 400, `{"error":{"root_cause":[{"type":"document_parsing_exception","reason":"[1:6] failed to parse: unexpected end of JSON input"}],"type":"document_parsing_exception","reason":"[1:6] failed to parse: unexpected end of JSON input"},"status":400}`, ""},
		{"POST", "/Logs/_doc", `{"a":1}`, 400, `{"error":{"root_cause":[{"type":"invalid_index_name_exception","reason":"Invalid index name [Logs], must be lowercase","index_uuid":"_na_","index":"Logs"}],"type":"invalid_index_name_exception","reason":"Invalid index name [Logs], must be lowercase","index_uuid":"_na_","index":"Logs"},"status":400}`, ""},
		{"GET", "/logs/_doc/1", "", 404, `{"_index":"logs","_id":"1","found":false}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			s, sink := newTestServer(t, Config{})
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			rec := do(s, tc.method, tc.path, "application/json", body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := rec.Body.String()
			if tc.status == 201 {
				d := sink.got()
				if len(d) != 1 || strings.TrimSpace(string(d[0].Source)) != strings.TrimSpace(tc.body) {
					t.Errorf("sink got %+v", d)
				}
				if tc.location != "" && rec.Header().Get("Location") != tc.location {
					t.Errorf("Location = %q, want %q", rec.Header().Get("Location"), tc.location)
				}
			}
			if canonGen(t, got) != canon(t, tc.want) {
				t.Errorf("response\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// canonGen canonicalises a JSON text and replaces a generated top-level _id by GEN.
func canonGen(t *testing.T, s string) string {
	t.Helper()
	c := canon(t, s)
	if i := strings.Index(c, `"_id":"`); i >= 0 {
		rest := c[i+7:]
		if j := strings.IndexByte(rest, '"'); j == 20 {
			c = c[:i+7] + "GEN" + rest[j:]
		}
	}
	return c
}

func TestParseActionErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{`{"index":{"_index":1}}`, "Malformed action/metadata line [1], [_index] must be a string but found [VALUE_NUMBER]"},
		{`{"index":{"_index":"a"}} x`, "Malformed action/metadata line [1], expected the end of the line but found [an unexpected character 'x']"},
		{`{"index":{"_index":"a"},"b":{}}`, "Malformed action/metadata line [1], expected END_OBJECT but found [an unexpected character ',']"},
		{`{"index":[]}`, "Malformed action/metadata line [1], expected START_OBJECT but found [START_ARRAY]"},
		{`{"index":{"_index":"a}}`, "Malformed action/metadata line [1], unterminated string"},
		{`{"index":{"version":tru}}`, `Malformed action/metadata line [1], invalid value "tru"`},
		{`[`, "Malformed action/metadata line [1], expected START_OBJECT but found [START_ARRAY]"},
	}
	for _, tc := range tests {
		var scratch []byte
		_, err := parseAction([]byte(tc.line), 1, &scratch)
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.line, tc.want)
			continue
		}
		if err.reason != tc.want || err.status != 400 || err.typ != "illegal_argument_exception" {
			t.Errorf("%s:\n got %d %s %q\nwant 400 illegal_argument_exception %q", tc.line, err.status, err.typ, err.reason, tc.want)
		}
	}
	// Numbers are accepted as _id, and known parameters of every JSON type are skipped.
	var scratch []byte
	a, err := parseAction([]byte(`{"create":{"_id":42,"dynamic_templates":{"a":"b"},"require_alias":false,"_source":["x",{"y":[1]}],"_index":"i"}}`), 1, &scratch)
	if err != nil || a.op != opCreate || string(a.id) != "42" || string(a.index) != "i" {
		t.Errorf("got %+v %v", a, err)
	}
}
