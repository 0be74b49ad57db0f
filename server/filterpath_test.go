package server

import (
	"net/url"
	"regexp"
	"testing"
)

// TestBulkFilterPath checks the _bulk response under filter_path, byte for byte, over a
// bulk of two documents taken, one refused (invalid index name) and a delete (not
// supported): the fields each path keeps, in the order Elasticsearch writes them, the
// objects and arrays on the way to them, nothing where a path keeps nothing, and the whole
// response for a parameter with an exclusion or "**", which are not supported.
func TestBulkFilterPath(t *testing.T) {
	body := `{"index":{"_index":"a","_id":"1"}}` + "\n" + `{"x":1}` + "\n" +
		`{"index":{"_index":"Bad","_id":"2"}}` + "\n" + `{"x":2}` + "\n" +
		`{"create":{"_index":"a","_id":"3"}}` + "\n" + `{"x":3}` + "\n" +
		`{"delete":{"_index":"a","_id":"4"}}` + "\n"
	badIndex := `"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [Bad], must be lowercase","index_uuid":"_na_","index":"Bad"}`
	deleted := `"error":{"type":"illegal_argument_exception","reason":"[delete] is not supported by tripline, which receives events and stores no documents (action on line 7)"}`
	items := `[` +
		`{"index":{"_index":"a","_id":"1","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}},` +
		`{"index":{"_index":"Bad","_id":"2","status":400,` + badIndex + `}},` +
		`{"create":{"_index":"a","_id":"3","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1,"status":201}},` +
		`{"delete":{"_index":"a","_id":"4","status":400,` + deleted + `}}]`
	full := `{"took":0,"errors":true,"items":` + items + `}`
	for _, c := range []struct{ filter, want string }{
		// What Logstash asks for.
		{"errors,items.*.error,items.*.status", `{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,` + badIndex + `}},` +
			`{"create":{"status":201}},{"delete":{"status":400,` + deleted + `}}]}`},
		{"items.*.error", `{"items":[{"index":{` + badIndex + `}},{"delete":{` + deleted + `}}]}`},
		{"items.create._id, items.create._shards.failed", `{"items":[{"create":{"_id":"3","_shards":{"failed":0}}}]}`},
		{"items.*.error.type,items.index._seq_no", `{"items":[{"index":{"_seq_no":0}},{"index":{"error":{"type":"invalid_index_name_exception"}}},` +
			`{"delete":{"error":{"type":"illegal_argument_exception"}}}]}`},
		{"items.*.stat*", `{"items":[{"index":{"status":201}},{"index":{"status":400}},{"create":{"status":201}},{"delete":{"status":400}}]}`},
		{"errors", `{"errors":true}`},
		{"items.*.nothing,took.x", `{}`},
		{"items", `{"items":` + items + `}`},
		{"*", full},
		{"-took", full},
		{"**.status", full},
	} {
		t.Run(c.filter, func(t *testing.T) {
			s, _ := newTestServer(t, Config{})
			rec := do(s, "POST", "/_bulk?filter_path="+url.QueryEscape(c.filter), "application/x-ndjson", []byte(body))
			got := regexp.MustCompile(`"took":\d+`).ReplaceAllString(rec.Body.String(), `"took":0`)
			if rec.Code != 200 || got != c.want {
				t.Errorf("status %d, response\n got %s\nwant %s", rec.Code, got, c.want)
			}
		})
	}
}
