package server

import (
	"context"
	"encoding/json"
	"testing"
)

// FuzzParseBulk feeds arbitrary bodies to the bulk parser: it must not panic, and what it
// accepts must be consistent: one document per successful item, each a JSON object.
func FuzzParseBulk(f *testing.F) {
	f.Add([]byte(oneDoc))
	f.Add([]byte(`{"index":{"_index":"a","_id":"1"}}` + "\n" + `{"bad": }` + "\n" + `{"delete":{"_index":"a","_id":"1"}}` + "\n"))
	f.Add([]byte(`{"create":{"_index":"a\u0041","dynamic_templates":{"x":[1,{"y":"}"}]}}}` + "\r\n{}\r\n"))
	f.Add([]byte(`{"update":{"_id":1}}` + "\n" + `{"doc":{}}` + "\n"))
	f.Add([]byte("\n\n{\n"))
	s, err := New(Config{}, SinkFunc(func(context.Context, []Doc) error { return nil }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st := new(bulkState)
		if e := s.parseBulk(st, body, "default"); e != nil {
			if e.status != 400 || e.reason == "" {
				t.Fatalf("bad whole-request error %+v", e)
			}
			return
		}
		ok := 0
		for _, it := range st.items {
			if it.err == nil {
				ok++
			} else if it.err.status != 400 || it.err.typ == "" {
				t.Fatalf("bad item error %+v", it.err)
			}
		}
		if ok != len(st.docs) {
			t.Fatalf("%d successful items but %d documents", ok, len(st.docs))
		}
		for _, d := range st.docs {
			if !json.Valid(d.Source) || d.Index == "" || d.ID == "" {
				t.Fatalf("accepted a bad document %+v", d)
			}
		}
		var v any
		if err := json.Unmarshal(appendBulkResponse(nil, 0, st.items), &v); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
	})
}
