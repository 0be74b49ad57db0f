package server

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
)

// refusingSink refuses the documents whose source holds "refuse" (as a sink that reads
// them would), and fails the whole request with busy set.
type refusingSink struct {
	busy     error
	accepted []string
}

func (r *refusingSink) Accept(_ context.Context, docs []Doc) error {
	if r.busy != nil {
		return r.busy
	}
	for i := range docs {
		if strings.Contains(string(docs[i].Source), "refuse") {
			docs[i].Reject = &DocError{Type: "document_parsing_exception", Reason: fmt.Sprintf("refused, line %d", docs[i].Line)}
			continue
		}
		if strings.Contains(string(docs[i].Source), "ahead") {
			docs[i].Reject = &DocError{Type: "illegal_argument_exception", Metric: "future_timestamp", Reason: "too far ahead"}
			continue
		}
		r.accepted = append(r.accepted, string(docs[i].Source))
	}
	return nil
}

// TestSinkRefusals checks the refusals a Sink makes itself: per item in a bulk request
// (its _seq_no numbers only the accepted ones), as the response of the single-document
// APIs, counted by reason beside the server's own refusals (EventCounts, /metrics); with
// SinkValidates, a document that starts as a JSON object reaches the sink whatever follows;
// and ErrBusy refuses the whole request with 429, counted as busy.
func TestSinkRefusals(t *testing.T) {
	sink := &refusingSink{}
	s, err := New(Config{SinkValidates: true}, sink)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"index":{"_index":"a","_id":"1"}}` + "\n" + `{"x":"ok"}` + "\n" +
		`{"index":{"_index":"a","_id":"2"}}` + "\n" + `{"x":"refuse"}` + "\n" +
		`{"index":{"_index":"a","_id":"3"}}` + "\n" + `{"x":"ahead"}` + "\n" +
		`{"index":{"_index":"a","_id":"4"}}` + "\n" + `["no"]` + "\n" + // refused by the server
		`{"index":{"_index":"a","_id":"5"}}` + "\n" + `{"x": }` + "\n" + // the sink's to read
		`{"delete":{"_index":"a","_id":"6"}}` + "\n"
	rec := do(s, "POST", "/_bulk", "application/json", []byte(body))
	item := func(id, rest string) string { return `{"index":{"_index":"a","_id":"` + id + `",` + rest + `}}` }
	want := `{"took":0,"errors":true,"items":[` +
		item("1", okItem) + "," +
		item("2", `"status":400,"error":{"type":"document_parsing_exception","reason":"refused, line 4"}`) + "," +
		item("3", `"status":400,"error":{"type":"illegal_argument_exception","reason":"too far ahead"}`) + "," +
		item("4", `"status":400,"error":{"type":"document_parsing_exception","reason":"[1:1] failed to parse: Malformed content, must start with an object (request body line 8)"}`) + "," +
		item("5", strings.Replace(okItem, `"_seq_no":0`, `"_seq_no":1`, 1)) + "," +
		`{"delete":{"_index":"a","_id":"6","status":400,"error":{"type":"illegal_argument_exception","reason":"[delete] is not supported by tripline, which receives events and stores no documents (action on line 11)"}}}]}`
	if rec.Code != 200 || canon(t, strings.Replace(rec.Body.String(), `"took":`+tookOf(rec.Body.String()), `"took":0`, 1)) != canon(t, want) {
		t.Fatalf("bulk: %d\n got %s\nwant %s", rec.Code, rec.Body, want)
	}
	if got := strings.Join(sink.accepted, " "); got != `{"x":"ok"} {"x": }` {
		t.Errorf("sink accepted %s", got)
	}

	rec = do(s, "POST", "/a/_doc", "application/json", []byte(`{"x":"refuse"}`))
	wantDoc := `{"error":{"root_cause":[{"type":"document_parsing_exception","reason":"refused, line 0"}],"type":"document_parsing_exception","reason":"refused, line 0"},"status":400}`
	if rec.Code != 400 || rec.Body.String() != wantDoc {
		t.Errorf("_doc refused by the sink: %d %s\nwant 400 %s", rec.Code, rec.Body, wantDoc)
	}

	sink.busy = fmt.Errorf("%w: buffers full", ErrBusy)
	rec = do(s, "POST", "/_bulk", "application/json", []byte(`{"index":{"_index":"a"}}`+"\n"+`{"x":1}`+"\n"))
	wantBusy := `{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of the 1 events of this request, retry later: busy: buffers full"}],"type":"es_rejected_execution_exception","reason":"rejected execution of the 1 events of this request, retry later: busy: buffers full"},"status":429}`
	if rec.Code != 429 || rec.Body.String() != wantBusy {
		t.Errorf("busy: %d %s\nwant 429 %s", rec.Code, rec.Body, wantBusy)
	}

	received, rejected := s.EventCounts()
	wantRejected := map[string]uint64{"document_parsing_exception": 3, "future_timestamp": 1, "illegal_argument_exception": 1}
	if received != 2 || !maps.Equal(rejected, wantRejected) {
		t.Errorf("EventCounts = %d, %v; want 2, %v", received, rejected, wantRejected)
	}
	if b, e := value(s.requestsRejected, "busy"), value(s.requestsRejected, "sink_error"); b != 1 || e != 0 {
		t.Errorf("requests rejected: busy %d, sink_error %d; want 1, 0", b, e)
	}
}

// tookOf returns the value of a bulk response's "took".
func tookOf(body string) string {
	_, rest, _ := strings.Cut(body, `"took":`)
	end := strings.IndexByte(rest, ',')
	if end < 0 {
		return ""
	}
	return rest[:end]
}
