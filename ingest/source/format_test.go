package source

import (
	"testing"
)

// TestNormalizeAuto checks what Auto does with each kind of record: an Elastic document
// (first key @timestamp, or later) is left alone, a raw audit record and a sensor event are
// normalised, whatever white space comes first.
func TestNormalizeAuto(t *testing.T) {
	tests := []struct {
		name, record string
		normalized   bool
	}{
		{"ecs, @timestamp first", `{"@timestamp":"2026-03-12T09:14:03Z","process":{"name":"sh"}}`, false},
		{"ecs, spaces", " \t{ \"@timestamp\" : \"2026-03-12T09:14:03Z\"}", false},
		{"ecs, @timestamp later", `{"process":{"name":"sh"},"@timestamp":"2026-03-12T09:14:03Z"}`, false},
		{"audit event, @timestamp in a value", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/@timestamp","verb":"get","user":{"username":"u"},"stageTimestamp":"2026-03-12T09:14:03.000000Z","requestReceivedTimestamp":"2026-03-12T09:14:03.000000Z"}`, true},
		{"tetragon", `{"process_exec":{"process":{"binary":"/bin/sh","start_time":"2026-03-12T09:14:03Z"}},"node_name":"n","time":"2026-03-12T09:14:03Z"}`, true},
		{"not an object", `["@timestamp"]`, false},
	}
	for _, tc := range tests {
		n := NewNormalizer(Auto)
		_, normalized, _ := n.Normalize([]byte(tc.record), nil)
		if normalized != tc.normalized {
			t.Errorf("%s: normalized %v, want %v", tc.name, normalized, tc.normalized)
		}
	}
}
