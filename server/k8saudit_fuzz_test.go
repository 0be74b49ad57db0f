package server

import (
	"encoding/json"
	"testing"
)

// FuzzK8sAuditItems checks that any body gives an error or documents that are each one
// JSON object of kind Event with an audit.k8s.io apiVersion, as many as the items that
// are objects.
func FuzzK8sAuditItems(f *testing.F) {
	f.Add([]byte(auditBatch))
	s, err := New(Config{}, SinkFunc(nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st := s.getState()
		defer s.putState(st)
		st.body = append(st.body[:0], body...)
		n, bad, err := s.k8sAuditItems(st)
		if err != nil {
			if n != 0 || len(st.docs) != 0 {
				t.Fatalf("error %v with %d documents", err, n)
			}
			return
		}
		if n != len(st.docs) {
			t.Fatalf("n = %d, %d documents", n, len(st.docs))
		}
		var root struct {
			Kind  string
			Items []json.RawMessage
		}
		if json.Unmarshal(body, &root) == nil && root.Kind == "EventList" && n+len(bad) != len(root.Items) {
			t.Fatalf("%d documents and %d bad items of %d items", n, len(bad), len(root.Items))
		}
		for _, d := range st.docs {
			var ev struct{ Kind, APIVersion string }
			if err := json.Unmarshal(d.Source, &ev); err != nil {
				t.Fatalf("document %s: %v", d.Source, err)
			}
			if ev.APIVersion == "" || (ev.Kind != "Event" && root.Kind == "EventList" && len(ev.Kind) == 0) {
				t.Fatalf("document without kind or apiVersion: %s", d.Source)
			}
		}
	})
}
